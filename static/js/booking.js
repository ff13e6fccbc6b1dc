/*
 * A job's appointment (templates/scheduling/_job_appointment.html), for its customer
 * (mode "customer", the job page) or the business that won it (mode "tradesperson",
 * the lead page). Everything comes from the scheduling API:
 *
 *   GET  appointment/ (404: none)   GET proposals/   GET slots/?duration=&from=&worker=
 *   POST appointment/ · PATCH appointment/ · POST appointment/cancel/ · POST appointment/confirm/
 *   POST proposals/ (tradesperson) · POST proposals/<id>/accept/ (customer)
 *
 * Times are shown in the viewer's zone (body[data-tz], the zone the API labels with).
 * A refused time (409) shows the server's message and its `suggestions` as buttons; a 400
 * shows the message. Any appointment.* push on the page's stream (job.<id> for the customer,
 * user.<id> for the tradesperson) refetches and redraws, so nothing needs a reload.
 * Pushed or fetched text is only ever inserted with textContent (TL.el).
 */
(function () {
  "use strict";
  var root = document.getElementById("appointment");
  if (!root || !window.TL || !window.Live) return;

  var el = TL.el;
  var d = root.dataset;
  var mode = d.mode;
  var jobId = Number(d.job);
  var zone = document.body.dataset.tz || undefined;
  var body = root.querySelector(".appt-body");
  var errorBox = root.querySelector(".appt-error");
  var DAYS_PER_PAGE = 7;
  var DURATIONS = [[60, "1 hour"], [90, "1 h 30"], [120, "2 hours"], [180, "3 hours"], [240, "Half day (4 h)"], [480, "Full day (8 h)"]];

  var state = {
    appointment: null, proposal: null, slots: null, workers: null,
    duration: 60, worker: "", from: null, history: [],
    picking: null,            // null | "book" | "reschedule" | "propose"
    chosen: null,             // {starts_at, worker, worker_name} awaiting confirmation
    proposing: [],            // starts chosen for a proposal (tradesperson)
    flagSuggestions: null,    // from the last appointment.flagged push
    cancelling: false, busy: false, loaded: false
  };

  /* --- time formatting in the viewer's zone ---------------------------------------- */
  function parts(iso, opts) {
    var fmt;
    try { fmt = new Intl.DateTimeFormat("en-GB", Object.assign({ timeZone: zone }, opts)); }
    catch (e) { fmt = new Intl.DateTimeFormat("en-GB", opts); }
    var p = {};
    fmt.formatToParts(new Date(iso)).forEach(function (x) { p[x.type] = x.value; });
    return p;
  }
  function dayKey(iso) { var p = parts(iso, { year: "numeric", month: "2-digit", day: "2-digit" }); return p.year + "-" + p.month + "-" + p.day; }
  function dayLabel(iso) { var p = parts(iso, { weekday: "short", day: "numeric", month: "short" }); return p.weekday + " " + p.day + " " + p.month; }
  function longDay(iso) { var p = parts(iso, { weekday: "long", day: "numeric", month: "long", year: "numeric" }); return p.weekday + " " + p.day + " " + p.month + " " + p.year; }
  function hm(iso) { var p = parts(iso, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }); return p.hour + ":" + p.minute; }
  function whenLabel(iso) { return dayLabel(iso) + ", " + hm(iso); }
  function addMinutes(iso, minutes) { return new Date(new Date(iso).getTime() + minutes * 60000).toISOString(); }
  function rangeLabel(start, end) {
    return dayKey(start) === dayKey(end) ? longDay(start) + ", " + hm(start) + "–" + hm(end) : whenLabel(start) + " – " + whenLabel(end);
  }
  function minutesLabel(m) { var h = Math.floor(m / 60), r = m % 60; return (h ? h + " h" : "") + (h && r ? " " : "") + (r ? r + " min" : ""); }
  function startOf(s) { return typeof s === "string" ? s : (s && (s.starts_at || s.start)) || ""; }

  /* --- API ------------------------------------------------------------------------- */
  function api(method, url, payload, headers) { return TL.api(method, url, payload, headers); }

  /* A refusal for people: the message (without the server's own "Next free: ..." list when we show buttons for it). */
  function problem(res) {
    var err = (res.data && res.data.error) || {};
    var message = err.message || (res.status >= 500 ? "Something went wrong on our side; please try again." : "That didn't work (" + res.status + ").");
    var suggestions = Array.isArray(err.suggestions) ? err.suggestions : [];
    if (suggestions.length) message = message.replace(/\s*Next free:.*$/, "").replace(/\s*No free time in the next four weeks\.$/, "");
    if (err.fields) {
      var extra = [];
      Object.keys(err.fields).forEach(function (k) { [].concat(err.fields[k]).forEach(function (m) { extra.push(String(m)); }); });
      if (extra.length) message += " " + extra.join(" ");
    }
    return { message: message, suggestions: suggestions, code: err.code || "" };
  }

  function showError(p, onPick) {
    errorBox.textContent = "";
    if (!p) { errorBox.hidden = true; return; }
    errorBox.append(el("p", { text: p.message }));
    if (p.suggestions && p.suggestions.length && onPick) {
      errorBox.append(el("p", { className: "small", text: "Free instead:" }));
      errorBox.append(el("div", { className: "slot-list" }, p.suggestions.map(function (s) {
        return slotButton(startOf(s), whenLabel(startOf(s)), function () { onPick(startOf(s)); }, "suggestion-button");
      })));
    }
    errorBox.hidden = false;
  }

  /* --- loading --------------------------------------------------------------------- */
  var loadSeq = 0;
  function load() {
    var seq = ++loadSeq;
    var jobs = [
      api("GET", d.appointmentUrl),
      api("GET", d.proposalsUrl),
      mode === "tradesperson" && !state.workers ? api("GET", d.workersUrl) : Promise.resolve(null)
    ];
    return Promise.all(jobs).then(function (res) {
      if (seq !== loadSeq) return;
      var a = res[0], p = res[1], w = res[2];
      state.appointment = a.ok && a.data && a.data.status !== "cancelled" ? a.data : null;
      state.proposal = p.ok && p.data && p.data.proposal && (p.data.proposal.status || "open") === "open" ? p.data.proposal : null;
      if (w && w.ok && Array.isArray(w.data)) {
        state.workers = w.data.filter(function (x) { return x.active !== false; });
        if (!state.worker && state.workers.length) state.worker = String(state.workers[0].id);
      }
      if (state.appointment && !state.appointment.conflict_reason) state.flagSuggestions = null;
      if (state.proposal && state.proposal.duration_minutes && !state.appointment && mode === "customer") state.duration = state.proposal.duration_minutes;
      var needSlots = !state.appointment || state.picking === "reschedule" || state.appointment.conflict_reason;
      return needSlots ? loadSlots(seq) : null;
    }).then(function () {
      if (seq !== loadSeq) return;
      state.loaded = true;
      render();
    }).catch(function (e) { console.error("appointment load failed", e); });
  }

  function slotsUrl() {
    var q = ["duration=" + encodeURIComponent(state.duration), "days=" + DAYS_PER_PAGE];
    if (state.from) q.push("from=" + encodeURIComponent(state.from));
    if (mode === "tradesperson" && state.worker) q.push("worker=" + encodeURIComponent(state.worker));
    return d.slotsUrl + "?" + q.join("&");
  }

  function loadSlots(seq) {
    return api("GET", slotsUrl()).then(function (res) {
      if (seq !== undefined && seq !== loadSeq) return;
      if (res.ok) { state.slots = res.data; state.slotsError = null; }
      else { state.slots = null; state.slotsError = res.status === 409 ? null : problem(res); }   // 409: not bookable now
    });
  }

  function reloadSlots() {
    var seq = ++loadSeq;
    body.classList.add("loading");
    render();
    loadSlots(seq).then(function () { if (seq === loadSeq) { body.classList.remove("loading"); render(); } });
  }

  /* --- actions --------------------------------------------------------------------- */
  function act(method, url, payload, onRefused) {
    if (state.busy) return Promise.resolve();
    state.busy = true;
    root.setAttribute("aria-busy", "true");
    return api(method, url, payload).then(function (res) {
      state.busy = false;
      root.removeAttribute("aria-busy");
      if (res.ok) {
        showError(null);
        state.picking = null; state.chosen = null; state.proposing = []; state.cancelling = false; state.from = null; state.history = [];
        if (res.data && res.data.id && res.data.starts_at && res.data.status) state.appointment = res.data.status === "cancelled" ? null : res.data;
        if (res.data && res.data.proposal) state.proposal = res.data.proposal;   // what was just proposed, before the refetch
        render();
        TL.fresh(root);
        load();
        return res;
      }
      var p = problem(res);
      showError(p, onRefused);
      state.chosen = null;
      render();
      if (res.status === 409) load();   // the page was stale (taken or booked meanwhile): show the truth around the message
      return res;
    }).catch(function () {
      state.busy = false;
      root.removeAttribute("aria-busy");
      showError({ message: "Couldn't reach the server; check your connection and try again.", suggestions: [] });
    });
  }

  function book(start, worker) {
    var payload = { worker: Number(worker), starts_at: start, duration_minutes: state.duration };
    return act("POST", d.appointmentUrl, payload, function (s) { choose(s, worker); });
  }

  function reschedule(start, worker) {
    var payload = { starts_at: start, duration_minutes: durationOfAppointment() };
    if (worker && Number(worker) !== state.appointment.worker) payload.worker = Number(worker);
    return act("PATCH", d.appointmentUrl, payload, function (s) { choose(s, worker); });
  }

  function acceptProposal(start) {
    var url = d.proposalsUrl + encodeURIComponent(state.proposal.id) + "/accept/";
    return act("POST", url, { start: start }, function (s) { choose(s, state.proposal ? state.proposal.worker : null); });
  }

  function durationOfAppointment() {
    var a = state.appointment;
    return a ? Math.round((new Date(a.ends_at) - new Date(a.starts_at)) / 60000) : state.duration;
  }

  /* A start was picked (slot, suggestion or proposal): ask before writing anything. */
  function choose(start, worker, viaProposal) {
    showError(null);
    var w = worker || (state.appointment && state.appointment.worker) || state.worker;
    var name = workerName(w);
    state.chosen = { starts_at: start, worker: w, worker_name: name, proposal: !!viaProposal };
    if (!state.picking) state.picking = state.appointment ? "reschedule" : "book";
    render();
    var btn = root.querySelector("[data-testid=confirm-booking]");
    if (btn) btn.focus();
  }

  function workerName(id) {
    var all = (state.workers || []).concat((state.slots && state.slots.slots) || []);
    for (var i = 0; i < all.length; i++) {
      var x = all[i];
      if (String(x.id !== undefined && x.name ? x.id : x.worker) === String(id)) return x.name || x.worker_name;
    }
    if (state.appointment && String(state.appointment.worker) === String(id)) return state.appointment.worker_name;
    if (state.proposal && String(state.proposal.worker) === String(id)) return state.proposal.worker_name || "";
    return "";
  }

  /* --- drawing --------------------------------------------------------------------- */
  function slotButton(start, label, onClick, testid) {
    var b = el("button", { className: "slot", text: label, attrs: { type: "button", "data-testid": testid || "slot-button", "data-start": start } });
    b.addEventListener("click", onClick);
    return b;
  }

  function button(label, cls, onClick, testid) {
    var b = el("button", { className: cls, text: label, attrs: { type: "button", "data-testid": testid || null } });
    b.addEventListener("click", onClick);
    return b;
  }

  function durationPicker() {
    var select = el("select", { attrs: { id: "appt-duration", "data-testid": "duration" } }, DURATIONS.map(function (pair) {
      return el("option", { text: pair[1], attrs: { value: pair[0], selected: pair[0] === state.duration ? "selected" : null } });
    }));
    if (!DURATIONS.some(function (pair) { return pair[0] === state.duration; })) {
      select.append(el("option", { text: minutesLabel(state.duration), attrs: { value: state.duration, selected: "selected" } }));
    }
    select.addEventListener("change", function () { state.duration = Number(select.value); state.from = null; state.history = []; reloadSlots(); });
    return el("div", { className: "field compact" }, [el("label", { text: "Length", attrs: { for: "appt-duration" } }), select]);
  }

  function workerPicker() {
    if (mode !== "tradesperson" || !state.workers || state.workers.length < 2) return null;
    var select = el("select", { attrs: { id: "appt-worker", "data-testid": "worker" } }, state.workers.map(function (w) {
      return el("option", { text: w.name, attrs: { value: w.id, selected: String(w.id) === String(state.worker) ? "selected" : null } });
    }));
    select.addEventListener("change", function () { state.worker = select.value; state.from = null; state.history = []; reloadSlots(); });
    return el("div", { className: "field compact" }, [el("label", { text: "Worker", attrs: { for: "appt-worker" } }), select]);
  }

  /* Free starts grouped by the viewer's local day; one button per start (the first worker free then). */
  function slotGrid(onPick, selected) {
    var box = el("div", { className: "slot-days", attrs: { "data-testid": "slot-days", "data-ready": state.slots && !body.classList.contains("loading") ? "1" : null } });
    if (state.slotsError) { box.append(el("p", { className: "bad small", text: state.slotsError.message })); return box; }
    if (!state.slots) { box.append(el("p", { className: "muted small", text: "Loading free times…" })); return box; }
    var seen = {}, days = [], byDay = {};
    state.slots.slots.forEach(function (s) {
      if (seen[s.starts_at]) return;
      seen[s.starts_at] = true;
      var key = dayKey(s.starts_at);
      if (!byDay[key]) { byDay[key] = []; days.push(key); }
      byDay[key].push(s);
    });
    if (state.slots.note) box.append(el("p", { className: "banner neutral small", attrs: { "data-testid": "slots-note" }, text: state.slots.note }));
    // A job waiting for another that has no appointment yet has no times to page through: the note says which to book first.
    if (state.slots.waiting_for && !state.slots.waiting_for.scheduled) return box;
    if (!days.length) {
      box.append(el("p", { className: "muted small", attrs: { "data-testid": "no-slots" }, text: "No free times in these " + DAYS_PER_PAGE + " days. Try later dates or a shorter visit." }));
    }
    days.forEach(function (key) {
      var list = byDay[key];
      box.append(el("div", { className: "slot-day", dataset: { day: key } }, [
        el("h3", { text: dayLabel(list[0].starts_at) }),
        daySlots(key, list, onPick, selected)
      ]));
    });
    var pager = el("div", { className: "slot-pager" });
    if (state.history.length) pager.append(button("← Earlier", "secondary small", function () { state.from = state.history.pop() || null; reloadSlots(); }, "slots-earlier"));
    pager.append(button("Later dates →", "secondary small", function () {
      state.history.push(state.from);
      state.from = state.slots.window_end;
      reloadSlots();
    }, "slots-later"));
    box.append(pager);
    return box;
  }

  /* One day's starts; a long day shows the first few and a "+N more" button (remembered per day). */
  var SHOWN_PER_DAY = 9;
  state.expanded = {};
  function daySlots(key, list, onPick, selected) {
    var box = el("div", { className: "slot-list" });
    var open = state.expanded[key] || list.length <= SHOWN_PER_DAY + 1;
    list.forEach(function (s, i) {
      var b = slotButton(s.starts_at, hm(s.starts_at), function () { onPick(s); });
      b.title = whenLabel(s.starts_at) + "–" + hm(s.ends_at) + (s.worker_name ? " with " + s.worker_name : "");
      if (selected && selected.indexOf(s.starts_at) >= 0) { b.classList.add("chosen"); b.setAttribute("aria-pressed", "true"); }
      if (!open && i >= SHOWN_PER_DAY) b.hidden = true;
      box.append(b);
    });
    if (!open) {
      var more = button("+" + (list.length - SHOWN_PER_DAY) + " more", "slot more", function () {
        state.expanded[key] = true;
        box.querySelectorAll("button[hidden]").forEach(function (x) { x.hidden = false; });
        more.remove();
      }, "slots-more");
      box.append(more);
    }
    return box;
  }

  function confirmStep() {
    var c = state.chosen;
    var end = addMinutes(c.starts_at, state.picking === "reschedule" ? durationOfAppointment() : state.duration);
    var verb = state.picking === "reschedule" ? "Move the appointment to" : "Book";
    var who = c.worker_name ? " with " + c.worker_name : "";
    return el("div", { className: "appt-confirm", attrs: { "data-testid": "booking-confirm" } }, [
      el("p", {}, [document.createTextNode(verb + " "), el("strong", { text: rangeLabel(c.starts_at, end) }), document.createTextNode(who + "?")]),
      el("div", { className: "actions" }, [
        button(state.picking === "reschedule" ? "Move it" : "Book this time", "primary", function () {
          if (c.proposal) acceptProposal(c.starts_at);
          else if (state.picking === "reschedule") reschedule(c.starts_at, c.worker);
          else book(c.starts_at, c.worker);
        }, "confirm-booking"),
        button("Back", "secondary", function () { state.chosen = null; render(); }, "cancel-choice")
      ])
    ]);
  }

  function appointmentView() {
    var a = state.appointment;
    var confirmed = !!a.confirmed_at;
    var children = [];
    var head = el("div", { className: "appt-when" }, [
      el("div", { className: "appt-time", attrs: { "data-testid": "appointment-time" }, text: rangeLabel(a.starts_at, a.ends_at) }),
      el("div", { className: "meta" }, [
        a.worker_name ? el("span", { attrs: { "data-testid": "appointment-worker" }, text: "With " + a.worker_name }) : null,
        confirmed ? el("span", { className: "badge s-accepted", attrs: { "data-testid": "appointment-confirmed" }, text: a.confirmed_via === "sms" ? "✓ Confirmed by SMS" : "✓ Confirmed" })
          : a.reschedule_requested_at ? el("span", { className: "badge new", attrs: { "data-testid": "appointment-reschedule-requested" }, text: mode === "customer" ? "You asked for another time" : "Customer asked for another time" })
          : el("span", { className: "badge new", attrs: { "data-testid": "appointment-unconfirmed" }, text: mode === "customer" ? "Not confirmed yet" : "Waiting for the customer to confirm" })
      ])
    ]);
    children.push(head);
    if (a.conflict_reason) {
      var flag = el("div", { className: "appt-flag", attrs: { role: "alert", "data-testid": "appointment-flag" } }, [
        el("strong", { text: "This time no longer works" }),
        el("p", { text: a.conflict_reason })
      ]);
      var sugg = a.suggestions || state.flagSuggestions || [];
      if (!sugg.length && state.slots) sugg = state.slots.slots.slice(0, 3).map(function (s) { return s.starts_at; });
      if (sugg.length) {
        flag.append(el("p", { className: "small", text: "Move it to:" }));
        flag.append(el("div", { className: "slot-list" }, sugg.slice(0, 5).map(function (s) {
          return slotButton(startOf(s), whenLabel(startOf(s)), function () { state.picking = "reschedule"; choose(startOf(s), a.worker); }, "flag-suggestion");
        })));
      }
      children.push(flag);
    }
    if (state.chosen) { children.push(confirmStep()); return children; }
    if (state.picking === "reschedule") {
      children.push(el("h3", { className: "appt-sub", text: "Pick a new time" }));
      children.push(slotGrid(function (s) { choose(s.starts_at, s.worker); }));
      children.push(el("div", { className: "actions" }, [button("Keep the current time", "secondary small", function () { state.picking = null; render(); }, "reschedule-close")]));
      return children;
    }
    if (state.cancelling) {
      var reason = el("input", { attrs: { id: "appt-cancel-reason", maxlength: "500", placeholder: "e.g. I'll be away that week" } });
      children.push(el("div", { className: "appt-cancel form" }, [
        el("div", { className: "field" }, [el("label", { attrs: { for: "appt-cancel-reason" } }, [document.createTextNode("Reason "), el("span", { className: "optional", text: "(optional)" })]), reason]),
        el("p", { className: "muted small", text: "The job stays " + (mode === "customer" ? "with this tradesperson" : "yours") + " and can be booked again; no money moves." }),
        el("div", { className: "actions" }, [
          button("Cancel appointment", "danger", function () { act("POST", d.cancelUrl, { reason: reason.value }); }, "confirm-cancel"),
          button("Keep it", "secondary", function () { state.cancelling = false; render(); })
        ])
      ]));
      return children;
    }
    var status = jobStatus();
    if (status && status !== "scheduled" && status !== "awarded") return children;   // work started or ended: nothing to change
    var actions = el("div", { className: "actions" });
    if (mode === "customer" && !confirmed && !a.conflict_reason) actions.append(button("Confirm this time", "primary", function () { act("POST", d.confirmUrl, {}); }, "appointment-confirm"));
    actions.append(button("Reschedule", mode === "tradesperson" && a.reschedule_requested_at ? "primary" : "secondary", function () { state.picking = "reschedule"; state.from = null; state.history = []; state.slots = null; state.duration = durationOfAppointment(); render(); reloadSlots(); }, "appointment-reschedule"));
    actions.append(button("Cancel appointment", "danger", function () { state.cancelling = true; render(); }, "appointment-cancel"));
    children.push(actions);
    return children;
  }

  /* The job's status as the page shows it (job-detail.js and lead-detail.js keep #job-status current). */
  function jobStatus() {
    var badge = document.getElementById("job-status");
    var m = badge && /\bs-([a-z_]+)/.exec(badge.className);
    return m ? m[1] : d.jobStatus;
  }

  function proposalStarts() {
    return (state.proposal.starts || []).map(startOf).filter(Boolean);
  }

  function customerNoAppointment() {
    var children = [];
    if (state.chosen) { children.push(confirmStep()); return children; }
    if (state.proposal) {
      var name = state.proposal.business_name || d.business || "The tradesperson";
      var dur = state.proposal.duration_minutes || state.duration;
      var box = el("div", { className: "appt-proposal", attrs: { "data-testid": "proposal" } }, [
        el("h3", { text: name + " proposed these times" }),
        state.proposal.message ? el("p", { className: "small proposal-message", text: "“" + state.proposal.message + "”" }) : null,
        el("div", { className: "slot-list" }, proposalStarts().map(function (s) {
          var b = slotButton(s, whenLabel(s) + "–" + hm(addMinutes(s, dur)), function () { state.duration = dur; choose(s, state.proposal.worker, true); }, "proposal-button");
          b.classList.add("wide");
          return b;
        })),
        el("p", { className: "muted small", text: "None of these suit you? Pick any free time below." })
      ]);
      children.push(box);
    }
    children.push(el("div", { className: "appt-controls" }, [el("p", { className: "small", text: "Pick a time that suits you:" }), durationPicker()]));
    children.push(slotGrid(function (s) { choose(s.starts_at, s.worker); }));
    return children;
  }

  function tradespersonNoAppointment() {
    var children = [];
    if (state.chosen) { children.push(confirmStep()); return children; }
    if (state.proposal) {
      var dur = state.proposal.duration_minutes || state.duration;
      children.push(el("div", { className: "appt-proposal", attrs: { "data-testid": "proposal" } }, [
        el("h3", { text: "You proposed these times" }),
        el("ul", { className: "plain" }, proposalStarts().map(function (s) { return el("li", { text: whenLabel(s) + "–" + hm(addMinutes(s, dur)) }); })),
        el("p", { className: "muted small", text: "Waiting for the customer to pick one. Proposing again replaces these." })
      ]));
    }
    var proposing = state.picking === "propose";
    var tabs = el("div", { className: "seg", attrs: { role: "group", "aria-label": "How to schedule" } }, [
      button("Book a time", proposing ? "seg-btn" : "seg-btn on", function () { state.picking = "book"; state.proposing = []; render(); }, "mode-book"),
      button("Propose times to the customer", proposing ? "seg-btn on" : "seg-btn", function () { state.picking = "propose"; render(); }, "mode-propose")
    ]);
    children.push(tabs);
    children.push(el("div", { className: "appt-controls" }, [workerPicker(), durationPicker()]));
    if (!proposing) {
      children.push(el("p", { className: "small", text: "Book straight into your calendar (the customer is told):" }));
      children.push(slotGrid(function (s) { choose(s.starts_at, s.worker); }));
      return children;
    }
    children.push(el("p", { className: "small", text: "Pick up to 3 times; the customer books one of them." }));
    children.push(slotGrid(function (s) {
      var i = state.proposing.indexOf(s.starts_at);
      if (i >= 0) state.proposing.splice(i, 1);
      else if (state.proposing.length < 3) state.proposing.push(s.starts_at);
      render();
    }, state.proposing));
    var message = el("input", { attrs: { id: "appt-proposal-message", maxlength: "500", placeholder: "e.g. Mornings suit me best" } });
    message.value = state.proposalMessage || "";
    message.addEventListener("input", function () { state.proposalMessage = message.value; });
    var chosen = state.proposing.slice().sort();
    children.push(el("div", { className: "appt-propose form" }, [
      el("p", { className: "small", attrs: { "data-testid": "proposal-chosen" }, text: chosen.length ? "Proposing: " + chosen.map(whenLabel).join(" · ") : "No times picked yet." }),
      el("div", { className: "field" }, [el("label", { attrs: { for: "appt-proposal-message" } }, [document.createTextNode("Message "), el("span", { className: "optional", text: "(optional)" })]), message]),
      el("div", { className: "actions" }, [button(chosen.length ? "Send " + chosen.length + " proposed time" + (chosen.length > 1 ? "s" : "") : "Send proposed times", "primary", function () {
        if (!chosen.length) { showError({ message: "Pick at least one time first.", suggestions: [] }); return; }
        act("POST", d.proposalsUrl, { worker: Number(state.worker), starts: chosen, duration_minutes: state.duration, message: state.proposalMessage || "" });
        state.proposalMessage = "";
      }, "send-proposal")])
    ]));
    return children;
  }

  function render() {
    if (!state.loaded) return;
    var bookable = state.appointment || state.proposal || state.slots;
    root.hidden = !bookable && !state.slotsError;
    root.dataset.state = state.appointment ? (state.appointment.conflict_reason ? "flagged" : "scheduled") : "unscheduled";
    body.textContent = "";
    var children;
    if (state.appointment) children = appointmentView();
    else if (!state.slots && !state.proposal && !state.slotsError) children = [el("p", { className: "muted small", text: "Times can be booked once the job is awarded." })];
    else children = mode === "customer" ? customerNoAppointment() : tradespersonNoAppointment();
    children.forEach(function (c) { if (c) body.append(c); });
    if (mode === "tradesperson" && d.calendarUrl) body.append(el("p", { className: "small appt-foot" }, [el("a", { text: "Open your calendar", attrs: { href: d.calendarUrl } })]));
  }

  /* --- live ------------------------------------------------------------------------ */
  var pending = null;
  function refreshSoon() {
    if (pending) return;
    pending = setTimeout(function () { pending = null; load(); }, 150);   // booked + status_changed arrive together: one refetch
  }

  /* A bid that has not won (the lead page): nothing to book yet; lead-detail.js fires "tl:lead-won" when it wins. */
  function waiting() { return d.wait === "win"; }
  document.addEventListener("tl:lead-won", function () {
    if (!waiting()) return;
    delete d.wait;
    load();
  });

  Live.subscribe(d.stream, function (msg) {
    if (waiting()) return;
    var data = msg.data || {};
    if (Number(data.job_id) !== jobId) return;
    if (/^appointment\./.test(msg.event)) {
      if (msg.event === "appointment.flagged" && Array.isArray(data.suggestions)) state.flagSuggestions = data.suggestions;
      if (msg.event === "appointment.rescheduled" || msg.event === "appointment.cancelled" || msg.event === "appointment.booked") state.chosen = null;
      refreshSoon();
    } else if (msg.event === "job.awarded" || msg.event === "job.status_changed") {
      refreshSoon();
    }
  }, { resync: function () { if (!waiting()) refreshSoon(); } });

  if (!waiting()) load();
})();
