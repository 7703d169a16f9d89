/* A modal question in a <dialog>: the browser keeps focus inside it and closes
   it on Escape. Used instead of confirm(), which cannot name its buttons. */

import { element } from "./format.js";

let dialogs = 0;

/**
 * Ask a question; resolves with {value, checked} once it is answered.
 *   title: the question; text: a paragraph or a list of them;
 *   choices: [{label, value, danger}] (buttons, in order); focus: the value whose
 *   button has focus first; cancel: the value Escape answers;
 *   checkbox: the label of a checkbox (its state comes back as `checked`).
 */
export function ask({ title, text, choices, focus, cancel, checkbox }) {
  return new Promise((resolve) => {
    const id = "df-dialog-" + (++dialogs);
    const dialog = element("dialog", { "class": "df-dialog",
      "aria-labelledby": id + "-title", "aria-describedby": id + "-text" });
    const body = element("div", { id: id + "-text" });
    [].concat(text).forEach((paragraph) => body.append(element("p", {}, paragraph)));
    dialog.append(element("h2", { id: id + "-title" }, title), body);
    let box = null;
    if (checkbox) {
      box = element("input", { type: "checkbox" });
      const label = element("label", { "class": "df-dialog-check" });
      label.append(box, " " + checkbox);
      dialog.append(label);
    }
    const buttons = element("div", { "class": "df-dialog-buttons" });
    let first = null;
    let preferred = null;
    choices.forEach((choice) => {
      const button = element("button", { type: "button",
        "class": choice.danger ? "df-button-danger" : "" }, choice.label);
      button.addEventListener("click", () => finish(choice.value));
      buttons.append(button);
      first = first || button;
      if (choice.value === focus) { preferred = button; }
    });
    dialog.append(buttons);
    const before = document.activeElement;
    dialog.addEventListener("cancel", (event) => { event.preventDefault(); finish(cancel); });

    function finish(value) {
      dialog.close();
      dialog.remove();
      if (before && before.isConnected) { before.focus(); }
      resolve({ value, checked: box ? box.checked : false });
    }

    document.body.append(dialog);
    dialog.showModal();
    (preferred || first).focus();
  });
}
