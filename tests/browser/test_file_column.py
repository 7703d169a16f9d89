"""The `file` column in a table page, and the picker in the insert-row dialog."""

from __future__ import annotations

import sqlite3

import pytest
import yaml

from support import api
from support.browser import screenshot
from support.server import REPO_ROOT, AppServer, member_env

MISSING = "df-01aaaaaaaaaaaaaaaaaaaaaaaa"


@pytest.fixture(scope="module")
def table_server(tmp_path_factory):
    """The app with an `attachments` table whose `attachment` column is a file,
    and an archive source that only admins may browse."""
    base = tmp_path_factory.mktemp("column")
    config = yaml.safe_load((REPO_ROOT / "config" / "datasette.yaml").read_text())
    config["databases"] = {"data": {"tables": {"attachments": {
        "column_types": {"attachment": "file"}}}}}
    config["permissions"]["files-browse"] = {
        "team": {"allow": {"roles": ["admin", "member"]}},
        "archive": {"allow": {"roles": "admin"}}}
    path = base / "datasette.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    data = base / "data"
    (data / "databases").mkdir(parents=True)
    conn = sqlite3.connect(data / "databases" / "data.db")
    conn.execute("CREATE TABLE attachments (id INTEGER PRIMARY KEY, title TEXT, attachment TEXT)")
    conn.commit()
    conn.close()
    server = AppServer(data, config_path=path,
                       env=member_env("alice", "alice-password")).start()
    with server.login("alice", "alice-password") as alice:
        team = [api.upload(alice, "team", f"team-{n}.txt", b"t", "text/plain")
                for n in range(3)]
    with server.login("admin", server.generated_admin_password()) as admin:
        hidden = api.upload(admin, "archive", "board-only.txt", b"h", "text/plain")
    ids = [team[n % 3]["id"] for n in range(98)] + [MISSING, hidden["id"]]
    conn = sqlite3.connect(data / "databases" / "data.db")
    conn.executemany("INSERT INTO attachments (title, attachment) VALUES (?, ?)",
                     [(f"row {n}", file_id) for n, file_id in enumerate(ids)])
    conn.commit()
    conn.close()
    server.hidden_id = hidden["id"]
    yield server
    server.stop()


def log_in(page, server):
    page.goto(server.url + "/-/login")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "alice-password")
    page.click("input[type=submit]")
    page.wait_for_url("**/")


@pytest.mark.parametrize("width", [1280, 375])
def test_a_hundred_file_cells_make_one_batch_request(browser, table_server, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    log_in(page, table_server)
    batch_requests = []
    page.on("request", lambda r: "/-/files/batch.json" in r.url and batch_requests.append(r.url))
    page.goto(table_server.url + "/data/attachments?_size=100")
    page.wait_for_function("document.querySelectorAll('datasette-file .dff').length === 98")
    page.wait_for_load_state("networkidle")
    assert len(batch_requests) == 1
    cells = page.locator("datasette-file")
    assert cells.count() == 100
    # Missing and not-browsable ids are marked alike ("Missing file", the id in
    # the title), with no name or thumbnail: the viewer cannot tell them apart.
    for file_id in (MISSING, table_server.hidden_id):
        cell = page.locator(f'datasette-file[file-id="{file_id}"]')
        assert cell.inner_text() == "Missing file"
        assert file_id in cell.locator(".dff-missing").get_attribute("title")
        assert cell.locator("img, a").count() == 0
    assert "board-only.txt" not in page.content()
    assert page.locator("datasette-file .dff-name").first.inner_text().startswith("team-")
    screenshot(page, "table-file-column")
    context.close()


@pytest.mark.parametrize("width", [1280, 375])
def test_the_picker_fills_a_file_column_in_the_insert_dialog(browser, table_server, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    log_in(page, table_server)
    page.goto(table_server.url + "/data/attachments")
    page.click("button.table-insert-row")
    page.wait_for_selector(".dff-change")
    title = f"Picked in the dialog at {width} px"
    page.fill(".row-edit-field input[name=title]", title)
    page.click(".dff-change")
    page.wait_for_selector("dialog.dff-picker .dff-choice")
    page.fill("dialog.dff-picker .dff-search", "team-2")
    page.wait_for_selector("dialog.dff-picker .dff-choice:has-text('team-2.txt')")
    screenshot(page, "file-picker")
    page.click("dialog.dff-picker .dff-choice:has-text('team-2.txt')")
    page.wait_for_selector(".dff-field datasette-file .dff-name:has-text('team-2.txt')")
    chosen = page.input_value(".row-edit-field input[name=attachment]")
    assert chosen.startswith("df-")
    page.click(".row-edit-save")
    page.wait_for_timeout(1000)
    conn = sqlite3.connect(table_server.data_dir / "databases" / "data.db")
    rows = conn.execute("SELECT attachment FROM attachments WHERE title = ?",
                        [title]).fetchall()
    conn.close()
    assert rows == [(chosen,)]
    context.close()
