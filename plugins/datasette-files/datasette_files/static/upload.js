/* Upload component: drag and drop or choose files, with a progress bar from
   real upload progress, cancel, and the server's error. A small file goes in one
   PUT; a larger one through prepare -> upload (raw body, streamed by the browser
   from disk) -> complete, so a refusal comes before its bytes are sent. Files
   larger than a chunk go in chunks (Content-Range) and resume from what the
   server has after a network error. A name already taken is refused (409) and
   the person asked: Replace, Keep both or Skip (conflicts.js). A dropped or
   chosen folder, or many small files, go in batches (upload-many.js). A failed
   or cancelled file can be retried (a chunked one resumes where the server got
   to) or removed; "Clear finished" empties the queue of what is done. Files may
   be dropped anywhere on the page, or onto a folder card (page-drop.js). Each
   file uploaded fires `df:uploaded` on document, detail {file}. Where the
   source's storage takes the bytes itself (data-direct), every file goes
   through prepare and then straight to the storage (direct-upload.js). */
import { postJSON, readJSON } from "./api.js";
import { forget, remember, remembered, sendForm, sendParts, smallFileSha256 } from "./direct-upload.js";
import { chosenEntries, droppedEntries } from "./folder-drop.js";
import { ConflictAnswers } from "./conflicts.js";
import { dropAnywhere } from "./page-drop.js";
import { announceUploaded, ManyFiles } from "./upload-many.js";

(function () {
  "use strict";

  function element(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text) { node.textContent = text; }
    return node;
  }

  function errorText(body, fallback) {
    if (body && body.errors && body.errors.length) { return body.errors.join("; "); }
    return fallback;
  }

  var RETRIES = 8;  // network errors in a row before a chunked upload gives up
  // Up to this size (and no larger than a chunk) a file goes in one request: for
  // many small files, a third of the requests of prepare/upload/complete.
  var ONE_REQUEST_MAX = 1024 * 1024;

  /* POST a Blob to the upload URL; resolves with the JSON body, rejects with an
     Error carrying .status (0: network) and .body. */
  function sendBytes(item, prepared, blob, headers, onProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      item.xhr = xhr;
      xhr.open(prepared.upload_method || "POST", prepared.upload_url);
      if (prepared.upload_token) { xhr.setRequestHeader("X-Upload-Token", prepared.upload_token); }
      var all = Object.assign({}, prepared.upload_headers || {}, headers || {});
      Object.keys(all).forEach(function (name) { xhr.setRequestHeader(name, all[name]); });
      xhr.upload.onprogress = function (event) {
        if (event.lengthComputable) { onProgress(event.loaded); }
      };
      function failure(message, status, body) {
        var error = new Error(message);
        error.status = status;
        error.body = body || {};
        return error;
      }
      xhr.onload = function () {
        var body = {};
        try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
        if (xhr.status >= 200 && xhr.status < 300 && body.ok !== false) { resolve(body); }
        else { reject(failure(errorText(body, "Upload failed (" + xhr.status + ")"), xhr.status, body)); }
      };
      xhr.onerror = function () { reject(failure("Network error: the upload did not finish", 0)); };
      xhr.onabort = function () { reject(failure("Cancelled", -1)); };
      xhr.send(blob);  // a File or a slice of one: streamed, never read into memory
    });
  }

  function sendWhole(item, prepared, file, headers) {
    return sendBytes(item, prepared, file, headers || {}, function (loaded) {
      item.progress(loaded / file.size);
    });
  }

  function wait(seconds) {
    return new Promise(function (resolve) { setTimeout(resolve, seconds * 1000); });
  }

  function receivedSoFar(prepared) {
    // The token goes in a header, not the URL, so it stays out of access logs.
    return fetch(prepared.upload_url, { credentials: "same-origin", headers: {
      Accept: "application/json", "X-Upload-Token": prepared.upload_token } }).then(readJSON);
  }

  /* Chunks in order; after a network error or a server error, ask the server how
     many bytes it has and go on from there, waiting a little longer each time. */
  function sendChunks(item, prepared, file, chunkSize, start) {
    var failures = 0;
    function sendFrom(offset) {
      if (offset >= file.size) { return Promise.resolve(); }
      var end = Math.min(offset + chunkSize, file.size);
      var headers = { "Content-Range": "bytes " + offset + "-" + (end - 1) + "/" + file.size };
      return sendBytes(item, prepared, file.slice(offset, end), headers, function (loaded) {
        item.progress((offset + loaded) / file.size);
      }).then(function (body) {
        failures = 0;
        return sendFrom(body.received);
      }, function (error) {
        if (item.cancelled || error.status === -1) { throw new Error("Cancelled"); }
        var retryable = error.status === 0 || error.status >= 500 || error.status === 409;
        if (error.status === 409 && error.body.received !== offset &&
            typeof error.body.received === "number") {
          return sendFrom(error.body.received);  // the server says where to go on from
        }
        // (A 409 at the same offset: the server is still finishing the dropped chunk.)
        if (!retryable || ++failures > RETRIES) { throw error; }
        var delay = Math.min(30, Math.pow(2, failures - 1));
        item.status.textContent = "Connection lost; resuming in " + delay + " s…";
        return wait(delay).then(function () {
          return receivedSoFar(prepared).then(function (progress) {
            return sendFrom(progress.received);
          }, function () { return sendFrom(offset); });
        });
      });
    }
    return sendFrom(start || 0);
  }

  function QueueItem(list, file, iconUrl, shownName, batch) {
    var self = this;
    this.node = element("li", { "class": "df-item" });
    var preview = element("img", { alt: "" });
    if (file.type.indexOf("image/") === 0 && file.type !== "image/svg+xml") {
      preview.src = URL.createObjectURL(file);
      preview.onload = function () { URL.revokeObjectURL(preview.src); };
    } else {
      preview.src = iconUrl + "?type=" + encodeURIComponent(file.type) + "&name=" + encodeURIComponent(file.name);
    }
    var middle = element("div");
    this.size = file.size;
    this.batch = batch;  // the overall progress it counts in, if any
    this.name = element("div", { "class": "df-item-name" }, shownName);
    this.bar = element("progress", { max: "100", value: "0", "aria-label": "Upload progress for " + shownName });
    this.status = element("div", { "class": "df-item-status" }, "Waiting…");
    middle.append(this.name, this.bar, this.status);
    this.actions = element("div", { "class": "df-item-actions" });
    this.cancel = element("button", { type: "button", "class": "df-queue-button", "aria-label": "Cancel " + shownName }, "Cancel");
    this.cancel.addEventListener("click", function () {
      self.cancelled = true;
      if (self.xhr) { self.xhr.abort(); }
      self.fail("Cancelled");
    });
    this.actions.append(this.cancel);
    this.shownName = shownName;
    this.node.append(preview, middle, this.actions);
    list.append(this.node);
  }
  /* Retry and Remove, in place of Cancel, once the file failed or was cancelled. */
  QueueItem.prototype.offerRetry = function () {
    var self = this;
    if (!this.retry) { return; }
    var again = element("button", { type: "button", "class": "df-queue-button", "data-retry": "", "aria-label": "Retry " + this.shownName }, "Retry");
    var remove = element("button", { type: "button", "class": "df-queue-button", "data-remove": "", "aria-label": "Remove " + this.shownName }, "Remove");
    again.addEventListener("click", function () {
      self.actions.replaceChildren(self.cancel);
      self.cancel.focus();  // the button pressed is gone: focus stays on this row
      self.retry();
    });
    remove.addEventListener("click", function () { removeRow(self.node); });
    this.actions.replaceChildren(again, remove);
  };
  /* A row leaves the queue; focus goes to the next row's button, else the queue's chooser. */
  function removeRow(node) {
    var list = node.parentNode;
    var next = node.nextElementSibling || node.previousElementSibling;
    var hadFocus = node.contains(document.activeElement);
    node.remove();
    if (!hadFocus || !list) { return; }
    var target = next && next.querySelector("button, a");
    if (!target) { target = list.closest("[data-upload]").querySelector("[data-drop-zone]"); }
    if (target) { target.focus(); }
  }
  QueueItem.prototype.progress = function (fraction) {
    var percent = Math.round(fraction * 100);
    this.bar.value = percent;
    this.status.textContent = "Uploading… " + percent + "%";
    if (this.batch) { this.batch.sending(this, fraction * this.size); }
  };
  // The end of this file's upload, for the overall progress.
  QueueItem.prototype.finished = function (outcome) {
    if (!this.batch || this.counted) { return; }
    this.counted = true;
    this.batch.answered(this, 1, this.size);
    if (outcome === "done") { this.batch.done(1); }
    if (outcome === "skipped") { this.batch.skipped += 1; }
  };
  QueueItem.prototype.fail = function (message) {
    var focused = this.cancel.contains(document.activeElement);
    this.node.classList.add("df-error");
    this.status.textContent = message;
    this.cancel.remove();
    this.finished("failed");
    this.offerRetry();
    if (focused && this.actions.firstChild) { this.actions.firstChild.focus(); }
  };
  /* Back to the start for another try: counted by itself, no longer in its batch. */
  QueueItem.prototype.reset = function () {
    this.node.classList.remove("df-error");
    this.cancelled = false;
    this.batch = null;
    this.bar.value = 0;
    this.status.textContent = "Waiting…";
  };
  QueueItem.prototype.done = function (file, replaced) {
    var focused = this.cancel.contains(document.activeElement);
    this.node.classList.add("df-done");
    this.bar.value = 100;
    this.status.textContent = "";
    var link = element("a", { href: file.url },
      (replaced ? "Replaced: view " : "Uploaded: view ") + file.filename);
    this.status.append(link);
    this.cancel.remove();
    if (focused) { link.focus(); }  // its Cancel is gone: focus stays on this row
    this.finished("done");
    announceUploaded(file);
  };

  QueueItem.prototype.skip = function () {
    this.node.classList.add("df-skipped");
    this.bar.hidden = true;
    this.status.textContent = "Skipped: a file of that name is already here";
    this.cancel.remove();
    this.finished("skipped");
  };

  function putWhole(section, item, file, folder, onConflict) {
    var put = { upload_method: "PUT",
                upload_url: section.dataset.putUrl + encodeURIComponent(file.name) +
                  "?on_conflict=" + onConflict +
                  (folder ? "&folder=" + encodeURIComponent(folder) : "") };
    return sendWhole(item, put, file, file.type ? { "Content-Type": file.type } : {});
  }

  /* One file, by itself, into `folder` (shown as `shownName`, counted in `batch`). */
  function upload(section, file, answers, folder, shownName, batch) {
    var item = new QueueItem(section.querySelector("[data-queue]"), file,
      section.dataset.iconUrl, shownName || file.name, batch);
    var chunkSize = Number(section.dataset.chunkSize) || 0;
    // First with on_conflict=error; a name already taken is answered, then tried again.
    function attempt(onConflict) {
      var sent;
      if (!item.prepared && section.dataset.direct !== undefined) {
        item.prepared = remembered(section.dataset.prepareUrl, file, folder);
      }
      if (section.dataset.putUrl && file.size <= Math.min(ONE_REQUEST_MAX, chunkSize || Infinity)) {
        item.progress(0);
        sent = putWhole(section, item, file, folder, onConflict);
      } else if (item.prepared) {
        sent = resume(section, item, file, folder, chunkSize, onConflict);
      } else {
        sent = prepareSendComplete(section, item, file, folder, chunkSize, onConflict);
      }
      return sent.then(function (uploaded) { return { file: uploaded.file, how: onConflict }; },
        function (error) {
          var conflict = error.status === 409 && error.body && error.body.conflict;
          if (!conflict || onConflict !== "error" || item.cancelled) { throw error; }
          item.status.textContent = "Already here: waiting for your answer…";
          return answers.answer(file.name, conflict).then(function (answer) {
            if (item.cancelled) { throw new Error("Cancelled"); }
            return answer === "skip" ? null : attempt(answer);
          });
        });
    }
    function run() {
      return attempt("error").then(function (uploaded) {
        if (uploaded) { item.done(uploaded.file, uploaded.how === "replace"); } else { item.skip(); }
      }).catch(function (error) {
        if (!item.node.classList.contains("df-error")) { item.fail(error.message); }
      });
    }
    item.retry = function () {
      item.reset();
      answers = new ConflictAnswers(1);  // a name conflict is asked about again
      return run();
    };
    return run();
  }

  /* A chunked upload that stopped: go on from what the server has, if it still
     has the upload; else start again. */
  function resume(section, item, file, folder, chunkSize, onConflict) {
    var prepared = item.prepared;
    item.status.textContent = "Resuming…";
    if (prepared.transfer === "direct" || prepared.transfer === "multipart") {
      return sendDirect(section, item, file, folder, prepared).catch(function (error) {
        // The token is gone (expired) or its upload is: start afresh. (A 409 is not
        // a reason to: the token is in use or spent, or parts are to be sent again.)
        if ([404, 410].indexOf(error.status) === -1 || item.cancelled) { throw error; }
        forget(section.dataset.prepareUrl, file, folder);
        item.prepared = null;
        return prepareSendComplete(section, item, file, folder, chunkSize, onConflict);
      });
    }
    return receivedSoFar(prepared).then(function (progress) {
      return progress.received;
    }, function () { return null; }).then(function (received) {
      if (typeof received !== "number") {
        item.prepared = null;
        return prepareSendComplete(section, item, file, folder, chunkSize, onConflict);
      }
      item.progress(received / file.size);
      return sendChunks(item, prepared, file, chunkSize, received).then(function () {
        item.status.textContent = "Finishing…";
        return postJSON(section.dataset.completeUrl, { upload_token: prepared.upload_token });
      });
    });
  }

  /* Straight to the storage, then complete. A multipart upload is remembered
     until it completes, so a Retry or a reload goes on from the bucket's parts. */
  function sendDirect(section, item, file, folder, prepared) {
    var multipart = prepared.transfer === "multipart";
    item.prepared = prepared;
    if (multipart) { remember(section.dataset.prepareUrl, file, folder, prepared); }
    var complete = function () {
      item.status.textContent = "Finishing…";
      return postJSON(section.dataset.completeUrl, { upload_token: prepared.upload_token });
    };
    var sending = multipart ? sendParts(item, prepared, file) : sendForm(item, prepared, file);
    return sending.then(complete).catch(function (error) {
      // Parts the bucket lacks or holds at the wrong size: those are sent again (once).
      if (!multipart || !partsToSendAgain(error) || item.cancelled) { throw error; }
      return sendParts(item, prepared, file).then(complete);
    }).then(function (completed) {
      forget(section.dataset.prepareUrl, file, folder);
      return completed;
    });
  }

  function partsToSendAgain(error) {
    var body = error.status === 409 && error.body;
    return Boolean(body && (body.missing_parts || body.wrong_parts));
  }

  function prepareSendComplete(section, item, file, folder, chunkSize, onConflict) {
    var request = { filename: file.name, content_type: file.type || null, size: file.size,
                    folder: folder, on_conflict: onConflict };
    var hashed = Promise.resolve(null);
    if (section.dataset.direct !== undefined) {
      // Bigger than one part: parts in parallel, resumable; else one POST with its hash.
      var partSize = Number(section.dataset.multipartFrom || Infinity);
      request.multipart = file.size > partSize;
      if (!request.multipart) { hashed = smallFileSha256(file, partSize); }
    }
    return hashed.then(function (sha256) {
      if (sha256) { request.sha256 = sha256; }
      return postJSON(section.dataset.prepareUrl, request);
    }).then(function (prepared) {
      if (item.cancelled) { throw new Error("Cancelled"); }
      item.progress(0);
      if (prepared.transfer === "direct" || (prepared.transfer === "multipart" && prepared.multipart)) {
        return sendDirect(section, item, file, folder, prepared);
      }
      var chunked = chunkSize && file.size > chunkSize;
      if (chunked) { item.prepared = prepared; }  // a retry resumes it
      var sending = chunked ? sendChunks(item, prepared, file, chunkSize) : sendWhole(item, prepared, file);
      return sending.then(function () {
        item.status.textContent = "Finishing…";
        return postJSON(section.dataset.completeUrl, { upload_token: prepared.upload_token });
      });
    });
  }

  function setUp(section) {
    var zone = section.querySelector("[data-drop-zone]");
    var input = section.querySelector("[data-file-input]");
    var folderInput = section.querySelector("[data-folder-input]");
    var uploader = new ManyFiles(section, function (file, answers, folder, shownName, batch) {
      return upload(section, file, answers, folder, shownName, batch);
    });
    [input, folderInput].forEach(function (chooser) {
      if (!chooser) { return; }
      chooser.addEventListener("change", function () {
        uploader.upload(chosenEntries(chooser));
        chooser.value = "";
      });
    });
    // The file input itself is the one Tab stop (the label around it shows its
    // focus, and focus stays there after a choice): a focusable zone around it
    // would nest one control in another (axe's nested-interactive).
    dropAnywhere(section, zone, function (dataTransfer, folder) {
      droppedEntries(dataTransfer).then(function (found) { uploader.upload(found, folder); });
    });
    setUpClearFinished(section);
  }

  /* "Clear finished": shown while the queue holds done or skipped rows. */
  function setUpClearFinished(section) {
    var list = section.querySelector("[data-queue]");
    var button = section.querySelector("[data-clear-finished]");
    if (!button) { return; }
    var finished = ".df-item.df-done, .df-item.df-skipped, .df-batch.df-done";
    function refresh() { button.parentNode.hidden = !list.querySelector(finished); }
    new MutationObserver(refresh).observe(list, {
      childList: true, subtree: true, attributes: true, attributeFilter: ["class"] });
    button.addEventListener("click", function () {
      list.querySelectorAll(finished).forEach(function (node) { node.remove(); });
      refresh();
      var first = list.querySelector("button");
      (first || section.querySelector("[data-file-input]")).focus();
    });
    refresh();
  }

  document.querySelectorAll("[data-upload]").forEach(setUp);
})();
