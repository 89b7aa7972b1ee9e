// Changes page: new rows arrive over server-sent events and are put at the top of the table.
// The server renders (and escapes) each row; the browser reconnects by itself and resumes after
// the last event id it saw (Last-Event-ID).
(function () {
  "use strict";
  function start() {
    var body = document.getElementById("change-rows");
    if (!body || !body.dataset.live || !window.EventSource) return;
    var status = document.getElementById("live-status");
    var source = new EventSource(body.dataset.live);
    source.addEventListener("row", function (event) {
      var holder = document.createElement("tbody");
      holder.innerHTML = event.data;
      var row = holder.firstElementChild;
      if (!row || document.getElementById(row.id)) return;
      row.classList.add("fresh");
      body.insertBefore(row, body.firstElementChild);
      if (window.dirguard && window.dirguard.pick) window.dirguard.pick(row);
      if (status) status.textContent = "Live: new change " + (row.dataset.event || "") + " added.";
    });
    source.addEventListener("error", function () {
      if (status) status.textContent = "Live: reconnecting…";
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
