/*
 * The figure grid: "Add a row" appends an empty breakdown row from the <template>, numbered
 * after the formset's last form. Without JavaScript the grid still offers three empty rows
 * (the button stays hidden), and saving brings three fresh ones.
 */
(function () {
  "use strict";

  function init() {
    var button = document.getElementById("breakdown-add");
    var template = document.getElementById("breakdown-template");
    var rows = document.getElementById("breakdown-rows");
    if (!button || !template || !rows) {
      return;
    }
    var prefix = button.getAttribute("data-prefix");
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    if (!total) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var index = parseInt(total.value, 10) || 0;
      var html = template.innerHTML.replace(/__prefix__/g, String(index));
      rows.insertAdjacentHTML("beforeend", html);
      total.value = String(index + 1);
      var added = rows.lastElementChild;
      var first = added && added.querySelector("select, input:not([type=hidden])");
      if (first) {
        first.focus();
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
