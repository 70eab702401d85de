// The secretary's check-in screen: a fresh QR code every few seconds (each token is accepted
// for 20 to 30 seconds only, so a photograph sent home is useless).
(function () {
  "use strict";
  var box = document.querySelector("[data-qr-code-url]");
  if (!box) return;
  var url = box.getAttribute("data-qr-code-url");
  function refresh() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (answer) { if (answer && answer.svg) {
        box.innerHTML = answer.svg;
        if (answer.url) box.setAttribute("data-qr-check-in", answer.url);
      } })
      .catch(function () {});
  }
  setInterval(refresh, 5000);
})();
