/* The overall progress of an upload of several files, as one row above the
   queue: "120 of 250 files · 3.2 MB/s · 40 s left", a bar that follows the
   bytes as they go, and at the end what was uploaded, skipped or refused. */
import { element, formatSize, quoted } from "./format.js";

const WINDOW_MS = 3000;  // the speed is the bytes sent over the last few seconds
const REDRAW_MS = 250;

function seconds(s) {
  if (s < 1) { return "less than a second"; }
  if (s < 90) { return Math.round(s) + " s"; }
  if (s < 5400) { return Math.round(s / 60) + " min"; }
  return (s / 3600).toFixed(1) + " h";
}

export class BatchProgress {
  /** A row in `list` for `count` files of `bytes` in all. */
  constructor(list, count, bytes, label) {
    this.count = count;
    this.bytes = Math.max(bytes, 1);
    this.finished = 0;  // uploaded, skipped or failed
    this.uploaded = 0;
    this.skipped = 0;
    this.confirmed = 0;  // bytes of finished files
    this.inFlight = new Map();  // request or file -> bytes sent so far
    this.samples = [];
    this.node = element("li", { "class": "df-batch" });
    this.title = element("div", { "class": "df-item-name" },
      label + " (" + count.toLocaleString() + " files, " + formatSize(bytes) + ")");
    this.bar = element("progress", { max: "1000", value: "0", "aria-label": "Upload progress for " + label });
    // Redrawn four times a second: kept out of the queue's live region, which
    // hears the final line.
    this.status = element("div", { "class": "df-item-status", "aria-live": "off", "data-batch-status": "" },
      "Starting…");
    this.problems = element("ul", { "class": "df-batch-problems" });
    this.requests = new Set();  // the batch requests in flight
    this.cancelled = false;
    this.cancel = element("button", { type: "button", "class": "df-batch-cancel df-queue-button" }, "Cancel");
    this.cancel.addEventListener("click", () => {
      this.cancelled = true;  // what has not gone yet stays here; sent files stay uploaded
      this.requests.forEach((xhr) => xhr.abort());
      this.cancel.remove();
    });
    this.title.append(" ", this.cancel);
    this.node.append(this.title, this.bar, this.status, this.problems);
    list.prepend(this.node);
    this.redraw = this.redraw.bind(this);
    this.timer = setInterval(this.redraw, REDRAW_MS);
  }

  /** `key` (a request, a file) has sent `loaded` bytes so far. */
  sending(key, loaded) { this.inFlight.set(key, loaded); }

  /** `key`'s request is answered: its `files` files of `bytes` are finished. */
  answered(key, files, bytes) {
    this.inFlight.delete(key);
    this.finished += files;
    this.confirmed += bytes;
  }

  done(n) { this.uploaded += n; }

  skip(name) { this.skipped += 1; this.note(name, "skipped: a file of that name is already there", "df-skipped"); }

  /** `name` was not uploaded: `message` says why. With `retry(focus)`, the
      line offers Retry (that file again, by itself) and Remove. */
  fail(name, message, retry) {
    const line = this.note(name, message, "df-error");
    if (retry) { this.offerRetry(line, name, retry); }
  }

  note(name, message, kind) {
    const line = element("li", { "class": kind });
    line.append(element("span", {}, quoted(name) + ": " + message));
    this.problems.append(line);
    return line;
  }

  offerRetry(line, name, retry) {
    const actions = element("span", { "class": "df-item-actions" });
    const again = element("button", { type: "button", "class": "df-queue-button", "data-retry": "",
                                      "aria-label": "Retry " + name }, "Retry");
    const remove = element("button", { type: "button", "class": "df-queue-button", "data-remove": "",
                                       "aria-label": "Remove " + name }, "Remove");
    again.addEventListener("click", () => {
      const focus = line.contains(document.activeElement);
      line.remove();
      // Its own row now (upload.js), focused when this button was.
      Promise.resolve(retry(focus)).then((uploaded) => { if (uploaded) { this.uploadedOnRetry(); } },
        (error) => this.fail(name, error.message, retry));
    });
    remove.addEventListener("click", () => {
      const next = line.nextElementSibling || line.previousElementSibling;
      const focus = line.contains(document.activeElement);
      line.remove();
      // Focus stays in this upload: the next failed file's button, else the row's own.
      const target = (next && next.querySelector("button")) || this.node.querySelector("button");
      if (focus && target) { target.focus(); }
    });
    actions.append(again, remove);
    line.append(actions);
  }

  loaded() {
    let sent = this.confirmed;
    this.inFlight.forEach((bytes) => { sent += bytes; });
    return Math.min(sent, this.bytes);
  }

  redraw() {
    const now = performance.now();
    const loaded = this.loaded();
    this.samples.push([now, loaded]);
    while (this.samples.length > 2 && now - this.samples[0][0] > WINDOW_MS) { this.samples.shift(); }
    const [then, before] = this.samples[0];
    const speed = now > then ? (loaded - before) / ((now - then) / 1000) : 0;  // bytes a second
    this.bar.value = Math.round(1000 * loaded / this.bytes);
    const parts = [this.finished.toLocaleString() + " of " + this.count.toLocaleString() + " files"];
    if (speed > 0) {
      parts.push((speed / 1e6).toFixed(speed < 1e7 ? 1 : 0) + " MB/s",
                 seconds((this.bytes - loaded) / speed) + " left");
    }
    this.status.textContent = parts.join(" · ");
  }

  /** "N of M files uploaded, K not uploaded.": again after a retry. */
  summarise() {
    const failed = this.count - this.uploaded - this.skipped;
    const words = [this.uploaded.toLocaleString() + " of " + this.count.toLocaleString() + " files uploaded"];
    if (this.skipped) { words.push(this.skipped + " skipped"); }
    if (failed) { words.push(failed + " not uploaded"); }
    this.node.classList.toggle("df-error", failed > 0);
    this.node.classList.toggle("df-done", !failed);
    this.status.textContent = words.join(", ") + ".";
    if (this.link) { this.status.append(" ", this.link); }
  }

  /** A file that failed was retried alone and is uploaded now. */
  uploadedOnRetry() {
    this.uploaded += 1;
    if (this.ended) { this.summarise(); }
  }

  /** All answered: say what happened, once, where the live region hears it. */
  finish(link) {
    clearInterval(this.timer);
    this.redraw();
    this.cancel.remove();
    this.status.removeAttribute("aria-live");
    if (this.cancelled) {
      // A cancelled request may have been stored in part: the server keeps each
      // file whose bytes had all arrived.
      this.node.classList.add("df-error");
      this.status.textContent = "Cancelled after " + this.uploaded.toLocaleString() + " of " +
        this.count.toLocaleString() + " files. Some of those on their way may have arrived too.";
    } else {
      this.bar.value = 1000;
      this.ended = true;
      this.link = link;
      this.summarise();
    }
    if (link && this.cancelled) { this.status.append(" ", link); }
    if (this.node.classList.contains("df-error")) {
      // Kept until removed: what was not uploaded stays listed below.
      const remove = element("button", { type: "button", "data-remove": "", "class": "df-batch-cancel df-queue-button",
                                         "aria-label": "Remove this upload's summary" }, "Remove");
      remove.addEventListener("click", () => {
        const next = this.node.nextElementSibling;
        this.node.remove();
        if (next && next.querySelector("button")) { next.querySelector("button").focus(); }
      });
      this.title.append(" ", remove);
    }
  }
}
