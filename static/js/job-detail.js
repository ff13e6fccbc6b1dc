/*
 * The customer's job page: bids appear, change and grey out live (stream job.<id>);
 * the job's status and details follow too. After a missed push or a reconnect the
 * page refetches /jobs/<id>/bids.json and re-renders the list.
 */
(function () {
  "use strict";
  var cfg = TL.config("live-config");
  var list = document.getElementById("bids");
  var template = document.getElementById("bid-template");
  var banner = document.getElementById("job-banner");
  var INACTIVE = { withdrawn: 1, declined: 1 };
  var LABELS = { active: "Active", shortlisted: "Shortlisted", declined: "Declined", withdrawn: "Withdrawn", accepted: "Accepted" };
  var JOB_LABELS = { open: "Open", awarded: "Awarded", scheduled: "Scheduled", in_progress: "In progress", completed: "Completed", cancelled: "Cancelled", expired: "Expired" };

  function row(bidId) { return list.querySelector('.bid[data-bid-id="' + bidId + '"]'); }

  function setStatus(node, status) {
    node.dataset.status = status;
    var badge = node.querySelector(".bid-status");
    badge.className = "badge bid-status s-" + status;
    badge.textContent = LABELS[status] || status;
  }

  /* Create or update a bid's row from a bid object (a push's data or bids.json). */
  function upsert(bid) {
    var node = row(bid.bid_id);
    var isNew = !node;
    if (isNew) {
      node = template.content.firstElementChild.cloneNode(true);
      node.dataset.bidId = bid.bid_id;
      node.querySelectorAll("form[data-action]").forEach(function (form) {
        form.action = cfg.bids_base + encodeURIComponent(bid.bid_id) + "/" + form.dataset.action + "/";
      });
      list.append(node);
    }
    if (bid.business_name) node.querySelector(".bid-name").textContent = bid.business_name;
    if (bid.tradesperson_id) node.querySelector(".bid-name").href = "/pros/" + encodeURIComponent(bid.tradesperson_id) + "/";
    if (bid.amount !== undefined) {
      node.dataset.amount = bid.amount;
      node.querySelector(".bid-amount").textContent = TL.money(bid.amount);
      var who = bid.business_name || node.querySelector(".bid-name").textContent;
      node.querySelector(".act-accept").dataset.confirm =
        "Accept the bid from " + who + " (" + TL.money(bid.amount) + ") and award the job? Every other bid is declined.";
    }
    if (bid.message !== undefined) node.querySelector(".bid-message").textContent = bid.message || "";
    if (bid.earliest_start !== undefined) {
      node.querySelector(".bid-start").textContent = bid.earliest_start ? "Can start " + TL.when(bid.earliest_start) : "";
    }
    if (bid.revision !== undefined) node.querySelector(".revised").hidden = !(bid.revision > 1);
    if (bid.amount !== undefined) {
      var was = node.querySelector(".was");
      was.textContent = bid.previous_amount && Number(bid.previous_amount) !== Number(bid.amount) ? TL.money(bid.previous_amount) : "";
    }
    if (bid.status) setStatus(node, bid.status);
    return { node: node, isNew: isNew };
  }

  /* Cheapest live bids first; withdrawn and declined ones sink to the bottom. */
  function sort() {
    var rows = Array.prototype.slice.call(list.children);
    rows.sort(function (a, b) {
      var ia = INACTIVE[a.dataset.status] ? 1 : 0, ib = INACTIVE[b.dataset.status] ? 1 : 0;
      return ia - ib || Number(a.dataset.amount) - Number(b.dataset.amount) || Number(a.dataset.bidId) - Number(b.dataset.bidId);
    });
    rows.forEach(function (r) { list.append(r); });
    var live = rows.filter(function (r) { return r.dataset.status !== "withdrawn"; }).length;
    document.getElementById("bid-count").textContent = String(live);
    document.getElementById("no-bids").hidden = rows.length > 0;
  }

  function setJobStatus(status, label) {
    var badge = document.getElementById("job-status");
    badge.className = "badge s-" + status;
    badge.textContent = label || JOB_LABELS[status] || status;
    list.classList.toggle("bids-open", status === "open");
    var edit = document.getElementById("edit-job");
    if (edit) edit.hidden = status !== "open";
    var cancel = document.getElementById("cancel-card");
    if (cancel) cancel.hidden = ["open", "awarded", "scheduled"].indexOf(status) < 0;
  }

  function setDetails(d) {
    if (d.title !== undefined) document.getElementById("job-title").textContent = d.title;
    if (d.description !== undefined) document.getElementById("job-description").textContent = d.description;
    if (d.place !== undefined) document.getElementById("job-place").textContent = d.place || "Custom location";
    if (d.budget_min !== undefined) document.getElementById("job-budget").textContent = TL.budget(d.budget_min, d.budget_max);
    if (d.is_emergency !== undefined) document.getElementById("job-emergency").hidden = !d.is_emergency;
    if (d.window_start !== undefined) {
      document.getElementById("job-window").textContent = d.window_start ? TL.when(d.window_start) + " – " + TL.when(d.window_end) : "Flexible";
    }
  }

  var handlers = {
    "bid.placed": function (d) {
      var r = upsert(d);
      sort();
      TL.fresh(r.node);
    },
    "bid.revised": function (d) {
      var r = upsert(d);
      sort();
      TL.fresh(r.node);
    },
    "bid.withdrawn": function (d) { var r = upsert({ bid_id: d.bid_id, status: d.status || "withdrawn" }); sort(); TL.fresh(r.node); },
    "bid.shortlisted": function (d) { upsert({ bid_id: d.bid_id, status: d.status || "shortlisted" }); sort(); },
    "bid.declined": function (d) { upsert({ bid_id: d.bid_id, status: d.status || "declined" }); sort(); },
    "job.awarded": function (d) {
      setJobStatus("awarded");
      if (d.bid_id && row(d.bid_id)) setStatus(row(d.bid_id), "accepted");
      TL.banner(banner, "Job awarded. We've told the tradesperson; the other bidders have been told too.", "good");
    },
    "job.cancelled": function () { setJobStatus("cancelled"); TL.banner(banner, "This job is cancelled.", "neutral"); },
    "job.expired": function () { setJobStatus("expired"); TL.banner(banner, "This job expired without an accepted bid.", "neutral"); },
    "job.status_changed": function (d) { setJobStatus(d.status); },
    "job.updated": function (d) { setDetails(d); }
  };

  function resync() {
    TL.getJSON(cfg.bids_url).then(function (data) {
      setJobStatus(data.job.status, data.job.status_label);
      setDetails({ title: data.job.title, description: data.job.description, place: data.job.place,
                   budget_min: data.job.budget_min, budget_max: data.job.budget_max, is_emergency: data.job.is_emergency });
      var seen = {};
      data.bids.forEach(function (b) {
        seen[b.bid_id] = true;
        var before = row(b.bid_id), was = before && before.dataset.status + "|" + before.dataset.amount;
        var r = upsert(b);
        if (r.isNew || was !== r.node.dataset.status + "|" + r.node.dataset.amount) TL.fresh(r.node);   // changed while we weren't listening
      });
      Array.prototype.slice.call(list.children).forEach(function (r) { if (!seen[r.dataset.bidId]) r.remove(); });
      sort();
    }).catch(function (e) { console.error("resync failed", e); });
  }

  Live.subscribe(cfg.stream, function (msg) {
    var fn = handlers[msg.event];
    if (fn && msg.data && Number(msg.data.job_id || cfg.job_id) === cfg.job_id) fn(msg.data);
  }, { resync: resync, positions: cfg.positions });
})();
