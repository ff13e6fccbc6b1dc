/*
 * The quote builder on the lead page: add and remove line rows, and show each option's
 * figures as the tradesperson types. The figures come from the server's pricing engine
 * (POST <preview_url>, debounced); this script never computes money. Without it the form
 * still works: the server prices, checks and shows errors next to the fields.
 *
 * The price book pickers ("Add from price book", "Start from template") only copy a saved line's
 * kind, text, quantity and unit price into ordinary rows (from the page's price-book-data JSON);
 * the rows stay editable and are priced by the same server preview as typed ones.
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

  var book = TL.config("price-book-data") || { items: [], templates: [] };
  function byId(list, id) { return list.filter(function (x) { return String(x.id) === id; })[0]; }

  function isBlank(row) {
    return !row.querySelector('[data-field="description"]').value.trim() && !row.querySelector('[data-field="unit_price"]').value.trim();
  }

  function fillRow(row, line) {
    [["kind", line.kind], ["description", line.description], ["quantity", line.quantity || "1"], ["unit_price", line.unit_price]]
      .forEach(function (pair) {
        var input = row.querySelector('[data-field="' + pair[0] + '"]');
        input.value = pair[1];
        input.dataset.touched = "1";
      });
  }

  /* The item goes into the option's first empty row, or a new one. */
  function addItem(option, item) {
    var row = Array.prototype.filter.call(option.querySelectorAll(".line-row"), isBlank)[0] || addLine(option);
    fillRow(row, { kind: item.kind, description: item.description, quantity: "1", unit_price: item.unit_price });
    return row;
  }

  /* A template replaces the option's lines with its own. */
  function startFrom(option, template) {
    option.querySelectorAll(".line-row").forEach(function (row) { row.remove(); });
    template.lines.forEach(function (line) { fillRow(addLine(option), line); });
    addLine(option);  // a blank row to type another line
  }

  form.querySelectorAll("[data-needs-script]").forEach(function (n) { n.hidden = false; });

  form.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    var option = target.closest(".quote-option");
    if (target.closest(".pb-add")) {
      var item = byId(book.items, option.querySelector(".pb-item").value);
      if (!item) { option.querySelector(".pb-item").focus(); return; }
      addItem(option, item).querySelector('[data-field="quantity"]').focus();
      schedule();
    } else if (target.closest(".pb-start")) {
      var template = byId(book.templates, option.querySelector(".pb-template").value);
      if (!template) { option.querySelector(".pb-template").focus(); return; }
      startFrom(option, template);
      schedule();
    } else if (target.closest(".add-line")) {
      var row = addLine(option);
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
