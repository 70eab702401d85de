// The review inbox refreshes its counts and rows when a voucher arrives or leaves (the
// services publish "finance.review_inbox" to the user's stream after commit).
(function () {
  "use strict";
  var box = document.getElementById("review-inbox");
  if (!box) return;
  document.addEventListener("muamalat:live", function (event) {
    var data = event.detail || {};
    var ours = data.type === "finance.review_inbox" ||
      (data.type === "notification" && /^finance\./.test(data.event || ""));
    if (!ours) return;
    fetch(box.dataset.refreshUrl, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) return;
        box.innerHTML = html;
        box.dataset.refreshed = String(Date.now());
      });
  });
})();
