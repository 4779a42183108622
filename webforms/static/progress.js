// The indicator of a work asked of the queue (templates/_macros.html, progress_panel): asks its
// state every second and says it in the live region; reloads the page once the work is done.
(function () {
  "use strict";
  document.querySelectorAll("[data-progress-url]").forEach(function (panel) {
    var url = panel.getAttribute("data-progress-url");
    var state = panel.querySelector(".progress-state");
    var last = "";
    function ask() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (travail) {
          if (travail && travail.fini) { window.location.reload(); return; }
          if (travail && travail.statut + travail.message !== last) {
            last = travail.statut + travail.message;
            state.querySelector("strong").textContent = travail.statut_label;
            state.querySelector("span:last-child").textContent = travail.message;
          }
          window.setTimeout(ask, 1000);
        })
        .catch(function () { window.setTimeout(ask, 3000); });
    }
    window.setTimeout(ask, 500);
  });
})();
