/*
 * Reviews in the browser (templates/reviews/*).
 *
 * - The customer's job page (#job-review): the review form once the job is completed (it appears live when
 *   job.status_changed says so), posted with TL.api to POST /api/jobs/<id>/review/; refusals are shown as the
 *   API words them, next to the field they are about.
 * - The public profile (#pro-reviews): the rating summary and the reviews, live on pro.<id> (rating.updated
 *   carries the new summary; review.replied a reply); the list is refetched from GET /api/pros/<id>/reviews/.
 *   The tradesperson viewing their own profile gets a reply form under each review they have not answered.
 *   content.hidden / content.restored (moderation) refetch the list; a hidden profile is replaced by a notice.
 * - The Report dialog (#report-dialog): any [data-report-target] button opens it; POST /api/reports/.
 *
 * Everything pushed or fetched is inserted with textContent (TL.el), never as HTML.
 */
(function () {
  "use strict";
  if (!window.TL) return;
  var el = TL.el;
  var ASPECT_SHORT = { punctuality: "Punctuality", quality: "Quality", value: "Value", communication: "Communication" };

  function stars(n) {
    var k = Math.max(0, Math.min(5, Math.round(Number(n) || 0)));
    return "★★★★★".slice(0, k) + "☆☆☆☆☆".slice(0, 5 - k);
  }

  function day(iso) {
    var d = new Date(iso);
    if (isNaN(d)) return "";
    return new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: document.body.dataset.tz || undefined }).format(d);
  }

  function reportButton(target, id, testid) {
    return el("button", { className: "link small report-btn", text: "Report", attrs: { type: "button", "data-testid": testid }, dataset: { reportTarget: target, reportId: id } });
  }

  // showHidden: the author's own view (waiting/hidden badges, their pending reply); canReport: anyone else.
  function reviewItem(r, showHidden, canReport) {
    var head = el("div", { className: "review-head" }, [
      el("span", { className: "stars", text: stars(r.rating), attrs: { "aria-label": r.rating + " out of 5 stars" } }),
      el("strong", { text: r.reviewer }),
      el("span", { className: "muted small", text: r.trade + " · " + day(r.posted_at) })
    ]);
    if (r.hidden && showHidden) {
      head.append(r.moderation_status === "pending"
        ? el("span", { className: "badge", text: "Waiting for a check", attrs: { "data-testid": "review-waiting" } })
        : el("span", { className: "badge", text: "Hidden by moderators" }));
    }
    if (canReport && !r.hidden) head.append(reportButton("review", r.id, "report-review"));
    var aspects = Object.keys(ASPECT_SHORT).map(function (k) { return ASPECT_SHORT[k] + " " + r.aspects[k]; }).join(" · ");
    var children = [head, el("div", { className: "review-aspects muted small", text: aspects })];
    if (r.comment) children.push(el("p", { className: "review-comment", text: r.comment }));
    if (r.replied_at && r.reply_status === "approved") {
      var title = [el("strong", { text: "Reply from the tradesperson" })];
      if (canReport) title.push(document.createTextNode(" "), reportButton("reply", r.id, "report-reply"));
      children.push(el("div", { className: "review-reply", attrs: { "data-testid": "review-reply" } }, title.concat([el("p", { text: r.reply })])));
    } else if (r.replied_at && showHidden) {
      children.push(el("div", { className: "review-reply", attrs: { "data-testid": "review-reply" } }, [
        el("strong", { text: "Your reply" }), document.createTextNode(" "),
        el("span", { className: "badge", text: r.reply_status === "pending" ? "Waiting for a check" : "Hidden by moderators", attrs: { "data-testid": "reply-waiting" } }),
        el("p", { text: r.reply })
      ]));
    }
    return el("li", { className: "review-item" + (r.hidden ? " review-hidden" : ""), dataset: { review: r.id }, attrs: { "data-testid": "review-item" } }, children);
  }

  function errorMessage(res) {
    if (res.data && res.data.error && res.data.error.message) return res.data.error.message;
    return "Something went wrong (" + res.status + "). Please try again.";
  }

  /* ---------------------------------------------------------------- the job page */

  function jobPanel() {
    var root = document.getElementById("job-review");
    var config = TL.config("review-config");
    if (!root || !config) return;
    if (config.status !== "completed" && window.Live) {
      Live.subscribe(config.job_stream, function (msg) {
        if (msg.event === "job.status_changed" && msg.data && msg.data.status === "completed") root.hidden = false;
      });
    }
    var form = root.querySelector("[data-testid=review-form]");
    if (!form) return;
    var nonfield = form.querySelector("[data-testid=review-error]");
    var button = form.querySelector("[data-testid=review-submit]");

    function clearErrors() {
      form.querySelectorAll("[data-error-for]").forEach(function (ul) { ul.replaceChildren(); });
      form.querySelectorAll(".has-error").forEach(function (n) { n.classList.remove("has-error"); });
      nonfield.replaceChildren();
      nonfield.hidden = true;
    }

    function fieldError(name, message) {
      var ul = form.querySelector("[data-error-for=" + name + "]");
      if (!ul) return false;
      ul.append(el("li", { text: message }));
      var box = ul.closest(".star-field, .field");
      if (box) box.classList.add("has-error");
      return true;
    }

    function showError(message) {
      nonfield.append(el("li", { text: message }));
      nonfield.hidden = false;
    }

    function picked(name) {
      var input = form.querySelector("input[name=" + name + "]:checked");
      return input ? Number(input.value) : null;
    }

    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      clearErrors();
      var payload = { rating: picked("rating"), aspects: {}, comment: form.querySelector("[name=comment]").value };
      var missing = false;
      if (payload.rating === null) { fieldError("rating", "Choose 1 to 5 stars."); missing = true; }
      config.aspects.forEach(function (pair) {
        payload.aspects[pair[0]] = picked(pair[0]);
        if (payload.aspects[pair[0]] === null) { fieldError(pair[0], "Choose 1 to 5 stars."); missing = true; }
      });
      if (missing) { showError("Rate the job overall and each of the four aspects."); return; }
      button.disabled = true;
      TL.api("POST", config.review_url, payload).then(function (res) {
        button.disabled = false;
        if (res.ok) {
          var mine = root.querySelector("[data-testid=my-review]");
          mine.replaceChildren(el("ul", { className: "list" }, [reviewItem(res.data, true)]));
          mine.hidden = false;
          form.remove();
          root.querySelector("h2").textContent = "Your review";
          TL.fresh(root);
          return;
        }
        var fields = res.data && res.data.error && res.data.error.fields;
        if (fields) {
          Object.keys(fields).forEach(function (name) {
            var value = fields[name];
            if (Array.isArray(value)) value.forEach(function (m) { fieldError(name, String(m)); });
            else if (value && typeof value === "object") Object.keys(value).forEach(function (sub) { fieldError(sub, String(value[sub])); });
          });
        }
        showError(errorMessage(res));
      }, function () {
        button.disabled = false;
        showError("You seem to be offline; your review was not sent. Try again.");
      });
    });
  }

  /* ---------------------------------------------------------------- the public profile */

  function proPanel() {
    var root = document.getElementById("pro-reviews");
    var config = TL.config("pro-reviews-config");
    if (!root || !config) return;
    var list = root.querySelector("[data-testid=review-list]");
    var empty = root.querySelector("[data-testid=no-reviews]");

    function trendText(t) {
      if (!t || !t.recent.count) return "No reviews in the last " + (t ? t.days : 30) + " days";
      var text = "Last " + t.days + " days: " + t.recent.average + " from " + t.recent.count;
      if (t.change !== null) {
        var word = t.direction === "up" ? "▲ up" : t.direction === "down" ? "▼ down" : "steady";
        text += " (" + word + (Number(t.change) ? " " + t.change : "") + " on the " + t.days + " days before)";
      }
      return text;
    }

    function applySummary(s) {
      if (!s) return;
      root.querySelector("[data-testid=rating-average]").textContent = s.average === null ? "–" : s.average;
      root.querySelector("[data-testid=rating-stars]").textContent = stars(s.average);
      root.querySelector("[data-testid=rating-count]").textContent = s.count;
      root.querySelector("[data-testid=rating-plural]").textContent = s.count === 1 ? "" : "s";
      root.querySelector("[data-testid=rating-trend]").textContent = trendText(s.trend);
      root.querySelectorAll("[data-testid=rating-bars] li").forEach(function (li) {
        var k = s.distribution[li.dataset.stars] || 0;
        li.querySelector(".bar i").style.width = (s.count ? Math.round(100 * k / s.count) : 0) + "%";
        li.querySelector(".n").textContent = k;
      });
      var dds = root.querySelectorAll("[data-testid=rating-aspects] dd");
      config.aspects.forEach(function (pair, i) { if (dds[i]) dds[i].textContent = s.aspects[pair[0]] === null ? "–" : s.aspects[pair[0]]; });
      TL.fresh(root);
    }

    function replyForm(review) {
      var text = el("textarea", { attrs: { rows: "2", maxlength: "2000", name: "reply", "aria-label": "Your reply", placeholder: "Thank the customer, or explain" } });
      var error = el("ul", { className: "errorlist nonfield", attrs: { role: "alert", "data-testid": "reply-error" } });
      error.hidden = true;
      var button = el("button", { className: "secondary small", text: "Reply", attrs: { type: "submit", "data-testid": "reply-submit" } });
      var hint = el("p", { className: "help", text: "Phone numbers, emails, links and social handles are hidden automatically." });
      var form = el("form", { className: "form reply-form", attrs: { "data-testid": "reply-form", novalidate: "" } }, [text, hint, error, el("div", {}, [button])]);
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        error.replaceChildren();
        error.hidden = true;
        button.disabled = true;
        TL.api("POST", config.reply_base + review.id + "/reply/", { reply: text.value }).then(function (res) {
          button.disabled = false;
          if (res.ok) { refetch(); return; }
          error.append(el("li", { text: errorMessage(res) }));
          error.hidden = false;
        }, function () {
          button.disabled = false;
          error.append(el("li", { text: "You seem to be offline; the reply was not sent." }));
          error.hidden = false;
        });
      });
      return el("li", { className: "reply-slot", dataset: { replyFor: review.id } }, [form]);
    }

    function renderList(reviews) {
      // A reply form already on the page is kept, not rebuilt: a refetch (a push, a resync after
      // reconnecting) must not wipe what is being typed or the error just shown under it.
      var forms = {};
      list.querySelectorAll("[data-reply-for]").forEach(function (slot) { forms[slot.dataset.replyFor] = slot; });
      var nodes = [];
      reviews.forEach(function (r) {
        nodes.push(reviewItem(r, config.is_owner, config.can_report));
        if (config.is_owner && !r.replied_at) nodes.push(forms[String(r.id)] || replyForm(r));
      });
      list.replaceChildren.apply(list, nodes);
      empty.hidden = reviews.length > 0;
    }

    function refetch() {
      return TL.api("GET", config.reviews_url).then(function (res) {
        if (!res.ok || !res.data) return;
        applySummary(res.data.summary);
        renderList(res.data.reviews);
      });
    }

    // The server-rendered reply slots become forms (the page is usable before any fetch).
    if (config.is_owner) {
      list.querySelectorAll("[data-reply-for]").forEach(function (slot) {
        slot.replaceWith(replyForm({ id: slot.dataset.replyFor }));
      });
    }
    if (config.stream && window.Live) {
      Live.subscribe(config.stream, function (msg) {
        if (msg.event === "rating.updated" && msg.data) applySummary(msg.data.summary);
        if (msg.event === "content.hidden" && msg.data && msg.data.target === "profile" && !config.is_owner) {
          // Moderators took the whole profile off: say so instead of showing it (its owner keeps the page).
          var page = document.getElementById("pro-public");
          var gone = document.getElementById("pro-gone");
          if (page && gone) { page.hidden = true; gone.hidden = false; }
          return;
        }
        refetch();
      }, { resync: refetch });
    }
  }

  /* ---------------------------------------------------------------- the Report dialog */

  function reportDialog() {
    var dialog = document.getElementById("report-dialog");
    var config = TL.config("report-config");
    if (!dialog || !config || !dialog.showModal) return;
    var form = dialog.querySelector("form");
    var error = dialog.querySelector("[data-testid=report-error]");
    var done = dialog.querySelector("[data-testid=report-done]");
    var submit = dialog.querySelector("[data-testid=report-submit]");
    var WHAT = { review: "You are reporting a review.", reply: "You are reporting a reply to a review.", profile: "You are reporting this business profile." };
    var target = null;

    function say(node, text) { node.replaceChildren(node.tagName === "UL" ? el("li", { text: text }) : document.createTextNode(text)); node.hidden = !text; }

    // One listener for every Report button, including those in a list re-rendered after a live update.
    document.addEventListener("click", function (ev) {
      var button = ev.target.closest && ev.target.closest("[data-report-target]");
      if (!button) return;
      target = { target: button.dataset.reportTarget, object_id: Number(button.dataset.reportId) };
      form.reset();
      say(error, ""); say(done, "");
      submit.hidden = false; submit.disabled = false;
      dialog.querySelector("[data-testid=report-what]").textContent = WHAT[target.target] || "";
      dialog.showModal();
    });
    dialog.querySelector("[data-testid=report-cancel]").addEventListener("click", function () { dialog.close(); });
    form.addEventListener("change", function () { say(error, ""); });  // a reason picked answers "Choose what is wrong."
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var picked = form.querySelector("input[name=reason]:checked");
      if (!picked) { say(error, "Choose what is wrong."); return; }
      submit.disabled = true;
      var payload = { target: target.target, object_id: target.object_id, reason: picked.value, text: form.elements.text.value };
      TL.api("POST", config.report_url, payload).then(function (res) {
        submit.disabled = false;
        if (res.ok) { say(error, ""); say(done, res.data.message); submit.hidden = true; return; }
        say(error, errorMessage(res));
      }, function () {
        submit.disabled = false;
        say(error, "You seem to be offline; the report was not sent. Try again.");
      });
    });
  }

  function start() { jobPanel(); proPanel(); reportDialog(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
