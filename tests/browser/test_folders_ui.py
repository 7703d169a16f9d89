"""Folders in a real browser: make one, upload into it, rename it, move a file
into it; and a read-only source offers none of it."""

from __future__ import annotations

import pytest
import yaml

from support import api
from support.browser import log_in, screenshot
from support.server import REPO_ROOT, AppServer, member_env

WIDTHS = [1280, 375]


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    """The preset config plus a read-only share whose files sit in folders."""
    directory = tmp_path_factory.mktemp("folders")
    scans = directory / "scans"
    (scans / "2024" / "March").mkdir(parents=True)
    (scans / "2024" / "March" / "receipt.txt").write_text("a receipt")
    (scans / "loose.txt").write_text("not in a folder")
    config = yaml.safe_load((REPO_ROOT / "config" / "datasette.yaml").read_text())
    config["plugins"]["datasette-files"]["sources"]["scans"] = {
        "storage": "filesystem", "read_only": True, "config": {"root": str(scans)}}
    (directory / "datasette.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    server = AppServer(directory / "data", config_path=directory / "datasette.yaml",
                       env=member_env("alice", "alice-password")).start()
    yield server
    server.stop()


def no_overflow(page):
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, overflow


def folder_card(page, name):
    return page.locator(".df-folder-card", has=page.locator(".df-name", has_text=name))


@pytest.mark.parametrize("width", WIDTHS)
def test_make_a_folder_upload_into_it_rename_it_and_move_a_file_into_it(
        page_factory, app_server, width):
    with app_server.login("alice", "alice-password") as alice:
        loose = api.upload(alice, "team", f"minutes-{width}.txt", b"minutes", "text/plain")
    page = page_factory(width)
    log_in(page)
    page.goto("/-/files/source/team")

    # New folder: a modal dialog with the focus in its name field; Escape closes
    # it and gives the focus back to the button.
    opener = page.get_by_role("button", name="New folder")
    opener.click()
    dialog = page.get_by_role("dialog", name="New folder")
    assert dialog.is_visible()
    assert page.evaluate("document.activeElement.name") == "name"
    page.keyboard.press("Escape")
    assert not dialog.is_visible()
    assert page.evaluate("document.activeElement.textContent.trim()") == "New folder"
    opener.click()
    page.keyboard.type(f"Reports {width}")
    screenshot(page, "folders-new-folder-dialog")
    page.keyboard.press("Enter")
    card = folder_card(page, f"Reports {width}")
    card.wait_for()
    assert "Empty" in card.inner_text()
    no_overflow(page)
    screenshot(page, "folders-new-folder")

    # Inside it: one breadcrumb trail, its own name and count, the upload area.
    card.locator("a.df-card-link").click()
    page.wait_for_url("**folder=Reports*")
    assert page.inner_text("h1") == f"Reports {width}"
    assert page.locator("nav[aria-label=Breadcrumb]").count() == 1
    assert page.locator(".df-folder-path").count() == 0
    assert page.inner_text(".df-crumbs [aria-current=page]") == f"Reports {width}"
    assert "This folder is empty" in page.inner_text(".df-empty")
    page.set_input_files("[data-drop-zone] input[type=file]", files=[
        {"name": "agenda.txt", "mimeType": "text/plain", "buffer": b"1. folders"}])
    page.wait_for_selector(".df-item.df-done")
    page.reload()
    assert page.locator(".df-card .df-name").all_inner_texts() == ["agenda.txt"]
    assert page.inner_text(".df-heading .df-subtle").startswith("1 file")
    no_overflow(page)
    screenshot(page, "folders-upload-into-folder")

    # Back at the root (by the breadcrumb), rename it from its card's menu.
    page.locator(".df-crumbs a", has_text="team").click()
    page.wait_for_load_state()  # the menus work once the page's scripts have run
    card = folder_card(page, f"Reports {width}")
    assert "1 file" in card.inner_text()
    card.get_by_role("button", name=f"Actions for Reports {width}").click()
    card.get_by_role("menuitem", name="Rename").click()
    rename = page.get_by_role("dialog", name="Rename folder")
    assert rename.locator("input[name=name]").input_value() == f"Reports {width}"
    rename.locator("input[name=name]").fill(f"Quarterly {width}")
    screenshot(page, "folders-rename-dialog")
    rename.get_by_role("button", name="Rename", exact=True).click()
    folder_card(page, f"Quarterly {width}").wait_for()
    assert folder_card(page, f"Reports {width}").count() == 0
    screenshot(page, "folders-renamed")

    # Move a file into it from the file's page, with the folder picker.
    page.goto(loose["url"])
    page.get_by_role("button", name="Move", exact=True).click()
    move = page.get_by_role("dialog", name="Move file")
    move.get_by_role("button", name=f"Quarterly {width}").click()
    move.get_by_text(f"team / Quarterly {width}").wait_for()
    screenshot(page, "folders-move-dialog")
    move.get_by_role("button", name="Move here").click()
    page.wait_for_selector(f".df-crumbs a:has-text('Quarterly {width}')")
    no_overflow(page)
    screenshot(page, "folders-file-moved")
    page.locator(".df-crumbs a", has_text=f"Quarterly {width}").click()
    assert sorted(page.locator(".df-card .df-name").all_inner_texts()) == [
        "agenda.txt", f"minutes-{width}.txt"]
    with app_server.login("alice", "alice-password") as alice:
        moved = alice.get(loose["url"] + ".json").json()
    assert moved["folder"] == f"Quarterly {width}" and moved["id"] == loose["id"]


@pytest.mark.parametrize("width", WIDTHS)
def test_delete_a_folder_then_undo(page_factory, app_server, width):
    with app_server.login("alice", "alice-password") as alice:
        alice.post("/-/files/folders/team/-/create", json={"name": f"Old {width}"})
        kept = api.upload(alice, "team", "kept.txt", b"kept", folder=f"Old {width}")
    page = page_factory(width)
    log_in(page)
    page.goto("/-/files/source/team")
    card = folder_card(page, f"Old {width}")
    card.get_by_role("button", name=f"Actions for Old {width}").click()
    card.get_by_role("menuitem", name="Move to trash").click()
    status = page.get_by_role("status").filter(has_text="moved to the trash")
    status.wait_for()
    assert folder_card(page, f"Old {width}").count() == 0
    no_overflow(page)
    screenshot(page, "folders-deleted-undo")
    status.get_by_role("button", name="Undo").click()
    folder_card(page, f"Old {width}").wait_for()
    with app_server.login("alice", "alice-password") as alice:
        back = alice.get(kept["url"] + ".json").json()
    assert back["folder"] == f"Old {width}"


@pytest.mark.parametrize("width", WIDTHS)
def test_rename_a_file_on_its_page(page_factory, app_server, width):
    with app_server.login("alice", "alice-password") as alice:
        file = api.upload(alice, "team", f"draft-{width}.txt", b"draft", "text/plain")
    page = page_factory(width)
    log_in(page)
    page.goto(file["url"])
    page.get_by_role("button", name="Rename", exact=True).click()
    dialog = page.get_by_role("dialog", name="Rename file")
    assert dialog.locator("input[name=name]").input_value() == f"draft-{width}.txt"
    dialog.locator("input[name=name]").fill(f"final-{width}.txt")
    dialog.get_by_role("button", name="Rename", exact=True).click()
    page.wait_for_selector(f"h1:has-text('final-{width}.txt')")
    no_overflow(page)
    screenshot(page, "folders-file-renamed")


@pytest.mark.parametrize("width", WIDTHS)
def test_rename_onto_a_taken_name_asks_keep_both_or_replace(page_factory, app_server, width):
    with app_server.login("alice", "alice-password") as alice:
        alice.post("/-/files/folders/team/-/create", json={"name": f"Clash {width}"})
        old = api.upload(alice, "team", "plan.txt", b"old plan", folder=f"Clash {width}")
        new = api.upload(alice, "team", "plan-v2.txt", b"new plan", folder=f"Clash {width}")
    page = page_factory(width)
    log_in(page)
    page.goto(new["url"])
    page.get_by_role("button", name="Rename", exact=True).click()
    dialog = page.get_by_role("dialog", name="Rename file")
    dialog.locator("input[name=name]").fill("plan.txt")
    dialog.get_by_role("button", name="Rename", exact=True).click()
    dialog.get_by_role("alert").filter(has_text="A file named “plan.txt” is already here").wait_for()
    assert "on_conflict" not in dialog.get_by_role("alert").inner_text()
    assert dialog.get_by_role("button", name="Keep both").is_visible()
    no_overflow(page)
    screenshot(page, "folders-rename-conflict")
    dialog.get_by_role("button", name="Replace").click()
    page.wait_for_selector("h1:has-text('plan.txt')")
    with app_server.login("alice", "alice-password") as alice:
        assert alice.get(new["url"] + ".json").json()["filename"] == "plan.txt"
        assert alice.get(old["url"] + ".json").status_code == 404  # in the trash
        trashed = [i["file"]["id"] for i in alice.get("/-/files/trash/team.json").json()["items"]
                   if i["file"]]
        assert old["id"] in trashed


def test_a_folder_of_folders_is_not_empty(page_factory, app_server):
    with app_server.login("alice", "alice-password") as alice:
        for parent, name in [("", "Projects"), ("Projects", "Apollo")]:
            created = alice.post("/-/files/folders/team/-/create",
                                 json={"folder": parent, "name": name})
            assert created.status_code == 201, created.text
    page = page_factory()
    log_in(page)
    page.goto("/-/files/source/team?folder=Projects")
    assert page.locator(".df-empty").count() == 0
    assert page.locator(".df-folder-card .df-name").all_inner_texts() == ["Apollo"]
    assert page.inner_text(".df-heading .df-subtle").startswith("0 files · 1 folder")


@pytest.mark.parametrize("width", WIDTHS)
def test_a_read_only_source_offers_no_changes(page_factory, width):
    page = page_factory(width)
    log_in(page)
    page.goto("/-/files/source/scans")
    folder_card(page, "2024").wait_for()
    for where in ("/-/files/source/scans", "/-/files/source/scans?folder=2024%2FMarch"):
        page.goto(where)
        assert page.locator("[data-upload]").count() == 0
        assert page.get_by_role("button", name="New folder").count() == 0
        assert page.locator(".df-folder-card button").count() == 0
    screenshot(page, "folders-read-only")
    page.click("text=receipt.txt")
    page.wait_for_selector("h1.df-filename")
    assert page.get_by_role("button", name="Rename", exact=True).count() == 0
    assert page.get_by_role("button", name="Move", exact=True).count() == 0
    # Its folder, with a link back to it.
    assert page.locator(".df-crumbs a").all_inner_texts()[-2:] == ["2024", "March"]
    no_overflow(page)
    screenshot(page, "folders-read-only-file")
