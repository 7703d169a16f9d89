"""The files pages in a real browser, as a team member uses them."""

from __future__ import annotations

import pytest

from support.browser import log_in, screenshot

FILES = [("first-pelican.bin", 400_000), ("second-pelican.bin", 300_000),
         ("third-pelican.png", 0)]


def drop_files(page, selector, files):
    """Drag and drop generated files onto ``selector``, as a person would."""
    transfer = page.evaluate_handle(
        """async (files) => {
            const dt = new DataTransfer();
            for (const [name, size] of files) {
                let file;
                if (name.endsWith(".png")) {
                    const canvas = document.createElement("canvas");
                    canvas.width = 320; canvas.height = 240;
                    const ctx = canvas.getContext("2d");
                    ctx.fillStyle = "#2a9d8f"; ctx.fillRect(0, 0, 320, 240);
                    const blob = await new Promise(r => canvas.toBlob(r, "image/png"));
                    file = new File([blob], name, {type: "image/png"});
                } else {
                    const bytes = new Uint8Array(size);
                    for (let i = 0; i < size; i++) bytes[i] = i % 251;
                    file = new File([bytes], name, {type: "application/octet-stream"});
                }
                dt.items.add(file);
            }
            return dt;
        }""",
        files,
    )
    for event in ("dragenter", "dragover", "drop"):
        page.dispatch_event(selector, event, {"dataTransfer": transfer})


def test_upload_by_drag_and_drop_with_progress(page_factory, app_server):
    page = page_factory()
    log_in(page)
    page.goto("/-/files/upload/team")
    # Slow the upload link so progress is observable (on loopback it jumps to 100%).
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 20, "downloadThroughput": -1,
        "uploadThroughput": 250_000})
    page.evaluate("""() => {
        window.__progress = {};
        new MutationObserver(() => {
            document.querySelectorAll(".df-item").forEach(item => {
                const name = item.querySelector(".df-item-name").textContent;
                const value = item.querySelector("progress").value;
                (window.__progress[name] = window.__progress[name] || []).push(value);
            });
        }).observe(document.querySelector("[data-queue]"),
                   {subtree: true, attributes: true, childList: true, characterData: true});
    }""")
    drop_files(page, "[data-drop-zone]", FILES)
    page.wait_for_function("document.querySelectorAll('.df-item.df-done').length === 3",
                           timeout=60_000)
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    progress = page.evaluate("window.__progress")
    for name, size in FILES[:2]:
        values = progress[name]
        assert any(0 < v < 100 for v in values), (name, sorted(set(values)))
        assert max(values) == 100
    links = page.locator(".df-item.df-done a")
    assert links.count() == 3
    screenshot(page, "upload-done")
    links.first.click()
    page.wait_for_selector("h1.df-filename")


def test_uploading_on_a_phone(page_factory):
    # Phones choose files (the drop zone's input); the queue fits the screen.
    page = page_factory(375)
    log_in(page)
    page.goto("/-/files/upload/team")
    page.set_input_files("[data-drop-zone] input[type=file]", files=[
        {"name": "phone-photo.txt", "mimeType": "text/plain", "buffer": b"from a phone"}])
    page.wait_for_selector(".df-item.df-done")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, overflow
    screenshot(page, "upload-done")


def test_small_files_go_in_one_request_each(page_factory):
    from urllib.parse import urlparse

    page = page_factory()
    log_in(page)
    page.goto("/-/files/upload/team")
    sent = []
    page.on("request", lambda request: sent.append((request.method, urlparse(request.url).path))
            if "/-/files/upload/" in request.url else None)
    files = [("small one.bin", 1000), ("small-two.bin", 200_000)]
    drop_files(page, "[data-drop-zone]", files)
    page.wait_for_function("document.querySelectorAll('.df-item.df-done').length === 2",
                           timeout=60_000)
    assert sorted(sent) == [("PUT", "/-/files/upload/team/small%20one.bin"),
                            ("PUT", "/-/files/upload/team/small-two.bin")]
    for name, size in files:
        href = page.locator(".df-item.df-done a", has_text=name).get_attribute("href")
        assert page.request.get(href + "/download").body() == bytes(i % 251 for i in range(size))


def test_a_large_file_goes_in_chunks_and_resumes_after_a_network_error(page_factory):
    page = page_factory()
    log_in(page)
    page.goto("/-/files/upload/team")
    chunks, dropped = [], []

    def cut_the_second_chunk(route, request):
        content_range = request.headers.get("content-range")
        if request.method == "POST" and content_range:
            chunks.append(content_range)
            if len(chunks) == 2:
                dropped.append(content_range)
                route.abort("connectionreset")
                return
        route.continue_()

    page.route("**/-/files/upload/team/-/upload", cut_the_second_chunk)
    size = 1_000_000
    drop_files(page, "[data-drop-zone]", [("resumed.bin", size)])
    page.wait_for_selector(".df-item.df-done", timeout=60_000)
    # Four chunks of 256 KiB, the second one twice.
    assert chunks == [f"bytes {start}-{min(start + 262_143, size - 1)}/{size}"
                      for start in (0, 262_144, 262_144, 524_288, 786_432)], chunks
    href = page.locator(".df-item.df-done a").get_attribute("href")
    body = page.request.get(href + "/download").body()
    assert body == bytes(i % 251 for i in range(size))


def test_listing_shows_the_files_with_thumbnails(page_factory):
    page = page_factory()
    log_in(page)
    page.goto("/-/files/source/team")
    names = page.locator(".df-card .df-name").all_inner_texts()
    assert {"first-pelican.bin", "second-pelican.bin", "third-pelican.png"} <= set(names)
    page.wait_for_function("""() => [...document.querySelectorAll('.df-thumb img')]
        .every(img => img.complete && img.naturalWidth > 0)""")
    png = page.locator(".df-card", has_text="third-pelican.png").locator("img")
    assert png.evaluate("img => img.naturalWidth") == 200  # the generated thumbnail


def test_a_second_view_of_a_page_fetches_no_thumbnail(page_factory, app_server):
    """Thumbnail URLs carry their version, so the browser keeps them: coming back
    to a page asks the server for none of them."""
    page = page_factory()
    log_in(page)
    all_loaded = """() => [...document.querySelectorAll('.df-thumb img')]
        .every(img => img.complete && img.naturalWidth > 0)"""

    def thumbnails_served():
        return sum("/thumbnail?" in line for line in app_server.log().splitlines())

    page.goto("/-/files/source/team")
    page.wait_for_function(all_loaded)
    page.goto("/-/files/search")
    page.wait_for_function(all_loaded)
    page.wait_for_timeout(300)  # access log lines are written just after each response
    served = thumbnails_served()
    assert served > 0
    page.goto("/-/files/source/team")
    page.wait_for_function(all_loaded)
    page.wait_for_timeout(300)
    assert thumbnails_served() == served


def test_edit_search_text_then_find_it(page_factory):
    page = page_factory()
    log_in(page)
    page.goto("/-/files/search?q=second-pelican")
    page.click("text=second-pelican.bin")
    page.fill("textarea[name=search_text]", "minutes of the flamingo committee")
    page.click("[data-edit-form] button[type=submit]")
    page.wait_for_selector("[data-status]:has-text('Saved')")
    page.goto("/-/files/search")
    page.fill("#df-q", "flamingo")
    page.keyboard.press("Enter")
    page.wait_for_selector(".df-result")
    assert page.locator(".df-result-name").all_inner_texts() == ["second-pelican.bin"]


def test_files_menu_link_and_anonymous_view(page_factory):
    page = page_factory()
    response = page.goto("/-/files")
    assert response.status == 403
    assert "Log in to see your team's files" in page.inner_text(".df-page")
    assert page.locator(".df-page a[href$='/-/login']").count() == 1
    screenshot(page, "forbidden")
    log_in(page)
    page.goto("/")
    page.click("details.nav-menu summary")
    page.click("nav >> text=Files")
    page.wait_for_url("**/-/files")


@pytest.mark.parametrize("width", [1280, 375])
def test_screenshots_of_every_page(page_factory, app_server, width):
    from support import api

    with app_server.login("alice", "alice-password") as alice:
        roster = api.upload(alice, "team", f"Roster {width}.csv", b"name,age\nAda,36\n",
                            "text/csv")
    page = page_factory(width)
    pages = [("login", "/-/login"), ("forbidden", "/-/files")]
    _check_and_screenshot(page, pages)
    log_in(page)
    _check_and_screenshot(page, [
        ("index", "/-/files"), ("source", "/-/files/source/team"),
        ("upload", "/-/files/upload/team"), ("file", roster["url"]),
        ("search", "/-/files/search?q=roster"), ("import-preview", roster["url"].replace(
            "/-/files/", "/-/files/import/")), ("account", "/-/logout")])
    # The import preview keeps its column names on a phone (Datasette's narrow
    # layout for row tables would move them off screen).
    page.goto(roster["url"].replace("/-/files/", "/-/files/import/"))
    header = page.locator("table.df-preview-table th").first.bounding_box()
    assert header and header["x"] >= 0 and header["y"] >= 0, header


def _check_and_screenshot(page, pages):
    for name, path in pages:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        # Nothing may be wider than the viewport (no layout break at 375 px).
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (name, overflow)
        screenshot(page, name)


def test_the_servers_error_is_shown_for_a_file_it_refuses(page_factory):
    page = page_factory()
    log_in(page)
    page.goto("/-/files/upload/team")
    # 101 MiB: over the team source's 100 MiB limit, refused at prepare.
    drop_files(page, "[data-drop-zone]", [("too-big.bin", 101 * 1024 * 1024)])
    page.wait_for_selector(".df-item.df-error")
    message = page.inner_text(".df-item.df-error .df-item-status")
    assert "accepts files of at most 100.0 MiB" in message


@pytest.mark.parametrize("width", [1280, 375])
def test_import_a_csv_as_a_table(page_factory, app_server, width):
    from support import api

    with app_server.login("admin", app_server.generated_admin_password()) as admin:
        file = api.upload(admin, "team", f"Team roster {width}.csv",
                          b"name,age\nAda,36\nGrace,45\nLinus,\n", "text/csv")
    page = page_factory(width)
    log_in(page, "admin", app_server.generated_admin_password())
    page.goto(file["url"])
    page.click("details.df-actions summary")
    page.click("text=Import as table")
    page.wait_for_selector("table.df-preview-table")
    screenshot(page, "import-preview")
    assert page.input_value("#df-table-name") == f"team_roster_{width}"
    page.click(".df-import-form button[type=submit]")
    page.wait_for_selector("[data-done]:not([hidden])", timeout=30_000)
    assert page.inner_text("[data-field=status]") == "done"
    assert page.inner_text("[data-field=rows_imported]") == "3"
    screenshot(page, "import-progress")
    page.click("[data-table-link]")
    page.wait_for_url(f"**/data/team_roster_{width}")
    assert "Grace" in page.inner_text("table.rows-and-columns")


def test_import_a_csv_without_javascript(page_factory, app_server):
    # The form posts as a plain form; the progress page refreshes itself until done.
    from support import api

    with app_server.login("admin", app_server.generated_admin_password()) as admin:
        file = api.upload(admin, "team", "No script.csv", b"name\nAda\nGrace\n", "text/csv")
    page = page_factory(javascript=False)
    log_in(page, "admin", app_server.generated_admin_password())
    page.goto(f"/-/files/import/{file['id']}")
    page.click(".df-import-form button[type=submit]")
    page.wait_for_url(f"**/-/files/import/{file['id']}/imp-*")
    page.wait_for_selector("[data-done]:not([hidden])", timeout=30_000)
    assert page.inner_text("[data-field=status]") == "done"
    page.click("[data-table-link]")
    page.wait_for_url("**/data/no_script")
    assert "Grace" in page.inner_text("table.rows-and-columns")
