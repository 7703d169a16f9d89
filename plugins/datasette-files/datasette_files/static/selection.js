/* Ticking files on a page: one real checkbox per file (focusable, labelled with
   the file's name), so the mouse, the keyboard and a screen reader all work.
   - Click (or Space) ticks one; Shift+click ticks the range from the last one
     ticked (to the state of the one clicked).
   - Arrow keys move between the checkboxes, following the grid's rows;
     Shift+arrow and Shift+Space extend the ticked range from the last one ticked.
   - Ctrl/Cmd+A in the grid ticks every file of the page; Escape clears. */

const BOX = "input[data-select]";

export class Selection {
  /** `root` holds the files' checkboxes; `onChange(ids)` follows every change. */
  constructor(root, onChange) {
    this.root = root;
    this.onChange = onChange;
    this.anchor = null;  // the checkbox a range starts from
    root.addEventListener("click", (event) => this.clicked(event));
    root.addEventListener("keydown", (event) => this.keyed(event));
    // A Shift+Space handled on keydown must not tick the box again on keyup.
    root.addEventListener("keyup", (event) => {
      if (event.key === " " && event.shiftKey && event.target.matches(BOX)) { event.preventDefault(); }
    });
  }

  boxes() { return [...this.root.querySelectorAll(BOX)]; }

  ids() { return this.boxes().filter((box) => box.checked).map((box) => box.value); }

  /** The ticked files' cards. */
  cards() { return this.boxes().filter((box) => box.checked).map((box) => box.closest("[data-file-id]")); }

  setAll(checked) {
    this.boxes().forEach((box) => { this.tick(box, checked); });
    this.changed();
  }

  clear() {
    this.anchor = null;
    this.setAll(false);
  }

  tick(box, checked) {
    box.checked = checked;
    box.closest("[data-file-id]").classList.toggle("df-selected", checked);
  }

  /** Every box from the anchor to `box` (both included) gets `checked`. */
  range(box, checked) {
    const all = this.boxes();
    const from = all.indexOf(this.anchor);
    const to = all.indexOf(box);
    if (from < 0) { this.tick(box, checked); this.anchor = box; return; }
    all.slice(Math.min(from, to), Math.max(from, to) + 1).forEach((b) => this.tick(b, checked));
  }

  changed() { this.onChange(this.ids()); }

  clicked(event) {
    const box = event.target;
    if (!box.matches(BOX)) { return; }
    // The browser has ticked or unticked it already.
    if (event.shiftKey && this.anchor && this.anchor !== box) {
      this.range(box, box.checked);
    } else {
      this.tick(box, box.checked);
    }
    this.anchor = box;
    this.changed();
  }

  keyed(event) {
    const box = event.target;
    const key = event.key;
    // Anywhere in the grid (a checkbox, a file's link): all, or none.
    if ((key === "a" || key === "A") && (event.ctrlKey || event.metaKey) && !event.altKey) {
      this.setAll(true);
      return event.preventDefault();
    }
    if (key === "Escape" && !event.defaultPrevented && this.ids().length) {
      this.clear();
      return event.preventDefault();
    }
    if (!box.matches(BOX)) { return; }
    if (key === " " && event.shiftKey) {
      this.range(box, true);
    } else if (key.startsWith("Arrow") && !event.altKey && !event.ctrlKey && !event.metaKey) {
      const next = this.neighbour(box, key);
      if (!next) { return event.preventDefault(); }
      next.focus();
      if (event.shiftKey) {
        if (!this.anchor) { this.anchor = box; }
        this.range(next, true);
      } else {
        return event.preventDefault();  // focus moves, the ticks stay
      }
    } else {
      return;
    }
    event.preventDefault();
    this.changed();
  }

  /** The checkbox beside `box` in the arrow's direction, as the cards are laid
      out (the grid's column count changes with the width). */
  neighbour(box, key) {
    const all = this.boxes();
    const at = all.indexOf(box);
    if (key === "ArrowLeft") { return all[at - 1]; }
    if (key === "ArrowRight") { return all[at + 1]; }
    const card = (b) => b.closest("[data-file-id]").getBoundingClientRect();
    const here = card(box);
    const down = key === "ArrowDown";
    const rows = all.filter((b) => (down ? card(b).top > here.bottom - 1 : card(b).bottom < here.top + 1));
    if (!rows.length) { return null; }
    const rowTop = (down ? Math.min : Math.max)(...rows.map((b) => card(b).top));
    const row = rows.filter((b) => card(b).top === rowTop);
    return row.reduce((best, b) => (Math.abs(card(b).left - here.left) <
      Math.abs(card(best).left - here.left) ? b : best));
  }
}
