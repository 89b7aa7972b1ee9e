// dirguard console: the little script the pages need (no inline script anywhere: the CSP
// allows scripts from the console's own origin only).
(function () {
  "use strict";
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  // Every htmx request carries the session's CSRF token (checked on every state change).
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });
  window.dirguard = { csrfToken: csrfToken };
})();
