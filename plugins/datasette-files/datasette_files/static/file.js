/* File page: save the search text; move the file to the trash, then show its
   folder's listing with an Undo. */
import { postJSON as post } from "./api.js";
import { goWithMessage, moveToTrash, trashedMessage } from "./trash-undo.js";

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
      var status = remove.querySelector("[data-delete-status]");
      var button = remove.querySelector("button");
      button.disabled = true;
      status.textContent = "Moving to the trash…";
      moveToTrash(page.dataset.deleteUrl)
        .then(function (trash) {
          goWithMessage(page.dataset.folderUrl, trashedMessage(page.dataset.filename, trash),
                        trash && trash.restore_url);
        })
        .catch(function (error) { button.disabled = false; status.textContent = error.message; });
    });
  }
})();
