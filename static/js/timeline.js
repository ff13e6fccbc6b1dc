/*
 * The job timeline (templates/audit/_timeline.html): appends "timeline.entry" pushes in
 * sequence order, live.  The customer's page hears them on job.<id>, the tradesperson's
 * on user.<their id> (pushes about other jobs are ignored).  After a missed push or a
 * reconnect the list is refetched from the API.  Text is only ever set with textContent.
 */
(function () {
  "use strict";
  var section = document.getElementById("timeline");
  if (!section || !window.Live || !window.TL) return;
  var jobId = Number(section.dataset.job);
  var list = document.getElementById("timeline-entries");
  var empty = document.getElementById("timeline-empty");
  var stream = section.dataset.mode === "tradesperson" ? "user." + document.body.dataset.user : "job." + jobId;

  function node(e, fresh) {
    return TL.el("li", { className: "tl-entry" + (fresh ? " fresh" : ""), dataset: { id: e.id, seq: e.sequence, type: e.event_type } }, [
      TL.el("time", { text: TL.when(e.occurred_at), attrs: { datetime: e.occurred_at } }),
      TL.el("span", { className: "tl-summary", text: e.summary }),
      e.actor_role && e.actor_role !== "system" ? TL.el("span", { className: "tl-actor", text: e.actor_role }) : null
    ]);
  }

  function add(e, fresh) {
    if (list.querySelector('[data-id="' + Number(e.id) + '"]')) return;    // already shown
    var item = node(e, fresh);
    var later = Array.prototype.find.call(list.children, function (li) { return Number(li.dataset.seq) > Number(e.sequence); });
    if (later) list.insertBefore(item, later); else list.append(item);
    empty.hidden = true;
  }

  function resync() {
    TL.getJSON(section.dataset.url).then(function (d) {
      d.entries.forEach(function (e) { add(e, false); });
    }).catch(function (err) { console.error(err); });
  }

  // A push that raced the page load can be missed without a sequence gap showing (the page had
  // no position yet), so a burst of pushes is followed by one quiet refetch; add() skips duplicates.
  var settle = null;
  Live.subscribe(stream, function (msg) {
    if (msg.event !== "timeline.entry" || Number(msg.data.job_id) !== jobId) return;
    add(msg.data, true);
    clearTimeout(settle);
    settle = setTimeout(resync, 1500);
  }, { resync: resync });
})();
