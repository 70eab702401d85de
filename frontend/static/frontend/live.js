// The user's live stream: one authenticated websocket per page (notifications arrive here).
(function () {
  "use strict";
  var script = document.currentScript;
  var path = script && script.dataset.wsPath;
  var toggle = document.querySelector(".sidebar__toggle");
  if (toggle) {
    toggle.addEventListener("click", function () {
      var nav = toggle.parentElement;
      var open = nav.classList.toggle("sidebar--open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }
  function showNotification(data) {
    var count = document.querySelector(".bell__count");
    if (count && typeof data.unread === "number") {
      count.dataset.unread = String(data.unread);
      count.lastChild.textContent = String(data.unread);
    }
    var toast = document.querySelector(".toast");
    if (toast) {
      toast.textContent = data.title + (data.body ? " — " + data.body : "");
      toast.hidden = false;
      clearTimeout(showNotification.timer);
      showNotification.timer = setTimeout(function () { toast.hidden = true; }, 8000);
    }
  }
  if (!path || !("WebSocket" in window)) return;
  var delay = 1000;
  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + path);
    socket.onopen = function () { delay = 1000; document.documentElement.dataset.live = "on"; };
    socket.onmessage = function (event) {
      var data = JSON.parse(event.data);
      if (data.type === "notification") { showNotification(data); }
      document.dispatchEvent(new CustomEvent("muamalat:live", { detail: data }));
    };
    socket.onclose = function (event) {
      document.documentElement.dataset.live = "off";
      if (event.code >= 4400 && event.code < 4500) return; // refused: do not retry
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
