/*
 * The job form's trade questions: when the trade changes, fetch that trade's questions
 * (/jobs/new/questions/?trade=<slug>, rendered by the server like the rest of the form) and
 * swap them in; show a conditional question only while the answer it depends on is picked.
 * Hidden questions' inputs are disabled, so they are not sent (the server ignores them anyway).
 */
(function () {
  "use strict";
  var form = document.getElementById("job-form");
  var box = document.getElementById("trade-questions");
  if (!form || !box) return;
  var trade = form.querySelector('select[name="trade"]');

  function picked(key) {
    var values = [];
    box.querySelectorAll('[name="q_' + key + '"]').forEach(function (input) {
      var on = input.type === "radio" || input.type === "checkbox" ? input.checked : input.value !== "";
      if (on && !input.disabled) values.push(input.value);
    });
    return values;
  }

  function apply() {
    // In document order: a question hidden hides the questions that depend on it too.
    box.querySelectorAll(".question[data-show-if]").forEach(function (node) {
      var parent = box.querySelector('.question[data-question="' + node.dataset.showIf + '"]');
      var shown = !!parent && !parent.hidden && picked(node.dataset.showIf).indexOf(node.dataset.showValue) !== -1;
      node.hidden = !shown;
      node.querySelectorAll("input, select, textarea").forEach(function (input) { input.disabled = !shown; });
    });
  }

  function load() {
    box.setAttribute("aria-busy", "true");
    fetch(box.dataset.url + "?trade=" + encodeURIComponent(trade.value), { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) { box.innerHTML = html; apply(); })
      .catch(function () {
        box.textContent = "";
        box.appendChild(TL.el("p", { className: "banner bad", text: "We couldn't load the questions for this trade. Check your connection and choose the trade again." }));
      })
      .then(function () { box.removeAttribute("aria-busy"); });
  }

  box.addEventListener("change", apply);
  box.addEventListener("input", apply);
  if (trade) trade.addEventListener("change", load);
  apply();
})();
