/* Folders, rename and move: "New folder" and each folder card's Rename, Move
   and Move to trash on the source page, Rename and Move on a file's page. Two modal dialogs (a
   name, a folder picker) serve them all; showModal() keeps the focus inside and
   closes on Escape, and the focus goes back to what opened them. */
import { getJSON, postJSON } from "./api.js";
import { showUndo, trashedMessage } from "./trash-undo.js";

const organise = document.querySelector("[data-organise]");
const base = organise.dataset.filesBase;  // ".../-/files/"
const FOCUS_KEY = "df-focus-folder";  // the card to focus after a reload

function joinPath(folder, name) { return folder ? folder + "/" + name : name; }
function parentOf(path) { return path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : ""; }
function place(source, folder) { return [source, ...folder.split("/").filter(Boolean)].join(" / "); }
function folderPage(source, folder) {
  return base + "source/" + encodeURIComponent(source) +
    (folder ? "?folder=" + encodeURIComponent(folder) : "");
}

/* A dialog that runs ``save(onConflict)`` on submit. A 409 keeps it open with
   the server's message and a "Keep both" button (save again, renaming). */
class ActionDialog {
  constructor(dialog) {
    this.dialog = dialog;
    this.error = dialog.querySelector("[data-error]");
    this.submit = dialog.querySelector("[data-submit]");
    this.keepBoth = dialog.querySelector("[data-keep-both]");
    this.replace = dialog.querySelector("[data-replace]");
    dialog.querySelector("[data-cancel]").addEventListener("click", () => dialog.close());
    dialog.querySelector("form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.run("error");
    });
    this.keepBoth.addEventListener("click", () => this.run("rename"));
    this.replace.addEventListener("click", () => this.run("replace"));
    dialog.addEventListener("close", () => { if (this.opener) { this.opener.focus(); } });
  }

  open(title, submitLabel, opener, save) {
    this.dialog.querySelector("[data-title]").textContent = title;
    this.submit.textContent = submitLabel;
    this.opener = opener;
    this.save = save;
    this.showError("");
    this.dialog.showModal();
  }

  /* A name taken offers "Keep both" (a numbered name) and, for a file in the
     way, "Replace" (that file goes to the trash). */
  showError(message, conflict) {
    // The API's message names its on_conflict parameter: say it in people's words
    // (a caller with several files in the way says it in its own: conflict.message).
    if (conflict && conflict.message) {
      message = conflict.message;
    } else if (conflict && conflict.file_id) {
      message = "A file named \u201c" + conflict.filename + "\u201d is already here. " +
        "Replace it (it goes to the trash), or keep both (this one gets a number)?";
    } else if (conflict) {
      message = "A folder with that name is already here. Keep both (this one gets a number)?";
    }
    this.error.textContent = message;
    this.keepBoth.hidden = !conflict;
    this.replace.hidden = !(conflict && conflict.file_id);
  }

  async run(onConflict) {
    this.submit.disabled = this.keepBoth.disabled = this.replace.disabled = true;
    try {
      await this.save(onConflict);
    } catch (error) {
      this.showError(error.message, error.status === 409 && error.body && error.body.conflict);
    } finally {
      this.submit.disabled = this.keepBoth.disabled = this.replace.disabled = false;
    }
  }
}

/* Asks for a name. */
class NameDialog extends ActionDialog {
  constructor(dialog) {
    super(dialog);
    this.input = dialog.querySelector("input[name=name]");
    this.input.addEventListener("input", () => this.showError(""));
  }

  ask(title, submitLabel, value, opener, save) {
    this.input.value = value;
    this.open(title, submitLabel, opener, (onConflict) => {
      const name = this.input.value.trim();
      if (!name) { throw new Error("Give it a name."); }
      return save(name, onConflict);
    });
    // The name without its extension is selected, ready to be typed over.
    const dot = value.lastIndexOf(".");
    this.input.focus();
    this.input.setSelectionRange(0, dot > 0 ? dot : value.length);
  }
}

/* Asks for a folder: one level at a time, from the listing JSON's folders. */
class FolderPicker extends ActionDialog {
  constructor(dialog) {
    super(dialog);
    this.list = dialog.querySelector("[data-picker]");
    this.here = dialog.querySelector("[data-here]");
    this.up = dialog.querySelector("[data-up]");
    this.sourceChoice = dialog.querySelector("[data-source-choice]");
    this.sourceSelect = dialog.querySelector("[data-move-source]");
    this.icon = dialog.querySelector("[data-folder-icon]");
    this.up.addEventListener("click", () => this.show(this.source, parentOf(this.folder)));
    this.sourceSelect.addEventListener("change", () => this.show(this.sourceSelect.value, ""));
  }

  ask(title, moving, sources, source, folder, exclude, opener, save) {
    this.dialog.querySelector("[data-moving]").textContent = moving;
    this.exclude = exclude;  // a folder cannot go into itself
    this.sourceSelect.replaceChildren(...sources.map((slug) => new Option(slug, slug)));
    this.sourceChoice.hidden = sources.length < 2;
    this.open(title, "Move here", opener, (onConflict) => save(this.source, this.folder, onConflict));
    this.show(source, folder);
  }

  async show(source, folder) {
    this.source = this.sourceSelect.value = source;
    this.folder = folder;
    this.here.textContent = place(source, folder);
    this.up.disabled = !folder;
    this.showError("");
    this.list.setAttribute("aria-busy", "true");
    this.list.replaceChildren(this.note("Loading…"));
    let folders;
    try {
      folders = (await getJSON(base + "source/" + encodeURIComponent(source) +
        ".json?limit=1&folder=" + encodeURIComponent(folder))).folders;
    } catch (error) {
      this.list.replaceChildren();
      this.showError(error.message);
      return;
    } finally {
      this.list.removeAttribute("aria-busy");
    }
    if (source !== this.source || folder !== this.folder) { return; }  // moved on meanwhile
    const items = folders.filter((f) => !(source === this.exclude.source && f.path === this.exclude.path))
      .map((f) => {
        const button = document.createElement("button");
        button.type = "button";
        button.append(this.icon.content.cloneNode(true), f.name);
        button.addEventListener("click", () => this.show(source, f.path).then(() => this.here.focus()));
        const item = document.createElement("li");
        item.append(button);
        return item;
      });
    this.list.replaceChildren(...(items.length ? items : [this.note("No folders in here.")]));
  }

  note(text) {
    const item = document.createElement("li");
    item.className = "df-subtle";
    item.textContent = text;
    return item;
  }
}

const names = new NameDialog(organise.querySelector("[data-name-dialog]"));
/** The folder picker, for other scripts (bulk.js moves many files with it). */
export const picker = new FolderPicker(organise.querySelector("[data-move-dialog]"));

function reloadFocusing(path) {
  sessionStorage.setItem(FOCUS_KEY, path);
  window.location.reload();
}

/* The source page: New folder, and each folder card's menu. */
function setUpSourcePage(page) {
  const source = page.dataset.source;
  const here = page.dataset.folder;
  const folders = base + "folders/" + encodeURIComponent(source) + "/-/";

  const newFolder = page.querySelector("[data-new-folder]");
  newFolder?.addEventListener("click", () => {
    names.ask("New folder", "Create", "", newFolder, async (name, onConflict) => {
      const body = await postJSON(folders + "create", { folder: here, name, on_conflict: onConflict });
      reloadFocusing(body.folder.path);
    });
  });

  setUpFolderCards(page, source, here, folders);
  // live-listing.js replaced the listing: its folder cards are new.
  document.addEventListener("df:listing-replaced", () => setUpFolderCards(page, source, here, folders));

  const focus = sessionStorage.getItem(FOCUS_KEY);
  if (focus !== null) {
    sessionStorage.removeItem(FOCUS_KEY);
    const card = [...page.querySelectorAll(".df-folder-card")].find((c) => c.dataset.folderPath === focus);
    if (card) { card.querySelector("a").focus(); }
  }
}

/* Each folder card's menu: Rename, Move, and Delete (once per card). */
function setUpFolderCards(page, source, here, folders) {
  page.querySelectorAll(".df-folder-card").forEach((card) => {
    if (card.dataset.menuBound) { return; }
    card.dataset.menuBound = "1";
    const path = card.dataset.folderPath;
    const name = card.dataset.folderName;
    const button = card.querySelector("[data-menu-button]");
    if (!button) { return; }
    setUpMenu(button);
    card.querySelector("[data-rename-folder]").addEventListener("click", () => {
      names.ask("Rename folder", "Rename", name, button, async (newName, onConflict) => {
        const body = await postJSON(folders + "move", { path, name: newName, on_conflict: onConflict });
        reloadFocusing(body.folder.path);
      });
    });
    card.querySelector("[data-move-folder]").addEventListener("click", () => {
      picker.ask("Move folder", "Moving the folder " + name, [source], source, here,
        { source, path }, button, async (_, folder, onConflict) => {
          const body = await postJSON(folders + "move", { path, folder, on_conflict: onConflict });
          sessionStorage.setItem(FOCUS_KEY, body.folder.path);
          window.location.assign(folderPage(source, body.folder.parent));
        });
    });
    // To the trash at once, with Undo (the server refuses it, saying why, to
    // one without the right over every file in it).
    card.querySelector("[data-trash-folder]").addEventListener("click", async () => {
      try {
        const body = await postJSON(folders + "delete", { path });
        const next = card.nextElementSibling || card.previousElementSibling;
        card.remove();
        showUndo(trashedMessage(name, body.trash), body.trash.restore_url);
        if (next) { (next.querySelector("a") || next).focus(); }
      } catch (error) {
        showUndo("Could not move " + name + " to the trash: " + error.message);
      }
    });
  });
}

/* A small menu: opened by its button, closed by Escape or a click elsewhere;
   arrow keys move between its items. */
function setUpMenu(button) {
  const menu = button.nextElementSibling;
  const items = () => [...menu.querySelectorAll("[role=menuitem]")];
  function toggle(open) {
    menu.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    if (open) { items()[0].focus(); }
  }
  button.addEventListener("click", () => toggle(menu.hidden));
  menu.addEventListener("click", () => toggle(false));
  menu.addEventListener("keydown", (event) => {
    const all = items();
    const at = all.indexOf(document.activeElement);
    if (event.key === "Escape") { toggle(false); button.focus(); }
    else if (event.key === "ArrowDown") { all[(at + 1) % all.length].focus(); }
    else if (event.key === "ArrowUp") { all[(at - 1 + all.length) % all.length].focus(); }
    else { return; }
    event.preventDefault();
  });
  document.addEventListener("click", (event) => {
    if (!menu.hidden && !button.parentNode.contains(event.target)) { toggle(false); }
  });
}

/* The file page: Rename and Move. */
function setUpFilePage(page) {
  const file = page.dataset;
  const url = base + encodeURIComponent(file.fileId) + "/-/";
  const rename = page.querySelector("[data-rename-file]");
  if (rename) {
    rename.addEventListener("click", () => {
      names.ask("Rename file", "Rename", file.filename, rename, async (filename, onConflict) => {
        await postJSON(url + "rename", { filename, on_conflict: onConflict });
        window.location.reload();
      });
    });
  }
  const move = page.querySelector("[data-move-file]");
  if (move) {
    move.addEventListener("click", () => {
      const sources = move.dataset.moveTargets.split(" ");
      const [source, folder] = sources.includes(file.source) ? [file.source, file.folder] : [sources[0], ""];
      picker.ask("Move file", "Moving " + file.filename, sources, source, folder, {}, move,
        async (source, folder, onConflict) => {
          await postJSON(url + "move", { source, folder, on_conflict: onConflict });
          window.location.reload();
        });
    });
  }
}

const sourcePage = document.querySelector("[data-source-page]");
if (sourcePage) { setUpSourcePage(sourcePage); }
const filePage = document.querySelector("[data-file]");
if (filePage) { setUpFilePage(filePage); }
