"""Many files at once in a real browser: tick them with the mouse or the
keyboard, then move, delete (and undo) or download them in one go."""

from __future__ import annotations

import io
import zipfile

import pytest
import yaml

from support import api
from support.browser import log_in, screenshot
from support.server import REPO_ROOT, AppServer, member_env

WIDTHS = [1280, 375]
NAMES = ["alpha.txt", "bravo.txt", "charlie.txt", "delta.txt", "echo.txt", "foxtrot.txt"]


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    """The preset config with two members: alice's files are hers to delete and
    move, bob's are not (owners_can_delete, owners_can_edit)."""
    directory = tmp_path_factory.mktemp("bulk")
    config = yaml.safe_load((REPO_ROOT / "config" / "datasette.yaml").read_text())
    (directory / "datasette.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    server = AppServer(directory / "data", config_path=directory / "datasette.yaml",
                       env={**member_env("alice", "alice-password"),
                            **member_env("bob", "bob-password")}).start()
    yield server
    server.stop()


@pytest.fixture
def alice(app_server):
    with app_server.login("alice", "alice-password") as client:
        yield client


def folder_of_files(client, folder: str, names=NAMES, source="team") -> dict[str, dict]:
    """A new folder holding a small text file per name, by name."""
    parent, _, name = folder.rpartition("/")
    made = client.post(f"/-/files/folders/{source}/-/create", json={"folder": parent, "name": name})
    assert made.status_code == 201, made.text
    return {n: api.upload(client, source, n, f"content of {n}".encode(), "text/plain",
                          folder=folder) for n in names}


def listed(client, folder: str, source="team") -> list[str]:
    response = client.get(f"/-/files/source/{source}.json", params={"folder": folder, "_size": 200})
    assert response.status_code == 200, response.text
    return sorted(f["filename"] for f in response.json()["files"])


def open_folder(page, folder: str, source="team"):
    page.goto(f"/-/files/source/{source}?folder={folder}&sort=name&order=asc")
    page.locator("[data-bulk]").wait_for()


def box(page, name: str):
    return page.get_by_role("checkbox", name=f"Select {name}", exact=True)


def ticked(page) -> list[str]:
    return page.eval_on_selector_all(
        "[data-file-id]:has(input[data-select]:checked)", "cards => cards.map(c => c.dataset.filename)")


def count_text(page) -> str:
    return page.inner_text("[data-bulk] [data-count]").strip()


def no_overflow(page):
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, overflow


@pytest.mark.parametrize("width", WIDTHS)
def test_select_with_the_mouse(page_factory, alice, width):
    folder_of_files(alice, f"Mouse {width}")
    page = page_factory(width)
    log_in(page)
    open_folder(page, f"Mouse {width}")
    assert count_text(page) == ""
    assert not page.get_by_role("group", name="Selected files").is_visible()
    # A finger-sized target around each checkbox, at every width.
    target = page.locator(".df-select").first.bounding_box()
    assert target["width"] >= 44 and target["height"] >= 44, target

    box(page, "bravo.txt").click()
    assert ticked(page) == ["bravo.txt"]
    assert count_text(page) == "1 file selected"
    # Shift+click: the range from the last one ticked.
    box(page, "echo.txt").click(modifiers=["Shift"])
    assert ticked(page) == ["bravo.txt", "charlie.txt", "delta.txt", "echo.txt"]
    assert count_text(page) == "4 files selected"
    select_all = page.get_by_role("checkbox", name="Select all")
    assert select_all.evaluate("b => b.indeterminate")
    actions = page.get_by_role("group", name="Selected files")
    assert actions.is_visible()
    # The bar's four buttons in one row, each tall enough to tap.
    tops = {round(b.bounding_box()["y"]) for b in actions.get_by_role("button").all()}
    assert len(tops) == 1, tops
    assert all(b.bounding_box()["height"] >= 36 for b in actions.get_by_role("button").all())
    no_overflow(page)
    screenshot(page, "bulk-selected-range")
    # The bar stays in view while the page scrolls (a phone's long grid).
    page.mouse.wheel(0, 2000)
    page.wait_for_timeout(200)
    assert page.evaluate(
        "document.querySelector('[data-bulk]').getBoundingClientRect().top") >= -1
    screenshot(page, "bulk-selected-scrolled")
    page.mouse.wheel(0, -4000)

    # Shift+click on a ticked one unticks the range from the last one clicked.
    box(page, "charlie.txt").click(modifiers=["Shift"])
    assert ticked(page) == ["bravo.txt"]

    select_all.click()
    assert ticked(page) == NAMES
    assert count_text(page) == "6 files selected"
    assert select_all.is_checked()
    select_all.click()
    assert ticked(page) == []

    box(page, "alpha.txt").click()
    actions.get_by_role("button", name="Clear").click()
    assert ticked(page) == [] and count_text(page) == ""
    assert not actions.is_visible()
    # A member may move and delete (their own files): the bar offers both.
    box(page, "alpha.txt").click()
    assert [b.strip() for b in actions.get_by_role("button").all_inner_texts()] == [
        "Download", "Move…", "Delete", "Clear"]


@pytest.mark.parametrize("width", WIDTHS)
def test_select_with_the_keyboard(page_factory, alice, width):
    folder_of_files(alice, f"Keys {width}")
    page = page_factory(width)
    log_in(page)
    open_folder(page, f"Keys {width}")
    box(page, "alpha.txt").focus()
    page.keyboard.press("Space")
    assert ticked(page) == ["alpha.txt"]
    assert count_text(page) == "1 file selected"
    # Arrows move between the checkboxes without ticking; Shift+arrow extends.
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.value") == box(page, "bravo.txt").get_attribute("value")
    assert ticked(page) == ["alpha.txt"]
    page.keyboard.press("Shift+ArrowRight")
    assert ticked(page) == ["alpha.txt", "bravo.txt", "charlie.txt"]
    # Down a row: the grid's next row, as laid out at this width.
    page.keyboard.press("ArrowDown")
    focused = page.evaluate("document.activeElement.closest('[data-file-id]').dataset.filename")
    columns = 2 if width == 375 else None
    if columns:
        assert focused == "echo.txt"
    assert ticked(page) == ["alpha.txt", "bravo.txt", "charlie.txt"]
    # Shift+Space: from the anchor (alpha) to here.
    page.keyboard.press("Shift+Space")
    assert ticked(page) == NAMES[:NAMES.index(focused) + 1]
    screenshot(page, "bulk-keyboard")
    page.keyboard.press("Escape")
    assert ticked(page) == []
    assert count_text(page) == ""
    page.keyboard.press("Control+a")
    assert ticked(page) == NAMES
    page.keyboard.press("Escape")
    assert ticked(page) == []
    # Tab goes from a file's checkbox to its link.
    box(page, "delta.txt").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.classList.contains('df-card-link')")


def test_without_javascript_the_page_is_as_before(page_factory, alice):
    folder_of_files(alice, "No script", names=["one.txt"])
    page = page_factory(javascript=False)
    log_in(page)
    page.goto("/-/files/source/team?folder=No+script")
    assert page.locator(".df-card .df-name").all_inner_texts() == ["one.txt"]
    assert not page.locator("[data-bulk]").is_visible()
    assert not page.locator("input[data-select]").is_visible()


@pytest.fixture
def bob(app_server):
    with app_server.login("bob", "bob-password") as client:
        yield client


@pytest.mark.parametrize("width", WIDTHS)
def test_bulk_delete_then_undo_them_all(page_factory, alice, bob, width):
    folder = f"Delete {width}"
    files = folder_of_files(alice, folder)
    # Bob's file in the same folder: alice (a member) may not delete it.
    theirs = api.upload(bob, "team", "bobs-notes.txt", b"bob's", "text/plain", folder=folder)
    page = page_factory(width)
    log_in(page)
    open_folder(page, folder)
    page.get_by_role("checkbox", name="Select all").click()
    assert count_text(page) == "7 files selected"
    page.get_by_role("group", name="Selected files").get_by_role("button", name="Delete").click()
    status = page.get_by_role("status").filter(has_text="moved to the trash")
    status.wait_for()
    text = status.inner_text()
    assert "6 files moved to the trash" in text
    assert "Not deleted: “bobs-notes.txt”" in text, text
    # The deleted cards are gone; the refused one stays, still ticked.
    assert page.locator(".df-card[data-file-id] .df-name").all_inner_texts() == ["bobs-notes.txt"]
    assert count_text(page) == "1 file selected"
    assert listed(alice, folder) == ["bobs-notes.txt"]
    no_overflow(page)
    screenshot(page, "bulk-deleted-undo")

    status.get_by_role("button", name="Undo").click()
    page.get_by_role("status").filter(has_text="Restored 6 files").wait_for()
    assert sorted(page.locator(".df-card .df-name").all_inner_texts()) == sorted(
        NAMES + ["bobs-notes.txt"])
    assert listed(alice, folder) == sorted(NAMES + ["bobs-notes.txt"])
    restored = alice.get(files["alpha.txt"]["url"] + ".json").json()
    assert restored["id"] == files["alpha.txt"]["id"] and restored["folder"] == folder
    assert theirs["id"] in page.content()


@pytest.mark.parametrize("width", WIDTHS)
def test_bulk_move_into_a_folder_with_a_name_taken(page_factory, alice, bob, width):
    folder = f"Move {width}"
    folder_of_files(alice, folder, names=NAMES[:4])
    folder_of_files(alice, f"{folder}/Into", names=["alpha.txt"])  # in the way
    api.upload(bob, "team", "bobs-plan.txt", b"bob's plan", "text/plain", folder=folder)
    page = page_factory(width)
    log_in(page)
    open_folder(page, folder)
    box(page, "alpha.txt").click()
    box(page, "charlie.txt").click(modifiers=["Shift"])  # bob's file among them
    assert ticked(page) == ["alpha.txt", "bobs-plan.txt", "bravo.txt", "charlie.txt"]
    page.get_by_role("group", name="Selected files").get_by_role("button", name="Move…").click()
    dialog = page.get_by_role("dialog", name="Move files")
    assert "Moving 4 files" in dialog.inner_text()
    dialog.get_by_role("button", name="Into").click()
    dialog.get_by_text(f"team / {folder} / Into").wait_for()
    screenshot(page, "bulk-move-dialog")
    dialog.get_by_role("button", name="Move here").click()
    # Bravo and charlie moved; alpha's name is taken there: Keep both.
    alert = dialog.get_by_role("alert").filter(has_text="already there")
    alert.wait_for()
    assert "“alpha.txt”" in alert.inner_text()
    no_overflow(page)
    screenshot(page, "bulk-move-conflict")
    dialog.get_by_role("button", name="Keep both").click()
    message = page.get_by_role("status").filter(has_text="Moved 3 files")
    message.wait_for()
    assert f"to team / {folder} / Into" in message.inner_text()
    assert "Not moved: “bobs-plan.txt”" in message.inner_text()
    screenshot(page, "bulk-moved")
    assert listed(alice, f"{folder}/Into") == [
        "alpha (1).txt", "alpha.txt", "bravo.txt", "charlie.txt"]
    assert listed(alice, folder) == ["bobs-plan.txt", "delta.txt"]
    assert page.locator(".df-card[data-file-id] .df-name").all_inner_texts() == [
        "bobs-plan.txt", "delta.txt"]


@pytest.mark.parametrize("width", WIDTHS)
def test_download_the_selection_as_one_zip(page_factory, alice, width):
    folder = f"Zip {width}"
    files = folder_of_files(alice, folder)
    page = page_factory(width)
    log_in(page)
    open_folder(page, folder)
    chosen = ["bravo.txt", "delta.txt", "foxtrot.txt"]
    for name in chosen:
        box(page, name).click()
    with page.expect_download() as waiting:
        page.get_by_role("group", name="Selected files").get_by_role("button", name="Download").click()
    download = waiting.value
    assert download.suggested_filename.endswith(".zip")
    archive = zipfile.ZipFile(io.BytesIO(open(download.path(), "rb").read()))
    assert sorted(archive.namelist()) == chosen
    for name in chosen:
        assert archive.read(name) == alice.get(files[name]["download_url"]).content
    # The page stays as it was, the selection too.
    assert ticked(page) == chosen
    screenshot(page, "bulk-downloaded")


# A folder drop, as Chrome gives it: one item per dropped folder, whose
# webkitGetAsEntry() is a directory entry to walk. A page's DataTransfer holds
# only files, so the test stands in for the entries (a directory's entries come
# two at a time, as readEntries gives them in parts).
EMULATE_FOLDER_DROP = """([tree, fill]) => {
    const make = (name, node) => {
        if (typeof node === "number") {
            const file = new File([new Uint8Array(node).fill(fill)], name,
                                  {type: name.endsWith(".txt") ? "text/plain" : ""});
            return {isFile: true, isDirectory: false, name, file: (ok) => ok(file)};
        }
        const children = Object.entries(node).map(([n, child]) => make(n, child));
        return {isFile: false, isDirectory: true, name, createReader() {
            let at = 0;
            return {readEntries(ok) { ok(children.slice(at, at += 2)); }};
        }};
    };
    const roots = new Map(Object.entries(tree).map(([n, node]) => [n, make(n, node)]));
    DataTransferItem.prototype.webkitGetAsEntry = function () {
        return roots.get(this.getAsFile().name) || null;
    };
    const dt = new DataTransfer();
    for (const name of roots.keys()) dt.items.add(new File([], name));
    return dt;
}"""

SMALL = 16 * 1024
BIG = 1200 * 1024  # over the batch limit for one file: it goes alone
TREE = {"Trip": {
    "notes.txt": 300,
    "photos": {f"img-{i:02}.jpg": SMALL for i in range(24)},
    "day 2": {"map.bin": BIG, "hill.txt": 500},
    "empty": {},
}}


def folder_listing(client, folder: str) -> tuple[list[str], list[str]]:
    """(folder names, file names) in a folder of team."""
    body = client.get("/-/files/source/team.json", params={"folder": folder, "_size": 200}).json()
    return (sorted(f["name"] for f in body["folders"]), sorted(f["filename"] for f in body["files"]))


def watch_batch_status(page):
    page.evaluate("""() => {
        window.__batchStatus = [];
        new MutationObserver(() => {
            const status = document.querySelector("[data-batch-status]");
            if (status && window.__batchStatus.at(-1) !== status.textContent)
                window.__batchStatus.push(status.textContent);
        }).observe(document.querySelector("[data-queue]"),
                   {subtree: true, childList: true, characterData: true});
    }""")


@pytest.mark.parametrize("width", WIDTHS)
def test_drop_a_folder_tree_and_find_it_recreated(page_factory, alice, width):
    base = f"Drop {width}"
    assert alice.post("/-/files/folders/team/-/create", json={"name": base}).status_code == 201
    page = page_factory(width)
    log_in(page)
    page.goto(f"/-/files/source/team?folder={base}")
    batches = []
    page.on("request", lambda r: batches.append(r) if r.url.endswith("/-/batch") else None)
    watch_batch_status(page)
    # A slow link, so the progress has time to be seen (loopback is instant).
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 400_000})
    transfer = page.evaluate_handle(EMULATE_FOLDER_DROP, [TREE, 7])
    for event in ("dragenter", "dragover", "drop"):
        page.dispatch_event("[data-drop-zone]", event, {"dataTransfer": transfer})
    summary = page.locator(".df-batch")
    summary.wait_for()
    assert "Folder Trip (27 files" in summary.inner_text()
    page.wait_for_selector(".df-batch.df-done", timeout=60_000)
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    assert "27 of 27 files uploaded." in summary.inner_text()
    seen = page.evaluate("window.__batchStatus")
    assert any(" of 27 files · " in s and " MB/s · " in s and " left" in s for s in seen), seen
    no_overflow(page)
    screenshot(page, "bulk-folder-dropped")
    # 26 small files in batches (a hundred or 4 MiB a request), the large one alone.
    assert 1 <= len(batches) <= 2, len(batches)
    assert listed(alice, f"{base}/Trip/day 2") == ["hill.txt", "map.bin"]

    # The tree, on the pages.
    summary.get_by_role("link", name="Open Trip").click()
    page.wait_for_selector(".df-grid")
    assert sorted(page.locator(".df-folder-card .df-name").all_inner_texts()) == [
        "day 2", "empty", "photos"]
    assert page.locator(".df-card[data-file-id] .df-name").all_inner_texts() == ["notes.txt"]
    screenshot(page, "bulk-folder-recreated")
    page.locator(".df-folder-card a", has_text="photos").click()
    page.wait_for_selector(".df-card[data-file-id]")
    assert page.inner_text(".df-heading .df-subtle").startswith("24 files")
    assert folder_listing(alice, f"{base}/Trip") == (["day 2", "empty", "photos"], ["notes.txt"])
    photos = alice.get("/-/files/source/team.json",
                       params={"folder": f"{base}/Trip/photos", "_size": 200}).json()["files"]
    assert {f["size"] for f in photos} == {SMALL}
    assert alice.get(photos[0]["download_url"]).content == bytes([7]) * SMALL


@pytest.mark.parametrize("width", WIDTHS)
def test_choose_a_folder_with_a_name_taken(page_factory, alice, tmp_path, width):
    album = tmp_path / "Album"
    (album / "sub").mkdir(parents=True)
    for name, text in [("a.txt", "new a"), ("sub/b.txt", "b"), ("sub/c.txt", "c")]:
        (album / name).write_text(text)
    base = f"Chosen {width}"
    folder_of_files(alice, base, names=[])
    folder_of_files(alice, f"{base}/Album", names=["a.txt"])  # in the way
    page = page_factory(width)
    log_in(page)
    page.goto(f"/-/files/source/team?folder={base}")
    page.set_input_files("[data-folder-input]", album)
    dialog = page.locator("dialog[open]")
    dialog.wait_for()
    assert "Album/a.txt" in dialog.inner_text()
    screenshot(page, "bulk-folder-conflict")
    dialog.get_by_role("button", name="Keep both").click()
    page.wait_for_selector(".df-batch.df-done")
    assert "3 of 3 files uploaded." in page.inner_text(".df-batch")
    assert folder_listing(alice, f"{base}/Album") == (["sub"], ["a (1).txt", "a.txt"])
    assert folder_listing(alice, f"{base}/Album/sub") == ([], ["b.txt", "c.txt"])
    screenshot(page, "bulk-folder-chosen")


@pytest.mark.parametrize("width", WIDTHS)
def test_select_search_results_and_delete_them(page_factory, alice, width):
    word = f"quokka{width}"
    names = [f"{word}-{i}.txt" for i in range(3)]
    folder_of_files(alice, f"Search {width}", names=names)
    page = page_factory(width)
    log_in(page)
    page.goto(f"/-/files/search?q={word}")
    page.locator("[data-bulk]").wait_for()
    page.get_by_role("checkbox", name="Select all").click()
    assert count_text(page) == "3 files selected"
    no_overflow(page)
    screenshot(page, "bulk-search-selected")
    page.keyboard.press("Escape")
    assert count_text(page) == ""
    box(page, names[0]).click()
    box(page, names[2]).click(modifiers=["Shift"])
    page.get_by_role("group", name="Selected files").get_by_role("button", name="Delete").click()
    page.get_by_role("status").filter(has_text="3 files moved to the trash").wait_for()
    assert page.locator(".df-result").count() == 0
    assert listed(alice, f"Search {width}") == []
    screenshot(page, "bulk-search-deleted")


def test_cancel_a_folder_upload(page_factory, alice):
    base = "Cancelled"
    assert alice.post("/-/files/folders/team/-/create", json={"name": base}).status_code == 201
    page = page_factory()
    log_in(page)
    page.goto(f"/-/files/source/team?folder={base}")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 200_000})
    tree = {"Big": {f"part-{i:03}.bin": SMALL for i in range(250)}}  # three batches
    transfer = page.evaluate_handle(EMULATE_FOLDER_DROP, [tree, 1])
    for event in ("dragenter", "dragover", "drop"):
        page.dispatch_event("[data-drop-zone]", event, {"dataTransfer": transfer})
    summary = page.locator(".df-batch")
    page.wait_for_function(
        "(document.querySelector('[data-batch-status]') || {}).textContent?.includes('MB/s')")
    summary.get_by_role("button", name="Cancel").click()
    page.wait_for_selector(".df-batch.df-error", timeout=30_000)
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    text = summary.inner_text()
    assert "Cancelled after " in text and " of 250 files." in text, text
    uploaded = int(text.split("Cancelled after ")[1].split(" of ")[0])
    assert uploaded < 250
    # The server keeps each file of a cut-off batch whose bytes had all arrived.
    _, files = folder_listing(alice, f"{base}/Big")
    assert uploaded <= len(files) < 250
    assert "may have arrived too" in text
    assert summary.get_by_role("button", name="Cancel").count() == 0
    screenshot(page, "bulk-folder-cancelled")


def test_a_refused_download_is_said_on_the_page(page_factory, alice):
    folder = "Zip refused"
    files = folder_of_files(alice, folder, names=["kept.txt", "gone.txt"])
    page = page_factory()
    log_in(page)
    open_folder(page, folder)
    page.get_by_role("checkbox", name="Select all").click()
    # Deleted elsewhere meanwhile: the zip of the selection is refused as a whole.
    assert alice.post(f"/-/files/{files['gone.txt']['id']}/-/delete", json={}).status_code == 200
    page.get_by_role("group", name="Selected files").get_by_role("button", name="Download").click()
    message = page.get_by_role("status").filter(has_text="Could not download them")
    message.wait_for()
    assert "There is no file “gone.txt” here" in message.inner_text()
    assert page.url.endswith("sort=name&order=asc")  # still the folder's page
    screenshot(page, "bulk-download-refused")


@pytest.mark.parametrize("width", WIDTHS)
def test_download_a_whole_folder_as_one_zip(page_factory, alice, width):
    folder = f"Whole {width}"
    folder_of_files(alice, folder, names=["top.txt"])
    folder_of_files(alice, f"{folder}/Inner", names=["deep.txt"])
    page = page_factory(width)
    log_in(page)
    open_folder(page, folder)
    no_overflow(page)
    screenshot(page, "bulk-folder-zip-link")
    with page.expect_download() as waiting:
        page.get_by_role("link", name="Download folder (zip)").click()
    archive = zipfile.ZipFile(io.BytesIO(open(waiting.value.path(), "rb").read()))
    assert sorted(n for n in archive.namelist() if not n.endswith("/")) == ["Inner/deep.txt", "top.txt"]
    assert archive.read("Inner/deep.txt") == b"content of deep.txt"
