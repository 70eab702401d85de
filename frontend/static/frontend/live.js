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
  if (!path || !("WebSocket" in window)) return;
  var delay = 1000;
  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + path);
    socket.onopen = function () { delay = 1000; document.documentElement.dataset.live = "on"; };
    socket.onmessage = function (event) {
      var data = JSON.parse(event.data);
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
