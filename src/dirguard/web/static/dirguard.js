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

  // Include (+) / exclude (−) links on each timeline value: the server marks a value with
  // data-f (the filter field) and data-v (its value); the links are the table's filter
  // (data-pick-base, a query string) with the value added to one list and taken off the other.
  function pickHref(base, field, value, include) {
    var keep = include ? field : "not_" + field;
    var drop = include ? "not_" + field : field;
    var params = new URLSearchParams(base || "");
    var out = new URLSearchParams();
    var present = false;
    params.forEach(function (v, k) {
      if (k === drop && v === value) return;
      if (k === keep && v === value) present = true;
      out.append(k, v);
    });
    if (!present) out.append(keep, value);
    return "/changes?" + out.toString();
  }
  function pickLink(base, field, value, include) {
    var link = document.createElement("a");
    link.href = pickHref(base, field, value, include);
    link.textContent = include ? "+" : "\u2212";
    link.title = (include ? "Only changes whose " : "No changes whose ") + field + " is " + value;
    link.setAttribute("aria-label", (include ? "only " : "exclude ") + field + " " + value);
    return link;
  }
  function pick(root) {
    var values = Array.prototype.slice.call(root.querySelectorAll("[data-f]"));
    values.forEach(function (span) {
      if (span.dataset.picked) return;
      span.dataset.picked = "1";
      var holder = span.closest("[data-pick-base]");
      var base = holder ? holder.getAttribute("data-pick-base") : "";
      var links = document.createElement("span");
      links.className = "pick";
      links.appendChild(pickLink(base, span.dataset.f, span.dataset.v, true));
      links.appendChild(pickLink(base, span.dataset.f, span.dataset.v, false));
      span.after(links);
    });
  }
  function start() {
    document.querySelectorAll("[data-pick-base]").forEach(pick);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
  window.dirguard = { csrfToken: csrfToken, pick: pick, pickHref: pickHref };
})();
