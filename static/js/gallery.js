/*
 * Photo galleries (templates/includes/_gallery.html): a click on a thumbnail opens the full photo
 * in a <dialog> lightbox instead of leaving the page. The dialog is modal (focus stays in it, Escape
 * closes it and focus returns to the thumbnail); the arrow keys and the two buttons move between photos.
 * Without this script each thumbnail is a plain link to the photo.
 */
(function () {
  "use strict";
  var galleries = document.querySelectorAll("[data-gallery]");
  if (!galleries.length || typeof HTMLDialogElement === "undefined") return;

  function el(tag, className, attrs, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) node.textContent = text;
    return node;
  }

  var dialog = el("dialog", "lightbox", { "aria-label": "Photo" });
  var figure = el("figure");
  var image = el("img", "", { alt: "" });
  var caption = el("figcaption", "muted small");
  var bar = el("div", "lightbox-bar");
  var prev = el("button", "secondary", { type: "button", "aria-label": "Previous photo" }, "‹ Previous");
  var count = el("span", "muted small", { "aria-live": "polite" });
  var next = el("button", "secondary", { type: "button", "aria-label": "Next photo" }, "Next ›");
  var close = el("button", "primary", { type: "button" }, "Close");
  figure.append(image, caption);
  bar.append(prev, count, next, close);
  dialog.append(figure, bar);
  document.body.append(dialog);

  var items = [];
  var index = 0;

  function show(i) {
    index = (i + items.length) % items.length;
    var link = items[index];
    var thumb = link.querySelector("img");
    image.src = link.getAttribute("href");
    image.alt = thumb ? thumb.alt : "";
    caption.textContent = link.dataset.caption || "";
    caption.hidden = !link.dataset.caption;
    count.textContent = items.length > 1 ? (index + 1) + " of " + items.length : "";
    prev.hidden = next.hidden = items.length < 2;
  }

  galleries.forEach(function (gallery) {
    gallery.addEventListener("click", function (event) {
      var link = event.target.closest("[data-gallery-item]");
      if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
      event.preventDefault();
      items = Array.prototype.slice.call(gallery.querySelectorAll("[data-gallery-item]"));
      show(items.indexOf(link));
      dialog.showModal();
      close.focus();
    });
  });

  prev.addEventListener("click", function () { show(index - 1); });
  next.addEventListener("click", function () { show(index + 1); });
  close.addEventListener("click", function () { dialog.close(); });
  dialog.addEventListener("click", function (event) { if (event.target === dialog) dialog.close(); });  // the backdrop
  dialog.addEventListener("keydown", function (event) {
    if (event.key === "ArrowLeft") { show(index - 1); event.preventDefault(); }
    if (event.key === "ArrowRight") { show(index + 1); event.preventDefault(); }
  });
  dialog.addEventListener("close", function () {
    image.removeAttribute("src");
    var link = items[index];
    if (link) link.focus();
  });
})();
