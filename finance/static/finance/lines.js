// "Add a line" without a round trip: copy the last line, empty it, renumber its fields and the
// formset's count. Without JavaScript the button submits and the server adds the line.
(function () {
  "use strict";
  const form = document.querySelector("[data-voucher-form]");
  if (!form) return;
  const button = form.querySelector("[data-add-line]");
  const lines = form.querySelector("[data-lines]");
  const total = form.querySelector("input[name$='-TOTAL_FORMS']");
  if (!button || !lines || !total) return;
  button.addEventListener("click", function (event) {
    const last = lines.querySelector("[data-line]:last-of-type");
    if (!last) return;
    event.preventDefault();
    const index = parseInt(total.value, 10);
    const copy = last.cloneNode(true);
    const pattern = /-(\d+)-/;
    copy.querySelectorAll("[name], [id], [for]").forEach(function (node) {
      ["name", "id", "for"].forEach(function (attr) {
        const value = node.getAttribute(attr);
        if (value) node.setAttribute(attr, value.replace(pattern, "-" + index + "-"));
      });
      if (node.matches("input")) node.value = "";
      if (node.matches("select")) node.selectedIndex = 0;
      node.removeAttribute("aria-invalid");
      node.classList.remove("is-invalid");
    });
    copy.querySelectorAll(".invalid-feedback").forEach(function (node) { node.remove(); });
    const legend = copy.querySelector("legend");
    if (legend) legend.textContent = legend.textContent.replace(/\d+/, String(index + 1));
    lines.appendChild(copy);
    total.value = String(index + 1);
    const first = copy.querySelector("select, input");
    if (first) first.focus();
  });
})();
