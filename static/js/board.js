/*
 * The jobs board (stream board.all): new jobs appear at the top when no filter is
 * set; status changes and bid counts update the cards that are shown. After a
 * missed push or a reconnect the list is re-rendered from /api/board/ (with the filters
 * the page applied). Pushes and the API carry the same board card (jobs/presenters.py),
 * the status label included.
 */
(function () {
  "use strict";
  var cfg = TL.config("live-config");
  var list = document.getElementById("board");
  var leads = {};
  (cfg.lead_job_ids || []).forEach(function (id) { leads[id] = true; });

  function km(lat, lon) {                       // haversine from the tradesperson's base
    if (!cfg.base || lat === undefined || lat === null) return null;
    var r = Math.PI / 180, dLat = (lat - cfg.base[0]) * r, dLon = (lon - cfg.base[1]) * r;
    var a = Math.pow(Math.sin(dLat / 2), 2) + Math.cos(cfg.base[0] * r) * Math.cos(lat * r) * Math.pow(Math.sin(dLon / 2), 2);
    return 2 * 6371.0088 * Math.asin(Math.min(1, Math.sqrt(a)));
  }

  /* The job's answers to its trade's questions, one line (as templates/jobs/_answers_line.html draws them). */
  function answersLine(answers) {
    if (!answers || !answers.length) return null;
    return TL.el("p", { className: "small answers-line" }, answers.map(function (a) {
      return TL.el("span", { className: "answer" }, [TL.el("span", { className: "muted", text: a.label + " " }), TL.el("strong", { text: a.text })]);
    }));
  }

  function card(job, fresh) {
    var distance = job.distance_km !== undefined && job.distance_km !== null ? Number(job.distance_km) : km(Number(job.latitude), Number(job.longitude));
    var leadUrl = job.lead_url || (leads[job.job_id] ? "/leads/" + encodeURIComponent(job.job_id) + "/" : null);
    var title = leadUrl ? TL.el("a", { className: "item-title", text: job.title, attrs: { href: leadUrl } }) : TL.el("span", { className: "item-title", text: job.title });
    var count = Number(job.bid_count || 0);
    return TL.el("li", { className: "item board-job" + (fresh ? " fresh" : ""), dataset: { jobId: job.job_id } }, [
      TL.el("div", { className: "item-main" }, [
        title,
        TL.el("div", { className: "meta" }, [
          TL.el("span", { className: "tag", text: job.trade && job.trade.name }),
          job.is_emergency ? TL.el("span", { className: "emergency", text: "Emergency" }) : null,
          TL.el("span", { text: job.place || "Custom location" }),
          distance !== null && !isNaN(distance) ? TL.el("span", { text: distance.toFixed(1) + " km away" }) : null,
          TL.el("span", { text: TL.budget(job.budget_min, job.budget_max) })
        ]),
        TL.el("p", { className: "small", text: (job.description || "").length > 220 ? job.description.slice(0, 219) + "…" : job.description }),
        answersLine(job.answers)
      ]),
      TL.el("div", { className: "item-side" }, [
        TL.el("span", { className: "badge job-status s-" + (job.status || "open"), text: job.status_label || job.status || "Open" }),
        TL.el("span", { className: "small bid-count", text: count + " bid" + (count === 1 ? "" : "s") }),
        TL.el("span", { className: "muted small", text: TL.when(job.posted_at) }),
        leadUrl ? TL.el("a", { className: "btn primary small", text: "Open lead", attrs: { href: leadUrl } })
                : TL.el("span", { className: "muted small not-lead", text: "Not in your leads" })
      ])
    ]);
  }

  function find(jobId) { return list.querySelector('.board-job[data-job-id="' + jobId + '"]'); }
  function emptyState() {
    var n = list.querySelectorAll(".board-job:not(.closed)").length;
    document.getElementById("no-board").hidden = list.children.length > 0;
    document.getElementById("board-count").textContent = n + (cfg.filtered ? " matching job" : " open job") + (n === 1 ? "" : "s");
  }

  /* Matching offers some of these jobs to this tradesperson: link them to the lead as it arrives. */
  function linkLead(jobId) {
    leads[jobId] = true;
    var node = find(jobId);
    if (!node || node.querySelector("a.item-title")) return;
    var url = "/leads/" + encodeURIComponent(jobId) + "/";
    var title = node.querySelector(".item-title");
    title.replaceWith(TL.el("a", { className: "item-title", text: title.textContent, attrs: { href: url } }));
    var note = node.querySelector(".item-side .not-lead");
    if (note) note.replaceWith(TL.el("a", { className: "btn primary small", text: "Open lead", attrs: { href: url } }));
  }

  Live.subscribe("user." + document.body.dataset.user, function (msg) {
    if (msg.event === "lead.offered" && msg.data) linkLead(msg.data.job_id);
  });

  Live.subscribe(cfg.stream, function (msg) {
    var d = msg.data || {};
    var node = find(d.job_id);
    if (msg.event === "job.posted") {
      if (cfg.filtered || node) return;           // a filtered view shows only what the server matched
      list.prepend(card(d, true));
      emptyState();
      return;
    }
    if (!node) return;
    if (msg.event === "job.updated") {
      var updated = card(Object.assign({ lead_url: null }, d), true);
      node.replaceWith(updated);
      return;
    }
    if (d.bid_count !== undefined) {
      node.querySelector(".bid-count").textContent = d.bid_count + " bid" + (Number(d.bid_count) === 1 ? "" : "s");
    }
    if (d.status) {
      var badge = node.querySelector(".job-status");
      badge.className = "badge job-status s-" + d.status;
      badge.textContent = d.status_label || d.status;
      node.classList.toggle("closed", d.status !== "open");
      emptyState();
    }
  }, {
    positions: cfg.positions,
    resync: function () {
      var shown = {};
      list.querySelectorAll(".board-job").forEach(function (n) { shown[n.dataset.jobId] = true; });
      TL.getJSON(cfg.api_url).then(function (data) {
        list.replaceChildren.apply(list, data.results.map(function (j) { return card(j, !shown[j.job_id]); }));
        emptyState();
      }).catch(function (e) { console.error("resync failed", e); });
    }
  });
})();
