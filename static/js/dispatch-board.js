/*
 * The dispatch board's writes (templates/scheduling/dispatch.html, _dispatch_table.html, _dispatch_move.html).
 * Drag a card (an appointment, or a job from the unassigned queue) onto a worker's day, or open its Move/Book form
 * (the keyboard alternative) and pick worker, day and time. Both call the dispatch API; a refusal shows its sentence
 * beside the card. Every open board redraws from the live push (calendar.js); this one also redraws at once.
 * Handlers are delegated to the fragment, so they survive its redraws.
 */
(function () {
  "use strict";
  var urls = TL.config("dispatch-urls");
  var box = document.getElementById("schedule-fragment");
  if (!urls || !box) return;

  var dragged = null;

  function endpoint(kind, id) {
    return (kind === "job" ? urls.book : urls.move).replace("/0/", "/" + encodeURIComponent(id) + "/");
  }

  function kindOf(card) { return card.dataset.job ? "job" : "appointment"; }
  function idOf(card) { return card.dataset.job || card.dataset.appointment; }

  function showError(card, text) {
    var node = card && card.querySelector("[data-testid=move-error]");
    if (!node) return;
    node.textContent = text;
    node.hidden = !text;
  }

  /* A sentence for people: the server's own message (never codes or raw JSON). */
  function refusal(res) {
    var err = (res.data && res.data.error) || {};
    if (err.code === "validation_error" && err.fields) {
      var first = Object.keys(err.fields)[0];
      if (first && err.fields[first] && err.fields[first][0]) return err.fields[first][0];
    }
    if (err.message) return err.message;
    return res.status >= 500 ? "Something went wrong on our side; please try again." : "That didn't work; reload the page and try again.";
  }

  function place(card, body) {
    showError(card, "");
    card.classList.add("busy");
    return TL.api("POST", endpoint(kindOf(card), idOf(card)), body).then(function (res) {
      card.classList.remove("busy");
      if (res.ok) {
        if (TL.scheduleRefresh) TL.scheduleRefresh();
        return;
      }
      showError(card, refusal(res));
    }, function () {
      card.classList.remove("busy");
      showError(card, "Couldn't reach the server; check your connection and try again.");
    });
  }

  function clearOver() {
    box.querySelectorAll(".drop-over").forEach(function (cell) { cell.classList.remove("drop-over"); });
  }

  function dropCell(event) {
    var target = event.target;
    return target && target.closest ? target.closest("[data-drop]") : null;
  }

  box.addEventListener("dragstart", function (event) {
    var card = event.target && event.target.closest ? event.target.closest(".disp-card[draggable=true]") : null;
    if (!card) return;
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", kindOf(card) + ":" + idOf(card));
    card.classList.add("dragging");
  });

  box.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    clearOver();
  });

  box.addEventListener("dragover", function (event) {
    var cell = dropCell(event);
    if (!cell || !dragged) return;
    event.preventDefault();                          // allows the drop
    event.dataTransfer.dropEffect = "move";
    if (!cell.classList.contains("drop-over")) { clearOver(); cell.classList.add("drop-over"); }
  });

  box.addEventListener("drop", function (event) {
    var cell = dropCell(event);
    if (!cell || !dragged) return;
    event.preventDefault();
    var card = dragged;
    clearOver();
    if (card.closest("td") === cell) return;         // dropped where it was
    // A move keeps its local start time on the new day; a queued job takes the worker's first free start that day.
    place(card, { worker: Number(cell.dataset.worker), day: cell.dataset.day });
  });

  box.addEventListener("submit", function (event) {
    var form = event.target.closest && event.target.closest("[data-move-form]");
    if (!form) return;
    event.preventDefault();
    var body = { worker: Number(form.elements.worker.value), day: form.elements.day.value };
    if (form.elements.time.value) body.time = form.elements.time.value;
    place(form.closest(".disp-card"), body);
  });

  var reserve = document.querySelector("[data-reserve-form]");
  if (reserve) {
    reserve.addEventListener("submit", function (event) {
      event.preventDefault();
      var status = reserve.querySelector("[data-reserve-status]");
      TL.api("PUT", reserve.dataset.url, { hours: reserve.elements.hours.value || "0" }).then(function (res) {
        if (!res.ok) { status.textContent = refusal(res); return; }
        var hours = res.data.emergency_reserve_minutes / 60;
        status.textContent = hours ? "Saved: each worker keeps " + hours + " h a day free for emergencies." : "Saved: no emergency reserve.";
      }, function () { status.textContent = "Couldn't reach the server; check your connection and try again."; });
    });
  }
})();
