/*
 * The quote builder on the lead page: add and remove line rows, and show each option's
 * figures as the tradesperson types. The figures come from the server's pricing engine
 * (POST <preview_url>, debounced); this script never computes money. Without it the form
 * still works: the server prices, checks and shows errors next to the fields.
 */
(function () {
  "use strict";
  var form = document.getElementById("quote-builder");
  var template = document.getElementById("line-template");
  var cfg = TL.config("live-config");
  if (!form || !template || !cfg) return;
  var timer = null, inflight = null, counter = 1000;

  function nextKey(option) {
    var max = -1;
    option.querySelectorAll(".line-row").forEach(function (row) {
      var n = Number(row.dataset.key.split("-").pop());
      if (n > max) max = n;
    });
    counter = Math.max(counter, max + 1);
    return "opt-" + option.dataset.index + "-line-" + (counter++);
  }

  function addLine(option) {
    var row = template.content.firstElementChild.cloneNode(true);
    var key = nextKey(option);
    row.dataset.key = key;
    row.querySelectorAll("[data-field]").forEach(function (input) { input.name = key + "-" + input.dataset.field; });
    row.querySelector('[data-field="quantity"]').value = "1";
    option.querySelector(".lines").append(row);
    return row;
  }

  form.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    if (target.closest(".add-line")) {
      var row = addLine(target.closest(".quote-option"));
      row.querySelector('[data-field="description"]').focus();
    } else if (target.closest(".remove-line")) {
      target.closest(".line-row").remove();
      schedule();
    }
  });

  function setText(node, text) { if (node) node.textContent = text; }

  function clearErrors() {
    form.querySelectorAll("[aria-invalid]").forEach(function (n) { n.removeAttribute("aria-invalid"); });
    form.querySelectorAll(".row-errors, .option-error, [id^=err-], #builder-error").forEach(function (n) { n.textContent = ""; });
    form.querySelectorAll(".has-error").forEach(function (n) { n.classList.remove("has-error"); });
  }

  /* Errors by field name (as posted), an option ("opt-1") or the form; only for fields someone has touched. */
  function showErrors(errors) {
    clearErrors();
    Object.keys(errors).forEach(function (key) {
      var message = errors[key];
      var input = form.querySelector('[name="' + key + '"]');
      if (input) {
        if (!input.dataset.touched) return;
        input.setAttribute("aria-invalid", "true");
        var row = input.closest(".line-row");
        var list = row ? row.querySelector(".row-errors") : document.getElementById("err-" + key);
        if (list) list.append(TL.el("li", { text: message }));
        return;
      }
      var option = /^opt-(\d)$/.exec(key);
      var box = option ? document.getElementById("opt-" + option[1] + "-error") : document.getElementById("err-" + key);
      if (option && !form.querySelector('.quote-option[data-index="' + option[1] + '"] [data-touched]')) return;
      if (box) box.append(TL.el("li", { text: message }));
    });
  }

  function showFigures(options) {
    var byIndex = {};
    options.forEach(function (o) { byIndex[o.index] = o; });
    form.querySelectorAll(".quote-option").forEach(function (option) {
      var figures = byIndex[option.dataset.index];
      option.querySelectorAll("[data-fig]").forEach(function (dd) {
        var name = dd.dataset.fig;
        if (!figures) { dd.textContent = "—"; return; }
        dd.textContent = (name === "discounts_total" ? "−" : "") + TL.money2(figures[name]);
      });
    });
  }

  function preview() {
    if (inflight) inflight.abort();
    inflight = new AbortController();
    fetch(cfg.preview_url, { method: "POST", body: new FormData(form), credentials: "same-origin",
                             headers: { Accept: "application/json" }, signal: inflight.signal })
      .then(function (r) { if (!r.ok) throw new Error("preview answered " + r.status); return r.json(); })
      .then(function (data) { showFigures(data.options); showErrors(data.errors); form.dataset.priced = data.ok ? "ok" : "errors"; })
      .catch(function (e) { if (e.name !== "AbortError") console.error(e); });
  }

  function schedule() {
    form.dataset.priced = "";
    clearTimeout(timer);
    timer = setTimeout(preview, 300);
  }

  form.addEventListener("input", function (event) {
    if (event.target instanceof HTMLElement && event.target.name) event.target.dataset.touched = "1";
    schedule();
  });
  form.addEventListener("change", function (event) {
    if (event.target instanceof HTMLElement && event.target.name) event.target.dataset.touched = "1";
    schedule();
  });
  // A draft the server sent back (errors, or a quote to revise): price it now, keeping its errors visible.
  if (form.querySelector(".errorlist li")) form.querySelectorAll("[name]").forEach(function (n) { n.dataset.touched = "1"; });
  preview();
})();
