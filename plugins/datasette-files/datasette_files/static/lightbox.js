/* The lightbox: a full-size image over the page, with previous/next through the
   page's other images in the order shown, ←/→, Escape, and swipes on a phone.

   Markup (templates/_files_lightbox.html has the dialog): any link with
   `data-lightbox` opens it. The attribute's value is the full-size image (empty:
   the link's href is); `data-lightbox-name` names the image (else the link's
   `.df-name`); `data-lightbox-file` is the file's page (else the link's href).
   On a grid card the link holds the thumbnail and the name: a click on the
   thumbnail opens the lightbox, one on the name follows the link. The images
   are the visible `[data-lightbox]` links of the opener's `[data-lightbox-group]`
   (the whole page when it has none) and those in its `[data-lightbox-set]` lists. */

const dialog = document.querySelector("[data-lightbox-dialog]");

if (dialog) {
  const image = dialog.querySelector("[data-lightbox-image]");
  const name = dialog.querySelector("[data-lightbox-file]");
  const count = dialog.querySelector("[data-lightbox-count]");
  const previous = dialog.querySelector("[data-lightbox-prev]");
  const next = dialog.querySelector("[data-lightbox-next]");
  let items = [];
  let index = 0;
  let opener = null;

  const describe = (link) => ({
    src: link.getAttribute("data-lightbox") || link.href,
    name: link.dataset.lightboxName
      || (link.querySelector(".df-name") || link).textContent.trim(),
    url: link.dataset.lightboxFile || link.href,
  });

  function imagesBeside(link) {
    const group = link.closest("[data-lightbox-group]") || document;
    const links = [...group.querySelectorAll("[data-lightbox]")].filter((candidate) =>
      candidate === link || candidate.closest("[data-lightbox-set]")
      || candidate.getClientRects().length > 0);
    return { items: links.map(describe), index: links.indexOf(link) };
  }

  function show(at) {
    index = (at + items.length) % items.length;
    const item = items[index];
    image.src = item.src;
    image.alt = item.name;
    name.textContent = item.name;
    name.href = item.url;
    count.textContent = items.length > 1 ? `${index + 1} of ${items.length}` : "";
    previous.hidden = next.hidden = items.length < 2;
    // The neighbours load while this one is looked at.
    for (const step of [-1, 1]) {
      if (items.length > 1) { new Image().src = items[(index + step + items.length) % items.length].src; }
    }
  }

  function open(link) {
    ({ items, index } = imagesBeside(link));
    opener = link;
    show(index);
    dialog.showModal();
    (items.length > 1 ? next : dialog.querySelector("[data-lightbox-close]")).focus();
  }

  document.addEventListener("click", (event) => {
    const link = event.target.closest("[data-lightbox]");
    if (!link || dialog.contains(link) || event.button !== 0
        || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) { return; }
    // A card's name goes to the file's page.
    if (event.target.closest(".df-name")) { return; }
    event.preventDefault();
    open(link);
  });

  previous.addEventListener("click", () => show(index - 1));
  next.addEventListener("click", () => show(index + 1));
  dialog.querySelector("[data-lightbox-close]").addEventListener("click", () => dialog.close());
  dialog.addEventListener("keydown", (event) => {
    if (event.key === "ArrowLeft" && items.length > 1) { event.preventDefault(); show(index - 1); }
    if (event.key === "ArrowRight" && items.length > 1) { event.preventDefault(); show(index + 1); }
    if (event.key === "Tab") { keepFocusInside(event); }
  });

  // The modal dialog makes the page inert, but Tab past its last control
  // would still leave for the browser's own: it goes round instead.
  function keepFocusInside(event) {
    const controls = [...dialog.querySelectorAll("a[href], button")]
      .filter((control) => !control.hidden);
    const first = controls[0];
    const last = controls[controls.length - 1];
    const outside = !dialog.contains(document.activeElement);
    if (event.shiftKey && (document.activeElement === first || outside)) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (document.activeElement === last || outside)) {
      event.preventDefault();
      first.focus();
    }
  }
  // A click on the backdrop (around the image) closes, as Escape does; not
  // the click that ends a swipe.
  let swiped = false;
  dialog.addEventListener("click", (event) => {
    if (swiped) { swiped = false; return; }
    if (event.target === dialog || event.target.hasAttribute("data-lightbox-stage")) {
      dialog.close();
    }
  });
  dialog.addEventListener("close", () => {
    image.removeAttribute("src");
    if (opener && opener.isConnected) { opener.focus(); }
  });

  // Swipes: a horizontal drag of 50 px steps, as the arrows do.
  let swipeFrom = null;
  dialog.addEventListener("pointerdown", (event) => { swipeFrom = event.clientX; swiped = false; });
  dialog.addEventListener("pointerup", (event) => {
    if (swipeFrom === null) { return; }
    const moved = event.clientX - swipeFrom;
    swipeFrom = null;
    swiped = Math.abs(moved) > 50;
    if (swiped && items.length > 1) { show(index + (moved < 0 ? 1 : -1)); }
  });
}
