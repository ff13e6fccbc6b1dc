// The notifications page.
// New notifications arrive at the top (the bell in base.html hears them first).
(function () {
  document.body.dataset.quietToasts = "1";              // the list itself shows them
  var list = document.getElementById("notifications");
  var LABELS = { in_app: "In-app", email: "Email", sms: "SMS" };
  function channelBadges(list) {
    // Live pushes name the channels (["in_app","email"]); the JSON lists them with a status.
    return TL.el("span", { className: "badges channels" }, (list || []).map(function (c) {
      var channel = typeof c === "string" ? c : c.channel;
      var status = typeof c === "string" ? "" : c.status;    // a push is made before the send: no status yet
      var label = LABELS[channel] || channel;
      return TL.el("span", { className: "badge ch" + (status ? " ch-" + status : ""),
                             text: label + (status && status !== "sent" ? " · " + status : ""),
                             dataset: { channel: channel }, attrs: { title: label + (status ? ": " + status : "") } });
    }));
  }
  function item(n, fresh) {
    return TL.el("li", { className: "item notif" + (n.unread ? " unread" : "") + (fresh ? " fresh" : ""), dataset: { id: n.id } }, [
      TL.el("div", { className: "item-main" }, [
        TL.el("a", { className: "item-title", text: n.title, attrs: { href: "/notifications/" + encodeURIComponent(n.id) + "/" } }),
        n.body ? TL.el("p", { className: "muted small", text: n.body }) : null
      ]),
      TL.el("div", { className: "item-side" }, [
        TL.el("span", { className: "muted small nowrap", text: n.created_display || TL.when(n.created_at || new Date().toISOString()) }),
        n.unread ? TL.el("span", { className: "badge new", text: "Unread" }) : null,
        channelBadges(n.channels)
      ])
    ]);
  }
  function note(unread) {
    document.getElementById("unread-note").textContent = unread ? unread + " unread" : "You're all caught up.";
    document.getElementById("mark-all").disabled = !unread;
    document.getElementById("no-notifications").hidden = list.children.length > 0;
  }
  document.addEventListener("tl:notification", function (e) {
    list.prepend(item(Object.assign({ unread: true }, e.detail, { unread: true }), true));
    note(e.detail.unread);
  });
  Live.subscribe("user." + document.body.dataset.user, null, { resync: function () {
    TL.getJSON(list.dataset.jsonUrl).then(function (d) {
      list.replaceChildren.apply(list, d.notifications.map(function (n) { return item(n, false); }));
      TL.setUnread(d.unread);
      note(d.unread);
    }).catch(function (e) { console.error(e); });
  } });
})();
