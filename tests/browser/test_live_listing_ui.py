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
from support.server import REPO_ROOT, AppServer, member_env

POLL_SECONDS = 1
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
