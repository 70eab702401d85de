// The employee's queue refreshes its rows when a request is assigned to them (live push).
(function () {
  "use strict";
  var table = document.querySelector("table.queue");
  if (!table) return;
  document.addEventListener("muamalat:live", function (event) {
    var data = event.detail || {};
    if (data.type !== "notification" || data.event !== "request.assigned") return;
    var url = new URL(table.dataset.refreshUrl, location.href);
    url.searchParams.set("partial", "1");
    fetch(url.toString(), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) return;
        document.getElementById("queue-rows").innerHTML = html;
        table.dataset.refreshed = String(Date.now());
      });
  });
})();
