// Sign-up page.
(function () {
  // Times are shown in the zone the person signs up from.
  var tz = document.getElementById("id_time_zone");
  try { if (tz && !tz.value) tz.value = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) {}
  // "I'm a tradesperson" links preselect the role.
  var wanted = new URLSearchParams(location.search).get("role");
  var radio = wanted && document.querySelector('input[name="role"][value="' + (wanted === "tradesperson" ? "tradesperson" : "customer") + '"]');
  if (radio && !document.querySelector(".errorlist")) radio.checked = true;
})();
