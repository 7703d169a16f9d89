/* What one drop or choice of files becomes. A folder (files with paths) or many
   small files go to the batch endpoint, a hundred or so a request
   (upload-batch.js); a large file goes by itself as before (one PUT, or
   prepare / chunks / complete: resumable), into its folder, made first. More
   than one file gets an overall progress row (upload-progress.js). */
import { postJSON } from "./api.js";
import { ConflictAnswers } from "./conflicts.js";
import { element } from "./format.js";
import { sendBatches } from "./upload-batch.js";
import { BatchProgress } from "./upload-progress.js";

// A file up to this size goes in a batch (larger ones keep their own request,
// their own progress bar and resuming).
const BATCH_FILE_MAX = 1024 * 1024;
// This many small files without folders go in batches too (fewer keep a row each).
const MANY = 10;
const ONE_BY_ONE_AT_ONCE = 2;

/** Tell the page (say, a listing that shows it) that `file` was uploaded. */
export function announceUploaded(file) {
  document.dispatchEvent(new CustomEvent("df:uploaded", { detail: { file } }));
}

function joinPath(folder, path) { return folder ? (path ? folder + "/" + path : folder) : path; }
function dirName(path) { return path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : ""; }

export class ManyFiles {
  /** `uploadOne(file, answers, folder, shownName, batch)` sends one file by itself. */
  constructor(section, uploadOne) {
    this.section = section;
    this.uploadOne = uploadOne;
    this.list = section.querySelector("[data-queue]");
    this.folders = new Map();  // path -> the promise of its existence
  }

  /** Upload `found` ({files: [{file, path}], folders: [path]}) into `folder`
      (by default the one the upload area is for). */
  async upload(found, folder) {
    const { files, folders } = found;
    if (!files.length && !folders.length) { return; }
    const base = typeof folder === "string" ? folder : this.section.dataset.folder || "";
    const batchUrl = this.section.dataset.batchUrl;
    const treed = folders.length > 0 || files.some((entry) => entry.path.includes("/"));
    const small = files.filter((entry) => entry.file.size <= BATCH_FILE_MAX);
    const batched = new Set(batchUrl && (treed || small.length >= MANY) ? small : []);
    const alone = files.filter((entry) => !batched.has(entry));
    const answers = new ConflictAnswers(files.length);
    const roots = [...new Set(files.map((e) => e.path.split("/")[0]).concat(folders.map((f) => f.split("/")[0])))];
    const folderRoot = treed && roots.length === 1 ? roots[0] : null;
    const progress = files.length > 1 || batched.size ? new BatchProgress(this.list, files.length,
      files.reduce((sum, entry) => sum + entry.file.size, 0),
      folderRoot ? "Folder " + folderRoot : "Upload") : null;

    // Folders first: the empty ones, and those of the files that go alone
    // (the batch endpoint makes its files' folders itself).
    const needed = new Set(folders.concat(alone.map((entry) => dirName(entry.path))).filter(Boolean));
    const missing = [];
    for (const path of needed) {
      try { await this.folder(joinPath(base, path)); } catch (error) { missing.push([path, error]); }
    }
    missing.forEach(([path, error]) => progress && progress.fail(path + "/", error.message));

    const queue = [...alone];
    const next = async () => {
      for (let entry = queue.shift(); entry; entry = queue.shift()) {
        if (progress && progress.cancelled) { progress.answered({}, 1, 0); continue; }
        await this.uploadOne(entry.file, answers, joinPath(base, dirName(entry.path)), entry.path, progress);
      }
    };
    await Promise.all([
      batched.size ? sendBatches({ url: batchUrl, folder: base, entries: [...batched], answers, progress,
                                   retryAlone: (entry, focus) => this.retryAlone(entry, base, focus) })
        : null,
      ...Array.from({ length: ONE_BY_ONE_AT_ONCE }, next),
    ]);
    if (progress) { progress.finish(this.link(folderRoot ? joinPath(base, folderRoot) : base, folderRoot)); }
  }

  /** Send `entry`, which failed inside a batch, again by itself (into its
      folder under `base`, made first), in a row of its own with its own Retry;
      `focus`: that row's button takes the focus. Resolves with whether it
      was uploaded (this time). */
  async retryAlone(entry, base, focus) {
    const folder = joinPath(base, dirName(entry.path));
    await this.folder(folder);
    const sending = this.uploadOne(entry.file, new ConflictAnswers(1), folder, entry.path, null);
    const row = this.list.lastElementChild;
    const button = focus && row && row.querySelector("button");
    if (button) { button.focus(); }
    await sending;
    return Boolean(row && row.classList.contains("df-done"));
  }

  /** Make folder `path` (and its parents) unless it is there; once per path. */
  folder(path) {
    if (!path) { return Promise.resolve(); }
    if (!this.folders.has(path)) {
      const slash = path.lastIndexOf("/");
      const parent = slash < 0 ? "" : path.slice(0, slash);
      const made = this.folder(parent).then(() => postJSON(this.section.dataset.foldersUrl, {
        folder: parent, name: path.slice(slash + 1) }).catch((error) => {
        // Already there (a folder of that name): merged into.
        if (!(error.status === 409 && error.body && error.body.conflict && error.body.conflict.folder)) {
          throw error;
        }
      }));
      made.catch(() => this.folders.delete(path));  // tried again next time
      this.folders.set(path, made);
    }
    return this.folders.get(path);
  }

  /** A link to the folder the files went to. */
  link(folder, name) {
    const url = this.section.dataset.sourceUrl + (folder ? "?folder=" + encodeURIComponent(folder) : "");
    return element("a", { href: url }, name ? "Open " + name : "See them");
  }
}
