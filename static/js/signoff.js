/*
 * The sign-off panel (templates/payments/_signoff_panel.html): refetched from the server on any
 * payment.* push about this job, so the customer and the tradesperson see approval, a reported
 * problem and its resolution without reloading. The customer's page hears job.<id>, the
 * tradesperson's user.<their id> (pushes about other jobs are ignored). The server renders the
 * HTML; nothing here builds text. A form being typed into is not replaced under the user's hands.
 */
(function () {
  "use strict";
  var panel = document.getElementById("signoff-panel");
  if (!panel || !window.Live) return;
  var jobId = Number(panel.dataset.job);
  var seq = 0;

  function busy() {
    var active = document.activeElement;
    return active && panel.contains(active) && (active.tagName === "TEXTAREA" || active.tagName === "INPUT");
  }

  function refresh() {
    var mine = ++seq;
    fetch(panel.dataset.url, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error("sign-off answered " + r.status); return r.text(); })
      .then(function (html) {
        if (mine !== seq) return;                                   // a newer fetch is on its way
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var state = holder.querySelector("#signoff-state"), now = panel.querySelector("#signoff-state");
        var same = state && now && state.dataset.state === now.dataset.state;
        if (same && busy()) return;                                 // nothing new to show; don't disturb typing
        panel.innerHTML = html;
        panel.hidden = !html.trim();
        if (!panel.hidden && !same && window.TL) TL.fresh(panel);
      }).catch(function (e) { console.error(e); });
  }

  Live.subscribe(panel.dataset.stream, function (msg) {
    if (!/^payment\./.test(msg.event) || Number(msg.data && msg.data.job_id) !== jobId) return;
    refresh();
  }, { resync: refresh });
})();
