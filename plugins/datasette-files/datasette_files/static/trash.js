/* The trash page: its items from the trash's JSON, a page at a time, each with
   Restore and Delete forever, and Empty trash; and the Restore button on the
   page of a file in the trash. Deleting for good asks first, in a dialog. */
import { getJSON, postJSON } from "./api.js";
import { ask } from "./dialog.js";
import { element, formatSize, quoted, timeElement } from "./format.js";

const FOLDER_ICON = '<svg aria-hidden="true" width="40" height="40" viewBox="0 0 24 24" ' +
  'fill="#e8b64c" stroke="#b7862a" stroke-width="1.5"><path d="M3 6.5A1.5 1.5 0 0 1 4.5 ' +
  '5h4.8l2 2h8.2A1.5 1.5 0 0 1 21 8.5v9a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 17.5z"/></svg>';

function plural(count, word) {
  return count.toLocaleString() + " " + word + (count === 1 ? "" : "s");
}

function TrashPage(page) {
  this.page = page;
  this.list = page.querySelector("[data-trash-list]");
  this.status = page.querySelector("[data-trash-status]");
  this.empty = page.querySelector("[data-trash-empty]");
  this.loading = page.querySelector("[data-trash-loading]");
  this.more = page.querySelector("[data-trash-more]");
  this.emptyButton = page.querySelector("[data-empty-trash]");
  this.next = null;
  this.more.addEventListener("click", () => this.load(this.next));
  if (this.emptyButton) {
    this.emptyButton.addEventListener("click", () => this.emptyTrash());
  }
  this.load(null);
}

TrashPage.prototype.load = async function (cursor) {
  const url = this.page.dataset.jsonUrl + (cursor ? "?next=" + encodeURIComponent(cursor) : "");
  this.more.disabled = true;
  try {
    const body = await getJSON(url);
    this.loading.hidden = true;
    this.page.querySelector("[data-retention]").textContent = "Deleted files and folders " +
      "stay here for " + plural(body.retention_days, "day") + ", then they are deleted for good.";
    body.items.forEach((item) => this.list.append(this.row(item)));
    this.next = body.next;
  } catch (error) {
    this.loading.hidden = false;
    this.loading.textContent = "Could not load the trash: " + error.message;
  }
  this.more.disabled = false;
  this.refresh();
};

TrashPage.prototype.refresh = function () {
  const count = this.list.children.length;
  this.more.hidden = !this.next;
  this.empty.hidden = count > 0 || Boolean(this.next) || !this.loading.hidden;
  if (this.emptyButton) { this.emptyButton.hidden = count === 0; }
};

TrashPage.prototype.say = function (message, link) {
  const parts = [message];
  if (link) { parts.push(" ", element("a", { href: link.href }, link.text)); }
  this.status.replaceChildren(...parts);
};

TrashPage.prototype.folderLink = function (folder) {
  const source = this.page.dataset.source;
  const url = this.page.dataset.sourceUrl + (folder ? "?folder=" + encodeURIComponent(folder) : "");
  return element("a", { href: url }, folder ? source + " \u203a " + folder.split("/").join(" \u203a ") : source);
};

TrashPage.prototype.row = function (item) {
  const li = element("li", { "class": "df-trash-item", "data-trash-item": item.id });
  const nameId = "df-trash-" + item.id;
  let icon;
  if (item.kind === "folder") {
    icon = element("span", { "class": "df-trash-icon" });
    icon.innerHTML = FOLDER_ICON;  // a constant, not data
  } else {
    icon = element("img", { "class": "df-trash-icon", alt: "", width: "40", height: "40",
      src: this.page.dataset.iconUrl + "?type=" + encodeURIComponent(
        (item.file && item.file.content_type) || "") + "&name=" + encodeURIComponent(item.name) });
  }
  const main = element("div", { "class": "df-trash-main" });
  const name = element("div", { "class": "df-trash-name", id: nameId }, item.name);
  const where = element("div", { "class": "df-meta" });
  where.append(item.kind === "folder" ? "Folder, " + plural(item.files, "file") + ", " : "",
               formatSize(item.size), " \u00b7 from ", this.folderLink(item.folder));
  const when = element("div", { "class": "df-meta" });
  when.append("Deleted " + (item.trashed_by ? "by " + item.trashed_by + " " : "") + "on ",
              timeElement(item.trashed_at), " \u00b7 to be deleted for good on ",
              timeElement(item.purge_after));
  main.append(name, where, when);
  const actions = element("div", { "class": "df-trash-actions" });
  const restore = element("button", { type: "button", "aria-describedby": nameId }, "Restore");
  restore.addEventListener("click", () => this.restore(item, li, restore));
  const purge = element("button", { type: "button", "class": "df-button-danger",
                                    "aria-describedby": nameId }, "Delete forever");
  purge.addEventListener("click", () => this.purge(item, li, purge));
  actions.append(restore, purge);
  li.append(icon, main, actions);
  return li;
};

TrashPage.prototype.restore = async function (item, li, button) {
  button.disabled = true;
  try {
    const body = await postJSON(item.restore_url, {});
    const back = body.file || body.folder || {};
    const named = back.filename || back.name || item.name;
    this.remove(li);
    this.say("Restored " + quoted(item.name) + (named !== item.name ? " as " + quoted(named) : "") +
             ".", back.url ? { href: back.url, text: "Open it" } : null);
  } catch (error) {
    button.disabled = false;
    this.say("Could not restore " + quoted(item.name) + ": " + error.message);
  }
};

TrashPage.prototype.purge = async function (item, li, button) {
  const answer = await ask({
    title: "Delete " + quoted(item.name) + " forever?",
    text: (item.kind === "folder" ? "The folder and the " + plural(item.files, "file") +
           " in it are deleted for good." : "It is deleted for good.") + " This cannot be undone.",
    choices: [{ label: "Delete forever", value: "purge", danger: true },
              { label: "Cancel", value: "cancel" }],
    focus: "cancel", cancel: "cancel" });
  if (answer.value !== "purge") { return; }
  button.disabled = true;
  try {
    await postJSON(item.purge_url, {});
    this.remove(li);
    this.say(quoted(item.name) + " was deleted for good.");
  } catch (error) {
    button.disabled = false;
    this.say("Could not delete " + quoted(item.name) + ": " + error.message);
  }
};

TrashPage.prototype.emptyTrash = async function () {
  const count = this.list.children.length;
  const answer = await ask({
    title: "Empty the trash of " + this.page.dataset.source + "?",
    text: (this.next ? "Everything in it, more than " + plural(count, "item") + ", is"
                     : (count === 1 ? "The 1 item in it is" : "All " + plural(count, "item") +
                        " in it are")) + " deleted for good. This cannot be undone.",
    choices: [{ label: "Empty trash", value: "empty", danger: true },
              { label: "Cancel", value: "cancel" }],
    focus: "cancel", cancel: "cancel" });
  if (answer.value !== "empty") { return; }
  this.emptyButton.disabled = true;
  try {
    const body = await postJSON(this.page.dataset.emptyUrl, {});
    this.list.replaceChildren();
    this.next = null;
    this.refresh();
    this.page.querySelector("h1").focus();
    this.say("Emptied the trash: " + plural(body.purged, "item") + " deleted for good.");
  } catch (error) {
    this.say("Could not empty the trash: " + error.message);
  }
  this.emptyButton.disabled = false;
};

/* Takes a row away; focus goes to the next row's first button (or the heading). */
TrashPage.prototype.remove = function (li) {
  const neighbour = li.nextElementSibling || li.previousElementSibling;
  li.remove();
  (neighbour ? neighbour.querySelector("button") : this.page.querySelector("h1")).focus();
  if (!this.list.children.length && this.next) { this.load(this.next); }
  this.refresh();
};

function setUpRestore(page) {
  const button = page.querySelector("[data-restore]");
  const status = page.querySelector("[data-restore-status]");
  button.addEventListener("click", async () => {
    button.disabled = true;
    status.textContent = "Restoring…";
    try {
      await postJSON(page.dataset.restoreUrl, {});
      window.location.reload();
    } catch (error) {
      button.disabled = false;
      status.textContent = "Could not restore it: " + error.message;
    }
  });
}

document.querySelectorAll("[data-trash]").forEach((page) => new TrashPage(page));
document.querySelectorAll("[data-trashed-file]").forEach(setUpRestore);
