"""Live listings in a real browser: alice and bob (two browser contexts) on the
same folder page. What bob uploads or deletes shows on alice's page within the
poll interval (1 s here, through live_poll_seconds), without a reload and
without taking her focus; what alice uploads shows as soon as it finishes; a
listing with files ticked waits until they are not. Grid at 1280 px, list at
375 px."""

from __future__ import annotations

import pytest
import yaml

from support import api
from support.browser import screenshot
from support.images import image_bytes
from support.server import REPO_ROOT, AppServer, member_env

POLL_SECONDS = 1
# A square file-type icon, as the server draws one in place of a thumbnail.
ICON = ('<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96" viewBox="0 0 96 96">'
        '<rect width="96" height="96" fill="#ccc"/></svg>')
# Long enough for a poll and a refresh on a busy machine; a pass takes ~1-2 s.
SEEN_MS = 15_000


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    """The preset config polling every second, with alice and bob as members."""
    config = yaml.safe_load((REPO_ROOT / "config" / "datasette.yaml").read_text())
    config["plugins"]["datasette-files"]["live_poll_seconds"] = POLL_SECONDS
    directory = tmp_path_factory.mktemp("live-listing")
    (directory / "datasette.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    server = AppServer(directory / "data", config_path=directory / "datasette.yaml",
                       env={**member_env("alice", "alice-password"),
                            **member_env("bob", "bob-password")}).start()
    yield server
    server.stop()


def item(page, filename):
    """A file's card (grid) or row (list) in the listing."""
    return page.locator(f"[data-live-listing] [data-filename='{filename}']")


def answered_changed(page, polls: int = 10) -> None:
    """Wait until one of the page's polls is answered "changed"."""
    for _ in range(polls):
        with page.expect_response(lambda r: "/-/changes" in r.url, timeout=SEEN_MS) as answer:
            pass
        if answer.value.json()["changed"]:
            return
    raise AssertionError(f"no poll of {polls} was answered changed")


@pytest.mark.parametrize("width,view", [(1280, "grid"), (375, "list")])
def test_teammates_changes_and_my_uploads_show_without_a_reload(
        page_factory, app_server, width, view):
    with app_server.login("alice", "alice-password") as alice_api, \
            app_server.login("bob", "bob-password") as bob_api:
        check_folder_page(page_factory, app_server.url, alice_api, bob_api, width, view)


def signed_in(page_factory, url, client, width):
    """A page in its own context, signed in with the cookies of ``client`` (a
    login through the real form, app_server.login: the form costs seconds)."""
    page = page_factory(width)
    page.context.add_cookies([{"name": name, "value": value, "url": url}
                              for name, value in client.cookies.items()])
    return page


def check_folder_page(page_factory, url, alice_api, bob_api, width, view):
    """Alice and bob on the folder Live-WIDTH; bob_api acts for bob over HTTP."""
    folder = f"Live-{width}"
    made = bob_api.post("/-/files/folders/team/-/create", json={"folder": "", "name": folder})
    assert made.status_code == 201, made.text
    api.upload(bob_api, "team", "first.txt", b"first", "text/plain", folder=folder)
    alice = signed_in(page_factory, url, alice_api, width)
    bob = signed_in(page_factory, url, bob_api, width)
    for page in (alice, bob):
        page.goto(f"/-/files/source/team?folder={folder}&view={view}")
        assert item(page, "first.txt").is_visible()
    # Marks the document: a reload would lose it.
    alice.evaluate("window.notReloaded = true")

    # Bob's upload through the API: alice sees it, her focus stays in the search box.
    search = alice.locator("#df-here-q")
    search.focus()
    by_bob = api.upload(bob_api, "team", "from-bob.txt", b"hello", "text/plain", folder=folder)
    item(alice, "from-bob.txt").wait_for(timeout=SEEN_MS)
    assert alice.evaluate("document.activeElement.id") == "df-here-q"
    assert alice.locator("[data-live-counts]").inner_text().startswith("2 files")
    assert alice.evaluate("window.notReloaded") is True

    # Alice's own upload through her page: in her listing as soon as it is done,
    # and in bob's at his next poll. Its checkbox works (bulk.js bound the new listing).
    alice.set_input_files("[data-drop-zone] input[type=file]", files=[
        {"name": "from-alice.txt", "mimeType": "text/plain", "buffer": b"mine"}])
    item(alice, "from-alice.txt").wait_for(timeout=SEEN_MS)
    item(bob, "from-alice.txt").wait_for(timeout=SEEN_MS)
    assert alice.evaluate("window.notReloaded") is True
    screenshot(alice, f"live-listing-{view}")

    # Files ticked: the listing waits (an answer "changed" comes, nothing is
    # swapped) and the tick stays; once unticked, the change shows.
    box = item(alice, "first.txt").locator("input[data-select]")
    box.check()
    assert alice.locator("[data-bulk] [data-count]").inner_text() == "1 file selected"
    deleted = bob_api.post(f"/-/files/{by_bob['id']}/-/delete")
    assert deleted.status_code == 200, deleted.text
    answered_changed(alice)
    assert item(alice, "from-bob.txt").is_visible() and box.is_checked()
    box.uncheck()
    item(alice, "from-bob.txt").wait_for(state="detached", timeout=SEEN_MS)
    assert item(bob, "first.txt").is_visible()
    item(bob, "from-bob.txt").wait_for(state="detached", timeout=SEEN_MS)
    assert alice.evaluate("window.notReloaded") is True
    overflow = alice.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, overflow


def folder_card_counts(page, path):
    return page.locator(f"[data-live-listing] [data-folder-path='{path}'] .df-meta")


def test_counts_of_folders_and_the_root_and_thumbnails_keep_up_within_a_poll(
        page_factory, app_server):
    """A file added deep down: the card of its folder in the parent's listing,
    and the root's total, change at the next poll; so does a card whose
    thumbnail was made after the listing showed it."""
    with app_server.login("alice", "alice-password") as alice_api, \
            app_server.login("bob", "bob-password") as bob_api:
        for parent, name in (("", "Counted"), ("Counted", "Inner")):
            made = bob_api.post("/-/files/folders/team/-/create",
                                json={"folder": parent, "name": name})
            assert made.status_code == 201, made.text
        root = signed_in(page_factory, app_server.url, alice_api, 1280)
        counted = signed_in(page_factory, app_server.url, alice_api, 375)
        root.goto("/-/files/source/team")
        counted.goto("/-/files/source/team?folder=Counted")
        assert folder_card_counts(counted, "Counted/Inner").inner_text() == "Empty"
        total = root.locator("[data-live-counts]").inner_text()
        before = int(total.split()[0].replace(",", ""))

        api.upload(bob_api, "team", "deep.txt", b"deep down", "text/plain",
                   folder="Counted/Inner")
        # Neither listing holds the file itself: only counts changed.
        counted.wait_for_function(
            "document.querySelector(\"[data-folder-path='Counted/Inner'] .df-meta\")"
            ".textContent.trim() === '1 file'", timeout=SEEN_MS)
        root.wait_for_function(
            f"document.querySelector('[data-live-counts]').textContent.trim()"
            f".startsWith('{before + 1} file')", timeout=SEEN_MS)

        # A photo whose thumbnail is made after the listing showed it: the card
        # shows the photo (200 x 150, not the square icon) at a poll after. The
        # server answers the icon while no thumbnail is made (a slow generator,
        # a busy machine); the route makes that so whatever the timing here.
        counted.evaluate("window.notReloaded = true")
        counted.route(lambda url: "/thumbnail" in url and "made=1" not in url,
                      lambda route: route.fulfill(status=200, content_type="image/svg+xml",
                                                  body=ICON, headers={"Cache-Control": "no-cache"}))
        api.upload(bob_api, "team", "late-photo.png", image_bytes(320, 240),
                   "image/png", folder="Counted")
        item(counted, "late-photo.png").wait_for(timeout=SEEN_MS)
        counted.wait_for_function(
            """(name) => { const img = document.querySelector(
                   `[data-filename="${name}"] img`);
               return img && img.complete && img.naturalHeight > 0
                   && Math.abs(img.naturalWidth / img.naturalHeight - 4 / 3) < 0.05; }""",
            arg="late-photo.png", timeout=SEEN_MS)
        assert counted.evaluate("window.notReloaded") is True
        screenshot(counted, "live-listing-counts")


SET_VISIBILITY = """(state) => {
    for (const [name, value] of [["visibilityState", state], ["hidden", state === "hidden"]]) {
        Object.defineProperty(document, name, {configurable: true, get: () => value});
    }
    document.dispatchEvent(new Event("visibilitychange"));
}"""


def test_polling_pauses_while_the_tab_is_hidden_and_resumes_when_shown(
        page_factory, app_server):
    with app_server.login("alice", "alice-password") as alice_api, \
            app_server.login("bob", "bob-password") as bob_api:
        made = bob_api.post("/-/files/folders/team/-/create", json={"name": "Hidden tab"})
        assert made.status_code == 201, made.text
        page = signed_in(page_factory, app_server.url, alice_api, 1280)
        polls = []
        page.on("request", lambda request: polls.append(request.url)
                if "/-/changes" in request.url else None)
        page.goto("/-/files/source/team?folder=Hidden%20tab")
        page.wait_for_timeout(2500)
        assert len(polls) >= 2, polls  # polling, every second

        page.evaluate(SET_VISIBILITY, "hidden")
        page.wait_for_timeout(300)  # one already on its way may still be answered
        asked = len(polls)
        api.upload(bob_api, "team", "while-hidden.txt", b"unseen", "text/plain",
                   folder="Hidden tab")
        page.wait_for_timeout(4000)  # four poll intervals
        assert len(polls) == asked, polls[asked:]
        assert item(page, "while-hidden.txt").count() == 0

        # Shown again: it asks at once, and the change shows.
        with page.expect_request(lambda r: "/-/changes" in r.url, timeout=2000):
            page.evaluate(SET_VISIBILITY, "visible")
        item(page, "while-hidden.txt").wait_for(timeout=SEEN_MS)
        page.wait_for_timeout(2500)
        assert len(polls) >= asked + 3, polls[asked:]  # and goes on every second
