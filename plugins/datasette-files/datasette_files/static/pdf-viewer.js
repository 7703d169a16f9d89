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
    img.addEventListener("error", () => {
      if (tries >= RETRIES) return;
      tries += 1;
      const url = new URL(img.src);
      url.searchParams.set("try", tries);
      setTimeout(() => { img.src = url.href; }, 1500 * 2 ** (tries - 1));
    });
  }

  // The page whose top is nearest the strip's top is the one being read.
  const visible = new Set();
  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (entry.isIntersecting) visible.add(entry.target);
      else visible.delete(entry.target);
    }
    const top = strip.getBoundingClientRect().top;
    let current = null;
    let best = Infinity;
    for (const page of visible) {
      const distance = Math.abs(page.getBoundingClientRect().top - top);
      if (distance < best) { best = distance; current = page; }
    }
    if (current) at.textContent = `Page ${current.dataset.pdfPage} of ${total}`;
  }, { root: strip, threshold: [0, 0.25, 0.5, 0.75, 1] });
  pages.forEach((page) => observer.observe(page));
}
