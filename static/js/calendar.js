/*
 * The week calendar and the dispatch board (templates/scheduling/calendar.html, dispatch.html).
 * The server renders the grid; on any push on calendar.<owner_id> (every appointment change of
 * the business) or an appointment.* push on the viewer's own user.<id> stream, the page refetches
 * its own URL with ?fragment=1 (just the grid) and swaps it in, keeping the scroll positions.
 * A missed push or a reconnect does the same (live.js calls resync).
 */
(function () {
  "use strict";
  var cfg = TL.config("schedule-live");
  var box = document.getElementById("schedule-fragment");
  if (!cfg || !box) return;

  var inFlight = false, again = false, timer = null;

  function scrollState() {
    var saved = { x: window.scrollX, y: window.scrollY, inner: [] };
    box.querySelectorAll("[data-keep-scroll], .table-wrap").forEach(function (node) { saved.inner.push([node.scrollTop, node.scrollLeft]); });
    return saved;
  }

  function restore(saved) {
    box.querySelectorAll("[data-keep-scroll], .table-wrap").forEach(function (node, i) {
      if (saved.inner[i]) { node.scrollTop = saved.inner[i][0]; node.scrollLeft = saved.inner[i][1]; }
    });
    window.scrollTo(saved.x, saved.y);
  }

  /* Our own server-rendered HTML (never pushed data). Appointments that are new or moved get highlighted. */
  function refresh() {
    if (inFlight) { again = true; return; }
    inFlight = true;
    fetch(cfg.fragment_url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { if (!r.ok) throw new Error("fragment answered " + r.status); return r.text(); })
      .then(function (html) {
        var before = {};
        box.querySelectorAll("[data-appointment]").forEach(function (a) { before[a.dataset.appointment] = a.outerHTML; });
        var saved = scrollState();
        var open = [];                                  // a Move form someone has open stays open, with what they chose in it
        box.querySelectorAll("details[data-keep-open][open]").forEach(function (d) {
          var values = {};
          d.querySelectorAll("select[name], input[name]").forEach(function (f) { values[f.name] = f.value; });
          open.push({ key: d.dataset.keepOpen, values: values, focus: d.contains(document.activeElement) ? document.activeElement.name : null });
        });
        box.innerHTML = html;
        open.forEach(function (kept) {
          var node = box.querySelector('details[data-keep-open="' + kept.key + '"]');
          if (!node) return;                            // the card is gone (moved elsewhere by someone else)
          node.open = true;
          node.querySelectorAll("select[name], input[name]").forEach(function (f) {
            if (Object.prototype.hasOwnProperty.call(kept.values, f.name)) f.value = kept.values[f.name];
            if (kept.focus && f.name === kept.focus) f.focus();
          });
        });
        restore(saved);
        box.querySelectorAll("[data-appointment]").forEach(function (a) {
          if (before[a.dataset.appointment] !== a.outerHTML) TL.fresh(a);
        });
        box.dataset.refreshed = String(Number(box.dataset.refreshed || 0) + 1);
      })
      .catch(function (e) { console.error(e); })
      .then(function () { inFlight = false; if (again) { again = false; refresh(); } });
  }

  function soon() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 120);                 // a burst of events (booked + status) becomes one fetch
  }

  TL.scheduleRefresh = soon;                          // the dispatch board redraws at once after its own change
  Live.subscribe(cfg.stream, soon, { resync: soon });
  Live.subscribe(cfg.user_stream, function (msg) {
    if (/^appointment\.|^worker\./.test(msg.event || "")) soon();
  });

  /* The worker filter reloads the page with ?worker= (a normal GET, so the URL stays shareable). */
  document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

})();
