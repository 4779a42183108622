// On a phone, a list is read as cards, each value under its column's name (issue 16, point 4).
// The lists written with their labels (table.list.cards, td data-label) need nothing; every other
// list (the administration's, the archive's) gets each cell's label from its column's header
// here, then the same look. Without JavaScript, such a list stays a table the page scrolls.
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("table.list:not(.cards)"), function (table) {
    var head = table.tHead && table.tHead.rows[0];
    if (!head) { return; }
    var names = Array.prototype.map.call(head.cells, function (th) { return th.textContent.trim(); });
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        var column = 0;
        Array.prototype.forEach.call(row.cells, function (cell) {
          if (!cell.hasAttribute("data-label") && names[column]) { cell.setAttribute("data-label", names[column]); }
          column += cell.colSpan || 1;
        });
      });
    });
    table.classList.add("cards");
  });
})();
