/* <datasette-file file-id="df-..."> for `file` columns, and the file picker
   that the insert/edit row dialog uses for them.

   Every <datasette-file> on a page is looked up with ONE request to
   /-/files/batch.json. A file in the trash is marked "In the trash"; an id
   the answer lacks (no such file, or one the viewer may not browse: the
   server does not say which) is marked "Missing file". */

import { getJSON, postJSON, readJSON } from "./api.js";

const ROOT = import.meta.url.split("/-/static-plugins/")[0];
const BATCH_LIMIT = 500;

function path(p) { return ROOT + p; }

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

/* Batch lookups: elements connected in the same task share one request.
   Each resolves to {file} (a file the viewer may browse), {trashedAt} (in
   the trash), {missing: true} (unknown, or not the viewer's to see: the
   server answers both alike), or null when the lookup itself failed. */
const waiting = new Map();
let flushScheduled = false;

function lookUp(fileId) {
  return new Promise((resolve) => {
    if (!waiting.has(fileId)) waiting.set(fileId, []);
    waiting.get(fileId).push(resolve);
    if (!flushScheduled) {
      flushScheduled = true;
      setTimeout(flush, 0);
    }
  });
}

function outcome(body, id) {
  if (!body) return null;
  if (body.files && body.files[id]) return { file: body.files[id] };
  if (body.trashed && body.trashed[id]) return { trashedAt: body.trashed[id].trashed_at };
  return { missing: true };
}

async function flush() {
  flushScheduled = false;
  const batch = new Map(waiting);
  waiting.clear();
  const ids = [...batch.keys()];
  for (let i = 0; i < ids.length; i += BATCH_LIMIT) {
    const chunk = ids.slice(i, i + BATCH_LIMIT);
    const query = chunk.map((id) => "id=" + encodeURIComponent(id)).join("&");
    let body = null;
    try {
      body = await getJSON(path("/-/files/batch.json?" + query));
    } catch (error) {
      body = null;
    }
    for (const id of chunk) for (const resolve of batch.get(id)) resolve(outcome(body, id));
  }
}

// With its version the thumbnail's URL is cached for good (it changes with the file).
function thumbnailSrc(file) {
  return file.thumbnail_version
    ? `${file.thumbnail_url}?v=${encodeURIComponent(file.thumbnail_version)}`
    : file.thumbnail_url;
}

function renderFile(file, asLink = true) {
  const link = asLink ? el("a", { class: "dff", href: file.url }) : el("span", { class: "dff" });
  const thumb = el("img", { src: thumbnailSrc(file), alt: "", width: "32", height: "32",
    loading: "lazy" });
  const text = el("span", { class: "dff-text" });
  text.append(el("span", { class: "dff-name" }, file.filename),
    el("span", { class: "dff-type" }, file.content_type));
  link.append(thumb, text);
  return link;
}

/* A file that is not there: marked, never shown as a bare id. */
function renderAbsent(fileId, found) {
  if (found.trashedAt) {
    const when = new Date(found.trashedAt);
    const at = isNaN(when) ? found.trashedAt : when.toLocaleString();
    return el("span", { class: "dff-absent dff-trashed",
      title: `${fileId} was moved to the trash on ${at}; it can be restored from there` },
    "In the trash");
  }
  return el("span", { class: "dff-absent dff-missing",
    title: `${fileId}: no file you may see has this id (deleted, or in a source you may not browse)` },
  "Missing file");
}

/* <datasette-file file-id="df-..." [plain]>: the file, as a link to its page
   (plain: without the link, as in the row dialogs). */
class DatasetteFile extends HTMLElement {
  static get observedAttributes() { return ["file-id"]; }
  connectedCallback() { this.load(); }
  attributeChangedCallback(name, before, after) {
    if (this.isConnected && before !== null && before !== after) this.load();
  }
  async load() {
    const fileId = (this.getAttribute("file-id") || "").trim();
    if (!fileId) { this.textContent = ""; return; }
    const found = await lookUp(fileId);
    if (this.getAttribute("file-id") !== fileId) return;
    this.dataset.state = !found ? "unknown" : found.file ? "found"
      : found.trashedAt ? "trashed" : "missing";
    if (!found) this.textContent = fileId;  // the lookup failed: claim nothing
    else if (found.file) this.replaceChildren(renderFile(found.file, !this.hasAttribute("plain")));
    else this.replaceChildren(renderAbsent(fileId, found));
  }
}
if (!customElements.get("datasette-file")) customElements.define("datasette-file", DatasetteFile);

/* The picker: choose an existing file or upload a new one. */
async function uploadFile(source, file) {
  const prepared = await postJSON(path("/-/files/upload/" + source + "/-/prepare"),
    { filename: file.name, content_type: file.type || null, size: file.size });
  const headers = Object.assign({ "X-Upload-Token": prepared.upload_token },
    prepared.upload_headers || {});
  await readJSON(await fetch(prepared.upload_url, {
    method: "POST", credentials: "same-origin", headers, body: file }));
  const done = await postJSON(path("/-/files/upload/" + source + "/-/complete"),
    { upload_token: prepared.upload_token });
  return done.file;
}

/* The picker is a Datasette modal (<datasette-modal>, from Datasette's
   modal.js): its header, body, footer and buttons are Datasette's own. */
function openPicker(onChoose) {
  const modal = document.createElement("datasette-modal");
  modal.className = "dff-picker-modal";
  const dialog = el("dialog", { class: "dff-picker", "aria-labelledby": "dff-picker-title" });
  modal.append(dialog);
  const header = el("div", { class: "modal-header" });
  header.append(el("span", { class: "modal-title", id: "dff-picker-title" }, "Choose a file"));
  const body = el("div", { class: "modal-body dff-picker-body" });
  const search = el("input", { type: "search", placeholder: "Search files",
    "aria-label": "Search files", class: "row-edit-input dff-search" });
  const results = el("ul", { class: "dff-results", "aria-live": "polite" });
  const uploadRow = el("div", { class: "dff-upload-row" });
  const sourceSelect = el("select", { class: "row-edit-input dff-source", id: "dff-upload-source" });
  const uploadButton = el("button", { type: "button", class: "modal-btn modal-btn-ghost dff-upload" },
    "Upload a new file…");
  // Hidden (not just transparent): the button is its only way in, so it is no Tab stop.
  const fileInput = el("input", { type: "file", hidden: "", "aria-label": "Upload a new file" });
  const status = el("p", { class: "dff-status", role: "status" });
  uploadRow.append(el("label", { for: "dff-upload-source" }, "Or upload to"), sourceSelect,
    uploadButton, fileInput);
  body.append(search, results, uploadRow, status);
  const footer = el("div", { class: "modal-footer" });
  const close = el("button", { type: "button", class: "modal-btn modal-btn-ghost dff-close" }, "Cancel");
  footer.append(close);
  dialog.append(header, body, footer);
  document.body.append(modal);

  const shut = () => (modal.close ? modal.close() : dialog.close());
  const finish = (file) => { shut(); if (file) onChoose(file); };
  dialog.addEventListener("close", () => modal.remove());
  close.addEventListener("click", () => finish(null));
  uploadButton.addEventListener("click", () => fileInput.click());

  async function runSearch() {
    const q = search.value;
    try {
      const found = await getJSON(path("/-/files/search.json?limit=20&q=" + encodeURIComponent(q)));
      if (search.value !== q) return;
      results.replaceChildren(...found.files.map((file) => {
        const item = el("li");
        const choose = el("button", { type: "button", class: "dff-choice" });
        choose.append(renderFile(file, false));
        choose.addEventListener("click", () => finish(file));
        item.append(choose);
        return item;
      }));
      if (!found.files.length) results.replaceChildren(el("li", { class: "dff-none" }, "No files match."));
    } catch (error) {
      status.textContent = error.message;
    }
  }
  let timer = null;
  search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(runSearch, 200); });

  getJSON(path("/-/files/sources.json")).then((answer) => {
    const uploadable = answer.sources.filter((s) => s.actor_can_upload);
    if (!uploadable.length) { uploadRow.hidden = true; return; }
    for (const s of uploadable) sourceSelect.append(el("option", { value: s.slug }, s.slug));
  }).catch(() => { uploadRow.hidden = true; });

  fileInput.addEventListener("change", async () => {
    const file = fileInput.files[0];
    if (!file) return;
    status.textContent = "Uploading " + file.name + "…";
    try {
      finish(await uploadFile(sourceSelect.value, file));
    } catch (error) {
      status.textContent = error.message;
    }
  });

  if (modal.show) modal.show({ initialFocus: search });
  else { dialog.showModal(); search.focus(); }
  runSearch();
}

/* The file column's field in Datasette's insert/edit row dialogs: the chosen
   file (thumbnail and name) with Change and Clear, in the look of Datasette's
   own binary-value field. The id is the field's input, hidden: it is what
   Datasette submits, never something to type. */
function renderField(field) {
  const input = field.input;
  input.type = "hidden";
  const wrap = el("div", { class: "row-edit-binary-control dff-field", role: "group" });
  if (field.labelId) wrap.setAttribute("aria-labelledby", field.labelId);
  const chosen = el("div", { class: "row-edit-binary-status dff-chosen" });
  const actions = el("div", { class: "row-edit-binary-actions" });
  const change = el("button", { type: "button", class: "row-edit-binary-file-button dff-change" });
  const clear = el("button", { type: "button", class: "row-edit-binary-clear dff-clear" }, "Clear");
  actions.append(change, clear);
  wrap.append(input, chosen, actions);

  function show() {
    const fileId = (input.value || "").trim();
    if (fileId) {
      chosen.replaceChildren(el("datasette-file", { "file-id": fileId, plain: "" }));
    } else {
      chosen.replaceChildren(el("span", { class: "row-edit-binary-name dff-empty" }, "No file"));
    }
    change.textContent = fileId ? "Change" : "Choose file…";
    change.setAttribute("aria-label", (fileId ? "Change the file of " : "Choose file for ")
      + input.name);
    clear.hidden = !fileId;
    clear.setAttribute("aria-label", "Clear the file of " + input.name);
  }
  function set(value) {
    field.setValue(value);
    // Datasette tracks changes (Save, "unsaved changes") through input events.
    input.dispatchEvent(new Event("input", { bubbles: true }));
    show();
  }
  change.addEventListener("click", () => openPicker((file) => { set(file.id); change.focus(); }));
  clear.addEventListener("click", () => { set(null); change.focus(); });
  show();
  return wrap;
}

const filePicker = {
  version: "1.0",
  makeColumnField(context) {
    if (!context.columnType || context.columnType.type !== "file") return null;
    return {
      render: renderField,
      focus(field) { field.root.querySelector(".dff-change").focus(); },
    };
  },
};

function register(manager) { manager.registerPlugin("datasette-files", filePicker); }
if (window.__DATASETTE__) register(window.__DATASETTE__);
else document.addEventListener("datasette_init", (event) => register(event.detail));
