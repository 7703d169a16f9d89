/* The search page works as a plain GET form and links; this saves clicks.
   - Choosing a sort searches at once.
   - A date or size preset fills its boxes and submits the form, so words
     typed but not yet searched for, and ticked kinds, are kept.
   - Choosing another source leaves the folder of the previous one.
   - Empty fields stay out of the address (?q=report, not ?q=report&since=&...). */
const form = document.querySelector("[data-search-form]");

if (form) {
  form.addEventListener("submit", () => {
    for (const field of form.elements) {
      if (field.name && field.value === "") { field.disabled = true; }
    }
  });
  // Coming back (the browser's page cache) finds the fields as they were left.
  window.addEventListener("pageshow", () => {
    for (const field of form.elements) { field.disabled = false; }
  });

  const sort = form.querySelector("[data-sort-select]");
  if (sort) { sort.addEventListener("change", () => form.requestSubmit()); }

  const source = form.querySelector("[data-source-select]");
  const folder = form.querySelector("[data-folder-input]");
  if (source && folder) {
    source.addEventListener("change", () => folder.remove());
  }

  for (const link of form.querySelectorAll("[data-preset]")) {
    link.addEventListener("click", (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) { return; }
      event.preventDefault();
      for (const [name, value] of Object.entries(JSON.parse(link.dataset.preset))) {
        form.elements.namedItem(name).value = value;
      }
      form.requestSubmit();
    });
  }
}
