/* Backprop from Scratch: two small fixes on top of the theme (loaded on every page by
 * book/_ext/course_pages.py).
 *
 * 1. Phone and tablet navigation. pydata-sphinx-theme 0.17 wires its sidebar dialogs to the
 *    FIRST element with class primary-toggle / secondary-toggle (document.querySelector).
 *    sphinx-book-theme renders a second, visible pair in the article header, and the first one
 *    is hidden, so the visible buttons only showed a tooltip (pydata-sphinx-theme #2451,
 *    sphinx-book-theme #988). Every other toggle forwards its click to the wired one; once the
 *    theme wires all of them the forwarding sees an open dialog and does nothing.
 * 2. Figures open at full size: a click (or Enter) on a figure shows it at its natural size
 *    in a dialog that scrolls; a click, Escape or the close button closes it.
 */
(function () {
  "use strict";

  function forwardSidebarToggles() {
    [["primary-toggle", "pst-primary-sidebar-modal"],
     ["secondary-toggle", "pst-secondary-sidebar-modal"]].forEach(function (pair) {
      var toggles = Array.prototype.slice.call(document.querySelectorAll("." + pair[0]));
      var dialog = document.getElementById(pair[1]);
      if (toggles.length < 2 || !dialog) return;
      toggles.slice(1).forEach(function (button) {
        button.addEventListener("click", function (event) {
          if (dialog.open) return;
          event.preventDefault();
          toggles[0].click();
          if (!dialog.open) return;            // a wider screen: the theme's own behaviour stands
          event.stopPropagation();
        });
      });
    });
  }

  var viewer = null;

  function openFigure(img) {
    if (!viewer) {
      viewer = document.createElement("dialog");
      viewer.className = "bpfs-figure-viewer";
      viewer.setAttribute("aria-label", "Figure at full size");
      viewer.innerHTML = '<button type="button" class="bpfs-figure-close" aria-label="Close">\u00d7</button>' +
                         '<div class="bpfs-figure-scroll"><img alt=""></div>';
      viewer.addEventListener("click", function () { viewer.close(); });
      viewer.addEventListener("keydown", function (event) {
        if (event.key === "Escape") { event.preventDefault(); event.stopPropagation(); viewer.close(); }
      });
      document.body.appendChild(viewer);
    }
    var big = viewer.querySelector("img");
    big.src = img.currentSrc || img.src;
    big.alt = img.alt;
    big.style.width = img.naturalWidth ? img.naturalWidth + "px" : "";
    viewer.showModal();
  }

  function enlargeableFigures() {
    document.querySelectorAll("article.bd-article img").forEach(function (img) {
      if (img.closest("a, button, .jupyter-widgets, .animation, .bpfs-figure-viewer")) return;
      if (!img.getAttribute("src")) return;                 // an animation player's frame
      img.classList.add("bpfs-enlargeable");
      img.tabIndex = 0;
      img.setAttribute("role", "button");
      img.title = "Click to open at full size";
      img.addEventListener("click", function () { openFigure(img); });
      img.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); openFigure(img); }
      });
    });
  }

  function init() {
    forwardSidebarToggles();
    enlargeableFigures();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
