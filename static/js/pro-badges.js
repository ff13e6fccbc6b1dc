/*
 * The public profile's credential badges (templates/directory/_pro_badges.html), live.
 *
 * Signed-in viewers subscribe to pro.<id>: `badges.changed` (the directory-live consumer, after a credential is
 * verified, rejected, expired or removed) carries the badges shown now and replaces them. After a missed push or
 * a reconnect the badges are refetched from GET /api/pros/<id>/badges/. Text only (TL.el), never HTML.
 */
(function () {
  "use strict";
  if (!window.TL) return;
  var config = TL.config("pro-badges-config");
  var root = document.getElementById("pro-badges");
  if (!config || !root) return;

  function render(badges) {
    root.replaceChildren.apply(root, (badges || []).map(function (b) {
      return TL.el("span", {
        className: "trust",
        text: "✓ " + b.label + " · until " + b.expires,
        attrs: { title: "Checked by TradeLink · number " + b.number, "data-testid": "credential-badge", "data-kind": b.kind }
      });
    }));
  }

  function refetch() {
    TL.api("GET", config.badges_url).then(function (res) { if (res.ok && res.data) render(res.data.badges); });
  }

  if (config.stream && window.Live) {
    Live.subscribe(config.stream, function (msg) {
      if (msg.event === "badges.changed") render(msg.data.badges);
    }, { resync: refetch });
  }
})();
