/* Source page: "Sync now" starts a sync and reloads when it has finished. */
(function () {
  "use strict";
  var button = document.querySelector("[data-sync-url]");
  if (!button) { return; }
  var status = document.querySelector("[data-sync-status]");
  button.addEventListener("click", function () {
    button.disabled = true;
    status.textContent = "Syncing…";
    fetch(button.dataset.syncUrl, { method: "POST", credentials: "same-origin",
                                    headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (body) {
        if (!body.ok) { throw new Error(body.errors.join("; ")); }
        (function poll() {
          fetch(body.status_url, { credentials: "same-origin" })
            .then(function (response) { return response.json(); })
            .then(function (state) {
              if (state.running) { setTimeout(poll, 1000); } else { window.location.reload(); }
            });
        })();
      })
      .catch(function (error) { status.textContent = error.message; button.disabled = false; });
  });
})();
