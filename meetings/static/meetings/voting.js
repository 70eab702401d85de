/* Live updates of the voting part of the meeting page (meetings/partials/voting.html).
 *
 * Listens to the document's CustomEvents "meeting:<type>" (dispatched by the room's script for
 * each message of the meeting socket) and to "muamalat:live" (frontend/live.js, when the page's
 * socket is the meeting's): poll_opened, poll_count (secret polls: only how many voted),
 * poll_tally (named polls: the tallies), poll_closed (the result). Setting the same values
 * twice is harmless, so receiving both kinds of event is fine. Without a socket, nothing
 * happens and the page still works by reloading. */
(function () {
  "use strict";
  var root = document.querySelector("[data-voting]");
  if (!root) { return; }

  function pollElement(id) {
    return root.querySelector('[data-poll-id="' + String(Number(id)) + '"]');
  }

  function setText(el, value) {
    if (el) { el.textContent = String(value); }
  }

  /* Counts only grow while a poll is open: a push that arrives late (several server processes
   * push at their own pace) never shows fewer votes than one already shown. */
  function setVoted(poll, data, final) {
    var el = poll.querySelector("[data-poll-voted]");
    if (!el || typeof data.voted !== "number") { return; }
    var shown = Number(el.dataset.shown || "0");
    if (!final && data.voted < shown) { return; }
    el.dataset.shown = String(data.voted);
    setText(el, data.voted);
  }

  function setTally(poll, options) {
    var list = poll.querySelector("[data-poll-tally]");
    if (!list || !Array.isArray(options)) { return; }
    options.forEach(function (option) {
      var row = list.querySelector('[data-option="' + String(Number(option.position)) + '"]');
      if (!row) { return; }
      setText(row.querySelector("[data-count]"), option.count);
      setText(row.querySelector("[data-weight]"), option.weight);
    });
    list.hidden = false;
  }

  var handlers = {
    poll_opened: function (data) {
      var poll = pollElement(data.poll_id);
      if (!poll) {
        var notice = root.querySelector("[data-poll-new-notice]");
        if (notice) { notice.hidden = false; }
        return;
      }
      setText(poll.querySelector("[data-poll-status]"), root.dataset.labelOpen);
    },
    poll_count: function (data) {
      var poll = pollElement(data.poll_id);
      if (poll) { setVoted(poll, data); }
    },
    poll_tally: function (data) {
      var poll = pollElement(data.poll_id);
      if (!poll || poll.dataset.secret === "1") { return; }
      var el = poll.querySelector("[data-poll-voted]");
      if (el && typeof data.voted === "number" && data.voted < Number(el.dataset.shown || "0")) { return; }
      setVoted(poll, data);
      setTally(poll, data.options);
    },
    poll_closed: function (data) {
      var poll = pollElement(data.poll_id);
      if (!poll) { return; }
      setVoted(poll, data, true);
      setTally(poll, data.options);
      setText(poll.querySelector("[data-poll-status]"), root.dataset.labelClosed);
      setText(poll.querySelector("[data-poll-result]"),
        data.carried ? root.dataset.labelCarried : root.dataset.labelNotCarried);
      poll.querySelectorAll("form.poll__ballot").forEach(function (form) { form.hidden = true; });
    }
  };

  Object.keys(handlers).forEach(function (type) {
    document.addEventListener("meeting:" + type, function (event) {
      handlers[type](event.detail || {});
    });
  });
  document.addEventListener("muamalat:live", function (event) {
    var data = event.detail || {};
    if (Object.prototype.hasOwnProperty.call(handlers, data.type)) { handlers[data.type](data); }
  });

  var focus = root.querySelector(".alert-danger[tabindex]");
  if (focus) { focus.focus(); }
})();
