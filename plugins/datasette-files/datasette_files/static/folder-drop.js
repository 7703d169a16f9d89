/* The files of a drop or a "Choose folder", each with its path relative to
   what was dropped ("Trip/day 1/beach.jpg"), and the folders among them (an
   empty folder is recreated too; a folder chooser does not report those). */

/** {files: [{file, path}], folders: [path]} from a drop's DataTransfer. A
    browser without webkitGetAsEntry gives the dropped files alone. */
export async function droppedEntries(dataTransfer) {
  const items = [...(dataTransfer.items || [])].filter((item) => item.kind === "file");
  // Entries must be taken before the first await: the DataTransfer empties after the event.
  const entries = items.map((item) => item.webkitGetAsEntry && item.webkitGetAsEntry());
  if (!entries.length || entries.some((entry) => !entry)) {
    return { files: [...dataTransfer.files].map((file) => ({ file, path: file.name })), folders: [] };
  }
  const found = { files: [], folders: [] };
  for (const entry of entries) { await walk(entry, "", found); }
  return found;
}

/** The same from an <input type=file> (webkitdirectory or not). */
export function chosenEntries(input) {
  return { files: [...input.files].map((file) => ({ file, path: file.webkitRelativePath || file.name })),
           folders: [] };
}

async function walk(entry, parent, found) {
  const path = parent ? parent + "/" + entry.name : entry.name;
  if (entry.isFile) {
    found.files.push({ file: await new Promise((ok, fail) => entry.file(ok, fail)), path });
    return;
  }
  found.folders.push(path);
  for (const child of await children(entry)) { await walk(child, path, found); }
}

/** A directory's entries: readEntries gives them a part (100 in Chrome) at a
    time, and an empty part at the end. */
async function children(directory) {
  const reader = directory.createReader();
  const all = [];
  for (;;) {
    const part = await new Promise((ok, fail) => reader.readEntries(ok, fail));
    if (!part.length) { return all; }
    all.push(...part);
  }
}
