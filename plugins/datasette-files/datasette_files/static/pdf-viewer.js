// The PDF viewer: says which page is in view, and asks again for a page the
// server was too busy to draw (it answers 503; an <img> only sees an error).
const RETRIES = 4;

for (const viewer of document.querySelectorAll("[data-pdf-viewer]")) {
  const strip = viewer.querySelector("[data-pdf-pages]");
  const at = viewer.querySelector("[data-pdf-at]");
  const total = at.textContent.split(" of ")[1];
  const pages = [...strip.querySelectorAll("[data-pdf-page]")];

  for (const img of strip.querySelectorAll("img")) {
    let tries = 0;
    const retry = () => {
      if (tries >= RETRIES) return;
      tries += 1;
      const url = new URL(img.src);
      url.searchParams.set("try", tries);
      setTimeout(() => { img.src = url.href; }, 1500 * 2 ** (tries - 1));
    };
    img.addEventListener("error", retry);
    // A page that failed before this script ran (modules run last).
    if (img.complete && img.naturalWidth === 0 && img.loading !== "lazy") retry();
  }

  // The page being read: the last one whose top has passed a third of the way
  // down the strip (the last page once the strip is scrolled to its end).
  let pending = false;
  const update = () => {
    pending = false;
    const line = strip.getBoundingClientRect().top + strip.clientHeight / 3;
    let current = pages[0];
    for (const page of pages) {
      if (page.getBoundingClientRect().top > line) break;
      current = page;
    }
    if (strip.scrollTop + strip.clientHeight >= strip.scrollHeight - 2) {
      current = pages[pages.length - 1];
    }
    at.textContent = `Page ${current.dataset.pdfPage} of ${total}`;
  };
  strip.addEventListener("scroll", () => {
    if (!pending) {
      pending = true;
      requestAnimationFrame(update);
    }
  }, { passive: true });
}
