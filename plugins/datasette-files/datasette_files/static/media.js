/* The audio and video players: when the browser cannot play the file's type
   (it says so, or fails to decode it), say so beside the player, which stays
   for what it can still show. */

for (const player of document.querySelectorAll("[data-media]")) {
  const fallback = player.parentElement.querySelector("[data-media-fallback]");
  const cannotPlay = () => { if (fallback) { fallback.hidden = false; } };
  if (player.canPlayType(player.dataset.mediaType) === "") { cannotPlay(); }
  // MEDIA_ERR_DECODE (3) and MEDIA_ERR_SRC_NOT_SUPPORTED (4): the bytes, not the network.
  player.addEventListener("error", () => {
    if (player.error && player.error.code >= 3) { cannotPlay(); }
  });
  if (player.error && player.error.code >= 3) { cannotPlay(); }
}
