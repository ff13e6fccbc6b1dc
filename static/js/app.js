/*
 * Shared page helpers (window.TL) and the behaviour every page has:
 * the notification bell (live unread count + toasts), confirm-before-submit
 * (`<form data-confirm="...">`) and one-submit-only POST forms.
 *
 * Pushed data is only ever inserted with textContent (TL.el), never as HTML.
 */
(function () {
  "use strict";
  var TL = (window.TL = {});
  var body = document.body;

  /* TL.el("li", {className: "item", text: "...", attrs: {href: "/x"}, dataset: {id: 1}}, [children]) */
  TL.el = function (tag, props, children) {
    var node = document.createElement(tag);
    props = props || {};
    if (props.className) node.className = props.className;
    if (props.text !== undefined && props.text !== null) node.textContent = String(props.text);
    if (props.attrs) Object.keys(props.attrs).forEach(function (k) {
      if (props.attrs[k] !== null && props.attrs[k] !== undefined) node.setAttribute(k, props.attrs[k]);
    });
    if (props.dataset) Object.keys(props.dataset).forEach(function (k) { node.dataset[k] = props.dataset[k]; });
    (children || []).forEach(function (child) { if (child) node.append(child); });
    return node;
  };

  /* Only same-site paths ("/leads/3/"), so a pushed URL can never send people elsewhere. */
  TL.safePath = function (url) {
    return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/" && url.charAt(1) !== "\\" ? url : null;
  };

  /* Amounts in the marketplace's currency and locale (settings.PRICING, on <body data-currency data-locale>),
     the same way the server's money filter writes them: TL.money2 always with pence ("1,234.50" with the symbol),
     TL.money without ".00" on a whole amount ("90" with the symbol: budgets, bid headlines). */
  var formats = {};
  function moneyFormat(places) {
    if (!formats[places]) {
      var opts = { style: "currency", currency: body.dataset.currency || "GBP", minimumFractionDigits: places, maximumFractionDigits: 2 };
      try { formats[places] = new Intl.NumberFormat(body.dataset.locale || undefined, opts); }
      catch (e) { formats[places] = new Intl.NumberFormat(undefined, opts); }       // an unknown locale: the browser's own
    }
    return formats[places];
  }

  TL.money = function (value) {
    var n = Number(value);
    if (value === null || value === undefined || value === "" || !isFinite(n)) return "";
    return moneyFormat(Math.round(n * 100) % 100 === 0 ? 0 : 2).format(n);
  };

  TL.money2 = function (value) {
    var n = Number(value);
    if (value === null || value === undefined || value === "" || !isFinite(n)) return "";
    return moneyFormat(2).format(n);
  };

  TL.budget = function (min, max) {
    var lo = Number(min), hi = Number(max);
    if (!lo && !hi) return "Open to quotes";
    if (lo === hi) return TL.money(hi);
    if (!lo) return "Up to " + TL.money(hi);
    return TL.money(lo) + "–" + TL.money(hi);
  };

  /* A timestamp in the user's own zone, formatted like the server's "D j M Y, H:i" ("Fri 21 Nov 2025, 14:05"). */
  TL.when = function (iso) {
    if (!iso) return "";
    var d = new Date(iso);
    if (isNaN(d)) return "";
    var opts = { weekday: "short", day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    var fmt;
    try { fmt = new Intl.DateTimeFormat("en-GB", Object.assign({ timeZone: body.dataset.tz || undefined }, opts)); }
    catch (e) { fmt = new Intl.DateTimeFormat("en-GB", opts); }           // an unknown zone: the browser's own
    var p = {};
    fmt.formatToParts(d).forEach(function (part) { p[part.type] = part.value; });
    return p.weekday + " " + p.day + " " + p.month + " " + p.year + ", " + p.hour + ":" + p.minute;
  };

  TL.getJSON = function (url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error(url + " answered " + r.status);
      return r.json();
    });
  };

  /* The page's CSRF token: a form's hidden input, else Django's csrftoken cookie. */
  TL.csrf = function () {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input && input.value) return input.value;
    var match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  };

  /* Call the JSON API. Resolves (never rejects on an HTTP error) with
     {ok, status, data (parsed JSON or null), retryAfter (seconds, 0 if none)}; rejects only when the network fails. */
  TL.api = function (method, url, payload, headers) {
    var opts = { method: method, credentials: "same-origin", headers: Object.assign({ Accept: "application/json" }, headers || {}) };
    if (method !== "GET") {
      opts.headers["Content-Type"] = "application/json";
      opts.headers["X-CSRFToken"] = TL.csrf();
      opts.body = JSON.stringify(payload || {});
    }
    return fetch(url, opts).then(function (r) {
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        return { ok: r.ok, status: r.status, data: data, retryAfter: Number(r.headers.get("Retry-After")) || 0 };
      });
    });
  };

  /* The JSON a template rendered with json_script. */
  TL.config = function (id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  };

  TL.fresh = function (node) {
    node.classList.remove("fresh");
    void node.offsetWidth;                      // restart the highlight animation
    node.classList.add("fresh");
  };

  TL.banner = function (node, text, tone) {
    if (!node) return;
    node.textContent = text;
    node.className = "banner " + (tone || "");
    node.hidden = false;
    void node.offsetWidth;                      // restart the pulse
    node.classList.add("pulse");
  };

  TL.toast = function (title, text, url) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var path = TL.safePath(url);
    var head = path ? TL.el("a", { text: title, attrs: { href: path } }) : TL.el("strong", { text: title });
    var toast = TL.el("div", { className: "toast", attrs: { role: "status" } }, [head, text ? TL.el("p", { text: text }) : null]);
    box.append(toast);
    setTimeout(function () { toast.remove(); }, 7000);
  };

  /* --- forms: confirm, and submit once ------------------------------------------- */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || event.defaultPrevented) return;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) { event.preventDefault(); return; }
    if ((form.method || "").toLowerCase() !== "post") return;
    if (form.dataset.submitting) { event.preventDefault(); return; }   // a double click
    form.dataset.submitting = "1";
    // Disable after this tick: the browser has collected the form data by then.
    setTimeout(function () {
      form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (button) {
        button.disabled = true;
        if (button.dataset.busy) { button.dataset.label = button.textContent; button.textContent = button.dataset.busy; }
      });
    }, 0);
  });
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;                                      // back/forward cache: make forms usable again
    document.querySelectorAll("form[data-submitting]").forEach(function (form) {
      delete form.dataset.submitting;
      form.querySelectorAll("button:disabled").forEach(function (b) { b.disabled = false; if (b.dataset.label) b.textContent = b.dataset.label; });
    });
  });

  /* --- the bell ------------------------------------------------------------------ */
  var userId = body.dataset.user;
  function setUnread(count) {
    var badge = document.getElementById("notif-count");
    if (!badge) return;
    count = Math.max(0, Number(count) || 0);
    var before = Number(badge.dataset.count || 0);
    badge.dataset.count = String(count);
    badge.textContent = count > 99 ? "99+" : String(count);
    var bell = badge.closest(".bell");
    if (bell) bell.setAttribute("aria-label", count ? "Notifications, " + count + " unread" : "Notifications");
    if (count > before) { badge.classList.remove("bump"); void badge.offsetWidth; badge.classList.add("bump"); }
  }
  TL.setUnread = setUnread;
  TL.refreshUnread = function () {
    if (!body.dataset.unreadUrl) return;
    TL.getJSON(body.dataset.unreadUrl).then(function (d) { setUnread(d.unread); }).catch(function () {});
  };

  // Buttons that print the page (the invoice): no inline onclick, the Content-Security-Policy forbids it.
  document.addEventListener("click", function (e) {
    if (e.target instanceof Element && e.target.closest("[data-print]")) window.print();
  });

  if (userId && window.Live) {
    Live.subscribe("user." + userId, function (msg) {
      if (msg.event !== "notification.created") return;
      setUnread(msg.data.unread);
      // No toast for what the page itself shows: its own URL, or kinds it lists (data-quiet-kinds).
      var quiet = body.dataset.quietToasts || msg.data.url === location.pathname ||
        (body.dataset.quietKinds || "").split(" ").indexOf(msg.data.kind) >= 0;
      if (!quiet) TL.toast(msg.data.title, msg.data.body, msg.data.url);
      document.dispatchEvent(new CustomEvent("tl:notification", { detail: msg.data }));
    }, { resync: TL.refreshUnread });
  }
})();
