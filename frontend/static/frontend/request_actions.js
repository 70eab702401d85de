// The employee's request page: one action panel open at a time (the <details name=…> group
// does that without script) and keyboard shortcuts for the common actions. A letter opens the
// panel whose <details data-shortcut> matches and puts the focus in its first field; letters
// typed in a field, or with Ctrl/Alt/Meta, are left alone. The physical key counts, so the
// shortcuts work with the Arabic keyboard layout too.
(function () {
  "use strict";
  var panels = document.querySelectorAll("details[data-shortcut]");
  if (!panels.length) return;
  var byKey = {};
  panels.forEach(function (panel) { byKey[panel.dataset.shortcut] = panel; });

  function typing(target) {
    if (!target || !target.closest) return false;
    return !!target.closest("input, textarea, select, [contenteditable]:not([contenteditable=false])");
  }
  function firstField(panel) {
    return panel.querySelector(
      ".action-panel__body textarea, .action-panel__body select, " +
      ".action-panel__body input:not([type=hidden]):not([type=file]):not([type=radio])"
    ) || panel.querySelector(".action-panel__body button, .action-panel__body input:not([type=hidden])");
  }
  function open(panel) {
    panel.open = true;  // the group closes the others
    var field = firstField(panel);
    if (field) {
      field.focus();
    } else {
      panel.querySelector("summary").focus();
    }
    panel.scrollIntoView({ block: "nearest" });
  }

  // WCAG 2.1.4: single-letter shortcuts can be turned off (speech input types letters); the
  // choice is kept in this browser.
  var STORE = "muamalat.shortcuts";
  var toggle = document.querySelector("[data-shortcuts-toggle]");
  function enabled() {
    try { return window.localStorage.getItem(STORE) !== "off"; } catch (e) { return true; }
  }
  function show() {
    if (!toggle) return;
    var on = enabled();
    toggle.setAttribute("aria-pressed", on ? "false" : "true");
    toggle.textContent = on ? toggle.dataset.labelOff : toggle.dataset.labelOn;
  }
  if (toggle) {
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      try { window.localStorage.setItem(STORE, enabled() ? "off" : "on"); } catch (e) { /* private mode */ }
      show();
    });
    show();
  }

  document.addEventListener("keydown", function (event) {
    if (!enabled()) return;
    if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey) return;
    if (event.isComposing || typing(event.target)) return;
    var key = "";
    if (/^Key[A-Z]$/.test(event.code || "")) key = event.code.slice(3).toLowerCase();
    else if (event.key && event.key.length === 1) key = event.key.toLowerCase();
    var panel = byKey[key];
    if (!panel) return;
    event.preventDefault();  // the letter is not typed into the field that gets the focus
    open(panel);
  });
})();
