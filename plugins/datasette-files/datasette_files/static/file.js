/* File page: save the search text, delete with confirmation. */
(function () {
  "use strict";
  var page = document.querySelector("[data-file]");
  if (!page) { return; }

  function post(url, data) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(data)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok || body.ok === false) {
          throw new Error((body.errors || ["Request failed (" + response.status + ")"]).join("; "));
        }
        return body;
      });
    });
  }

  var edit = page.querySelector("[data-edit-form]");
  if (edit) {
    edit.addEventListener("submit", function (event) {
      event.preventDefault();
      var status = edit.querySelector("[data-status]");
      status.textContent = "Saving…";
      post(page.dataset.updateUrl, { update: { search_text: edit.search_text.value } })
        .then(function () { status.textContent = "Saved"; })
        .catch(function (error) { status.textContent = error.message; });
    });
  }

  var remove = page.querySelector("[data-delete-form]");
  if (remove) {
    remove.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!window.confirm("Delete this file? This cannot be undone.")) { return; }
      var status = remove.querySelector("[data-delete-status]");
      post(page.dataset.deleteUrl, {})
        .then(function () { window.location = page.dataset.sourceUrl; })
        .catch(function (error) { status.textContent = error.message; });
    });
  }
})();
