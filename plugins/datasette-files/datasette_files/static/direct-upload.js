/* Uploads straight to the storage (a bucket), when prepare answers a
   `transfer` of "direct" or "multipart": the bytes never pass through the
   server. "direct" is one form POST (the presigned fields, then the file);
   "multipart" PUTs parts to presigned URLs, a few at a time, and resumes from
   the parts the bucket holds: after a network error, a Retry, or a reload of
   the page (the upload token is remembered per file in localStorage). */
import { postJSON } from "./api.js";

const PARALLEL_PARTS = 4;
const RETRIES = 8;  // failures of one part in a row before the upload gives up
const STORE_PREFIX = "df-direct-upload:";

function failure(message, status) {
  const error = new Error(message);
  error.status = status;
  error.body = {};
  return error;
}

function wait(seconds) {
  return new Promise((resolve) => setTimeout(resolve, seconds * 1000));
}

/* One request to the bucket with upload progress; resolves when it is stored.
   Credentials stay home: the presigned URL or policy is the authority. */
function send(item, method, url, body, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    item.requests.add(xhr);
    xhr.open(method, url);
    xhr.upload.onprogress = (event) => { if (event.lengthComputable) { onProgress(event.loaded); } };
    const settle = () => item.requests.delete(xhr);
    xhr.onload = () => {
      settle();
      if (xhr.status >= 200 && xhr.status < 300) { resolve(); return; }
      const code = /<Code>([^<]+)<\/Code>/.exec(xhr.responseText || "");
      reject(failure("The storage refused the upload (" + xhr.status +
        (code ? ": " + code[1] : "") + ")", xhr.status));
    };
    xhr.onerror = () => { settle(); reject(failure("Network error: the upload did not finish", 0)); };
    xhr.onabort = () => { settle(); reject(failure("Cancelled", -1)); };
    xhr.send(body);  // a File or a slice of one: streamed, never read into memory
  });
}

/* Cancel (upload.js aborts item.xhr) stops every request in flight. */
function tracked(item) {
  item.requests = new Set();
  item.xhr = { abort: () => item.requests.forEach((xhr) => xhr.abort()) };
}

/** The file's SHA-256 (hex) when the browser can work it out cheaply (a
    file of one part at most, in a secure context); else null. Given at
    prepare, the bucket checks the bytes against it and keeps it, so the server
    need not read them to hash them. */
export async function smallFileSha256(file, limit) {
  if (!(window.crypto && window.crypto.subtle) || !(file.size <= limit)) { return null; }
  try {
    const digest = await window.crypto.subtle.digest("SHA-256", await file.arrayBuffer());
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  } catch (e) {
    return null;  // unreadable now: the upload itself will say so
  }
}

/** The file in one presigned form POST: the fields first, the file last. */
export function sendForm(item, prepared, file) {
  tracked(item);
  const form = new FormData();
  Object.entries(prepared.upload_fields || {}).forEach(([name, value]) => form.append(name, value));
  form.append("file", file);
  return send(item, prepared.upload_method || "POST", prepared.upload_url, form,
    (loaded) => item.progress(Math.min(loaded / Math.max(file.size, 1), 1)));
}

/** Every part the bucket does not hold yet, PARALLEL_PARTS at a time. */
export async function sendParts(item, prepared, file) {
  tracked(item);
  const plan = prepared.multipart;
  const ask = (numbers) => postJSON(plan.parts_url,
    { upload_token: prepared.upload_token, part_numbers: numbers });
  const held = await ask([]);
  // A part held at the wrong size (complete names it in wrong_parts) is sent again.
  const expected = (n) => (n < plan.part_count ? plan.part_size
    : file.size - plan.part_size * (plan.part_count - 1));
  const whole = held.uploaded.filter((part) => part.size === expected(part.part_number));
  const done = new Set(whole.map((part) => part.part_number));
  let confirmed = whole.reduce((sum, part) => sum + part.size, 0);
  const sending = new Map();  // part number -> bytes sent so far
  const redraw = () => {
    let inFlight = 0;
    sending.forEach((bytes) => { inFlight += bytes; });
    item.progress(Math.min((confirmed + inFlight) / Math.max(file.size, 1), 1));
  };
  redraw();
  const todo = [];
  for (let n = 1; n <= plan.part_count; n++) { if (!done.has(n)) { todo.push(n); } }
  const perRequest = Math.max(1, plan.max_parts_per_request || 100);
  for (let i = 0; i < todo.length; i += perRequest) {
    const answer = await ask(todo.slice(i, i + perRequest));
    const queue = answer.parts.slice();
    const worker = async () => {
      for (let part = queue.shift(); part; part = queue.shift()) {
        await sendPart(item, part, file, plan.part_size, sending, redraw);
        sending.delete(part.part_number);
        confirmed += part.size;
        redraw();
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_PARTS, queue.length) }, worker));
  }
}

async function sendPart(item, part, file, partSize, sending, redraw) {
  const start = (part.part_number - 1) * partSize;
  const blob = file.slice(start, start + part.size);
  for (let failures = 0; ; failures++) {
    if (item.cancelled) { throw failure("Cancelled", -1); }
    try {
      await send(item, part.method || "PUT", part.url, blob, (loaded) => {
        sending.set(part.part_number, loaded);
        redraw();
      });
      return;
    } catch (error) {
      sending.delete(part.part_number);
      const retryable = error.status === 0 || error.status >= 500;
      if (item.cancelled || error.status === -1 || !retryable || failures + 1 >= RETRIES) {
        throw error;
      }
      const delay = Math.min(30, Math.pow(2, failures));
      item.status.textContent = "Connection lost; resuming in " + delay + " s…";
      await wait(delay);
    }
  }
}

/* The multipart uploads of files not finished yet, kept across page loads:
   the same file chosen again (name, size, last modified) goes on from the
   parts the bucket holds. */
function storeKey(prepareUrl, file, folder) {
  return STORE_PREFIX + JSON.stringify([prepareUrl, folder || "", file.name, file.size,
    file.lastModified]);
}

export function remembered(prepareUrl, file, folder) {
  try {
    const kept = JSON.parse(localStorage.getItem(storeKey(prepareUrl, file, folder)) || "null");
    if (kept && kept.expires_at && Date.parse(kept.expires_at.replace(" ", "T") + "Z") > Date.now()) {
      return kept;
    }
    forget(prepareUrl, file, folder);
  } catch (e) { /* storage unavailable or spoiled: start afresh */ }
  return null;
}

export function remember(prepareUrl, file, folder, prepared) {
  try {
    localStorage.setItem(storeKey(prepareUrl, file, folder), JSON.stringify({
      upload_token: prepared.upload_token, transfer: prepared.transfer,
      multipart: prepared.multipart, expires_at: prepared.expires_at }));
  } catch (e) { /* private browsing, quota: resuming after a reload is lost, no more */ }
}

export function forget(prepareUrl, file, folder) {
  try { localStorage.removeItem(storeKey(prepareUrl, file, folder)); } catch (e) { /* as above */ }
}
