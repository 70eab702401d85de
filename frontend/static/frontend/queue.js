// The employee's queue refreshes its rows and state counts when a request is assigned to them
// (live push), without reloading the page.
(function () {
  "use strict";
  var table = document.querySelector("table.queue");
  if (!table) return;
  document.addEventListener("muamalat:live", function (event) {
    var data = event.detail || {};
    if (data.type !== "notification" || data.event !== "request.assigned") return;
    fetch(table.dataset.refreshUrl, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var rows = fresh.getElementById("queue-rows");
        if (rows) document.getElementById("queue-rows").innerHTML = rows.innerHTML;
        var tabs = fresh.querySelector("nav.tabs");
        var current = document.querySelector("nav.tabs");
        if (tabs && current) current.innerHTML = tabs.innerHTML;
        table.dataset.refreshed = String(Date.now());
      });
  });
})();
