/* The listing's Grid | List toggle: links that work alone (?view=list); with
   this script a click also saves the choice for the actor (or, anonymous, in
   a cookie), so their next listing, in any browser, opens in that view. */
import { postJSON } from "./api.js";

const toggle = document.querySelector(".df-view-toggle[data-preferences-url]");

toggle?.addEventListener("click", async (event) => {
  const link = event.target.closest("a[data-view]");
  if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
    return;
  }
  event.preventDefault();
  try {
    await postJSON(toggle.dataset.preferencesUrl, { view: link.dataset.view });
  } catch (error) {
    // Unsaved, the link still shows the view asked for.
  }
  window.location.assign(link.href);
});
