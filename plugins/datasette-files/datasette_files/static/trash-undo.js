/* Delete with Undo: move a file or folder to the trash, then say so in a
   message with Undo (a live region), on this page or on the page a delete
   leads to (the file page goes to its folder's listing).

   For other pages' scripts (a folder card's Delete, say):
     const trash = await moveToTrash(deleteUrl);
     showUndo(trashedMessage(name, trash), trash && trash.restore_url);
   Any page that loads this module shows the message a previous page left for it. */
import { postJSON } from "./api.js";
import { quoted } from "./format.js";

const KEY = "datasette-files:message";

/** POST the delete; resolves with the trash item (null: deleted for good). */
export async function moveToTrash(deleteUrl) {
  const body = await postJSON(deleteUrl, {});
  return body.trash || null;
}

export function trashedMessage(name, trash) {
  return quoted(name) + (trash ? " was moved to the trash." : " was deleted.");
}

/** Go to `url`, and show the message (with Undo if `restoreUrl`) there. */
export function goWithMessage(url, message, restoreUrl) {
  const target = new URL(url, window.location.href);
  sessionStorage.setItem(KEY, JSON.stringify({
    page: target.pathname + target.search, message, restoreUrl: restoreUrl || null }));
  window.location.assign(target.href);
}

/** The message bar, with Undo when `restoreUrl` is given (one URL, or a list:
    Undo then restores every item). Undo restores the item, then calls
    onRestored(item, body); by default the page reloads and says what came back. */
export function showUndo(message, restoreUrl, onRestored) {
  const bar = messageBar();
  const urls = [].concat(restoreUrl || []);
  setMessage(bar, message, urls.length ? undoButton(bar, urls, onRestored) : null);
}

const RESTORING_AT_ONCE = 4;

function undoButton(bar, restoreUrls, onRestored) {
  const undo = document.createElement("button");
  undo.type = "button";
  undo.textContent = "Undo";
  let left = restoreUrls;
  undo.addEventListener("click", async () => {
    undo.disabled = true;
    const { restored, failed } = await restoreAll(left);
    if (!failed.length) {
      if (restored.length === 1) {
        (onRestored || reloadSaying)(restored[0].file || restored[0].folder || {}, restored[0]);
      } else {
        goWithMessage(window.location.href, "Restored " + restored.length + " files.");
      }
      return;
    }
    // Undo again tries only what did not come back.
    left = failed.map((f) => f.url);
    undo.disabled = false;
    setMessage(bar, (restored.length ? "Restored " + restored.length + "; " : "") +
      "could not restore " + (failed.length === 1 ? "it" : failed.length + " of them") + ": " +
      [...new Set(failed.map((f) => f.error.message))].join("; "), undo);
  });
  return undo;
}

/** POST each restore URL, a few at a time; the bodies restored and the failures. */
async function restoreAll(urls) {
  const restored = [];
  const failed = [];
  const queue = [...urls];
  async function worker() {
    for (let url = queue.shift(); url; url = queue.shift()) {
      try { restored.push(await postJSON(url, {})); } catch (error) { failed.push({ url, error }); }
    }
  }
  await Promise.all(Array.from({ length: Math.min(RESTORING_AT_ONCE, urls.length) }, worker));
  return { restored, failed };
}

function reloadSaying(item) {
  const name = item.filename || item.name;
  goWithMessage(window.location.href, name ? "Restored " + quoted(name) + "." : "Restored.");
}

/* One bar per page, a status live region. It is put in the page empty and
   filled a moment later: a region that arrives with its text is not always read out. */
function messageBar() {
  let bar = document.querySelector("[data-undo-message]");
  if (bar) { return bar; }
  bar = document.createElement("div");
  bar.className = "df-toast";
  bar.setAttribute("role", "status");
  bar.setAttribute("aria-live", "polite");
  bar.dataset.undoMessage = "";
  document.body.append(bar);
  return bar;
}

function setMessage(bar, message, action) {
  const text = document.createElement("span");
  text.textContent = message;
  const close = document.createElement("button");
  close.type = "button";
  close.className = "df-toast-close";
  close.setAttribute("aria-label", "Dismiss");
  close.textContent = "\u00d7";
  close.addEventListener("click", () => bar.remove());
  const parts = [text, action, close].filter(Boolean);
  if (bar.childNodes.length) { bar.replaceChildren(...parts); return; }
  setTimeout(() => bar.replaceChildren(...parts), 100);
}

/** The message a previous page left for this one, if any (shown once). */
export function showPendingUndo() {
  const stored = sessionStorage.getItem(KEY);
  if (!stored) { return; }
  sessionStorage.removeItem(KEY);
  let pending;
  try { pending = JSON.parse(stored); } catch (e) { return; }
  if (pending.page === window.location.pathname + window.location.search) {
    showUndo(pending.message, pending.restoreUrl);
    // Arrived here from a delete (or an Undo): focus goes where the skip link
    // leads (the listing), not back to the top of the page.
    const skip = document.querySelector(".df-skip-link");
    const target = skip && document.getElementById(skip.hash.slice(1));
    if (target) { target.focus(); }
  }
}

showPendingUndo();
