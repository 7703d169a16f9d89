"""Datasette's insert and edit row dialogs on a table with a `file` column, with
the shipped config's permissions: the field shows the file (thumbnail, name,
Change, Clear) in Datasette's own styles, and cells mark files that are gone."""

from __future__ import annotations

import io
import sqlite3

import pytest
import yaml
from PIL import Image

from support import api
from support.axe import load_axe_script, violations
from support.browser import log_in, screenshot
from support.server import REPO_ROOT, AppServer, member_env

WIDTHS = [1280, 375]
MISSING = "df-01aaaaaaaaaaaaaaaaaaaaaaaa"


def png(colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app with the shipped config, plus only the column's type: an
    `attachments` table whose `attachment` column is a file. Per width, rows
    pointing at a live file, an unknown id and a file in the trash."""
    base = tmp_path_factory.mktemp("dialogs")
    config = yaml.safe_load((REPO_ROOT / "config" / "datasette.yaml").read_text())
    config["databases"] = {"data": {"tables": {"attachments": {
        "column_types": {"attachment": "file"}}}}}
    (base / "datasette.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    data = base / "data"
    (data / "databases").mkdir(parents=True)
    conn = sqlite3.connect(data / "databases" / "data.db")
    conn.execute("CREATE TABLE attachments (id INTEGER PRIMARY KEY, title TEXT, attachment TEXT)")
    conn.commit()
    conn.close()
    server = AppServer(data, config_path=base / "datasette.yaml",
                       env=member_env("alice", "alice-password")).start()
    with server.login("alice", "alice-password") as alice:
        server.photo = api.upload(alice, "team", "harbour-photo.png", png("#2a7ab0"), "image/png")
        server.notes = api.upload(alice, "team", "meeting-notes.txt", b"notes", "text/plain")
        gone = api.upload(alice, "team", "old-draft.txt", b"draft", "text/plain")
        assert alice.post(f"/-/files/{gone['id']}/-/delete", json={}).status_code == 200
    server.trashed_id = gone["id"]
    rows = []
    for width in WIDTHS:
        rows += [(f"live-{width}", server.photo["id"]), (f"missing-{width}", MISSING),
                 (f"trashed-{width}", gone["id"])]
    conn = sqlite3.connect(data / "databases" / "data.db")
    conn.executemany("INSERT INTO attachments (title, attachment) VALUES (?, ?)", rows)
    conn.commit()
    conn.close()
    yield server
    server.stop()
    assert "Traceback" not in server.log(), server.log()[-5000:]


def attachment_of(server, title: str):
    conn = sqlite3.connect(server.data_dir / "databases" / "data.db")
    rows = conn.execute("SELECT attachment FROM attachments WHERE title = ?", [title]).fetchall()
    conn.close()
    return rows


def style(locator, *properties) -> dict:
    return locator.evaluate(
        "(node, names) => Object.fromEntries(names.map((n) => [n, getComputedStyle(node)[n]]))",
        list(properties))


# What :hover and :focus leave alone (they change the background, and for
# Datasette's ghost buttons the text colour), so comparisons need not wait for
# the pointer or the focus to settle.
BUTTON_LOOK = ("borderTopColor", "borderTopWidth", "borderTopStyle", "borderRadius",
               "fontSize", "paddingTop", "paddingLeft", "fontWeight", "fontFamily")
# Datasette's binary field buttons: white, #f8fafc when hovered or focused; a
# browser's default button is grey (ButtonFace).
DATASETTE_FIELD_BACKGROUNDS = {"rgb(255, 255, 255)", "rgb(248, 250, 252)"}


def assert_field_shows(page, name: str, width: int):
    """The dialog's file field: thumbnail, name, Change and Clear, no id box."""
    field = page.locator(".row-edit-dialog .dff-field")
    field.locator(f".dff-name:text-is('{name}')").wait_for()
    assert field.locator("img").count() == 1
    assert field.locator("input[name=attachment]").get_attribute("type") == "hidden"
    assert page.locator(".row-edit-dialog input[name=attachment]:visible").count() == 0
    change, clear = field.locator(".dff-change"), field.locator(".dff-clear")
    assert change.inner_text() == "Change" and clear.inner_text() == "Clear"
    assert change.is_visible() and clear.is_visible()
    # Datasette's own in-field button look (its binary field's classes), not
    # the browser's default grey button.
    assert "row-edit-binary-file-button" in change.get_attribute("class")
    assert "row-edit-binary-clear" in clear.get_attribute("class")
    look = style(change, *BUTTON_LOOK, "color", "backgroundColor")
    other = style(clear, *BUTTON_LOOK, "color", "backgroundColor")
    for button in (look, other):
        assert button["backgroundColor"] in DATASETTE_FIELD_BACKGROUNDS
        assert button["color"] == "rgb(26, 86, 219)"  # Datasette's modal --accent
        assert button.pop("backgroundColor") and button.pop("color")
    assert look == other
    assert look["borderRadius"] == "4px" and look["borderTopColor"] == "rgb(216, 230, 245)"
    # The field fits the dialog, at 375 px too.
    box = field.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width


def pick(page, name: str):
    """Choose ``name`` in the picker, checking it is a Datasette modal."""
    page.click(".row-edit-dialog .dff-change")
    picker = page.locator("datasette-modal dialog.dff-picker.datasette-modal[open]")
    picker.wait_for()
    for part in (".modal-header .modal-title", ".modal-body", ".modal-footer"):
        assert picker.locator(part).count() == 1
    cancel = picker.locator(".modal-footer .dff-close")
    assert "modal-btn-ghost" in cancel.get_attribute("class")
    # Looks exactly as the row dialog's own Cancel button.
    assert style(cancel, *BUTTON_LOOK) == style(page.locator(".row-edit-cancel"), *BUTTON_LOOK)
    upload = picker.locator(".dff-upload")
    assert "modal-btn" in upload.get_attribute("class") and upload.is_visible()
    assert picker.locator("input[type=file]").is_hidden()
    picker.locator(".dff-search").fill(name.split(".")[0])
    choice = picker.locator(f".dff-choice:has-text('{name}')")
    choice.wait_for()
    screenshot(page, "table-dialog-picker")
    choice.click()
    picker.wait_for(state="detached")


def assert_cells_marked(page, server, width: int):
    """Cells whose file is gone say so, each its own way, the id in the title."""
    missing = page.locator(f"tr:has(td:text-is('missing-{width}')) datasette-file")
    trashed = page.locator(f"tr:has(td:text-is('trashed-{width}')) datasette-file")
    live = page.locator(f"tr:has(td:text-is('live-{width}')) datasette-file")
    missing.locator(".dff-missing").wait_for()
    trashed.locator(".dff-trashed").wait_for()
    assert missing.inner_text() == "Missing file"
    assert MISSING in missing.locator(".dff-missing").get_attribute("title")
    assert trashed.inner_text() == "In the trash"
    assert server.trashed_id in trashed.locator(".dff-trashed").get_attribute("title")
    assert live.locator(".dff-name").inner_text() == "harbour-photo.png"
    # Visibly different from a file and from each other.
    looks = [style(cell.locator(".dff-absent"), "color", "borderTopStyle")
             for cell in (missing, trashed)]
    assert looks[0]["borderTopStyle"] == "dashed" and looks[0]["color"] != looks[1]["color"]
    # A member gets the edit-row control with the shipped config (update-row),
    # and no delete (delete-row is for admins).
    for kind in ("live", "missing", "trashed"):
        assert page.locator(f"tr:has(td:text-is('{kind}-{width}')) .row-inline-action-edit"
                            ).is_visible()
    assert page.locator(".row-inline-action-delete").count() == 0
    screenshot(page, "table-marked-cells")


def open_edit(page, title: str):
    page.locator(f"tr:has(td:text-is('{title}')) .row-inline-action-edit").click()
    page.locator(".row-edit-dialog .dff-field").wait_for()


def save(page):
    page.click(".row-edit-dialog .row-edit-save")
    page.locator("dialog.row-edit-dialog[open]").wait_for(state="hidden")


@pytest.mark.parametrize("width", WIDTHS)
def test_cells_mark_gone_files_and_the_edit_dialog_changes_and_clears(browser, server, width):
    context = browser.new_context(viewport={"width": width, "height": 900}, base_url=server.url)
    page = context.new_page()
    log_in(page)
    page.goto("/data/attachments")
    assert_cells_marked(page, server, width)

    open_edit(page, f"live-{width}")
    assert_field_shows(page, "harbour-photo.png", width)
    screenshot(page, "table-dialog-edit")
    pick(page, "meeting-notes.txt")
    # Focus is back on the field's Change button.
    assert page.locator(".row-edit-dialog .dff-change").evaluate(
        "node => node === document.activeElement")
    assert_field_shows(page, "meeting-notes.txt", width)
    save(page)
    assert attachment_of(server, f"live-{width}") == [(server.notes["id"],)]

    # A row pointing at a file in the trash says so in the dialog too; Clear
    # empties the column.
    open_edit(page, f"trashed-{width}")
    field = page.locator(".row-edit-dialog .dff-field")
    field.locator(".dff-trashed").wait_for()
    field.locator(".dff-clear").click()
    assert field.locator(".dff-empty").inner_text() == "No file"
    assert field.locator(".dff-change").inner_text() == "Choose file…"
    assert field.locator(".dff-clear").is_hidden()
    save(page)
    assert attachment_of(server, f"trashed-{width}") == [(None,)]
    context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_insert_dialog_chooses_a_file(browser, server, width):
    context = browser.new_context(viewport={"width": width, "height": 900}, base_url=server.url)
    page = context.new_page()
    log_in(page)
    page.goto("/data/attachments")
    page.click("button.table-insert-row")
    field = page.locator(".row-edit-dialog .dff-field")
    field.wait_for()
    assert field.locator(".dff-empty").inner_text() == "No file"
    assert field.locator(".dff-change").inner_text() == "Choose file…"
    assert field.locator(".dff-clear").is_hidden()
    title = f"inserted-{width}"
    page.fill(".row-edit-field input[name=title]", title)
    # Escape closes the picker only; focus goes back to the button that opened it.
    field.locator(".dff-change").click()
    picker = page.locator("dialog.dff-picker[open]")
    picker.locator(".dff-search").wait_for()
    page.keyboard.press("Escape")
    picker.wait_for(state="detached")
    assert page.locator("dialog.row-edit-dialog[open]").is_visible()
    assert field.locator(".dff-change").evaluate("node => node === document.activeElement")
    pick(page, "harbour-photo.png")
    assert_field_shows(page, "harbour-photo.png", width)
    screenshot(page, "table-dialog-insert")
    save(page)
    assert attachment_of(server, title) == [(server.photo["id"],)]
    context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_our_parts_of_the_table_page_pass_axe(browser, server, width):
    """axe-core on what we add to Datasette's table page: the file cells
    (a file, a missing one, one in the trash), the edit dialog's file field
    and the picker; no serious or critical violation."""
    context = browser.new_context(viewport={"width": width, "height": 900},
                                  base_url=server.url, bypass_csp=True)
    page = context.new_page()
    log_in(page)
    script = load_axe_script()
    page.goto("/data/attachments")
    page.locator("datasette-file .dff-missing").first.wait_for()
    found = {"cells": violations(page, script, ["datasette-file"])}
    open_edit(page, f"missing-{width}")
    page.wait_for_function("document.getAnimations().every((a) => a.playState !== 'running')")
    found["edit dialog"] = violations(page, script, ["dialog.row-edit-dialog"])
    page.click(".row-edit-dialog .dff-change")
    picker = page.locator("dialog.dff-picker[open]")
    picker.locator(".dff-choice").first.wait_for()
    # Once it has faded in: half-way, its colours are paler than they are.
    page.wait_for_function("document.getAnimations().every((a) => a.playState !== 'running')")
    found["picker"] = violations(page, script, ["dialog.dff-picker"])
    screenshot(page, "table-dialog-picker-axe")
    context.close()
    failures = {name: problems for name, problems in found.items() if problems}
    assert not failures, "\n".join(f"{name}:\n  " + "\n  ".join(problems)
                                   for name, problems in failures.items())
