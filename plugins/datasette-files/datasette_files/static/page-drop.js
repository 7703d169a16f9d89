/* The whole page takes dropped files, not only the upload area: dropped on a
   listing they go to the folder shown, dropped on a folder card (grid or list)
   into that folder. While files are dragged over the page an overlay says
   where they will go. Drags of text or links are left to the browser. */

const HIDE_AFTER_MS = 250;  // dragover repeats while over the page; its end is its silence

function carriesFiles(event) {
  return Boolean(event.dataTransfer) && [...event.dataTransfer.types].includes("Files");
}

/** The folder card under `target`, on a page with folder cards. */
function folderCard(target) {
  return target instanceof Element ? target.closest(".df-folder-card[data-folder-path]") : null;
}

/** Calls `onDrop(dataTransfer, folder)` for files dropped anywhere on the page;
    `folder` is a folder card's path, or undefined for the page's own folder. */
export function dropAnywhere(section, zone, onDrop) {
  const here = section.dataset.folder;
  const overlay = document.createElement("div");
  overlay.className = "df-drop-overlay";
  overlay.hidden = true;
  overlay.setAttribute("aria-hidden", "true");  // a mouse gesture: the chooser is the keyboard's way
  const words = document.createElement("p");
  overlay.append(words);
  document.body.append(overlay);
  let card = null;
  let timer = null;

  function highlight(next) {
    if (card === next) { return; }
    if (card) { card.classList.remove("df-drop-target"); }
    card = next;
    if (card) { card.classList.add("df-drop-target"); }
  }

  function hide() {
    clearTimeout(timer);
    overlay.hidden = true;
    zone.classList.remove("df-dragging");
    highlight(null);
  }

  function over(event) {
    if (!carriesFiles(event)) { return; }
    event.preventDefault();  // a drop target: the browser would open the file
    event.dataTransfer.dropEffect = "copy";
    highlight(folderCard(event.target));
    zone.classList.toggle("df-dragging", zone.contains(event.target));
    const name = card ? card.dataset.folderName : here ? here.split("/").pop() : "";
    words.textContent = card ? "Drop to upload into " + name
      : "Drop to upload " + (name ? "into " + name : "here");
    overlay.hidden = false;
    clearTimeout(timer);
    timer = setTimeout(hide, HIDE_AFTER_MS);
  }

  document.addEventListener("dragenter", over);
  document.addEventListener("dragover", over);
  document.addEventListener("drop", (event) => {
    if (!carriesFiles(event)) { return; }
    event.preventDefault();
    const target = folderCard(event.target);
    hide();
    if (event.dataTransfer.items.length || event.dataTransfer.files.length) {
      onDrop(event.dataTransfer, target ? target.dataset.folderPath : undefined);
    }
  });
}
