// Every page: the phone menu toggle and the GOV.UK error summary, which takes the focus when a
// form comes back with errors so that a screen reader announces it and a keyboard user starts
// there; its links move the focus to the field itself (not just scroll to it).
(function () {
  "use strict";
  function ready() {
    var toggle = document.querySelector(".sidebar__toggle");
    if (toggle) {
      toggle.addEventListener("click", function () {
        var nav = toggle.parentElement;
        var open = nav.classList.toggle("sidebar--open");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
      });
    }
    var summary = document.querySelector("[data-error-summary]");
    if (summary) {
      summary.focus();
      summary.addEventListener("click", function (event) {
        var link = event.target.closest("a[href^='#']");
        if (!link) return;
        var target = document.getElementById(decodeURIComponent(link.hash.slice(1)));
        if (!target) return;
        event.preventDefault();
        var field = target.closest(".field") || target;
        field.scrollIntoView({ block: "start" });
        target.focus();
      });
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
