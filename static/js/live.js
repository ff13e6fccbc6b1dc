/*
 * Live updates for every page: one websocket, many streams.
 *
 *   Live.subscribe("job.42", function (msg) { ... },
 *                  { resync: function () { refetch(); }, positions: {"jobs-board|job:42": 3} });
 *
 * Each pushed message carries `seq` and `prev_seq` (see marketplace/realtime/push.py).
 * When `prev_seq` is ahead of what this page saw, or after a reconnect, the stream's
 * `resync` callback runs so the page refetches the truth from the API instead of
 * going stale. `positions` (rendered with the page) say what the page already shows.
 * After a (re)connect a stream resyncs once the server has acknowledged it: only then
 * can no push be missed. A socket the server accepts but cannot subscribe (Redis down)
 * is not "live", doesn't refetch and doesn't reset the reconnect backoff.
 *
 * The server acknowledges each subscription; joined streams are listed in
 * `document.body.dataset.liveStreams` (space-separated) and `Live.isSubscribed(name)`.
 */
(function () {
  "use strict";
  var streams = {};          // stream -> {handlers: [], resync: [], lastSeq: {aggregateKey: seq}}
  var socket = null;
  var backoff = 500;
  var joined = {};           // streams the server has acknowledged on the current socket
  var statusEl = function () { return document.getElementById("live-status"); };

  function setStatus(on) {
    var el = statusEl();
    if (!el) return;
    el.textContent = on ? "live" : "reconnecting…";
    el.className = "live-dot" + (on ? " on" : "");
    document.body.dataset.live = on ? "on" : "off";
  }

  function send(obj) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(obj));
  }

  function resync(name) {
    var s = streams[name];
    if (!s) return;
    s.resync.forEach(function (fn) { try { fn(); } catch (e) { console.error(e); } });
  }

  function markJoined(name, on) {
    if (on) joined[name] = true; else delete joined[name];
    document.body.dataset.liveStreams = Object.keys(joined).join(" ");
  }

  function onMessage(ev) {
    var msg;
    try { msg = JSON.parse(ev.data); } catch (e) { return; }
    if (msg.type === "subscribed" || msg.type === "unsubscribed") {
      if (msg.type === "subscribed") { backoff = 500; setStatus(true); }   // the channel layer works: really live
      markJoined(msg.stream, msg.type === "subscribed");
      // The page was rendered before this subscription existed: anything pushed in
      // between (a new lead, a new job) has no earlier position to reveal it, so
      // refetch once now that nothing more can be missed.
      var joinedStream = streams[msg.stream];
      if (msg.type === "subscribed" && joinedStream && !joinedStream.caughtUp) {
        joinedStream.caughtUp = true;
        resync(msg.stream);
      }
      return;
    }
    if (msg.type === "error" && msg.stream) { console.warn("live: cannot subscribe to " + msg.stream + ": " + msg.code); return; }
    if (msg.type !== "event") return;
    var s = streams[msg.stream];
    if (!s) return;
    if (msg.seq !== null && msg.seq !== undefined) {
      // Positions are per (consumer, aggregate): see marketplace/realtime/push.py.
      var key = msg.source + "|" + msg.aggregate;
      var last = s.lastSeq[key];
      if (last !== undefined && msg.seq <= last) return;             // stale or duplicate
      s.lastSeq[key] = msg.seq;
      if (last !== undefined && msg.prev_seq !== null && msg.prev_seq > last) {
        resync(msg.stream);                                          // we missed a push
        return;
      }
    }
    s.handlers.forEach(function (fn) { try { fn(msg); } catch (e) { console.error(e); } });
  }

  function connect() {
    if (!document.body.dataset.user) return;                       // anonymous pages have no socket
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(proto + location.host + "/ws/live/");
    socket.onopen = function () {
      // We may have missed pushes: each stream refetches when the server acknowledges it (onMessage).
      Object.keys(streams).forEach(function (name) {
        streams[name].caughtUp = false;
        send({ action: "subscribe", stream: name });
      });
    };
    socket.onmessage = onMessage;
    socket.onclose = function (ev) {
      Object.keys(joined).forEach(function (name) { markJoined(name, false); });
      setStatus(false);
      if (ev.code === 4401) return;                                // logged out: don't hammer
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    };
  }

  window.Live = {
    subscribe: function (name, handler, opts) {
      var s = streams[name] || (streams[name] = { handlers: [], resync: [], lastSeq: {} });
      if (handler) s.handlers.push(handler);
      if (opts && opts.resync) s.resync.push(opts.resync);
      if (opts && opts.positions) Object.keys(opts.positions).forEach(function (k) { s.lastSeq[k] = opts.positions[k]; });
      send({ action: "subscribe", stream: name });
    },
    isOpen: function () { return !!socket && socket.readyState === WebSocket.OPEN; },
    isSubscribed: function (name) { return !!joined[name]; }
  };
  document.addEventListener("DOMContentLoaded", connect);
})();
