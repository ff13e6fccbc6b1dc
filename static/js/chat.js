/*
 * The job's chat (templates/chat/_thread.html): tabs of threads, the selected thread's messages, a composer.
 *
 *   GET  /api/jobs/<id>/chat/                 the viewer's threads (unread counts, who has seen what)
 *   GET  /api/chat/<thread>/messages/?after=  messages (the newest page, or those after an id)
 *   POST /api/chat/<thread>/messages/ {text}  send (Idempotency-Key per draft: a double click stores one)
 *   POST /api/chat/<thread>/read/ {up_to}     read receipt
 *
 * Every thread's stream (chat.<id>) is watched: chat.message_sent appends (or bumps the tab's unread badge),
 * chat.read turns the sender's "Sent" into "Seen". After a missed push or a reconnect the thread refetches
 * what came after the last message shown. A bid or award push on the page's own stream refetches the tabs.
 * Message text is only ever inserted with textContent (TL.el).
 */
(function () {
  "use strict";
  var root = document.getElementById("chat");
  if (!root || !window.TL || !window.Live) return;

  var el = TL.el;
  var me = Number(document.body.dataset.user);
  var zone = document.body.dataset.tz || undefined;
  var tabsBox = root.querySelector(".chat-tabs");
  var empty = root.querySelector(".chat-empty");
  var pane = root.querySelector(".chat-pane");
  var closedBox = root.querySelector(".chat-closed");
  var log = root.querySelector(".chat-log");
  var form = root.querySelector(".chat-form");
  var input = form.querySelector("textarea");
  var sendButton = form.querySelector("button[type=submit]");
  var errorBox = form.querySelector(".chat-error");
  var counter = form.querySelector(".chat-count");
  var totalBadge = root.querySelector("[data-testid=chat-unread-total]");
  var MAX = Number(input.getAttribute("maxlength")) || 2000;
  var PAGE_EVENTS = /^(bid\.|job\.|quote\.accepted)/;

  var threads = {};        // id -> thread summary from the API (kept up to date by pushes)
  var order = [];          // thread ids in tab order
  var watched = {};        // streams subscribed to
  var selected = null;     // selected thread id
  var lastShown = 0;       // id of the newest message shown in the log
  var draftKey = newKey();
  var sending = false;
  var readSent = {};       // thread id -> up_to last posted

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "k" + Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  function api(method, url, payload, headers) { return TL.api(method, url, payload, headers); }

  function clock(iso) {
    var d = new Date(iso);
    if (isNaN(d)) return "";
    var opts = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    var day = { weekday: "short", day: "numeric", month: "short" };
    var fmt, dayFmt;
    try { fmt = new Intl.DateTimeFormat("en-GB", Object.assign({ timeZone: zone }, opts)); dayFmt = new Intl.DateTimeFormat("en-GB", Object.assign({ timeZone: zone }, day)); }
    catch (e) { fmt = new Intl.DateTimeFormat("en-GB", opts); dayFmt = new Intl.DateTimeFormat("en-GB", day); }
    var today = dayFmt.format(new Date()) === dayFmt.format(d);
    return (today ? "" : dayFmt.format(d) + ", ") + fmt.format(d);
  }

  /* A pushed chat.message_sent, in the API's message shape. */
  function fromPush(d) {
    return { id: d.message_id, thread: d.thread_id, sender: d.sender_id, sender_name: d.sender_name || "", mine: d.sender_id === me, text: d.text, masked: !!d.masked, sent_at: d.sent_at };
  }

  /* --- tabs ------------------------------------------------------------------------------ */

  function totalUnread() {
    var n = order.reduce(function (sum, id) { return sum + (threads[id].unread || 0); }, 0);
    totalBadge.textContent = String(n);
    totalBadge.hidden = n === 0;
    root.dataset.unread = String(n);
  }

  function drawTabs() {
    tabsBox.replaceChildren();
    order.forEach(function (id) {
      var t = threads[id];
      var badge = el("span", { className: "badge new chat-tab-unread", text: t.unread, attrs: { "data-testid": "chat-tab-unread" } });
      badge.hidden = !t.unread;
      var tab = el("button", {
        className: "chat-tab" + (id === selected ? " selected" : "") + (t.writable ? "" : " closed"),
        attrs: { type: "button", role: "tab", "aria-selected": id === selected ? "true" : "false", "data-testid": "chat-tab", title: t.writable ? "" : t.closed_reason },
        dataset: { thread: id }
      }, [el("span", { className: "chat-tab-name", text: t.other.name }), t.writable ? null : el("span", { className: "chat-tab-lock", text: "read-only" }), badge]);
      tab.addEventListener("click", function () { select(id); });
      tabsBox.append(tab);
    });
    tabsBox.hidden = order.length < 2 && root.dataset.mode !== "customer";
    empty.hidden = order.length > 0;
    pane.hidden = order.length === 0;
    totalUnread();
  }

  function loadThreads() {
    return api("GET", root.dataset.threadsUrl).then(function (r) {
      if (!r.ok) {
        // 403 not_a_participant: no quote yet (the lead page), nothing to show but the hint.
        order = []; drawTabs(); return;
      }
      var fresh = {};
      order = r.data.threads.map(function (t) { fresh[t.id] = t; return t.id; });
      threads = fresh;
      order.forEach(watch);
      if (selected === null || !threads[selected]) {
        var firstUnread = order.filter(function (id) { return threads[id].unread; })[0];
        var wanted = firstUnread || order[0];
        drawTabs();
        if (wanted !== undefined) select(wanted);
      } else {
        drawTabs();
        drawComposer();
      }
    });
  }

  /* --- the selected thread --------------------------------------------------------------- */

  function drawComposer() {
    var t = threads[selected];
    if (!t) return;
    closedBox.hidden = t.writable;
    closedBox.textContent = t.writable ? "" : t.closed_reason;
    form.hidden = !t.writable;
    pane.dataset.thread = String(selected);
  }

  function receiptFor(t) {
    // "Seen" / "Sent" under the viewer's newest message only.
    log.querySelectorAll(".chat-receipt").forEach(function (n) { n.remove(); });
    var mine = log.querySelectorAll(".chat-msg.mine");
    if (!mine.length) return;
    var last = mine[mine.length - 1];
    var seen = Number(last.dataset.id) <= (t.seen_up_to || 0);
    last.append(el("span", { className: "chat-receipt" + (seen ? " seen" : ""), text: seen ? "Seen" : "Sent", attrs: { "data-testid": "chat-receipt" } }));
  }

  function messageNode(m) {
    return el("li", { className: "chat-msg " + (m.mine ? "mine" : "theirs"), dataset: { id: m.id }, attrs: { "data-testid": "chat-message" } }, [
      el("div", { className: "chat-bubble" }, [el("span", { className: "chat-text", text: m.text })]),
      el("div", { className: "chat-meta" }, [
        el("span", { text: (m.mine ? "You" : m.sender_name) + " · " + clock(m.sent_at) }),
        m.masked ? el("span", { className: "chat-masked", text: " · contact details hidden" }) : null
      ])
    ]);
  }

  function append(m) {
    if (log.querySelector('.chat-msg[data-id="' + m.id + '"]')) return false;
    var node = messageNode(m);
    // Keep id order even if a push and a refetch cross.
    var after = Array.prototype.filter.call(log.children, function (n) { return Number(n.dataset.id) > m.id; })[0];
    if (after) log.insertBefore(node, after); else log.append(node);
    lastShown = Math.max(lastShown, m.id);
    return true;
  }

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function select(id) {
    selected = id;
    lastShown = 0;
    log.replaceChildren();
    drawTabs();
    drawComposer();
    return api("GET", "/api/chat/" + id + "/messages/").then(function (r) {
      if (!r.ok || selected !== id) return;
      threads[id] = r.data.thread;
      r.data.messages.forEach(append);
      receiptFor(threads[id]);
      drawTabs();
      drawComposer();
      scrollDown();
      markRead();
    });
  }

  /* Refetch what came after the newest message shown (a missed push, a reconnect). */
  function catchUp(id) {
    if (id !== selected) {
      var known = threads[id] && threads[id].last_message ? threads[id].last_message.id : 0;
      return api("GET", "/api/chat/" + id + "/messages/?after=" + known).then(function (r) {
        if (r.ok && threads[id]) { threads[id] = r.data.thread; drawTabs(); }
      });
    }
    return api("GET", "/api/chat/" + id + "/messages/?after=" + lastShown).then(function (r) {
      if (!r.ok || selected !== id) return;
      threads[id] = r.data.thread;
      var added = r.data.messages.map(append).some(Boolean);
      receiptFor(threads[id]);
      drawTabs();
      drawComposer();
      if (added) scrollDown();
      markRead();
    });
  }

  function markRead() {
    if (selected === null || document.visibilityState === "hidden") return;
    var theirs = log.querySelectorAll(".chat-msg.theirs");
    if (!theirs.length) return;
    var upTo = Number(theirs[theirs.length - 1].dataset.id);
    var id = selected;
    if ((readSent[id] || 0) >= upTo) return;
    readSent[id] = upTo;
    threads[id].unread = 0;
    drawTabs();
    api("POST", "/api/chat/" + id + "/read/", { up_to: upTo }).then(function (r) {
      if (!r.ok) readSent[id] = 0;
    });
  }

  /* --- live ------------------------------------------------------------------------------ */

  function watch(id) {
    var stream = "chat." + id;
    if (watched[stream]) return;
    watched[stream] = true;
    Live.subscribe(stream, function (msg) { onPush(id, msg); }, { resync: function () { catchUp(id); } });
  }

  function onPush(id, msg) {
    var t = threads[id];
    if (!t) return;
    var d = msg.data || {};
    if (msg.event === "chat.message_sent") {
      var m = fromPush(d);
      if (id === selected) {
        if (append(m)) { receiptFor(t); scrollDown(); }
        if (!m.mine) markRead();
      } else if (!m.mine) {
        t.unread = (t.unread || 0) + 1;
        drawTabs();
      }
    } else if (msg.event === "chat.read") {
      if (d.reader_id === me) {
        t.unread = 0;                     // read in another tab of ours
        drawTabs();
      } else {
        t.seen_up_to = Math.max(t.seen_up_to || 0, d.up_to);
        if (id === selected) receiptFor(t);
      }
    }
  }

  /* --- sending --------------------------------------------------------------------------- */

  function showError(text) { errorBox.textContent = text || ""; }

  function updateCount() {
    var n = input.value.length;
    counter.textContent = n + " / " + MAX;
    counter.classList.toggle("over", n > MAX);
  }

  function send() {
    if (sending || selected === null) return;
    var text = input.value;
    if (!text.trim()) { showError("Write a message first."); input.focus(); return; }
    if (text.length > MAX) { showError("Messages are at most " + MAX + " characters; this one has " + text.length + "."); return; }
    sending = true;
    sendButton.disabled = true;
    showError("");
    var id = selected;
    api("POST", "/api/chat/" + id + "/messages/", { text: text }, { "Idempotency-Key": draftKey }).then(function (r) {
      if (r.ok) {
        draftKey = newKey();
        input.value = "";
        updateCount();
        if (id === selected) { append(r.data); receiptFor(threads[id]); scrollDown(); }
      } else {
        var err = (r.data && r.data.error) || {};
        showError(err.message || "Your message was not sent (" + r.status + "). Try again.");
        if (err.code === "chat_closed") loadThreads();
      }
    }).catch(function () {
      showError("Your message was not sent: check your connection and try again.");   // same key: a retry stores it once
    }).then(function () {
      sending = false;
      sendButton.disabled = false;
    });
  }

  form.addEventListener("submit", function (e) { e.preventDefault(); send(); });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
  });
  input.addEventListener("input", function () { updateCount(); if (errorBox.textContent) showError(""); });
  input.addEventListener("focus", markRead);
  document.addEventListener("visibilitychange", markRead);

  // Bids, awards and cancellations change who can chat: refetch the tabs.
  Live.subscribe(root.dataset.pageStream, function (msg) { if (PAGE_EVENTS.test(msg.event)) loadThreads(); });

  updateCount();
  loadThreads();
})();
