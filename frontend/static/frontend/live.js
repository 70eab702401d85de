// The user's live stream: one authenticated websocket per page (notifications arrive here).
(function () {
  "use strict";
  var script = document.currentScript;
  var path = script && script.dataset.wsPath;
  function setUnread(count, unread) {
    count.dataset.unread = String(unread);
    // The number is the last text node (after the visually hidden "Unread:" label).
    var node = count.lastChild;
    if (!node || node.nodeType !== Node.TEXT_NODE) {
      node = document.createTextNode("");
      count.appendChild(node);
    }
    node.textContent = String(unread);
  }
  function showNotification(data) {
    var count = document.querySelector(".bell__count");
    if (count && typeof data.unread === "number") { setUnread(count, data.unread); }
    var toast = document.querySelector(".toast-live");
    if (!toast) return;
    // Shown before it is filled, so screen readers announce the text of the live region.
    toast.hidden = false;
    toast.textContent = "";
    // The text is in the recipient's language when it was sent, not necessarily the page's.
    if (typeof data.language === "string" && data.language) {
      toast.lang = data.language;
      toast.dir = /^(ar|fa|he|ur)\b/.test(data.language) ? "rtl" : "ltr";
    } else {
      toast.removeAttribute("lang");
      toast.removeAttribute("dir");
    }
    // Only the site's own paths become links (never "javascript:" or another host).
    var link = typeof data.link === "string" && /^\/(?![\/\\])/.test(data.link) ? data.link : "";
    var title = document.createElement(link ? "a" : "strong");
    title.className = "toast__title";
    title.textContent = data.title || "";
    if (link) { title.href = link; }
    toast.appendChild(title);
    if (data.body) {
      var body = document.createElement("span");
      body.className = "toast__body";
      body.textContent = data.body;
      toast.appendChild(body);
    }
    clearTimeout(showNotification.timer);
    showNotification.timer = setTimeout(function () { toast.hidden = true; }, 8000);
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
