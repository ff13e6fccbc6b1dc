// The leads page lists new leads itself: no toast for them (app.js reads this at push time).
document.body.dataset.quietKinds = "lead";
/*
 * The tradesperson's leads: a new lead (user.<id> "lead.offered") appears at the top,
 * highlighted; a lead matching withdrew ("lead.withdrawn": the job changed) is greyed in place; decisions about their bids update its badge. After a missed push or
 * a reconnect the list is re-rendered from /api/leads/. Pushes and the API carry the
 * same lead card and bid card as the page (jobs/presenters.py), labels included.
 */
(function () {
  "use strict";
  var cfg = TL.config("live-config");
  var list = document.getElementById("leads");

  function card(lead, fresh) {
    var meta = TL.el("div", { className: "meta" }, [
      TL.el("span", { className: "tag", text: lead.trade }),
      lead.is_emergency ? TL.el("span", { className: "emergency", text: "Emergency" }) : null,
      TL.el("span", { text: lead.place || "Custom location" }),
      lead.withdrawn ? null : TL.el("span", { text: (Math.round(Number(lead.distance_km) * 10) / 10).toFixed(1) + " km away" }),
      TL.el("span", { text: TL.budget(lead.budget_min, lead.budget_max) })
    ]);
    var status = lead.badge_status || "open", label = lead.badge_label || "Not bid yet";
    var cls = "item lead" + (lead.seen ? "" : " unseen") + ((lead.job_status || "open") !== "open" || lead.withdrawn ? " closed" : "") + (fresh ? " fresh" : "");
    return TL.el("li", { className: cls, dataset: { jobId: lead.job_id } }, [
      TL.el("div", { className: "item-main" }, [
        TL.el("a", { className: "item-title", text: lead.title, attrs: { href: TL.safePath(lead.url) || "/leads/" + encodeURIComponent(lead.job_id) + "/" } }),
        meta
      ]),
      TL.el("div", { className: "item-side" }, [
        TL.el("span", { className: "badge lead-badge s-" + status, text: label }),
        TL.el("span", { className: "muted small", text: TL.when(lead.offered_at) })
      ])
    ]);
  }

  function emptyState() { document.getElementById("no-leads").hidden = list.children.length > 0; }

  function setBadge(jobId, status, label) {
    var node = list.querySelector('.lead[data-job-id="' + jobId + '"]');
    if (!node) return;
    var badge = node.querySelector(".lead-badge");
    badge.className = "badge lead-badge s-" + status;
    badge.textContent = label;
  }

  Live.subscribe(cfg.stream, function (msg) {
    var d = msg.data || {};
    if (msg.event === "lead.offered") {
      var old = list.querySelector('.lead[data-job-id="' + d.job_id + '"]');
      if (old) old.remove();
      list.prepend(card(d, true));
      emptyState();
    } else if (msg.event === "lead.withdrawn") {
      // Matching took it back (the job changed): the card stays, greyed, saying so.
      var was = list.querySelector('.lead[data-job-id="' + d.job_id + '"]');
      if (was) was.replaceWith(card(d, false));
    } else if (/^bid\./.test(msg.event) && d.job_id && d.status) {
      setBadge(d.job_id, d.status, d.badge_label || d.status);
    }
  }, {
    positions: cfg.positions,
    resync: function () {
      var shown = {};
      list.querySelectorAll(".lead").forEach(function (n) { shown[n.dataset.jobId] = true; });
      TL.getJSON(cfg.leads_url).then(function (data) {
        list.replaceChildren.apply(list, data.results.map(function (l) { return card(l, !shown[l.job_id]); }));
        emptyState();
      }).catch(function (e) { console.error("resync failed", e); });
    }
  });
})();
