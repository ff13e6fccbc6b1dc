/*
 * The tradesperson's visit page (templates/tracking/visit.html), made for a phone.
 *
 *   GET  /api/jobs/<id>/visit/              stage, timeline, ETA and the actions allowed now
 *   POST /api/jobs/<id>/visit/ {action}     on_the_way | arrived | start | pause | resume | complete
 *   POST /api/tracking/pings/ {job, pings}  positions, batched every few seconds (202; 429 = slow down; 5xx = kept, retried)
 *
 * While the visit is on the way (or just arrived) the page watches navigator.geolocation and sends the
 * fixes it collected every `flush_ms`; it stops as soon as the stage moves on. A geofence arrival made
 * by the server (visit.arrived with auto) reaches the page on track.<id> and redraws the buttons.
 * Text from the server is only inserted with textContent.
 */
(function () {
  "use strict";
  var root = document.getElementById("visit");
  if (!root || !window.TL || !window.Live) return;
  var cfg = TL.config("visit-config");
  var el = TL.el;
  var stageBox = root.querySelector("[data-testid=visit-stage]");
  var etaBox = root.querySelector("[data-testid=visit-eta]");
  var sharingBox = root.querySelector("[data-testid=visit-sharing]");
  var errorBox = root.querySelector("[data-testid=visit-error]");
  var noneBox = root.querySelector("[data-testid=visit-none]");
  var whereBox = root.querySelector("[data-testid=visit-where]");
  var timeline = root.querySelector("[data-testid=visit-timeline]");
  var buttons = Array.prototype.slice.call(root.querySelectorAll("[data-action]"));
  var LABELS = { scheduled: "Scheduled", on_the_way: "On the way", arrived: "Arrived", working: "Working", paused: "Paused", completed: "Completed" };
  var SHARING_STAGES = { on_the_way: true, arrived: true };
  var MAX_BATCH = 100;

  var visit = null;
  var busy = false;
  var watchId = null;
  var queue = [];
  var flushTimer = null;
  var pauseUntil = 0;
  var sent = 0;

  function api(method, url, payload, headers) { return TL.api(method, url, payload, headers); }

  function hm(iso) {
    if (!iso) return "";
    var d = new Date(iso);
    try { return new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: document.body.dataset.tz || undefined }).format(d); }
    catch (e) { return d.toTimeString().slice(0, 5); }
  }

  function dayTime(iso) {
    var d = new Date(iso);
    try { return new Intl.DateTimeFormat("en-GB", { weekday: "short", day: "numeric", month: "short", timeZone: document.body.dataset.tz || undefined }).format(d) + ", " + hm(iso); }
    catch (e) { return d.toDateString() + ", " + hm(iso); }
  }

  function etaText(eta) {
    if (!eta) return "";
    var minutes = Math.max(1, Math.round(eta.minutes));
    return "ETA " + hm(eta.at) + " (" + minutes + " min, " + eta.distance_km.toFixed(1) + " km)" + (eta.late ? " · running late" : "");
  }

  function showError(text) { errorBox.textContent = text || ""; }

  function draw(v) {
    visit = v;
    root.dataset.stage = v.stage;
    stageBox.textContent = LABELS[v.stage] || v.stage;
    etaBox.textContent = v.stage === "on_the_way" ? etaText(v.eta) : "";
    var allowed = {};
    (v.actions || []).forEach(function (a) { allowed[a] = true; });
    buttons.forEach(function (b) { b.hidden = !allowed[b.dataset.action]; b.disabled = busy; });
    noneBox.hidden = (v.actions || []).length > 0;
    // The appointment can be cancelled or moved while this page is open (a trip called off goes back to scheduled).
    var unbooked = !v.appointment && v.stage === "scheduled";
    noneBox.textContent = unbooked ? "No appointment booked: book a time on the job page before setting off." : "Nothing to do now.";
    if (whereBox) whereBox.textContent = whereBox.dataset.place + (v.appointment ? " · " + dayTime(v.appointment.starts_at) + "–" + hm(v.appointment.ends_at) : " · no appointment booked");
    timeline.replaceChildren.apply(timeline, (v.timeline || []).map(function (step, i) {
      // Back to scheduled after setting off means the trip was called off (appointment or job cancelled).
      var label = step.stage === "scheduled" && i > 0 ? "Trip called off" : LABELS[step.stage] || step.stage;
      return el("li", { dataset: { stage: step.stage } }, [
        el("strong", { text: label }),
        el("span", { className: "muted", text: " " + hm(step.at) + (step.auto ? " (detected)" : "") })
      ]);
    }));
    if (SHARING_STAGES[v.stage]) startSharing(); else stopSharing();
  }

  function refresh() {
    return api("GET", cfg.visit_url).then(function (r) {
      if (r.ok) draw(r.data); else showError((r.data && r.data.error && r.data.error.message) || "Could not load the visit (" + r.status + ").");
    });
  }

  function act(button) {
    if (busy) return;
    if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
    busy = true;
    buttons.forEach(function (b) { b.disabled = true; });
    showError("");
    var action = button.dataset.action;
    var flushed = action === "arrived" || action === "start" ? flush() : Promise.resolve();
    flushed.then(function () { return api("POST", cfg.visit_url, { action: action }); }).then(function (r) {
      busy = false;
      if (r.ok) draw(r.data);
      else { showError((r.data && r.data.error && r.data.error.message) || "That didn't work (" + r.status + ")."); refresh(); }
    }).catch(function () {
      busy = false;
      showError("No connection: try again.");
      buttons.forEach(function (b) { b.disabled = false; });
    });
  }

  buttons.forEach(function (b) { b.addEventListener("click", function () { act(b); }); });

  /* --- location sharing ------------------------------------------------------------------ */

  function setSharing(state, text) {
    sharingBox.dataset.state = state;
    sharingBox.textContent = text;
  }

  function onFix(pos) {
    var c = pos.coords;
    var ping = { lat: c.latitude, lng: c.longitude, accuracy_m: Math.min(Math.max(c.accuracy || 0, 0), 10000), recorded_at: new Date(pos.timestamp || Date.now()).toISOString() };
    if (typeof c.speed === "number" && isFinite(c.speed) && c.speed >= 0 && c.speed <= 100) ping.speed_mps = c.speed;
    if (typeof c.heading === "number" && isFinite(c.heading) && c.heading >= 0 && c.heading <= 360) ping.heading = c.heading;
    queue.push(ping);
    if (queue.length > 500) queue = queue.slice(-500);           // offline for long: keep the newest
  }

  function onFixError(err) {
    var reason = err && err.code === 1 ? "Location permission was refused: allow it for this site so the customer can follow you."
      : "Can't get your location right now; still trying.";
    setSharing("error", reason);
  }

  function startSharing() {
    if (watchId !== null) return;
    if (!navigator.geolocation) { setSharing("error", "This browser cannot share its location."); return; }
    setSharing("on", "Sharing your location…");
    watchId = navigator.geolocation.watchPosition(onFix, onFixError, { enableHighAccuracy: true, maximumAge: 0, timeout: 30000 });
    flushTimer = setInterval(flush, cfg.flush_ms || 3000);
  }

  function stopSharing() {
    if (watchId !== null) navigator.geolocation.clearWatch(watchId);
    if (flushTimer !== null) clearInterval(flushTimer);
    watchId = null;
    flushTimer = null;
    queue = [];
    setSharing("off", "Location sharing is off.");
  }

  var flushing = null;
  function flush() {
    if (flushing) return flushing;
    if (!queue.length || Date.now() < pauseUntil) return Promise.resolve();
    var batch = queue.slice(0, MAX_BATCH);
    flushing = api("POST", cfg.pings_url, { job: cfg.job_id, pings: batch }).then(function (r) {
      if (r.status === 202) {
        queue = queue.slice(batch.length);
        sent += r.data.accepted;
        setSharing("on", "Sharing your location · " + sent + " position" + (sent === 1 ? "" : "s") + " sent, last at " + hm(new Date().toISOString()));
      } else if (r.status === 429) {
        pauseUntil = Date.now() + (r.retryAfter || 10) * 1000;    // keep the fixes, send them later
        setSharing("on", "Sending too often: pausing for a moment.");
      } else if (r.status >= 500) {
        // The server or the broker is briefly away (503 tracking_unavailable says "keep the pings"):
        // keep the fixes and try again; with a phone standing still there may be no newer fix.
        pauseUntil = Date.now() + (r.retryAfter || 2) * 1000;
        setSharing("on", "Can't reach the server right now: your positions will be sent shortly.");
      } else {
        queue = queue.slice(batch.length);                      // refused (e.g. the visit moved on): drop
        if (r.status === 409 || r.status === 403) refresh();
      }
    }).catch(function () {
      setSharing("on", "Offline: positions will be sent when the connection is back.");
    }).then(function () { flushing = null; });
    return flushing;
  }

  /* --- live ------------------------------------------------------------------------------ */

  Live.subscribe(cfg.track_stream, function (msg) {
    if (msg.event === "tracking.position") {
      if (msg.data && msg.data.eta && visit && visit.stage === "on_the_way") etaBox.textContent = etaText(msg.data.eta);
      return;
    }
    refresh();                                                   // visit.*, eta drift, job status: redraw
  }, { resync: refresh });

  window.addEventListener("pagehide", function () { flush(); });
  refresh();
})();
