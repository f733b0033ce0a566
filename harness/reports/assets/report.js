// Sorting, filtering and the whole-run toggle of the scenario reports. Everything a page shows
// is in its HTML already; this only changes what is visible and in which order.
(function () {
  "use strict";

  function sortBy(table, column, numeric) {
    var body = table.tBodies[0];
    var header = table.tHead.rows[0].cells[column];
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[column], y = b.cells[column];
      var p = x.dataset.value !== undefined ? x.dataset.value : x.textContent.trim();
      var q = y.dataset.value !== undefined ? y.dataset.value : y.textContent.trim();
      var order = numeric ? Number(p) - Number(q) : p.localeCompare(q);
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  document.querySelectorAll("table.sortable").forEach(function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
      th.addEventListener("click", function () { sortBy(table, column, th.dataset.sort === "num"); });
    });
  });

  function filter(tableId, textId, boxClass, attribute, countId) {
    var table = document.getElementById(tableId);
    var text = document.getElementById(textId);
    if (!table || !text) { return; }
    var boxes = document.querySelectorAll("input." + boxClass);
    function apply() {
      var words = text.value.toLowerCase().split(/\s+/).filter(Boolean);
      var allowed = {};
      boxes.forEach(function (box) { allowed[box.value] = box.checked; });
      var shown = 0, rows = table.tBodies[0].rows;
      Array.prototype.forEach.call(rows, function (row) {
        var content = row.textContent.toLowerCase();
        var visible = allowed[row.getAttribute(attribute)] !== false &&
          words.every(function (w) { return content.indexOf(w) >= 0; });
        row.hidden = !visible;
        shown += visible ? 1 : 0;
      });
      var count = document.getElementById(countId);
      if (count) { count.textContent = shown + " of " + rows.length + " shown"; }
    }
    // A filter can come with the link: index.html#q=xid shows the cases that mention xid.
    var given = /^#q=(.*)$/.exec(window.location.hash);
    if (given && tableId === "cases") { text.value = decodeURIComponent(given[1]); }
    text.addEventListener("input", apply);
    boxes.forEach(function (box) { box.addEventListener("change", apply); });
    apply();
  }

  filter("cases", "filter", "status-filter", "data-status", "shown");
  filter("event-table", "event-filter", "source-filter", "data-source", "events-shown");

  document.querySelectorAll("button[data-toggle]").forEach(function (button) {
    var whole = document.getElementById(button.dataset.toggle);
    var zoomed = document.getElementById("zoomed");
    button.addEventListener("click", function () {
      var showWhole = whole.hidden;
      whole.hidden = !showWhole;
      zoomed.hidden = showWhole;
      button.textContent = showWhole ? "zoom to the failure" : "show the whole run";
    });
  });
  document.body.dataset.ready = "1";
})();
