// Employee pickers of meetings' forms: as one types in a picker's search box
// (data-employee-search="<JSON url>", data-employee-select="<the select's id>"), the select is
// narrowed to the matches without reloading the page. Without this script the search box's
// own form reloads the page with the same matches (meetings.services.employees).
(function () {
  "use strict";
  function statusOf(input) {
    var id = input.id + "-status";
    var status = document.getElementById(id);
    if (!status) {
      status = document.createElement("p");
      status.id = id;
      status.className = "form-text mb-0";
      status.setAttribute("aria-live", "polite");
      input.insertAdjacentElement("afterend", status);
      input.setAttribute("aria-describedby", ((input.getAttribute("aria-describedby") || "") + " " + id).trim());
    }
    return status;
  }
  function fill(select, results) {
    var chosen = select.options[select.selectedIndex];
    var keep = [select.options[0]];
    if (chosen && chosen.value) keep.push(chosen);  // the current choice is never lost
    var seen = {};
    keep.forEach(function (option) { seen[option.value] = true; });
    select.replaceChildren.apply(select, keep);
    results.forEach(function (row) {
      if (seen[String(row.id)]) return;
      var option = document.createElement("option");
      option.value = String(row.id);
      option.textContent = row.label;
      select.appendChild(option);
    });
  }
  document.querySelectorAll("[data-employee-search]").forEach(function (input) {
    var select = document.getElementById(input.getAttribute("data-employee-select"));
    if (!select) return;
    var timer = null;
    var asked = 0;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var url = new URL(input.getAttribute("data-employee-search"), window.location.href);
        url.searchParams.set("q", input.value.trim());
        var mine = ++asked;
        fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (answer) {
            if (!answer || mine !== asked) return;  // a later search has been asked for
            fill(select, answer.results || []);
            var status = statusOf(input);
            if (answer.more) status.textContent = input.getAttribute("data-employee-more");
            else if (!answer.results.length) status.textContent = input.getAttribute("data-employee-none");
            else status.textContent = "";
          })
          .catch(function () {});
      }, 250);
    });
  });
})();
