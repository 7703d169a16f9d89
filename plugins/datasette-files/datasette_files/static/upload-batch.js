/* Many small files in few requests: the batch endpoint takes up to MAX_FILES
   files (MAX_BYTES in all) in one multipart POST, each part named by its path
   relative to the upload's folder ("Trip/day 1/beach.jpg": the server makes the
   folders), and answers per file. A few requests go at once. A name already
   taken (409) is asked about (conflicts.js) and that file sent again alone.
   A file that failed can be retried from its line (retryAlone): by itself. */

import { announceUploaded } from "./upload-many.js";

export const MAX_FILES = 100;
export const MAX_BYTES = 4 * 1024 * 1024;
const AT_ONCE = 3;

/** `entries` ({file, path}) cut into batches, in order. */
export function batchesOf(entries) {
  const batches = [];
  let batch = [];
  let bytes = 0;
  for (const entry of entries) {
    if (batch.length && (batch.length >= MAX_FILES || bytes + entry.file.size > MAX_BYTES)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(entry);
    bytes += entry.file.size;
  }
  if (batch.length) { batches.push(batch); }
  return batches;
}

function sizeOf(batch) { return batch.reduce((sum, entry) => sum + entry.file.size, 0); }

function baseName(path) { return path.slice(path.lastIndexOf("/") + 1); }

/** POST one batch; resolves with the answer's JSON, rejects with an Error
    carrying .status (0: network) for a refusal of the whole request. */
function post(url, folder, onConflict, batch, progress, onProgress) {
  const form = new FormData();
  if (folder) { form.append("folder", folder); }
  form.append("on_conflict", onConflict);
  batch.forEach((entry) => form.append("file", entry.file, entry.path));
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total) { onProgress(event.loaded / event.total); }
    };
    xhr.onload = () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status === 200 && Array.isArray(body.results)) { resolve(body); return; }
      const error = new Error((body.errors || ["Upload failed (" + xhr.status + ")"]).join("; "));
      error.status = xhr.status;
      reject(error);
    };
    xhr.onerror = () => {
      const error = new Error("Network error: the upload did not finish");
      error.status = 0;
      reject(error);
    };
    xhr.onabort = () => {
      const error = new Error("Cancelled");
      error.status = -1;
      reject(error);
    };
    xhr.onloadend = () => progress.requests.delete(xhr);
    progress.requests.add(xhr);  // its Cancel aborts them
    xhr.send(form);
  });
}

/** Send `entries` to `url` into `folder`; `progress` (upload-progress.js)
    follows it; `answers` (conflicts.js) answers the names already taken. */
export async function sendBatches({ url, folder, entries, answers, progress, retryAlone }) {
  const queue = batchesOf(entries);

  async function send(batch, onConflict) {
    const key = {};
    const bytes = sizeOf(batch);
    let body;
    try {
      body = await post(url, folder, onConflict, batch, progress,
        (fraction) => progress.sending(key, fraction * bytes));
    } catch (error) {
      progress.answered(key, batch.length, error.status === -1 ? 0 : bytes);
      // (Cancelled: the overall row says how many were not sent.)
      if (error.status !== -1) {
        batch.forEach((entry) => progress.fail(entry.path, error.message, retryAlone && ((focus) => retryAlone(entry, focus))));
      }
      return;
    }
    const taken = [];
    body.results.forEach((result, i) => {
      const entry = batch[i];
      if (result.ok) {
        progress.done(1);
        if (result.file) { announceUploaded(result.file); }
      }
      else if (result.status === 409 && onConflict === "error") { taken.push([entry, result]); }
      else {
        progress.fail(entry.path, (result.errors || ["refused"]).join("; "),
          retryAlone && ((focus) => retryAlone(entry, focus)));
      }
    });
    progress.answered(key, batch.length - taken.length, bytes - sizeOf(taken.map(([e]) => e)));
    for (const [entry, result] of taken) {
      const conflict = result.conflict || { file_id: true, filename: baseName(entry.path) };
      const answer = progress.cancelled ? "skip" : await answers.answer(entry.path, conflict);
      if (answer === "skip") {
        progress.answered({}, 1, entry.file.size);
        progress.skip(entry.path);
      } else {
        await send([entry], answer);
      }
    }
  }

  async function worker() {
    for (let batch = queue.shift(); batch; batch = queue.shift()) {
      if (progress.cancelled) { progress.answered({}, batch.length, 0); continue; }
      await send(batch, "error");
    }
  }
  await Promise.all(Array.from({ length: Math.min(AT_ONCE, queue.length) }, worker));
}
