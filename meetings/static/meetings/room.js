// The meeting's live room: one socket per page (/ws/meetings/<agency>/<id>/, participants
// only). Each message is re-dispatched on document as a CustomEvent "meeting:<type>" (detail:
// the message), so every part of the meeting page (voting, minutes…) listens for its own:
//   document.addEventListener("meeting:poll", function (e) { … e.detail … });
// This file then keeps presence, quorum, current item, shared notes, opinions and the
// speakers' queue in step, and posts the room's forms without leaving the page.
(function () {
  "use strict";
  var root = document.querySelector("[data-room-socket]");
  if (!root) return;
  var room = document.getElementById("room") || root;
  var statusRegion = document.querySelector("[data-room-status-region]");
  var errorBox = room.querySelector("[data-room-error]");
  var shownItem = room.getAttribute("data-room-item") || "";
  var myParticipant = room.getAttribute("data-room-participant") || "";
  function label(name) { return room.getAttribute("data-room-label-" + name) || ""; }
  function say(text) { if (statusRegion && text) { statusRegion.textContent = text; } }
  function showError(text) {
    if (!errorBox) { say(text); return; }
    errorBox.textContent = text || "";
    errorBox.hidden = !text;
  }

  // --- the socket --------------------------------------------------------------------------
  var delay = 1000;
  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + root.getAttribute("data-room-socket"));
    socket.onopen = function () { delay = 1000; root.setAttribute("data-room-live", "on"); };
    socket.onmessage = function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (!message || !message.type) return;
      document.dispatchEvent(new CustomEvent("meeting:" + message.type, { detail: message }));
    };
    socket.onclose = function (event) {
      root.setAttribute("data-room-live", "off");
      if (event.code >= 4400 && event.code < 4500) return; // refused or removed: do not retry
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();

  function on(type, handler) {
    document.addEventListener("meeting:" + type, function (e) { handler(e.detail); });
  }
  function dirty() {
    return Array.prototype.some.call(room.querySelectorAll("textarea"), function (t) {
      return t.value !== t.defaultValue;
    });
  }

  // --- presence and quorum -----------------------------------------------------------------
  on("presence", function (m) {
    var row = document.querySelector('[data-participant-row="' + m.participant_id + '"] [data-presence]');
    var lang = document.documentElement.lang;
    var presenceLabel = (m.presence_labels && m.presence_labels[lang]) || m.presence_label;
    if (row) row.textContent = presenceLabel;
    if (String(m.participant_id) === myParticipant) {
      var mine = room.querySelector("[data-room-my-presence]");
      if (mine) mine.textContent = presenceLabel;
    }
  });
  on("quorum", function (m) {
    var text = document.querySelector("[data-room-quorum-text]");
    var badge = document.querySelector("[data-room-quorum-badge]");
    var lang = document.documentElement.lang;
    if (text) text.textContent = (m.descriptions && m.descriptions[lang]) || m.description;
    if (badge) {
      badge.textContent = m.reached ? label("reached") : label("not-reached");
      badge.classList.toggle("text-bg-success", !!m.reached);
      badge.classList.toggle("text-bg-warning", !m.reached);
    }
  });

  // --- the current item and the meeting's status --------------------------------------------
  on("current_item", function (m) {
    var title = room.querySelector("[data-room-current-title]");
    if (title) title.textContent = m.item_id ? m.position + ". " + m.title : "";
    if (String(m.item_id || "") === shownItem) return;
    if (!dirty()) { location.assign(location.pathname + location.hash); return; }
    var moved = room.querySelector("[data-room-moved]");
    if (moved) {
      moved.textContent = label("moved") + " ";
      var link = document.createElement("a");
      link.href = location.pathname;
      link.textContent = label("show");
      moved.appendChild(link);
      moved.hidden = false;
    }
    say(label("moved"));
  });
  on("status", function () { if (!dirty()) location.reload(); });

  // --- shared notes and opinions -------------------------------------------------------------
  function setText(node, text) {
    node.textContent = "";
    String(text || "").split("\n").forEach(function (line, i) {
      if (i) node.appendChild(document.createElement("br"));
      node.appendChild(document.createTextNode(line));
    });
  }
  on("shared_notes", function (m) {
    var key = m.item_id ? String(m.item_id) : "";
    Array.prototype.forEach.call(room.querySelectorAll("[data-room-shared]"), function (node) {
      if (node.getAttribute("data-room-shared") === key) setText(node, m.text);
    });
  });
  on("opinion", function (m) {
    var list = room.querySelector("[data-room-opinions]");
    if (!list || list.getAttribute("data-room-opinions") !== (m.item_id ? String(m.item_id) : "")) return;
    var item = document.createElement("li");
    item.className = "border-bottom py-2";
    var who = document.createElement("strong");
    who.textContent = m.author;
    item.appendChild(who);
    item.appendChild(document.createElement("br"));
    var body = document.createElement("span");
    setText(body, m.text);
    item.appendChild(body);
    list.appendChild(item);
  });

  // --- the speakers' queue and the timer -----------------------------------------------------
  var timer = room.querySelector("[data-room-timer]");
  var floor = null; // {started: Date, planned: seconds}
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function clock(seconds) { return Math.floor(seconds / 60) + ":" + two(seconds % 60); }
  function tick() {
    if (!timer) return;
    if (!floor) { timer.hidden = true; return; }
    var elapsed = Math.max(0, Math.floor((Date.now() - floor.started) / 1000));
    timer.hidden = false;
    timer.textContent = clock(elapsed) + " / " + clock(floor.planned);
    timer.classList.toggle("text-danger", elapsed > floor.planned);
  }
  function renderQueue(queue) {
    var list = room.querySelector("[data-room-speakers]");
    floor = null;
    if (list) list.textContent = "";
    queue.forEach(function (s) {
      if (s.status === "speaking" && s.started_at) {
        floor = { started: new Date(s.started_at).getTime(), planned: s.planned_seconds };
      }
      if (!list) return;
      var li = document.createElement("li");
      li.textContent = s.name + " · " + label(s.status);
      list.appendChild(li);
    });
    if (list && !queue.length) {
      var none = document.createElement("li");
      none.className = "text-body-secondary";
      none.textContent = label("nobody");
      list.appendChild(none);
    }
    tick();
  }
  (function initialQueue() {
    var speaking = room.querySelector('[data-room-speakers] [data-status="speaking"]');
    if (speaking && speaking.getAttribute("data-started")) {
      floor = {
        started: new Date(speaking.getAttribute("data-started")).getTime(),
        planned: parseInt(speaking.getAttribute("data-planned"), 10) || 180,
      };
    }
    tick();
  })();
  setInterval(tick, 1000);
  on("speakers", function (m) {
    renderQueue(m.queue || []);
    // one's own "raise / lower" button follows the queue
    var mine = (m.queue || []).some(function (s) { return String(s.participant_id) === myParticipant; });
    var button = room.querySelector('button[name="hand"]');
    if (button && (button.value === "lower") !== mine) {
      button.value = mine ? "lower" : "raise";
      button.textContent = label(mine ? "lower" : "raise");
      button.classList.toggle("btn-outline-secondary", mine);
      button.classList.toggle("btn-outline-primary", !mine);
    }
  });

  // --- the room's forms, posted without leaving the page -------------------------------------
  Array.prototype.forEach.call(room.querySelectorAll("form[data-room-form]"), function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.fetch || !window.FormData) return;
      event.preventDefault();
      var data = new FormData(form);
      if (event.submitter && event.submitter.name) data.append(event.submitter.name, event.submitter.value);
      fetch(form.action, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": data.get("csrfmiddlewaretoken") || "" },
      }).then(function (response) {
        return response.json().catch(function () { return { ok: false, error: response.statusText }; });
      }).then(function (answer) {
        if (!answer.ok) { showError(answer.error); return; }
        showError("");
        say(answer.message);
        Array.prototype.forEach.call(form.querySelectorAll("textarea"), function (t) {
          if (form.hasAttribute("data-room-clear")) t.value = "";
          t.defaultValue = t.value;
        });
      }).catch(function () { form.submit(); });
    });
  });
})();
