/* Import progress page: follows the job's JSON until it finishes. */
(function () {
  "use strict";
  var page = document.querySelector("[data-import]");
  if (!page) { return; }
  var FINISHED = ["done", "failed", "interrupted"];
  function size(bytes) {
    var units = ["Bytes", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (bytes >= 1024 && i < units.length - 1) { bytes /= 1024; i += 1; }
    return (i ? bytes.toFixed(1) : bytes) + " " + units[i];
  }
  function show(job) {
    page.querySelector("[data-percent]").value = job.percent;
    page.querySelector("[data-field=status]").textContent = job.state;
    page.querySelector("[data-field=rows_imported]").textContent = job.rows_imported.toLocaleString();
    page.querySelector("[data-field=bytes_read]").textContent = size(job.bytes_read);
    page.querySelector("[data-field=elapsed_seconds]").textContent = job.elapsed_seconds;
    page.querySelector("[data-field=message]").textContent = job.message || "";
    page.querySelector("[data-field=error]").textContent = job.error || "";
    if (job.table_url) {
      page.querySelector("[data-table-link]").href = job.table_url;
      page.querySelector("[data-done]").hidden = false;
    }
  }
  function poll() {
    fetch(page.dataset.jsonUrl, { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (job) {
        show(job);
        if (FINISHED.indexOf(job.state) === -1) { setTimeout(poll, 1000); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  poll();
})();
