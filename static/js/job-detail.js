/*
 * The customer's job page: bids appear, change and grey out live (stream job.<id>);
 * the job's status and details follow too. After a missed push or a reconnect the
 * page refetches the job and its bids from the API (/api/jobs/<id>/ and
 * /api/jobs/<id>/bids/) and re-renders the list. Pushes and the API carry each
 * status with its label (jobs/presenters.py), so no labels are kept here.
 *
 * Quotes: on quote.published the bid's quote (HTML rendered by the server, from
 * /jobs/<id>/bids/<bid>/quote/) replaces the one shown, and the bid's headline price takes
 * the words the server put on it (data-price-headline / data-price-note, quotes/presenters.py:
 * "from 118.20", "incl. 19.70 VAT" with the currency), so the page and its live updates say the same. A bid's
 * amount is what the customer pays (VAT included). The payment panel is refetched on payment.*
 * events and is the one source of the payment banner (#accepted-banner, from its data-banner):
 * two tabs, or a tab and a reload, always agree. "Apply" on a promo code asks the server to
 * re-price the option.
 */
(function () {
  "use strict";
  var cfg = TL.config("live-config");
  var list = document.getElementById("bids");
  var template = document.getElementById("bid-template");
  var banner = document.getElementById("job-banner");
  var INACTIVE = { withdrawn: 1, declined: 1 };

  function row(bidId) { return list.querySelector('.bid[data-bid-id="' + bidId + '"]'); }

  function setStatus(node, status, label) {
    node.dataset.status = status;
    var badge = node.querySelector(".bid-status");
    badge.className = "badge bid-status s-" + status;
    badge.textContent = label || status;
  }

  /* Create or update a bid's row from a bid card (a push's data or the bids API). */
  function upsert(bid) {
    var node = row(bid.bid_id);
    var isNew = !node;
    if (isNew) {
      node = template.content.firstElementChild.cloneNode(true);
      node.dataset.bidId = bid.bid_id;
      node.id = "bid-" + bid.bid_id;
      node.querySelectorAll("form[data-action]").forEach(function (form) {
        form.action = cfg.bids_base + encodeURIComponent(bid.bid_id) + "/" + form.dataset.action + "/";
      });
      list.append(node);
    }
    if (bid.business_name) node.querySelector(".bid-name").textContent = bid.business_name;
    if (bid.tradesperson_id) node.querySelector(".bid-name").href = "/pros/" + encodeURIComponent(bid.tradesperson_id) + "/";
    if (bid.amount !== undefined) {
      node.dataset.amount = bid.amount;
      showPrice(node);
    }
    if (bid.message !== undefined) node.querySelector(".bid-message").textContent = bid.message || "";
    if (bid.earliest_start !== undefined) {
      node.querySelector(".bid-start").textContent = bid.earliest_start ? "Can start " + TL.when(bid.earliest_start) : "";
    }
    if (bid.revision !== undefined) node.querySelector(".revised").hidden = !(bid.revision > 1);
    if (bid.amount !== undefined && bid.previous_amount !== undefined) {
      var was = node.querySelector(".was");
      was.textContent = bid.previous_amount && Number(bid.previous_amount) !== Number(bid.amount) ? TL.money2(bid.previous_amount) : "";
    }
    if (bid.status) setStatus(node, bid.status, bid.status_label);
    if (node.dataset.status === "accepted") node.querySelector(".was").textContent = "";   // accepting is not a price change
    return { node: node, isNew: isNew };
  }

  /* The bid's headline: the server's words for its quote when they are about the bid's current amount,
     else the amount itself (a bid whose quote is still being fetched). */
  function showPrice(node) {
    var quote = node.querySelector(".quote");
    var same = quote && quote.dataset.priceTotal !== undefined && Number(quote.dataset.priceTotal) === Number(node.dataset.amount);
    node.querySelector(".bid-amount").textContent = same ? quote.dataset.priceHeadline : TL.money2(node.dataset.amount);
    node.querySelector(".vat-note").textContent = same ? quote.dataset.priceNote : "";
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
    badge.textContent = label || status;
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

  /* The bid's latest quote, as the server renders it (our own HTML, never pushed data). */
  var quoteFetches = {};
  function refreshQuote(bidId) {
    var node = row(bidId);
    if (!node) return Promise.resolve();
    var seq = (quoteFetches[bidId] || 0) + 1;
    quoteFetches[bidId] = seq;
    return fetch(cfg.bids_base + encodeURIComponent(bidId) + "/quote/", { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error("quote answered " + r.status); return r.text(); })
      .then(function (html) {
        if (quoteFetches[bidId] !== seq) return;                     // a newer fetch is on its way
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.querySelector(".quote"), old = node.querySelector(".quote");
        if (!fresh || !old) return;
        if (fresh.dataset.priceTotal !== undefined) node.dataset.amount = fresh.dataset.priceTotal;
        var open = old.querySelector(".accept-panel[open]");
        if (open && fresh.dataset.version === old.dataset.version) {
          // Don't disturb someone mid-acceptance; the headline still follows the server.
          ["priceTotal", "priceHeadline", "priceNote"].forEach(function (k) { if (fresh.dataset[k] !== undefined) old.dataset[k] = fresh.dataset[k]; });
        } else {
          old.replaceWith(fresh);
        }
        showPrice(node);
      }).catch(function (e) { console.error(e); });
  }

  var paymentPanel = document.getElementById("payment-panel");
  function refreshPayment() {
    if (!paymentPanel || !cfg.payment_url) return;
    fetch(cfg.payment_url, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error("payment answered " + r.status); return r.text(); })
      .then(function (html) { paymentPanel.innerHTML = html; paymentPanel.hidden = false; TL.fresh(paymentPanel); paymentBanner(); })
      .catch(function (e) { console.error(e); });
  }

  /* One banner for the payment, worded by the panel the server just rendered. A flash from accepting
     ("deposit held") or from a refused card goes once the payment has moved on, so nothing on the page
     says something the panel no longer does. */
  var acceptedBanner = document.getElementById("accepted-banner");
  var shownStatus = (document.getElementById("payment-facts") || { dataset: {} }).dataset.status || "";
  function paymentBanner() {
    var facts = document.getElementById("payment-facts");
    var status = facts ? facts.dataset.status : "", text = facts ? facts.dataset.banner || "" : "";
    if (acceptedBanner) {
      acceptedBanner.textContent = text;
      acceptedBanner.hidden = !text;
    }
    if (text) banner.hidden = true;                                  // the payment banner says it all
    if (status !== shownStatus) {
      document.querySelectorAll(".flash.payment").forEach(function (n) { n.remove(); });
      shownStatus = status;
    }
  }

  function paymentEvent(d) {
    refreshPayment();
    // "Deposit held, the rest is taken when the work is done" is over once the payment moves on (sign-off, charge, cancel).
    var accepted = document.getElementById("accepted-banner");
    if (accepted && d.status && d.status !== "deposit_held") accepted.hidden = true;
    if (d.stage === "deposit") return;                               // a declined deposit is shown by the accept form itself
  }

  var handlers = {
    "quote.published": function (d) {
      // Normally bid.placed has drawn the row already; if not (it reached us late), take the whole truth.
      if (!row(d.bid_id)) { resync(); return; }
      // The bid's price is what the customer pays for its cheapest option (quotes/presenters.py bid_amount).
      if (d.options && d.options.length) {
        var totals = d.options.map(function (o) { return Number(o.total); });
        upsert({ bid_id: d.bid_id, amount: String(Math.min.apply(null, totals)) });
      }
      sort();
      refreshQuote(d.bid_id).then(function () { var node = row(d.bid_id); if (node) TL.fresh(node); });
    },
    "quote.accepted": function () { refreshPayment(); },
    "payment.deposit_authorized": paymentEvent,
    "payment.captured": paymentEvent,
    "payment.refunded": paymentEvent,
    "payment.voided": paymentEvent,
    "payment.failed": paymentEvent,
    "payment.approval_requested": paymentEvent,
    "payment.approved": paymentEvent,
    "payment.disputed": paymentEvent,
    "payment.dispute_resolved": paymentEvent,
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
    "bid.withdrawn": function (d) { var r = upsert({ bid_id: d.bid_id, status: d.status, status_label: d.status_label }); sort(); TL.fresh(r.node); },
    "bid.shortlisted": function (d) { upsert({ bid_id: d.bid_id, status: d.status, status_label: d.status_label }); sort(); },
    "bid.declined": function (d) { upsert({ bid_id: d.bid_id, status: d.status, status_label: d.status_label }); sort(); },
    "job.awarded": function (d) {
      setJobStatus(d.status, d.status_label);
      if (d.bid && row(d.bid.bid_id)) {
        upsert({ bid_id: d.bid.bid_id, status: d.bid.status, status_label: d.bid.status_label, amount: d.bid.amount });
        refreshQuote(d.bid.bid_id);                                  // its headline becomes what was accepted
      }
      // The payment panel's banner ("Accepted — deposit held") follows; until then, this.
      if (acceptedBanner && acceptedBanner.hidden) TL.banner(banner, "Job awarded. We've told the tradesperson; the other bidders have been told too.", "good");
      refreshPayment();
    },
    "job.cancelled": function (d) { setJobStatus(d.status, d.status_label); TL.banner(banner, "This job is cancelled.", "neutral"); refreshPayment(); },
    "job.expired": function (d) { setJobStatus(d.status, d.status_label); TL.banner(banner, "This job expired without an accepted bid.", "neutral"); },
    "job.status_changed": function (d) { setJobStatus(d.status, d.status_label); refreshPayment(); },
    "job.updated": function (d) { setDetails(d); },
    "job.direct_request_opened": function (d) {
      var note = document.getElementById("direct-request");
      if (note) { note.textContent = d.note; TL.fresh(note); }
    }
  };

  function resync() {
    Promise.all([TL.getJSON(cfg.job_url), TL.getJSON(cfg.bids_url)]).then(function (answers) {
      var job = answers[0], bids = answers[1];
      setJobStatus(job.status, job.status_label);
      setDetails({ title: job.title, description: job.description, place: job.place,
                   budget_min: job.budget_min, budget_max: job.budget_max, is_emergency: job.is_emergency });
      var seen = {};
      bids.forEach(function (b) {
        seen[b.bid_id] = true;
        var before = row(b.bid_id), was = before && before.dataset.status + "|" + before.dataset.amount;
        var r = upsert(b);
        if (r.isNew || was !== r.node.dataset.status + "|" + r.node.dataset.amount) TL.fresh(r.node);   // changed while we weren't listening
      });
      Array.prototype.slice.call(list.children).forEach(function (r) { if (!seen[r.dataset.bidId]) r.remove(); });
      sort();
      Object.keys(seen).forEach(refreshQuote);
      refreshPayment();
    }).catch(function (e) { console.error("resync failed", e); });
  }

  /* Promo codes: the server re-prices the option; the form then expects that total. */
  function promoFigures(form, figures) {
    form.querySelectorAll("[data-fig]").forEach(function (dd) {
      var name = dd.dataset.fig;
      if (figures[name] !== undefined) dd.textContent = (name === "promo_amount" ? "−" : "") + TL.money2(figures[name]);
    });
    form.querySelector('[name="expected_total"]').value = figures.total;
    form.querySelector(".accept-button").textContent = "Accept and pay " + TL.money2(figures.deposit) + " deposit";
  }

  list.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest(".apply-promo") : null;
    if (!button) return;
    var form = button.closest("form"), msg = form.querySelector(".promo-msg");
    var body = new FormData(form);
    button.disabled = true;
    fetch(form.dataset.promoUrl, { method: "POST", body: body, credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json().then(function (data) { return { ok: r.ok, data: data }; }); })
      .then(function (res) {
        if (res.ok) {
          promoFigures(form, res.data.figures);
          msg.className = "help promo-msg good";
          msg.textContent = res.data.promo_code ? res.data.promo_code + " applied: " + TL.money2(res.data.figures.promo_amount) + " off." : "No promo code.";
        } else {
          msg.className = "help promo-msg bad";
          msg.textContent = (res.data.error && res.data.error.message) || "That code can't be used.";
        }
      })
      .catch(function () { msg.className = "help promo-msg bad"; msg.textContent = "Couldn't check the code; try again."; })
      .then(function () { button.disabled = false; });
  });

  Live.subscribe(cfg.stream, function (msg) {
    var fn = handlers[msg.event];
    if (fn && msg.data && Number(msg.data.job_id || cfg.job_id) === cfg.job_id) fn(msg.data);
  }, { resync: resync, positions: cfg.positions });
})();
