/* Sizes, times and names as the pages show them, and the elements they go in. */

/** A new element with these attributes and text. */
export function element(tag, attrs, text) {
  const node = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([key, value]) => node.setAttribute(key, value));
  if (text !== undefined && text !== null) { node.textContent = text; }
  return node;
}

const UNITS = ["KiB", "MiB", "GiB", "TiB"];

/** 1536 -> "1.5 KiB" (as the server's templates write sizes). */
export function formatSize(bytes) {
  if (bytes < 1024) { return bytes + (bytes === 1 ? " byte" : " bytes"); }
  let value = bytes;
  let unit = -1;
  do { value /= 1024; unit += 1; } while (value >= 1024 && unit < UNITS.length - 1);
  return value.toFixed(1) + " " + UNITS[unit];
}

/** A registry timestamp ("YYYY-MM-DD HH:MM:SS", UTC) as a <time> in the reader's time zone. */
export function timeElement(timestamp) {
  const time = document.createElement("time");
  time.dateTime = timestamp.replace(" ", "T") + "Z";
  const moment = new Date(time.dateTime);
  time.textContent = isNaN(moment) ? timestamp : moment.toLocaleString(undefined,
    { dateStyle: "medium", timeStyle: "short" });
  return time;
}

/** "“name”", for names inside a sentence. */
export function quoted(name) {
  return "\u201c" + name + "\u201d";
}
