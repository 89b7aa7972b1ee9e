// Live progress of a rollback: follows the plan's server-sent events and updates the steps table.
(function () {
  "use strict";
  var table = document.getElementById("progress-steps");
  if (!table || !table.dataset.stream || !window.EventSource) { return; }
  var source = new EventSource(table.dataset.stream);
  function show(data) {
    document.getElementById("progress-status").textContent = data.status;
    document.getElementById("progress-done").textContent = String(data.done);
    data.steps.forEach(function (step) {
      var row = table.querySelector('tr[data-position="' + step.position + '"]');
      if (!row) { return; }
      row.querySelector(".step-status").textContent = step.status;
      row.querySelector(".step-outcome").textContent = step.outcome || "";
    });
    if (data.error) {
      var error = document.getElementById("progress-error");
      error.textContent = data.error;
      error.hidden = false;
    }
  }
  source.addEventListener("progress", function (event) { show(JSON.parse(event.data)); });
  source.addEventListener("done", function (event) {
    show(JSON.parse(event.data));
    source.close();
    table.dataset.finished = "yes";
  });
}());
