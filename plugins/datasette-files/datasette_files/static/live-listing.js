/* A live listing: the source or folder page asks the server, every few
   seconds while the tab is visible (data-poll-ms), whether its folder's
   listing changed since the token it was rendered at (data-changes-token; one
   primary-key lookup on the server; the version counts its subfolders' counts,
   the root's total and thumbnails made since too). When it has, the page fetches itself and
   swaps the listing region in place: no reload, focus kept on the same file or
   folder, and then "df:listing-replaced" tells the page's other scripts to
   bind the new cards (bulk.js, organise.js).
   The page's own uploads ask at once: any change to the upload queue does.
   A refresh waits while files are ticked, a dialog or a menu is open, so it
   never drops what the person is doing. */
import { localiseTimes } from "./local-time.js";

const region = document.querySelector("[data-live-listing]");

/** Busy: a refresh now would drop a selection, or pull a menu or dialog away. */
function busy() {
  return Boolean(region.querySelector("input[data-select]:checked")
    || document.querySelector("dialog[open]")
    || region.querySelector("[role=menu]:not([hidden])"));
}

/** What identifies the focused element, to focus its like after a swap. */
function focusKey() {
  const active = document.activeElement;
  if (!active || !region.contains(active)) { return null; }
  const card = active.closest("[data-file-id], [data-folder-path]");
  if (!card) { return { selector: null }; }
  const key = card.dataset.fileId !== undefined
    ? `[data-file-id="${CSS.escape(card.dataset.fileId)}"]`
    : `[data-folder-path="${CSS.escape(card.dataset.folderPath)}"]`;
  return { selector: key, box: active.matches("input[data-select]") };
}

function restoreFocus(key) {
  if (!key || !key.selector) { return; }
  const card = region.querySelector(key.selector);
  const target = card && (key.box ? card.querySelector("input[data-select]") : card.querySelector("a"));
  // Gone (deleted or moved by someone else): the listing itself keeps focus,
  // so the next Tab goes on from here rather than from the top of the page.
  if (target) { target.focus({ preventScroll: true }); } else {
    region.tabIndex = -1;
    region.focus({ preventScroll: true });
  }
}

class LiveListing {
  constructor() {
    this.url = region.dataset.changesUrl;
    this.token = region.dataset.changesToken;
    this.pollMs = Math.max(500, Number(region.dataset.pollMs) || 15000);
    this.timer = null;
    this.running = false;
    this.again = false;
    this.stopped = false;
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") { this.soon(0); } else { clearTimeout(this.timer); }
    });
    const queue = document.querySelector("[data-queue]");
    if (queue) {
      new MutationObserver(() => this.soon(300)).observe(queue,
        { childList: true, subtree: true, attributes: true, attributeFilter: ["class"] });
    }
    this.soon(this.pollMs);
  }

  /** Ask in `ms` (the sooner of this and any ask already planned). */
  soon(ms) {
    if (this.stopped) { return; }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.check(), ms);
  }

  async check() {
    if (this.running) { this.again = true; return; }
    if (document.visibilityState !== "visible") { return; }
    this.running = true;
    try {
      const sep = this.url.includes("?") ? "&" : "?";
      const response = await fetch(this.url + sep + "since=" + encodeURIComponent(this.token),
        { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } });
      if (response.status === 403 || response.status === 404) {
        this.stopped = true;  // no longer ours to see, or gone: nothing to keep up with
        return;
      }
      const body = response.ok ? await response.json() : null;
      if (body && body.changed && !busy()) { await this.refresh(); }
    } catch (error) {
      // Offline or the server restarting: the next poll tries again.
    } finally {
      this.running = false;
      if (this.again) { this.again = false; this.soon(300); } else { this.soon(this.pollMs); }
    }
  }

  /** Fetch this page again and swap in its listing (and its counts). */
  async refresh() {
    const response = await fetch(window.location.href,
      { credentials: "same-origin", cache: "no-store", headers: { Accept: "text/html" } });
    if (!response.ok) { return; }
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.querySelector("[data-live-listing]");
    if (!fresh || busy()) { return; }
    const focused = focusKey();
    region.replaceChildren(...[...fresh.childNodes].map((node) => document.adoptNode(node)));
    this.token = fresh.dataset.changesToken;
    const counts = document.querySelector("[data-live-counts]");
    const freshCounts = page.querySelector("[data-live-counts]");
    if (counts && freshCounts) { counts.textContent = freshCounts.textContent; }
    localiseTimes(region);
    restoreFocus(focused);
    // A listing that had no files had no bulk bar, so bulk.js never loaded.
    if (region.querySelector("[data-bulk]")) { await import("./bulk.js"); }
    document.dispatchEvent(new CustomEvent("df:listing-replaced", { detail: { region } }));
  }
}

if (region && region.dataset.changesUrl) { new LiveListing(); }
