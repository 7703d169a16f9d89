/* JSON requests to datasette-files' API, shared by the page scripts. */

/** Parse a response as the API's JSON; throw its error messages on failure,
    as an Error carrying the response's .status and JSON .body (a 409's
    "conflict" says what is in the way). */
export async function readJSON(response) {
  const body = await response.json().catch(() => ({}));
  if (!response.ok || body.ok === false) {
    const error = new Error((body.errors || ["Request failed (" + response.status + ")"]).join("; "));
    error.status = response.status;
    error.body = body;
    throw error;
  }
  return body;
}

export async function getJSON(url) {
  const response = await fetch(url, { credentials: "same-origin",
    headers: { Accept: "application/json" } });
  return readJSON(response);
}

export async function postJSON(url, data) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(data),
  });
  return readJSON(response);
}

/** POST to a bulk endpoint: its 200 answer carries one result per item, some
    of which may have failed ("ok": false at the top); it resolves with that
    body. A refusal of the whole request throws as readJSON does. */
export async function postBulk(url, data) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(data),
  });
  if (response.ok) {
    const body = await response.clone().json().catch(() => ({}));
    if (Array.isArray(body.results)) { return body; }
  }
  return readJSON(response);
}
