/*
 * Insights dashboards (/insights/ and /insights/platform/): KPI tiles, four charts (vendored
 * Chart.js, static/vendor/chartjs) and a per-trade table, from the insights API with the form's
 * filters.  The CSV link carries the same filters.  The `insights` consumer pushes
 * `insights.changed` on this page's stream after it commits (throttled on the server); the page
 * then refetches, at most once per second, so a busy platform never floods the browser.
 */
(function () {
  "use strict";
  var cfg = TL.config("insights-config");
  if (!cfg) return;
  var form = document.getElementById("insights-filters");
  var kpis = document.querySelector("[data-testid=insights-kpis]");
  var table = document.querySelector("[data-testid=insights-trades]");
  var errorBox = document.querySelector("[data-testid=insights-error]");
  var updated = document.querySelector("[data-testid=insights-updated]");
  var csvLink = document.getElementById("insights-csv");
  var charts = {};
  var last = {};
  var inFlight = false, again = false, lastFetch = 0, timer = null;

  var KPIS = cfg.platform ? [
    ["jobs_posted", "Jobs posted"], ["jobs_awarded", "Awarded"], ["jobs_completed", "Completed"], ["jobs_cancelled", "Cancelled"],
    ["jobs_expired", "Expired unawarded"], ["avg_minutes_to_first_bid", "Avg. minutes to first bid", "min"], ["win_rate", "Win rate (awarded / bid on)", "pct"],
    ["avg_quote", "Avg. quote", "money"], ["revenue", "Revenue", "money"], ["platform_fees", "Platform fees", "money"],
    ["on_time_rate", "On-time arrivals", "pct"], ["early_rate", "Early arrivals", "pct"], ["late_rate", "Late arrivals", "pct"], ["avg_arrival_delay_minutes", "Avg. lateness", "min"],
    ["scheduled_hours", "Worker-hours scheduled", "h"], ["used_hours", "Worker-hours used", "h"], ["repeat_rate", "Repeat customers", "pct"]
  ] : [
    ["leads", "Leads"], ["jobs_bid", "Jobs bid on"], ["jobs_awarded", "Won"], ["jobs_completed", "Completed"], ["jobs_cancelled", "Cancelled"],
    ["avg_minutes_to_first_bid", "Avg. minutes lead → bid", "min"], ["win_rate", "Win rate", "pct"], ["avg_quote", "Avg. quote", "money"],
    ["revenue", "Revenue (paid by customers)", "money"], ["platform_fees", "Platform fees", "money"],
    ["on_time_rate", "On-time arrivals", "pct"], ["early_rate", "Early arrivals", "pct"], ["late_rate", "Late arrivals", "pct"], ["avg_arrival_delay_minutes", "Avg. lateness", "min"],
    ["scheduled_hours", "Worker-hours scheduled", "h"], ["used_hours", "Worker-hours used", "h"], ["repeat_rate", "Repeat customers", "pct"]
  ];

  function fmt(v, kind) {
    if (v === null || v === undefined) return "–";
    if (kind === "pct") return Math.round(v * 1000) / 10 + "%";
    if (kind === "money") return TL.money2(v);
    if (kind === "min") return (Math.round(v * 10) / 10) + " min";
    if (kind === "h") return (Math.round(v * 10) / 10) + " h";
    return String(v);
  }

  function query() {
    var data = new FormData(form), parts = [];
    ["date_from", "date_to", "trade"].forEach(function (k) {
      var v = data.get(k);
      if (v) parts.push(k + "=" + encodeURIComponent(v));
    });
    return parts.join("&");
  }

  function renderKpis(totals) {
    if (!kpis.children.length) {
      KPIS.forEach(function (k) {
        var tile = document.createElement("div");
        tile.className = "ins-kpi";
        tile.dataset.metric = k[0];
        tile.innerHTML = '<div class="label"></div><div class="value" data-testid="kpi-' + k[0] + '"></div>';
        tile.querySelector(".label").textContent = k[1];
        kpis.appendChild(tile);
      });
    }
    KPIS.forEach(function (k) {
      var tile = kpis.querySelector('[data-metric="' + k[0] + '"]');
      var text = fmt(totals[k[0]], k[2]);
      var value = tile.querySelector(".value");
      if (last[k[0]] !== undefined && last[k[0]] !== text) TL.fresh(tile);
      last[k[0]] = text;
      value.textContent = text;
    });
  }

  function chart(id, type, labels, datasets, opts) {
    if (typeof Chart === "undefined") return;
    if (charts[id]) {
      charts[id].data.labels = labels;
      charts[id].data.datasets.forEach(function (d, i) { d.data = datasets[i].data; });
      charts[id].update();
      return;
    }
    charts[id] = new Chart(document.getElementById(id), {
      type: type,
      data: { labels: labels, datasets: datasets },
      options: Object.assign({ responsive: true, maintainAspectRatio: false, animation: { duration: 300 },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
        scales: { y: { beginAtZero: true } } }, opts || {})
    });
  }

  function col(series, key) { return series.map(function (d) { return d[key] === null ? null : Number(d[key]); }); }

  function renderCharts(body) {
    var s = body.series, labels = s.map(function (d) { return d.day.slice(5); });
    var first = cfg.platform ? { label: "Posted", data: col(s, "jobs_posted"), backgroundColor: "#98a2b3" }
                             : { label: "Leads", data: col(s, "leads"), backgroundColor: "#98a2b3" };
    var counts = { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } };
    chart("chart-jobs", "bar", labels, [
      first,
      { label: cfg.platform ? "Awarded" : "Won", data: col(s, "jobs_awarded"), backgroundColor: "#2e90fa" },
      { label: "Completed", data: col(s, "jobs_completed"), backgroundColor: "#0b6e4f" },
      { label: "Cancelled", data: col(s, "jobs_cancelled"), backgroundColor: "#d92d20" }
    ], counts);
    chart("chart-money", "line", labels, [
      { label: "Revenue", data: col(s, "revenue"), borderColor: "#0b6e4f", backgroundColor: "#0b6e4f", tension: .25 },
      { label: "Platform fees", data: col(s, "platform_fees"), borderColor: "#f79009", backgroundColor: "#f79009", tension: .25 }
    ]);
    chart("chart-time", "line", labels, [
      { label: cfg.platform ? "Minutes to first bid" : "Minutes lead → bid", data: col(s, "avg_minutes_to_first_bid"), borderColor: "#7a5af8", backgroundColor: "#7a5af8", spanGaps: true },
      { label: "Avg. lateness (min)", data: col(s, "avg_arrival_delay_minutes"), borderColor: "#d92d20", backgroundColor: "#d92d20", spanGaps: true }
    ]);
    chart("chart-hours", "bar", labels, [
      { label: "Scheduled h", data: col(s, "scheduled_hours"), backgroundColor: "#b2ddff" },
      { label: "Used h", data: col(s, "used_hours"), backgroundColor: "#1570ef" }
    ]);
  }

  function renderTable(rows) {
    var cols = [["name", "Trade"], [cfg.platform ? "jobs_posted" : "leads", cfg.platform ? "Posted" : "Leads"], ["jobs_awarded", cfg.platform ? "Awarded" : "Won"],
      ["jobs_completed", "Completed"], ["jobs_cancelled", "Cancelled"]].concat(cfg.platform ? [["jobs_expired", "Expired"]] : []).concat([
      ["win_rate", "Win rate", "pct"], ["avg_quote", "Avg. quote", "money"],
      ["revenue", "Revenue", "money"], ["platform_fees", "Fees", "money"], ["on_time_rate", "On time", "pct"], ["used_hours", "Hours used", "h"]]);
    table.tHead.innerHTML = "<tr>" + cols.map(function (c) { return "<th>" + c[1] + "</th>"; }).join("") + "</tr>";
    table.tBodies[0].innerHTML = "";
    if (!rows.length) {
      var tr0 = table.tBodies[0].insertRow();
      var td0 = tr0.insertCell();
      td0.colSpan = cols.length;
      td0.className = "muted";
      td0.textContent = "Nothing yet in this range.";
      return;
    }
    rows.forEach(function (r) {
      var tr = table.tBodies[0].insertRow();
      tr.dataset.trade = r.trade;
      cols.forEach(function (c) { tr.insertCell().textContent = c[0] === "name" ? r.name : fmt(r[c[0]], c[2]); });
    });
  }

  function load() {
    if (inFlight) { again = true; return; }
    inFlight = true;
    lastFetch = Date.now();
    var q = query();
    csvLink.href = cfg.csv_url + (q ? "?" + q : "");
    TL.api("GET", cfg.api_url + (q ? "?" + q : "")).then(function (res) {
      if (!res.ok) {
        errorBox.textContent = (res.data && res.data.error && res.data.error.message) || "Could not load the numbers.";
        return;
      }
      errorBox.textContent = "";
      renderKpis(res.data.totals);
      renderCharts(res.data);
      renderTable(res.data.by_trade);
      updated.textContent = "Updated " + new Date().toLocaleTimeString();
      document.body.dataset.insightsLoads = String(Number(document.body.dataset.insightsLoads || 0) + 1);
    }).catch(function () {
      errorBox.textContent = "Could not load the numbers.";
    }).then(function () {
      inFlight = false;
      if (again) { again = false; soon(); }
    });
  }

  // Coalesce pushes: at most one refetch a second, and always one after the last push.
  function soon() {
    if (timer) return;
    var wait = Math.max(0, 1000 - (Date.now() - lastFetch));
    timer = setTimeout(function () { timer = null; load(); }, wait);
  }

  form.addEventListener("submit", function (e) { e.preventDefault(); last = {}; load(); });
  form.addEventListener("change", function () { last = {}; load(); });
  Live.subscribe(cfg.stream, function () { soon(); }, { resync: soon });
  load();
})();
