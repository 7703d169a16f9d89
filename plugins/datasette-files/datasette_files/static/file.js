/* File page: save the search text, delete with confirmation. */
import { postJSON as post } from "./api.js";

(function () {
  "use strict";
  var page = document.querySelector("[data-file]");
  if (!page) { return; }

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
