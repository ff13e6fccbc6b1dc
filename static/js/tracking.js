/*
 * The customer's view of the visit (templates/tracking/_job_tracking.html), from GET /api/jobs/<id>/visit/.
 *
 * The map is a local SVG: the job's address at the centre, the tradesperson's marker and trail placed by
 * their distance and bearing from it (equirectangular offsets in km, fine over a city), on a scale that
 * fits the whole trail with range rings labelled in km. No tiles, no CDN, no third party sees anything.
 *
 * Live: the visit's steps arrive on job.<id> (visit.*, tracking.eta_drift, job.status_changed, and
 * appointment.* which can make the panel appear); while the tradesperson is on the way the page also
 * subscribes to track.<id> for tracking.position {lat, lng, at, eta}. The server only lets the customer
 * subscribe while on the way and stops sending positions once they arrive (then position is null).
 */
(function () {
  "use strict";
  var root = document.getElementById("tracking");
  if (!root || !window.TL || !window.Live) return;

  var el = TL.el;
  var SVG = "http://www.w3.org/2000/svg";
  var d = root.dataset;
  var stageBadge = root.querySelector("[data-testid=tracking-stage]");
  var etaBox = root.querySelector("[data-testid=tracking-eta]");
  var map = root.querySelector("[data-testid=tracking-map]");
  var timeline = root.querySelector("[data-testid=tracking-timeline]");
  var LABELS = { scheduled: "Scheduled", on_the_way: "On the way", arrived: "Arrived", working: "Working", paused: "Paused", completed: "Completed" };
  var ORDER = ["scheduled", "on_the_way", "arrived", "working", "completed"];
  var SCALES_KM = [0.25, 0.5, 1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000];
  var MAP_RADIUS = 85;          // svg units for the outer ring
  var KM_PER_DEG_LAT = 110.574;

  var visit = null;
  var trackSubscribed = false;

  function hm(iso) {
    if (!iso) return "";
    try { return new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: document.body.dataset.tz || undefined }).format(new Date(iso)); }
    catch (e) { return new Date(iso).toTimeString().slice(0, 5); }
  }

  function svg(tag, attrs, children) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) { node.append(c); });
    return node;
  }

  /* km east and north of the destination */
  function offsetKm(lat, lng) {
    var dest = visit.destination;
    var east = (lng - dest.lng) * 111.32 * Math.cos(dest.lat * Math.PI / 180);
    var north = (lat - dest.lat) * KM_PER_DEG_LAT;
    return [east, north];
  }

  function kmLabel(km) { return km < 1 ? Math.round(km * 1000) + " m" : km + " km"; }

  function drawMap() {
    var pos = visit.position;
    var points = (visit.trail || []).map(function (p) { return offsetKm(p[0], p[1]); });
    if (pos) points.push(offsetKm(pos.lat, pos.lng));
    var show = !!(visit.stage === "on_the_way" && pos);
    map.toggleAttribute("hidden", !show);          // an SVG element has no .hidden property
    if (!show) { map.replaceChildren(); return; }
    var far = points.reduce(function (m, p) { return Math.max(m, Math.hypot(p[0], p[1])); }, 0.1);
    var scaleKm = SCALES_KM.filter(function (s) { return s >= far * 1.1; })[0] || SCALES_KM[SCALES_KM.length - 1];
    var unit = MAP_RADIUS / scaleKm;
    function xy(p) { return [(p[0] * unit).toFixed(2), (-p[1] * unit).toFixed(2)]; }
    var here = xy(points[points.length - 1]);
    var distanceKm = Math.hypot(points[points.length - 1][0], points[points.length - 1][1]);

    var children = [
      svg("circle", { cx: 0, cy: 0, r: 98, class: "map-ground" }),
      svg("circle", { cx: 0, cy: 0, r: MAP_RADIUS, class: "map-ring" }),
      svg("circle", { cx: 0, cy: 0, r: MAP_RADIUS / 2, class: "map-ring" }),
      svg("text", { x: 2, y: -MAP_RADIUS - 2, class: "map-label", "data-testid": "tracking-scale" }, [document.createTextNode(kmLabel(scaleKm))]),
      svg("text", { x: 2, y: -MAP_RADIUS / 2 - 2, class: "map-label" }, [document.createTextNode(kmLabel(scaleKm / 2))]),
      svg("text", { x: 90, y: -88, class: "map-north" }, [document.createTextNode("N↑")])
    ];
    if (points.length > 1) {
      children.push(svg("polyline", { points: points.map(function (p) { return xy(p).join(","); }).join(" "), class: "map-trail", "data-testid": "tracking-trail" }));
    }
    children.push(svg("g", { class: "map-home", "data-testid": "tracking-destination" }, [
      svg("path", { d: "M-7 1 L0 -6 L7 1 L5 1 L5 7 L-5 7 L-5 1 Z" })
    ]));
    var marker = svg("g", {
      class: "map-marker" + (visit.eta && visit.eta.late ? " late" : ""),
      transform: "translate(" + here[0] + " " + here[1] + ")",
      "data-testid": "tracking-marker",
      "data-lat": pos.lat,
      "data-lng": pos.lng,
      "data-distance-km": distanceKm.toFixed(3)
    }, [svg("circle", { r: 9, class: "map-halo" }), svg("circle", { r: 5.5, class: "map-dot" })]);
    children.push(marker);
    map.replaceChildren.apply(map, children);
    map.setAttribute("aria-label", "Your tradesperson is " + distanceKm.toFixed(1) + " km from your address (straight line).");
  }

  function lastStep(stage) {
    var steps = (visit.timeline || []).filter(function (s) { return s.stage === stage; });
    return steps[steps.length - 1] || null;
  }

  function drawEta() {
    var v = visit, text = "", late = false;
    if (v.stage === "on_the_way") {
      if (v.eta) {
        var minutes = Math.max(1, Math.round(v.eta.minutes));
        text = "Arriving in about " + minutes + " min (" + hm(v.eta.at) + ") · " + v.eta.distance_km.toFixed(1) + " km away";
        if (v.eta.late) { text += " · running late"; late = true; }
      } else {
        text = "On the way: waiting for their first position…";
      }
    } else if (v.stage === "arrived") {
      var arrived = lastStep("arrived");
      text = "Arrived" + (arrived ? " at " + hm(arrived.at) : "") + (v.arrived_auto ? " (detected from their location)" : "");
    } else if (v.stage === "working") {
      var working = lastStep("working");
      text = "Working" + (working ? " since " + hm(working.at) : "");
    } else if (v.stage === "paused") {
      var paused = lastStep("paused");
      text = "Paused" + (paused ? " at " + hm(paused.at) : "") + ": they'll be back.";
    } else if (v.stage === "completed") {
      var done = lastStep("completed");
      text = "Completed" + (done ? " at " + hm(done.at) : "");
    } else if (v.appointment) {
      text = "Booked for " + TL.when(v.appointment.starts_at) + ". You'll see them here when they set off.";
    }
    etaBox.textContent = text;
    etaBox.classList.toggle("late", late);
  }

  function drawTimeline() {
    var steps = visit.timeline || [];
    var items = [el("li", { className: "done", dataset: { stage: "scheduled" } }, [
      el("strong", { text: "Scheduled" }),
      visit.appointment ? el("span", { className: "muted", text: " " + TL.when(visit.appointment.starts_at) }) : null
    ])];
    steps.forEach(function (s) {
      items.push(el("li", { className: "done", dataset: { stage: s.stage } }, [
        el("strong", { text: LABELS[s.stage] || s.stage }),
        el("span", { className: "muted", text: " " + hm(s.at) + (s.auto ? " (detected)" : "") })
      ]));
    });
    var reached = ORDER.indexOf(visit.stage === "paused" ? "working" : visit.stage);
    ORDER.slice(reached + 1).forEach(function (stage) {
      items.push(el("li", { className: "todo", dataset: { stage: stage } }, [el("strong", { text: LABELS[stage] })]));
    });
    var done = items.filter(function (li) { return li.classList.contains("done"); });
    done[done.length - 1].classList.add("current");
    timeline.replaceChildren.apply(timeline, items);
  }

  function draw() {
    root.hidden = !(visit.appointment || visit.stage !== "scheduled");
    root.dataset.stage = visit.stage;
    stageBadge.textContent = LABELS[visit.stage] || visit.stage;
    stageBadge.className = "badge tracking-stage v-" + visit.stage;
    drawEta();
    drawMap();
    drawTimeline();
    if (visit.stage === "on_the_way" && !trackSubscribed) {
      trackSubscribed = true;
      Live.subscribe(d.trackStream, onTrack, { resync: refresh });
    }
  }

  function refresh() {
    return TL.getJSON(d.visitUrl).then(function (v) { visit = v; draw(); }).catch(function (e) { console.warn(e); });
  }

  function onTrack(msg) {
    if (!visit) return;
    if (msg.event === "tracking.position") {
      if (visit.stage !== "on_the_way") return;
      var p = msg.data;
      if (visit.position && visit.position.at && p.at <= visit.position.at) return;   // older than what we show
      visit.position = { lat: p.lat, lng: p.lng, at: p.at, accuracy_m: p.accuracy_m };
      visit.trail = (visit.trail || []).concat([[p.lat, p.lng, p.at]]).slice(-500);
      if (p.eta) visit.eta = p.eta;
      drawEta();
      drawMap();
      return;
    }
    refresh();
  }

  Live.subscribe(d.jobStream, function (msg) {
    if (/^(visit\.|tracking\.|appointment\.|job\.status_changed|job\.cancelled)/.test(msg.event)) refresh();
  });
  refresh();
})();
