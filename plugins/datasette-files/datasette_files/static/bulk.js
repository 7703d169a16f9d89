/* The bulk bar: what is ticked on the page (selection.js), how many, and what
   to do with them: Download (one zip), Move… (the folder picker of
   organise.js), Delete (to the trash, with Undo for them all), Clear.
   Each action is one request; the server answers per file, and the files it
   refused are named with its reason. */
import { postBulk } from "./api.js";
import { quoted } from "./format.js";
import { Selection } from "./selection.js";
import { goWithMessage, showUndo } from "./trash-undo.js";

function counted(n, word) { return n.toLocaleString() + " " + word + (n === 1 ? "" : "s"); }

/** "“a.txt”: reason. “b.txt”: reason." for the failed results of a bulk
    answer (the file's id, in the server's words, is left out: its name is said). */
function failures(results, names) {
  return results.filter((r) => !r.ok).map((r) => quoted(names.get(r.id) || r.id) + ": " +
    (r.errors || ["refused"]).join("; ").replace(" on file " + r.id, "") + ".").join(" ");
}

/** A failed move result whose name is taken where it was going: it names the
    file in the way ("conflict"). (A 409 also says a move between two sources is
    impossible, or a file changed meanwhile: nothing to ask about.) */
function nameTaken(result) {
  return !result.ok && result.status === 409 && Boolean(result.conflict);
}

class BulkBar {
  constructor(bar, grid) {
    this.bar = bar;
    this.grid = grid;
    this.count = bar.querySelector("[data-count]");
    this.all = bar.querySelector("[data-select-all]");
    this.actions = bar.querySelector("[data-bulk-actions]");
    this.selection = new Selection(grid, (ids) => this.show(ids));
    this.stopped = new AbortController();  // stop(): the page-wide listener goes
    this.all.addEventListener("change", () => this.selection.setAll(this.all.checked));
    bar.querySelector("[data-bulk-clear]").addEventListener("click", () => {
      this.selection.clear();
      this.all.focus();
    });
    bar.querySelector("[data-bulk-download]").addEventListener("click", () => this.download());
    // A download leaves the frame as it was; anything else loads a page in it
    // (which the app's frame-ancestors keeps unreadable): ask again to say why.
    bar.querySelector("[data-zip-frame]").addEventListener("load", () => {
      const ids = this.zipping;
      this.zipping = null;
      if (ids) { this.explainRefusedZip(ids); }
    });
    bar.querySelector("[data-bulk-delete]")?.addEventListener("click", (e) => this.remove(e.target));
    bar.querySelector("[data-bulk-move]")?.addEventListener("click", (e) => this.move(e.target));
    // Escape clears the selection from anywhere on the page, unless a dialog
    // or a menu had it first.
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !event.defaultPrevented && !document.querySelector("dialog[open]")
          && this.selection.ids().length) {
        this.selection.clear();
      }
    }, { signal: this.stopped.signal });
    grid.classList.add("df-selectable");
    bar.hidden = false;
    this.show([]);
  }

  stop() { this.stopped.abort(); }

  show(ids) {
    const total = this.selection.boxes().length;
    this.count.textContent = ids.length ? counted(ids.length, "file") + " selected" : "";
    this.all.checked = total > 0 && ids.length === total;
    this.all.indeterminate = ids.length > 0 && ids.length < total;
    this.actions.hidden = !ids.length;
    this.bar.classList.toggle("df-bulk-active", ids.length > 0);
  }

  /** The ticked files' names, by id. */
  names() {
    return new Map(this.selection.cards().map((card) => [card.dataset.fileId, card.dataset.filename]));
  }

  /** One zip of the ticked files: a plain form POST (into a hidden frame), so
      the browser downloads it as it comes, with its own progress, however many
      are ticked. */
  download() {
    const form = this.bar.querySelector("[data-zip-form]");
    form.replaceChildren(...this.selection.ids().map((id) => {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = "id";
      input.value = id;
      return input;
    }));
    this.zipping = this.selection.ids();
    form.submit();
  }

  /** The same request by fetch, for its JSON error (a small answer: a zip
      that comes this time is not read). */
  async explainRefusedZip(ids) {
    const controller = new AbortController();
    let message;
    try {
      const response = await fetch(this.bar.querySelector("[data-zip-form]").action, {
        method: "POST", credentials: "same-origin", signal: controller.signal,
        headers: { Accept: "application/json" },
        body: new URLSearchParams(ids.map((id) => ["id", id])) });
      if (response.ok) {
        controller.abort();
        message = "The download did not start: try again.";
      } else {
        const body = await response.json().catch(() => ({}));
        message = (body.errors || ["refused (" + response.status + ")"]).join("; ");
      }
    } catch (error) {
      message = error.message;
    }
    // The server names files by id; the page knows their names.
    this.names().forEach((name, id) => { message = message.split(id).join(quoted(name)); });
    showUndo("Could not download them: " + message);
  }

  async remove(button) {
    const names = this.names();
    button.disabled = true;
    let body;
    try {
      body = await postBulk(this.bar.dataset.deleteUrl, { ids: [...names.keys()] });
    } catch (error) {
      // A request-level refusal (a 4xx for the whole request).
      showUndo("Nothing was deleted: " + error.message);
      return;
    } finally {
      button.disabled = false;
    }
    const deleted = body.results.filter((r) => r.ok);
    const gone = new Set(deleted.map((r) => r.id));
    // Focus goes to the file now where the first deleted one was (or the last one left).
    const at = this.selection.boxes().findIndex((box) => gone.has(box.value));
    deleted.forEach((r) => this.grid.querySelector(`[data-file-id="${CSS.escape(r.id)}"]`)?.remove());
    this.selection.changed();
    const restoreUrls = deleted.map((r) => r.trash && r.trash.restore_url).filter(Boolean);
    let message = deleted.length === 1
      ? quoted(names.get(deleted[0].id)) + " was moved to the trash."
      : counted(deleted.length, "file") + " moved to the trash.";
    if (deleted.length < names.size) {
      message = (deleted.length ? message + " " : "") + "Not deleted: " + failures(body.results, names);
    }
    showUndo(message, restoreUrls);
    const left = this.selection.boxes();
    (left[Math.min(Math.max(at, 0), left.length - 1)] || document.getElementById("df-files") || this.all).focus();
  }

  async move(button) {
    const { picker } = await import("./organise.js");
    const names = this.names();
    const sources = this.bar.dataset.moveTargets.split(" ");
    const here = this.bar.dataset.source;
    const [source, folder] = sources.includes(here) ? [here, this.bar.dataset.folder] : [sources[0], ""];
    let left = [...names.keys()];  // not moved yet
    let moved = 0;
    let refused = [];
    let whereTo = "";
    const done = () => {
      picker.dialog.removeEventListener("close", done);
      if (!moved && !refused.length) { return; }
      let message = moved ? "Moved " + counted(moved, "file") + " to " + whereTo + "." : "";
      if (refused.length) { message += (message ? " " : "") + "Not moved: " + refused.join(" "); }
      goWithMessage(window.location.href, message);
    };
    picker.dialog.addEventListener("close", done);
    picker.ask("Move files", "Moving " + counted(names.size, "file"), sources, source, folder, {},
      button, async (source, folder, onConflict) => {
        const body = await postBulk(this.bar.dataset.moveUrl, {
          ids: left, source, folder, on_conflict: onConflict });
        whereTo = [source, ...folder.split("/").filter(Boolean)].join(" / ");
        moved += body.results.filter((r) => r.ok).length;
        const taken = body.results.filter(nameTaken);
        const other = failures(body.results.filter((r) => !nameTaken(r)), names);
        if (other) { refused.push(other); }
        left = taken.map((r) => r.id);
        if (!taken.length) { picker.dialog.close(); return; }
        // Names taken there: ask once for them all (Replace or Keep both), and
        // send only those again.
        const error = new Error("");
        error.status = 409;
        error.body = { conflict: { file_id: true, message: (moved ? "Moved " + counted(moved, "file") + ". " : "") +
          (taken.length === 1 ? "A file named " + quoted(names.get(taken[0].id)) + " is"
            : counted(taken.length, "file") + " with these names are") + " already there" +
          (taken.length === 1 ? "" : ": " + taken.map((r) => quoted(names.get(r.id))).join(", ")) +
          ". Replace (the files there go to the trash), or keep both (the moved ones get a number)?" } };
        throw error;
      });
  }
}

/* The page's bar, bound again when live-listing.js replaces the listing. */
let current = null;
function start() {
  const bar = document.querySelector("[data-bulk]");
  const grid = document.querySelector("[data-selectable]");
  if (!bar || !grid || current?.bar === bar) { return; }
  current?.stop();
  current = new BulkBar(bar, grid);
}
start();
document.addEventListener("df:listing-replaced", start);
