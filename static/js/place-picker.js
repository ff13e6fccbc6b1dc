// Place picker (templates/includes/place_picker.html): as the person types a postcode or a
// town, the <datalist> is refilled from /api/places/ (UK postcode districts), so the browser's
// own suggestion list, with its keyboard handling, shows what matches.
(function () {
  var list = document.getElementById("places-list");
  var input = list && document.querySelector('input[list="places-list"]');
  if (!input || !list.dataset.source || !window.fetch) return;
  var timer = null, asked = null, pending = null;

  function fill(items) {
    var options = document.createDocumentFragment();
    items.forEach(function (place) {
      var option = document.createElement("option");
      option.value = place.label;
      options.appendChild(option);
    });
    list.replaceChildren(options);
  }

  function suggest() {
    var q = input.value.trim();
    if (!q || q === asked) return;
    asked = q;
    if (pending) pending.abort();
    pending = window.AbortController ? new AbortController() : null;
    fetch(list.dataset.source + "?" + new URLSearchParams({ q: q, limit: "8" }), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      signal: pending ? pending.signal : undefined,
    })
      .then(function (response) { return response.ok ? response.json() : []; })
      .then(function (items) { if (input.value.trim() === q) fill(items); })
      .catch(function () {});  // offline or aborted: the typed text is still checked when the form is sent
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(suggest, 150);
  });
})();
