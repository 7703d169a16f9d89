"""The list view in a real browser: the Grid | List toggle, sorting by each
column header, the choice kept for the user (a reload, another browser),
ticking rows and the bulk bar, times in the reader's zone, and a phone's
one line per file."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
import yaml

from support import api
from support.browser import log_in, screenshot
from support.server import REPO_ROOT, AppServer, member_env

FOLDER = "Forty"
ZONE = "Asia/Kolkata"  # +05:30 all year: a local clock differs from UTC's minutes too
TYPES = [("txt", "text/plain"), ("csv", "text/csv"), ("json", "application/json"),
         ("md", "text/markdown")]


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    """The preset config with two members, alice and bob."""
    directory = tmp_path_factory.mktemp("list-view")
    config = yaml.safe_load((REPO_ROOT / "config" / "datasette.yaml").read_text())
    (directory / "datasette.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    server = AppServer(directory / "data", config_path=directory / "datasette.yaml",
                       env={**member_env("alice", "alice-password"),
                            **member_env("bob", "bob-password")}).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def forty(app_server) -> list[dict]:
    """A folder of 40 files: 36 of alice's (one request), 4 of bob's, with
    sizes, types and names that each sort differently."""
    with app_server.login("alice", "alice-password") as alice, \
            app_server.login("bob", "bob-password") as bob:
        made = alice.post("/-/files/folders/team/-/create", json={"folder": "", "name": FOLDER})
        assert made.status_code == 201, made.text
        files = []
        for client, numbers in ((alice, range(36)), (bob, range(36, 40))):
            batch = [(f"{'report' if n % 2 else 'Notes'}-{(n * 7) % 40:02d}.{TYPES[n % 4][0]}",
                      b"x" * ((n * 37) % 41 * 100 + 1)) for n in numbers]
            response = api.batch(client, "team", batch, folder=FOLDER)
            assert response.status_code == 200, response.text
            files += [result["file"] for result in response.json()["results"]]
    return files


def context(browser, app_server, width: int):
    return browser.new_context(viewport={"width": width, "height": 900},
                               base_url=app_server.url, timezone_id=ZONE, locale="en-US")


def open_folder(page, **params):
    query = "&".join(f"{k}={v}" for k, v in {"folder": FOLDER, **params}.items())
    page.goto(f"/-/files/source/team?{query}")


def row_names(page) -> list[str]:
    return page.eval_on_selector_all("tr.df-list-file", "rows => rows.map(r => r.dataset.filename)")


def expected(files: list[dict], column: str, descending: bool) -> list[str]:
    """The folder's names in the order a column sorts them (ties by upload order)."""
    value = {"name": lambda f: f["filename"].lower(), "size": lambda f: f["size"],
             "type": lambda f: f["content_type"],
             "uploader": lambda f: f["uploaded_by"]}[column]
    # Each file's place in the upload order breaks ties, as seq does.
    order = {f["id"]: n for n, f in enumerate(files)}
    ranked = sorted(files, key=lambda f: (value(f), order[f["id"]]), reverse=descending)
    return [f["filename"] for f in ranked]


def sort_state(page) -> dict[str, str]:
    return page.eval_on_selector_all(
        "table.df-list th[aria-sort]", "ths => Object.fromEntries(ths.map(th => "
        "[th.className.replace('df-col-', ''), th.getAttribute('aria-sort')]))")


def no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


def test_toggle_sort_and_remember_the_list_at_1280(browser, app_server, forty):
    ctx = context(browser, app_server, 1280)
    page = ctx.new_page()
    log_in(page)
    open_folder(page)
    assert page.locator("ul.df-grid").is_visible() and not page.locator("table.df-list").count()
    # A card reads its day, its local time and who uploaded it.
    meta = page.locator("li.df-card", has_text="Notes-00.txt").locator(".df-meta").inner_text()
    assert meta.startswith("1 Byte · alice\n") and "UTC" not in meta, meta
    screenshot(page, "list-grid")

    page.get_by_role("group", name="View").get_by_role("link", name="List").click()
    page.wait_for_url("**view=list**")
    page.locator("table.df-list").wait_for()
    assert len(row_names(page)) == 40
    # Times in the reader's zone: the UTC instant of <time datetime>, at +05:30.
    first = page.locator("tr.df-list-file time").first
    instant = datetime.datetime.fromisoformat(first.get_attribute("datetime").replace("Z", "+00:00"))
    local = instant.astimezone(ZoneInfo(ZONE))
    assert first.locator(".df-clock").inner_text() == local.strftime("%H:%M")
    assert first.locator(".df-day").inner_text() == f"{local:%b} {local.day}, {local.year}"
    screenshot(page, "list-list")

    # Each column: a click sorts by it (its own way first), a second reverses it.
    for column, first_way in [("name", "ascending"), ("size", "descending"),
                              ("modified", "descending"), ("type", "ascending"),
                              ("uploader", "ascending")]:
        for way in (first_way, "descending" if first_way == "ascending" else "ascending"):
            page.locator(f"th.df-col-{column} a").click()
            page.wait_for_url(f"**sort={column}**")
            assert sort_state(page) == {column: way}, (column, way)
            assert "view=list" in page.url
            if column == "modified":  # an mtime, once seen, is finer than the registration
                times = page.eval_on_selector_all(
                    "tr.df-list-file time", "ts => ts.map(t => t.dateTime)")
                assert times == sorted(times, reverse=way == "descending")
                assert sorted(row_names(page)) == sorted(f["filename"] for f in forty)
            else:
                assert row_names(page) == expected(forty, column, way == "descending"), \
                    (column, way)
    page.locator("th.df-col-size a").click()  # biggest first
    page.wait_for_url("**sort=size&order=desc**")
    screenshot(page, "list-sorted")

    # The choice is the user's: a reload of the bare URL, and another browser.
    open_folder(page)
    assert page.locator("table.df-list").is_visible()
    page.reload()
    assert page.locator("table.df-list").is_visible()
    elsewhere = context(browser, app_server, 1280)
    other = elsewhere.new_page()
    log_in(other)
    open_folder(other)
    assert other.locator("table.df-list").is_visible()
    # Bob has chosen nothing: his is the grid.
    bobs = context(browser, app_server, 1280)
    bob = bobs.new_page()
    log_in(bob, "bob", "bob-password")
    open_folder(bob)
    assert bob.locator("ul.df-grid").is_visible()
    # Back to the grid, from the other browser, and it sticks there too.
    other.get_by_role("group", name="View").get_by_role("link", name="Grid").click()
    other.locator("ul.df-grid").wait_for()
    open_folder(page)
    assert page.locator("ul.df-grid").is_visible()
    for c in (ctx, elsewhere, bobs):
        c.close()


def test_select_rows_and_delete_them_in_the_list(browser, app_server, forty):
    ctx = context(browser, app_server, 1280)
    page = ctx.new_page()
    log_in(page)
    open_folder(page, sort="name", order="asc", view="list")
    names = row_names(page)
    box = lambda name: page.get_by_role("checkbox", name=f"Select {name}", exact=True)  # noqa: E731
    box(names[1]).click()
    box(names[3]).click(modifiers=["Shift"])
    assert page.inner_text("[data-bulk] [data-count]").strip() == "3 files selected"
    assert page.locator("tr.df-selected").count() == 3
    # The keyboard: Down moves to the next row's box, Shift+Down extends.
    box(names[3]).focus()
    page.keyboard.press("Shift+ArrowDown")
    assert page.inner_text("[data-bulk] [data-count]").strip() == "4 files selected"
    page.keyboard.press("Escape")
    assert page.locator("tr.df-selected").count() == 0
    # Alice's own files: deleted from the list at once, with Undo offered.
    box(names[0]).click()
    box(names[1]).click()
    page.get_by_role("group", name="Selected files").get_by_role("button", name="Delete").click()
    page.get_by_role("button", name="Undo").wait_for()
    assert row_names(page) == names[2:]
    page.get_by_role("button", name="Undo").click()
    page.wait_for_function("document.querySelectorAll('tr.df-list-file').length === 40")
    # A folder's row has the menu its card has (organise.js): open, whole, closed.
    page.goto("/-/files/source/team?view=list")
    page.get_by_role("button", name=f"Actions for {FOLDER}").click()
    menu = page.get_by_role("menu")
    assert menu.get_by_role("menuitem", name="Rename").is_visible()
    box_ = menu.bounding_box()
    assert box_["x"] >= 0 and box_["x"] + box_["width"] <= 1280 and box_["height"] > 60, box_
    page.keyboard.press("Escape")
    assert not menu.is_visible()
    ctx.close()


def test_a_phone_shows_one_line_per_file(browser, app_server, forty):
    ctx = context(browser, app_server, 375)
    page = ctx.new_page()
    log_in(page)
    open_folder(page, view="grid")
    grid_height = page.evaluate("document.documentElement.scrollHeight")
    no_sideways_scroll(page)
    screenshot(page, "list-grid")
    open_folder(page, view="list")
    list_height = page.evaluate("document.documentElement.scrollHeight")
    no_sideways_scroll(page)
    # Name, size and day only; each row one line high.
    visible = page.eval_on_selector_all(
        "table.df-list thead th", "ths => ths.filter(th => th.offsetParent && "
        "getComputedStyle(th).display !== 'none').map(th => th.className)")
    assert visible == ["df-list-check", "df-col-name", "df-col-size", "df-col-modified"], visible
    # The name keeps the most room (its icon beside it).
    widths = page.eval_on_selector_all("table.df-list thead th", "ths => ths.map(th => th.offsetWidth)")
    assert widths[1] >= 120 and widths[1] == max(widths), widths
    heights = page.eval_on_selector_all("tr.df-list-file", "rows => rows.map(r => r.offsetHeight)")
    assert len(heights) == 40 and max(heights) <= 48, heights
    assert not page.locator("tr.df-list-file .df-clock").first.is_visible()
    screenshot(page, "list-list")
    page.locator("th.df-col-size a").click()
    page.wait_for_url("**sort=size**")
    assert sort_state(page) == {"size": "descending"}
    no_sideways_scroll(page)
    screenshot(page, "list-sorted")
    print(f"\n375 px, 40 files: grid {grid_height} px, list {list_height} px")
    assert list_height < grid_height / 2, (list_height, grid_height)
    ctx.close()
