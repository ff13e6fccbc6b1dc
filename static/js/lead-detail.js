/*
 * A lead, for the tradesperson: banners when the job is cancelled, expires or is
 * awarded (jobfeed.<id>) and when the customer shortlists or declines their bid
 * (user.<id>), and when matching withdraws the lead (user.<id> "lead.withdrawn": the job changed and no
 * longer matches them). The bid forms hide themselves once the job, the bid or the lead is closed.
 * After a missed push or a reconnect the page refetches the job and the tradesperson's
 * own bid from the API (/api/jobs/<id>/, /api/jobs/<id>/bids/). Statuses arrive with
 * their labels (jobs/presenters.py).
 */
(function () {
  "use strict";
  var cfg = TL.config("live-config");
  var page = document.getElementById("lead-page");
  var banner = document.getElementById("live-banner");
  var paymentPanel = document.getElementById("payment-panel");

  /* The payment panel, as the server renders it for the awarded tradesperson (refetched on payment.* pushes). */
  function refreshPayment() {
    if (!paymentPanel || page.dataset.bidStatus !== "accepted") return;
    fetch(cfg.payment_url, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error("payment answered " + r.status); return r.text(); })
      .then(function (html) { paymentPanel.innerHTML = html; TL.fresh(paymentPanel); })
      .catch(function (e) { console.error(e); });
  }

  function setJobStatus(status, label) {
    page.dataset.jobStatus = status;
    var badge = document.getElementById("job-status");
    badge.className = "badge s-" + status;
    badge.textContent = label || status;
  }

  function setBid(bid) {
    page.dataset.bidStatus = bid ? bid.status : "";
    if (!bid) return;
    // The appointment section (booking.js) waits for this: a winner books without reloading.
    if (bid.status === "accepted") document.dispatchEvent(new CustomEvent("tl:lead-won"));
    var status = document.getElementById("my-bid-status");
    if (status) { status.className = "badge s-" + bid.status; status.textContent = bid.status_label || bid.status; }
    var amount = document.getElementById("my-bid-amount");
    if (amount && bid.amount) amount.textContent = TL.money2(bid.amount);
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

  /* The job and the tradesperson's own bid (the API shows a tradesperson only theirs), from the API. */
  function state() {
    return Promise.all([TL.getJSON(cfg.job_url), TL.getJSON(cfg.bids_url)]).then(function (answers) {
      return { job: answers[0], bid: answers[1][0] || null };
    });
  }

  /* Who won is only in the tradesperson's own state (the public feed says just "awarded"). */
  function announceAward() {
    state().then(function (s) {
      setJobStatus(s.job.status, s.job.status_label);
      setBid(s.bid);
      if (s.bid && s.bid.status === "accepted") { TL.banner(banner, "You won this job! The customer accepted your quote.", "good"); refreshPayment(); }
      else TL.banner(banner, "The customer chose another tradesperson for this job: your quote was not chosen.", "neutral");
    }).catch(function () { TL.banner(banner, "The customer has awarded this job.", "neutral"); });
  }

  /* After a gap or a reconnect: apply the truth, and say what changed while we weren't listening. */
  function resync() {
    var before = { job: page.dataset.jobStatus, bid: page.dataset.bidStatus };
    state().then(function (s) {
      setJobStatus(s.job.status, s.job.status_label);
      setDetails({ title: s.job.title, description: s.job.description, place: s.job.place,
                   budget_min: s.job.budget_min, budget_max: s.job.budget_max, is_emergency: s.job.is_emergency });
      setBid(s.bid);
      var bid = s.bid ? s.bid.status : "";
      if (s.job.status !== before.job) {
        if (s.job.status === "cancelled") TL.banner(banner, "The customer cancelled this job.", "bad");
        else if (s.job.status === "expired") TL.banner(banner, "This job expired without an accepted bid.", "neutral");
        else if (bid === "accepted") TL.banner(banner, "You won this job! The customer accepted your quote.", "good");
        else if (s.job.status === "awarded") TL.banner(banner, "The customer chose another tradesperson for this job: your quote was not chosen.", "neutral");
      } else if (bid !== before.bid) {
        if (bid === "shortlisted") TL.banner(banner, "Good news: the customer shortlisted your bid.", "good");
        else if (bid === "declined") TL.banner(banner, "Your quote was not chosen.", "bad");
      }
      refreshPayment();
    }).catch(function (e) { console.error("resync failed", e); });
  }

  Live.subscribe(cfg.feed_stream, function (msg) {
    var d = msg.data || {};
    switch (msg.event) {
      case "job.cancelled": setJobStatus(d.status, d.status_label); TL.banner(banner, "The customer cancelled this job.", "bad"); break;
      case "job.expired": setJobStatus(d.status, d.status_label); TL.banner(banner, "This job expired without an accepted bid.", "neutral"); break;
      case "job.awarded": setJobStatus(d.status, d.status_label); announceAward(); break;
      case "job.status_changed": if (d.status) setJobStatus(d.status, d.status_label); break;
      case "job.updated":
        setDetails(d);
        // The two pushes come from different consumers: a withdrawal that arrived first keeps its banner.
        if (!page.dataset.leadWithdrawn) TL.banner(banner, "The customer updated the job details.", "");
        break;
    }
  }, { resync: resync, positions: cfg.feed_positions });

  Live.subscribe(cfg.user_stream, function (msg) {
    var d = msg.data || {};
    if (Number(d.job_id) !== cfg.job_id) return;
    if (/^payment\./.test(msg.event) || msg.event === "quote.accepted") { refreshPayment(); return; }
    if (msg.event === "lead.withdrawn") {
      page.dataset.leadWithdrawn = "1";
      var why = (d.withdrawn_reason || "This job changed and no longer matches you") + ".";
      TL.banner(banner, why, "bad");
      banner.dataset.testid = "lead-withdrawn";
      return;
    }
    if (msg.event === "lead.offered") {
      delete page.dataset.leadWithdrawn;
      TL.banner(banner, "This job matches you again: you can send a quote.", "good");
      return;
    }
    if (!/^bid\./.test(msg.event)) return;
    setBid({ status: d.status, status_label: d.status_label, amount: d.amount });
    if (msg.event === "bid.shortlisted") TL.banner(banner, "Good news: the customer shortlisted your bid.", "good");
    else if (msg.event === "bid.declined") TL.banner(banner, "Your quote was not chosen. " + (d.reason || ""), "bad");
    else if (msg.event === "bid.accepted") { TL.banner(banner, "You won this job! The customer accepted your quote.", "good"); refreshPayment(); }
  }, { resync: resync, positions: cfg.user_positions });
})();
