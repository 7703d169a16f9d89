/* <datasette-file file-id="df-..."> for `file` columns, and the file picker
   that the insert/edit row dialog uses for them.

   Every <datasette-file> on a page is looked up with ONE request to
   /-/files/batch.json. Ids the viewer may not browse, or that do not exist,
   are absent from the answer and stay as plain text. */

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

/* Batch lookups: elements connected in the same task share one request. */
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

async function flush() {
  flushScheduled = false;
  const batch = new Map(waiting);
  waiting.clear();
  const ids = [...batch.keys()];
  for (let i = 0; i < ids.length; i += BATCH_LIMIT) {
    const chunk = ids.slice(i, i + BATCH_LIMIT);
    const query = chunk.map((id) => "id=" + encodeURIComponent(id)).join("&");
    let files = {};
    try {
      files = (await getJSON(path("/-/files/batch.json?" + query))).files || {};
    } catch (error) {
      files = {};
    }
    for (const id of chunk) for (const resolve of batch.get(id)) resolve(files[id] || null);
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

class DatasetteFile extends HTMLElement {
  static get observedAttributes() { return ["file-id"]; }
  connectedCallback() { this.load(); }
  attributeChangedCallback(name, before, after) {
    if (this.isConnected && before !== null && before !== after) this.load();
  }
  async load() {
    const fileId = (this.getAttribute("file-id") || "").trim();
    if (!fileId) { this.textContent = ""; return; }
    const file = await lookUp(fileId);
    if (this.getAttribute("file-id") !== fileId) return;
    if (file) this.replaceChildren(renderFile(file));
    else this.textContent = fileId;
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

function openPicker(onChoose) {
  const dialog = el("dialog", { class: "dff-picker", "aria-labelledby": "dff-picker-title" });
  const title = el("h2", { id: "dff-picker-title" }, "Choose a file");
  const search = el("input", { type: "search", placeholder: "Search files",
    "aria-label": "Search files", class: "dff-search" });
  const results = el("ul", { class: "dff-results", "aria-live": "polite" });
  const uploadRow = el("div", { class: "dff-upload-row" });
  const sourceSelect = el("select", { "aria-label": "Upload to source" });
  const fileInput = el("input", { type: "file", "aria-label": "Upload a new file" });
  const status = el("p", { class: "dff-status", role: "status" });
  const close = el("button", { type: "button", class: "dff-close" }, "Cancel");
  uploadRow.append(el("span", {}, "Or upload a new file to "), sourceSelect, fileInput);
  dialog.append(title, search, results, uploadRow, status, close);
  document.body.append(dialog);

  const finish = (file) => { dialog.close(); if (file) onChoose(file); };
  dialog.addEventListener("close", () => dialog.remove());
  close.addEventListener("click", () => finish(null));

  async function runSearch() {
    const q = search.value;
    try {
      const body = await getJSON(path("/-/files/search.json?limit=20&q=" + encodeURIComponent(q)));
      if (search.value !== q) return;
      results.replaceChildren(...body.files.map((file) => {
        const item = el("li");
        const choose = el("button", { type: "button", class: "dff-choice" });
        choose.append(renderFile(file, false));
        choose.addEventListener("click", () => finish(file));
        item.append(choose);
        return item;
      }));
      if (!body.files.length) results.replaceChildren(el("li", {}, "No files match."));
    } catch (error) {
      status.textContent = error.message;
    }
  }
  let timer = null;
  search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(runSearch, 200); });

  getJSON(path("/-/files/sources.json")).then((body) => {
    const uploadable = body.sources.filter((s) => s.actor_can_upload);
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

  dialog.showModal();
  search.focus();
  runSearch();
}

const filePicker = {
  version: "1.0",
  makeColumnField(context) {
    if (!context.columnType || context.columnType.type !== "file") return null;
    return {
      render(field) {
        const wrap = el("div", { class: "dff-field" });
        const preview = el("datasette-file", { "file-id": field.getValue() || "" });
        const choose = el("button", { type: "button", class: "dff-choose" }, "Choose file…");
        const clear = el("button", { type: "button", class: "dff-clear" }, "Clear");
        field.input.placeholder = "df-…";
        choose.addEventListener("click", () => openPicker((file) => {
          field.setValue(file.id);
          preview.setAttribute("file-id", file.id);
        }));
        clear.addEventListener("click", () => { field.setValue(null); preview.setAttribute("file-id", ""); });
        field.input.addEventListener("change", () => preview.setAttribute("file-id", field.input.value));
        const buttons = el("div", { class: "dff-buttons" });
        buttons.append(choose, clear);
        wrap.append(field.input, preview, buttons);
        return wrap;
      },
      focus(field) { field.input.focus(); },
    };
  },
};

function register(manager) { manager.registerPlugin("datasette-files", filePicker); }
if (window.__DATASETTE__) register(window.__DATASETTE__);
else document.addEventListener("datasette_init", (event) => register(event.detail));
