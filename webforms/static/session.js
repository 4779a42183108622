// The session of a page being typed in (webforms.accounts): while the user types, the page asks
// the server now and then, which keeps the session alive; if it has ended, the page says so.
// A form posted after its session ended was kept: here it is put back into its form.
(function () {
  "use strict";
  var body = document.body;
  var url = body.getAttribute("data-keepalive-url");
  var every = parseInt(body.getAttribute("data-keepalive-seconds") || "300", 10) * 1000;
  var typed = false;
  var last = Date.now();
  var told = false;

  function tell() {
    if (told) { return; }
    told = true;
    var notice = document.createElement("div");
    notice.className = "flash flash-error";
    notice.setAttribute("role", "alert");
    notice.textContent = "Votre session a pris fin. Ce que vous saisissez n'est pas perdu : enregistrez, "
      + "puis reconnectez-vous ; le formulaire vous sera rendu tel que vous l'avez rempli.";
    var main = document.getElementById("contenu");
    if (main) { main.insertBefore(notice, main.firstChild); }
  }

  function ask() {
    typed = false;
    last = Date.now();
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) { if (state && !state.connecte) { tell(); } })
      .catch(function () { /* offline for a moment: the next keystroke asks again */ });
  }

  if (url) {
    document.addEventListener("input", function () {
      typed = true;
      if (Date.now() - last >= every) { ask(); }
    });
    window.setInterval(function () { if (typed && Date.now() - last >= every) { ask(); } }, 15000);
  }

  var kept = document.getElementById("formulaire-conserve");
  if (!kept) { return; }
  var saved = JSON.parse(kept.textContent);
  var target = new URL(saved.action, window.location.href).pathname;
  // getAttribute, not f.action / f.method: a field named "action" (the forms' buttons) hides them.
  var form = Array.prototype.find.call(document.forms, function (f) {
    var action = new URL(f.getAttribute("action") || window.location.href, window.location.href).pathname;
    return action === target && (f.getAttribute("method") || "").toLowerCase() === "post";
  });
  if (!form) { return; }
  Object.keys(saved.fields).forEach(function (name) {
    var values = saved.fields[name];
    var fields = Array.prototype.filter.call(form.elements, function (el) { return el.name === name; });
    var next = 0;
    fields.forEach(function (el) {
      if (el.type === "file" || el.type === "submit" || el.type === "button" || el.name === "csrf_token") { return; }
      if (el.type === "checkbox" || el.type === "radio") {
        el.checked = values.indexOf(el.value) !== -1;
      } else if (el.multiple) {
        Array.prototype.forEach.call(el.options, function (o) { o.selected = values.indexOf(o.value) !== -1; });
      } else if (next < values.length) {
        el.value = values[next];
        next += 1;
      }
    });
  });
})();
