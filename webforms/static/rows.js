// A table's rows are added and removed in the page (issue 16, point 6): the "Ajouter …" or
// "Supprimer : …" button sends the form exactly as without JavaScript (the draft is saved with the
// row added or removed), then only that table is replaced by the server's rendering of it, so
// nothing typed elsewhere in the page is touched and the rows keep one rendering (the macro
// render_field). The focus goes to the new row's first field, or after a removal to the row that
// took its place (else to the "Ajouter" button). Without JavaScript, or if the answer is not the
// form (the deadline passed, the session ended), the page says so and keeps what was typed.
(function () {
  "use strict";
  if (!window.fetch || !window.FormData || !window.DOMParser) { return; }
  var FIELDS = "input:not([type=hidden]), select, textarea";

  function announce(form, text, refused) {
    var status = document.getElementById("rows-status");
    if (!status) {
      status = document.createElement("p");
      status.id = "rows-status";
      status.setAttribute("role", "status");
      status.setAttribute("aria-live", "polite");
      form.insertBefore(status, form.querySelector(".form-actions"));
    }
    status.textContent = text;
    status.className = refused ? "autosave error-message" : "visually-hidden";
  }

  function focusIn(table, index) {
    var rows = table.querySelectorAll(":scope > fieldset.row");
    var row = rows[Math.min(index, rows.length - 1)];
    var target = row ? row.querySelector(FIELDS) : null;
    target = target || table.querySelector(":scope > button[value^='add:']");
    if (target) { target.focus(); }
  }

  function change(form, button) {
    var parts = button.value.split(":");
    var table = document.getElementById(parts[1]);
    var before = table.querySelectorAll(":scope > fieldset.row").length;
    var data = new FormData(form);
    data.set("action", button.value);
    button.disabled = true;
    fetch(form.getAttribute("action"), { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) {
        // A redirected answer is a page one may reload (the draft's); a page answered to the POST is not.
        // A refusal (409 after the deadline…) shows the form as typed: nothing was added.
        return response.text().then(function (html) { return { ok: response.ok, url: response.redirected ? response.url : null, html: html }; });
      })
      .then(function (answer) {
        var page = new DOMParser().parseFromString(answer.html, "text/html");
        var fresh = page.getElementById(parts[1]);
        var freshForm = fresh && fresh.closest("form");
        if (!answer.ok || !fresh || !freshForm) {
          var why = page.querySelector(".flash-error, .flash-info, .error-summary h2");
          announce(form, (why ? why.textContent.trim() + " " : "La ligne n'a pas pu être modifiée. ")
            + "Ce que vous avez saisi reste dans la page.", true);
          button.disabled = false;
          return;
        }
        // The first save of a new document created its draft: the form now saves that draft.
        form.setAttribute("action", freshForm.getAttribute("action"));
        if (answer.url && answer.url.split("#")[0] !== window.location.href.split("#")[0]) {
          window.history.replaceState(null, "", answer.url.split("#")[0]);
        }
        table.replaceWith(document.importNode(fresh, true));
        var after = document.getElementById(parts[1]);
        var count = after.querySelectorAll(":scope > fieldset.row").length;
        if (parts[0] === "add") {
          announce(form, "Ligne " + count + " ajoutée.", false);
          focusIn(after, count - 1);
        } else {
          announce(form, "Ligne " + (Number(parts[2]) + 1) + " supprimée ; il reste " + count + " ligne" + (count > 1 ? "s" : "") + ".", false);
          focusIn(after, Math.min(Number(parts[2]), before));
        }
      })
      .catch(function () {
        announce(form, "La ligne n'a pas pu être modifiée (connexion interrompue) : ce que vous avez saisi reste dans la page.", true);
        button.disabled = false;
      });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[name=action]");
    if (!button || !/^(add|remove):/.test(button.value) || !button.form) { return; }
    if (!document.getElementById(button.value.split(":")[1])) { return; }
    event.preventDefault();
    change(button.form, button);
  });
})();
