/* Name conflicts in one upload batch: ask Replace / Keep both / Skip, one
   question at a time, with "Apply to all" for the rest of the batch. */
import { ask } from "./dialog.js";
import { formatSize, quoted } from "./format.js";

/** The answers of a batch of `count` files. */
export function ConflictAnswers(count) {
  this.count = count;
  this.always = null;  // the answer for every conflict, once "Apply to all" is ticked
  this.asking = Promise.resolve();
}

/** Resolves with "replace", "rename" or "skip" for the file `name`, which
    `conflict` (a 409's "conflict": {"file": ...} or {"folder": ...}) is in the way of. */
ConflictAnswers.prototype.answer = function (name, conflict) {
  const question = this.asking.then(() => this.always || this.ask(name, conflict));
  this.asking = question.catch(() => null);
  return question;
};

ConflictAnswers.prototype.ask = async function (name, conflict) {
  // The file in the way: a file object, or (uploads) its id and name.
  const file = conflict.file || (conflict.file_id ? { filename: conflict.filename } : null);
  const text = [file ? "There is already a file named " + quoted(file.filename) + " here" +
      (file.size === undefined ? "" : " (" + formatSize(file.size) +
        (file.uploaded_by ? ", uploaded by " + file.uploaded_by : "") + ")") + "."
    : "There is already a folder named " + quoted((conflict.folder || {}).name || name) + " here."];
  const dot = name.lastIndexOf(".");
  const numbered = dot > 0 ? name.slice(0, dot) + " (1)" + name.slice(dot) : name + " (1)";
  const choices = [];
  if (file) {  // only a file can be replaced
    text.push("Replace: that file gets the new content and keeps its links; " +
              "its old content goes to the trash.");
    choices.push({ label: "Replace", value: "replace" });
  }
  text.push("Keep both: the new file gets a numbered name, such as " + quoted(numbered) + ".",
            "Skip: this file is not uploaded.");
  choices.push({ label: "Keep both", value: "rename" }, { label: "Skip", value: "skip" });
  const answer = await ask({
    title: quoted(name) + " is already here", text, choices, focus: "rename", cancel: "skip",
    checkbox: this.count > 1 ? "Apply to all name conflicts in this upload" : null });
  if (answer.checked) { this.always = answer.value; }
  return answer.value;
};
