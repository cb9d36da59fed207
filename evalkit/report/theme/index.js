// Sorting and searching of the county table (evalkit.render.index_html); plain ES5, no libraries.
(function () {
  "use strict";
  var table = document.getElementById("counties");
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var collator = new Intl.Collator(document.documentElement.lang, {numeric: true});

  function sortKey(row, column) {
    var value = row.cells[column].getAttribute("data-sort");
    return value === null || value === "" ? null : value;
  }

  function sortBy(th, column, type) {
    var direction = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    headers.forEach(function (h) { if (h.hasAttribute("aria-sort")) { h.setAttribute("aria-sort", "none"); } });
    th.setAttribute("aria-sort", direction === 1 ? "ascending" : "descending");
    var order = rows.map(function (row, i) { return {row: row, i: i, key: sortKey(row, column)}; });
    order.sort(function (a, b) {
      if (a.key === null || b.key === null) {  // missing values last, in either direction
        return a.key === b.key ? a.i - b.i : (a.key === null ? 1 : -1);
      }
      var c = type === "number" ? Number(a.key) - Number(b.key) : collator.compare(a.key, b.key);
      return c !== 0 ? direction * c : a.i - b.i;
    });
    order.forEach(function (item) { body.appendChild(item.row); });
  }

  headers.forEach(function (th, column) {
    var button = th.querySelector("button");
    if (button) {
      button.addEventListener("click", function () { sortBy(th, column, button.getAttribute("data-type")); });
    }
  });

  var input = document.getElementById("search");
  var noMatch = document.getElementById("no-match");
  input.addEventListener("input", function () {
    var terms = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    rows.forEach(function (row) {
      var text = row.getAttribute("data-search");
      var hit = terms.every(function (term) { return text.indexOf(term) !== -1; });
      row.hidden = !hit;
      shown += hit ? 1 : 0;
    });
    noMatch.hidden = shown > 0;
  });
  document.getElementById("search-box").hidden = false;
})();
