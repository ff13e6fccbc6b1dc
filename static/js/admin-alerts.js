// Live: new alerts arrive on staff.alerts (pushed after each alert commits); list them above the inbox.
document.body.dataset.user = document.getElementById("live-alerts").dataset.user;  // live.js needs who is watching
(function () {
  var count = 0;
  Live.subscribe("staff.alerts", function (msg) {
    if (msg.event !== "alert.raised") return;
    var d = msg.data, box = document.getElementById("live-alerts"), li = document.createElement("li");
    var sev = document.createElement("span"), link = document.createElement("a");
    sev.className = "sev-" + d.severity;
    sev.textContent = "[" + d.severity + "] ";
    link.href = d.url;
    link.textContent = d.title;
    li.dataset.alertId = d.id;
    li.appendChild(sev);
    li.appendChild(link);
    document.getElementById("live-alerts-list").prepend(li);
    count += 1;
    document.getElementById("live-alerts-count").textContent = count;
    box.className = "has-new";
  });
})();
