"""Name conflicts on upload, delete with Undo, and the trash, in a real browser."""

from __future__ import annotations

import pytest

from support import api
from support.browser import screenshot

from test_files_ui import log_in

WIDTHS = (1280, 375)


def screenshots(page, name: str) -> None:
    """The page as it is now at both widths, checked for sideways overflow."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (name, width, overflow)
        screenshot(page, name)
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})


def choose_files(page, files):
    """Pick (name, bytes) files in the upload area, as a person would."""
    page.set_input_files("[data-drop-zone] input[type=file]", files=[
        {"name": name, "mimeType": "text/plain", "buffer": content} for name, content in files])


def listing(client, source="team") -> dict:
    """Every file of the source, by name."""
    response = client.get(f"/-/files/source/{source}.json", params={"_size": 500})
    assert response.status_code == 200, response.text
    return {file["filename"]: file for file in response.json()["files"]}


def download(client, file) -> bytes:
    return client.get(file["download_url"]).content


@pytest.fixture
def alice(app_server):
    with app_server.login("alice", "alice-password") as client:
        yield client


def test_upload_a_duplicate_and_choose_each_answer(page_factory, alice):
    original = api.upload(alice, "team", "minutes.txt", b"first minutes", "text/plain")
    page = page_factory()
    log_in(page)
    page.goto("/-/files/upload/team")

    # Replace: the file keeps its id and gets the new bytes.
    choose_files(page, [("minutes.txt", b"second minutes")])
    dialog = page.locator("dialog[open]")
    dialog.wait_for()
    assert "minutes.txt" in dialog.inner_text()
    assert page.evaluate("document.activeElement.closest('dialog') !== null")
    screenshots(page, "upload-conflict")
    dialog.get_by_role("button", name="Replace").click()
    page.wait_for_selector(".df-item.df-done")
    files = listing(alice)
    assert files["minutes.txt"]["id"] == original["id"]
    assert download(alice, files["minutes.txt"]) == b"second minutes"
    assert "minutes (1).txt" not in files

    # Keep both: a larger file, through prepare, gets "name (1).ext".
    page.goto("/-/files/upload/team")
    big = b"third minutes " * 30_000  # 420 KB: over a chunk, so prepare/upload/complete
    choose_files(page, [("minutes.txt", big)])
    page.locator("dialog[open]").get_by_role("button", name="Keep both").click()
    page.wait_for_selector(".df-item.df-done")
    assert "minutes (1).txt" in page.inner_text(".df-item.df-done")
    files = listing(alice)
    assert download(alice, files["minutes (1).txt"]) == big
    assert download(alice, files["minutes.txt"]) == b"second minutes"

    # Skip: nothing is uploaded, and the queue says so.
    page.goto("/-/files/upload/team")
    choose_files(page, [("minutes.txt", b"fourth minutes")])
    page.locator("dialog[open]").get_by_role("button", name="Skip").click()
    page.wait_for_selector(".df-item.df-skipped")
    assert "Skipped" in page.inner_text(".df-item.df-skipped")
    screenshots(page, "upload-skipped")
    assert listing(alice).keys() == files.keys()
    assert download(alice, listing(alice)["minutes.txt"]) == b"second minutes"


def test_apply_to_all_answers_every_conflict_of_the_batch(page_factory, alice):
    for name in ("agenda-a.txt", "agenda-b.txt", "agenda-c.txt"):
        api.upload(alice, "team", name, b"old " + name.encode(), "text/plain")
    page = page_factory()
    log_in(page)
    page.goto("/-/files/upload/team")
    asked = []
    page.expose_function("noteDialog", lambda text: asked.append(text))
    page.evaluate("""() => new MutationObserver(() => {
        const open = document.querySelector('dialog[open]');
        if (open && !open.dataset.noted) { open.dataset.noted = '1'; window.noteDialog(open.innerText); }
        if (!open) document.querySelectorAll('dialog').forEach(d => delete d.dataset.noted);
    }).observe(document.body, {subtree: true, attributes: true, childList: true})""")
    choose_files(page, [("agenda-a.txt", b"new a"), ("agenda-b.txt", b"new b"),
                        ("agenda-c.txt", b"new c"), ("agenda-new.txt", b"fresh")])
    dialog = page.locator("dialog[open]")
    dialog.wait_for()
    dialog.get_by_label("Apply to all").check()
    screenshots(page, "upload-conflict-apply-to-all")
    dialog.get_by_role("button", name="Skip").click()
    page.wait_for_function(
        "document.querySelectorAll('.df-item.df-skipped, .df-item.df-done').length === 4")
    assert page.locator(".df-item.df-skipped").count() == 3
    assert page.locator(".df-item.df-done").count() == 1
    assert len(asked) == 1, asked
    files = listing(alice)
    assert download(alice, files["agenda-b.txt"]) == b"old agenda-b.txt"
    assert "agenda-new.txt" in files and "agenda-a (1).txt" not in files


def delete_on_its_page(page, file) -> None:
    page.goto(file["url"])
    page.click("[data-delete-form] button")


def test_delete_then_undo(page_factory, alice):
    alice.post("/-/files/folders/team/-/create", json={"name": "Reports", "on_conflict": "rename"})
    response = alice.put("/-/files/upload/team/q3-report.txt", params={"folder": "Reports"},
                         content=b"quarterly numbers", headers={"Content-Type": "text/plain"})
    assert response.status_code == 201, response.text
    file = response.json()["file"]
    page = page_factory()
    log_in(page)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    delete_on_its_page(page, file)
    # Back in its folder's listing, which says so, with Undo.
    page.wait_for_url("**/-/files/source/team?folder=Reports*")
    message = page.locator("[data-undo-message]")
    message.wait_for()
    assert "q3-report.txt" in message.inner_text() and "trash" in message.inner_text()
    assert message.get_attribute("role") == "status"
    assert "q3-report.txt" not in page.locator(".df-name").all_inner_texts()
    assert alice.get(f"/-/files/{file['id']}.json").status_code == 404
    screenshots(page, "delete-undo")
    message.get_by_role("button", name="Undo").click()
    page.wait_for_selector("[data-undo-message]:has-text('Restored')")
    page.wait_for_selector(".df-name:has-text('q3-report.txt')")
    assert alice.get(f"/-/files/{file['id']}.json").json()["folder"] == "Reports"
    assert not dialogs  # no browser confirm() any more
    # A reload does not show the message again.
    page.reload()
    page.wait_for_selector(".df-name:has-text('q3-report.txt')")
    assert page.locator("[data-undo-message]").count() == 0


def test_delete_open_the_trash_and_restore(page_factory, alice):
    file = api.upload(alice, "team", "budget.txt", b"numbers " * 200, "text/plain")
    page = page_factory()
    log_in(page)
    delete_on_its_page(page, file)
    page.wait_for_selector("[data-undo-message]")

    # The file's own page says where it went, with Restore.
    response = page.goto(file["url"])
    assert response.status == 404
    notice = page.inner_text(".df-page")
    assert "budget.txt is in the trash" in notice and "deleted for good" in notice
    screenshots(page, "file-in-trash")

    page.goto("/-/files/source/team")
    page.get_by_role("link", name="Trash").click()
    page.wait_for_url("**/-/files/trash/team")
    row = page.locator("[data-trash-item]", has_text="budget.txt")
    row.wait_for()
    text = row.inner_text()
    assert "alice" in text and "1.6 KiB" in text and "Deleted" in text
    screenshots(page, "trash")
    row.get_by_role("button", name="Restore").click()
    page.wait_for_selector("[data-trash-status]:has-text('Restored')")
    assert page.locator("[data-trash-item]", has_text="budget.txt").count() == 0
    assert alice.get(f"/-/files/{file['id']}.json").status_code == 200
    page.goto(file["url"])
    page.wait_for_selector("h1.df-filename:has-text('budget.txt')")


def test_restore_from_the_trashed_files_page(page_factory, alice):
    file = api.upload(alice, "team", "lost-and-found.txt", b"found", "text/plain")
    page = page_factory()
    log_in(page)
    delete_on_its_page(page, file)
    page.wait_for_selector("[data-undo-message]")
    page.goto(file["url"])
    page.get_by_role("button", name="Restore").click()
    # The page reloads once restored; the trashed page has the same heading.
    page.wait_for_selector("[data-trashed-file]", state="detached")
    page.wait_for_selector("h1.df-filename:has-text('lost-and-found.txt')")
    assert alice.get(f"/-/files/{file['id']}.json").status_code == 200


def test_empty_the_trash(page_factory, app_server):
    password = app_server.generated_admin_password()
    with app_server.login("admin", password) as admin:
        files = [api.upload(admin, "archive", f"old-{n}.txt", b"old", "text/plain")
                 for n in range(3)]
        for file in files:
            response = admin.post(f"{file['url']}/-/delete", json={})
            assert response.status_code == 200, response.text
        page = page_factory()
        log_in(page, "admin", password)
        page.goto("/-/files/trash/archive")
        page.wait_for_selector("[data-trash-item]")
        assert page.locator("[data-trash-item]").count() == 3

        # Delete forever, one item, after its own confirmation.
        page.locator("[data-trash-item]", has_text="old-0.txt").get_by_role(
            "button", name="Delete forever").click()
        dialog = page.locator("dialog[open]")
        assert "old-0.txt" in dialog.inner_text()
        dialog.get_by_role("button", name="Delete forever").click()
        page.wait_for_function("document.querySelectorAll('[data-trash-item]').length === 2")

        page.get_by_role("button", name="Empty trash").click()
        dialog = page.locator("dialog[open]")
        dialog.wait_for()
        assert "2 items" in dialog.inner_text()
        screenshots(page, "trash-empty-confirm")
        # Cancel changes nothing.
        dialog.get_by_role("button", name="Cancel").click()
        assert page.locator("dialog[open]").count() == 0
        assert page.locator("[data-trash-item]").count() == 2
        page.get_by_role("button", name="Empty trash").click()
        page.locator("dialog[open]").get_by_role("button", name="Empty trash").click()
        page.wait_for_selector("[data-trash-empty]:visible")
        assert "The trash is empty" in page.inner_text("[data-trash-empty]")
        assert not page.get_by_role("button", name="Empty trash").is_visible()
        screenshots(page, "trash-empty")
        listed = admin.get("/-/files/trash/archive.json").json()
        assert listed["items"] == []
        for file in files:
            assert admin.get(f"/-/files/{file['id']}.json").status_code == 404
