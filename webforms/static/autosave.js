// A draft saves itself while it is typed (issue 16, point 1): three seconds after the last change,
// the form is sent as « Enregistrer » sends it (action=autosave), and the page says « Brouillon
// enregistré à 10 h 42 ». A refusal (the deadline passed, the document was submitted in another
// tab, the session ended) is said in the same place; what was typed stays in the page. Without
// JavaScript, the form's buttons save as before.
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosave]");
  var status = document.getElementById("autosave-status");
  if (!form || !status || !window.fetch || !window.FormData) { return; }
  var WAIT = 3000;
  var timer = null;
  var sending = false;
  var again = false;

  function say(text, refused) {
    status.textContent = text;
    status.className = refused ? "autosave error-message" : "autosave";
  }

  function answer(response) {
    return response.json()
      .catch(function () { return null; })
      .then(function (body) { return { ok: response.ok, status: response.status, body: body }; });
  }

  function send() {
    timer = null;
    if (sending) { again = true; return; }
    sending = true;
    var data = new FormData(form);
    data.set("action", "autosave");
    // getAttribute: a field named "action" (the forms' buttons) hides form.action.
    // redirect "manual": a redirect is never followed (it would read the sign-in page's message).
    fetch(form.getAttribute("action"), { method: "POST", body: data, credentials: "same-origin", redirect: "manual", headers: { Accept: "application/json" } })
      .then(answer)
      .then(function (result) {
        if (result.ok && result.body && result.body.enregistre) {
          say("Brouillon enregistré à " + result.body.enregistre_a + ".", false);
        } else if (result.body && result.body.message && result.body.connexion) {
          // The session ended: what was typed is kept on the server; say so, with the way back.
          say(result.body.message + " ", true);
          var link = document.createElement("a");
          link.href = result.body.connexion;
          link.textContent = result.status === 401 ? "Se connecter" : "Recharger la page";
          status.appendChild(link);
        } else {
          say((result.body && result.body.message ? result.body.message + " " : "Enregistrement automatique impossible. ")
            + "Ce que vous avez saisi reste dans la page.", true);
        }
      })
      .catch(function () { say("Enregistrement automatique impossible (connexion interrompue) : ce que vous avez saisi reste dans la page.", true); })
      .then(function () {
        sending = false;
        if (again) { again = false; send(); }
      });
  }

  function changed() {
    if (timer) { window.clearTimeout(timer); }
    timer = window.setTimeout(send, WAIT);
  }

  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  // A click on a button saves at once: no automatic save after it.
  form.addEventListener("submit", function () { if (timer) { window.clearTimeout(timer); timer = null; } });
})();
