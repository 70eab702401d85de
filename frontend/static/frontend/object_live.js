// A page that follows one object (a request, a meeting…) over its own websocket: when someone
// else changes it, a polite live region says so and offers to reload. It never reloads by
// itself, and reloading keeps what the person had typed (restored into the same fields, or
// shown for copying when that form is gone, e.g. the request was closed meanwhile).
//
// Markup: <div role="status" aria-live="polite" data-live-socket="/ws/…" data-live-version="…"
//   data-live-template="id of a <template> with the message and a [data-live-reload] button"
//   data-live-files-warning="…" data-live-drafts-title="…"></div>
(function () {
  "use strict";
  var region = document.querySelector("[data-live-socket]");
  if (!region) return;
  var DRAFT_KEY = "muamalat:drafts:" + location.pathname;
  var TEXT_TYPES = /^(text|search|email|tel|url|number|date|datetime-local|time|month|week)$/;

  // --- drafts: what was typed survives the reload ---------------------------------------
  function changedFields() {
    var found = [];
    Array.prototype.forEach.call(document.forms, function (form) {
      Array.prototype.forEach.call(form.elements, function (field) {
        if (!field.name || field.disabled) return;
        var entry = { action: form.getAttribute("action") || "", name: field.name };
        if (field.tagName === "TEXTAREA" || (field.tagName === "INPUT" && TEXT_TYPES.test(field.type))) {
          if (field.value === field.defaultValue) return;
          entry.value = field.value;
        } else if (field.tagName === "INPUT" && (field.type === "radio" || field.type === "checkbox")) {
          if (field.checked === field.defaultChecked) return;
          entry.value = field.value; entry.checked = field.checked;
        } else if (field.tagName === "SELECT" && !field.multiple) {
          var option = field.options[field.selectedIndex];
          if (!option || option.defaultSelected || (field.selectedIndex === 0 && !hasDefault(field))) return;
          entry.value = field.value;
        } else {
          return;
        }
        found.push(entry);
      });
    });
    return found;
  }
  function hasDefault(select) {
    return Array.prototype.some.call(select.options, function (o) { return o.defaultSelected; });
  }
  function filesChosen() {
    return Array.prototype.some.call(document.querySelectorAll("input[type=file]"), function (input) {
      return input.files && input.files.length > 0;
    });
  }
  function findField(entry) {
    var forms = Array.prototype.filter.call(document.forms, function (form) {
      return (form.getAttribute("action") || "") === entry.action;
    });
    for (var i = 0; i < forms.length; i++) {
      var fields = forms[i].elements.namedItem(entry.name);
      if (!fields) continue;
      if (fields.length !== undefined && fields.tagName !== "SELECT") {
        for (var j = 0; j < fields.length; j++) {
          if (!("checked" in entry) || fields[j].value === entry.value) return fields[j];
        }
      } else {
        return fields;
      }
    }
    return null;
  }
  function restoreDrafts() {
    var saved;
    try { saved = JSON.parse(sessionStorage.getItem(DRAFT_KEY) || "null"); } catch (e) { saved = null; }
    sessionStorage.removeItem(DRAFT_KEY);
    if (!saved || !saved.fields || Date.now() - saved.at > 10 * 60 * 1000) return;
    var lost = [];
    saved.fields.forEach(function (entry) {
      var field = findField(entry);
      if (!field) { if (!("checked" in entry) && entry.value) lost.push(entry.value); return; }
      if ("checked" in entry) { field.checked = entry.checked; }
      else { field.value = entry.value; }
      // a draft in a folded panel (e.g. the request page's actions) is shown, not hidden
      var panel = field.closest && field.closest("details");
      if (panel && !("checked" in entry)) panel.open = true;
    });
    if (lost.length) showLost(lost);
  }
  function showLost(texts) {
    // The form is gone (e.g. the request was closed): the text is shown to copy, not dropped.
    var box = document.createElement("div");
    box.className = "live-update__drafts";
    var title = document.createElement("p");
    title.textContent = region.dataset.liveDraftsTitle || "";
    box.appendChild(title);
    texts.forEach(function (text) {
      var copy = document.createElement("textarea");
      copy.readOnly = true; copy.rows = 3; copy.value = text;
      copy.setAttribute("aria-label", region.dataset.liveDraftsTitle || "");
      box.appendChild(copy);
    });
    region.parentNode.insertBefore(box, region.nextSibling);
  }
  function reload() {
    if (filesChosen() && !window.confirm(region.dataset.liveFilesWarning || "")) return;
    try {
      sessionStorage.setItem(DRAFT_KEY, JSON.stringify({ at: Date.now(), fields: changedFields() }));
    } catch (e) { /* storage full or disabled: the browser may still restore the fields */ }
    location.reload();
  }
  restoreDrafts();

  // --- the banner -------------------------------------------------------------------------
  function showChanged() {
    if (region.dataset.changed === "yes") return;  // said once; nothing more to announce
    region.dataset.changed = "yes";
    var template = document.getElementById(region.dataset.liveTemplate);
    if (!template) return;
    region.classList.add("live-update--shown");
    region.appendChild(template.content.cloneNode(true));
    var button = region.querySelector("[data-live-reload]");
    if (button) button.addEventListener("click", reload);
  }

  // --- the socket -------------------------------------------------------------------------
  if (!("WebSocket" in window)) return;
  var delay = 1000;
  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + region.dataset.liveSocket);
    socket.onopen = function () { delay = 1000; region.dataset.live = "on"; };
    socket.onmessage = function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (data.type === "hello") {
        // A change made before this socket joined (or while it was reconnecting).
        var version = region.dataset.liveVersion;
        if (version && data.version && data.version !== version) showChanged();
      } else if (data.type === "object.changed" && !data.mine) {
        showChanged();
      }
    };
    socket.onclose = function (event) {
      region.dataset.live = "off";
      if (event.code >= 4400 && event.code < 4500) return; // refused or ended: do not retry
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
