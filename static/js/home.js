// Home page for tradespeople: new jobs appear at the top of the list as they are posted.
// New jobs appear at the top of the list as they are posted.
(function () {
  var list = document.getElementById("recent-jobs");
  function card(job, fresh) {
    var place = TL.el("p", { className: "muted small", text: job.place || "Location on request" });
    return TL.el("li", { className: "card" + (fresh ? " fresh" : "") }, [
      TL.el("strong", { text: job.title }),                  // textContent: never HTML from the wire
      TL.el("span", { className: "tag", text: job.trade.name }),
      job.is_emergency ? TL.el("span", { className: "emergency", text: "Emergency" }) : null,
      place
    ]);
  }
  Live.subscribe("board.all", function (msg) {
    if (msg.event !== "job.posted") return;
    var empty = document.getElementById("no-jobs");
    if (empty) empty.remove();
    list.prepend(card(msg.data, true));
    while (list.children.length > 6) list.lastElementChild.remove();
  }, { resync: function () {
    TL.getJSON(list.dataset.boardUrl).then(function (d) {
      list.replaceChildren.apply(list, d.results.slice(0, 6).map(function (j) { return card(j, false); }));
    }).catch(function (e) { console.error(e); });
  } });
})();
