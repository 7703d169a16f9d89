"""The upload queue in a real browser: Retry and Remove on what failed, "Clear
finished", files dropped anywhere on a listing or onto a folder card, and no
drop wording on a touch screen."""

from __future__ import annotations

import pytest

from support.browser import log_in, screenshot

MiB = 1024 * 1024

# A DataTransfer of generated files ([name, size]); zero-filled when large.
MAKE_TRANSFER = """(files) => {
    const dt = new DataTransfer();
    for (const [name, size] of files) {
        const bytes = new Uint8Array(size);
        if (size < 4 * 1024 * 1024) { for (let i = 0; i < size; i++) bytes[i] = i % 251; }
        dt.items.add(new File([bytes], name, {type: "application/octet-stream"}));
    }
    return dt;
}"""


def drop_files(page, selector, files):
    """Drag generated files over ``selector`` and drop them, as a person would."""
    transfer = page.evaluate_handle(MAKE_TRANSFER, files)
    for event in ("dragenter", "dragover", "drop"):
        page.dispatch_event(selector, event, {"dataTransfer": transfer})


def content(size: int) -> bytes:
    return bytes(i % 251 for i in range(size))


def row(page, name):
    return page.locator(".df-item", has=page.locator(".df-item-name", has_text=name))


@pytest.mark.parametrize("width", [1280, 375])
def test_failed_items_offer_retry_and_remove_and_finished_ones_clear(page_factory, app_server, width):
    page = page_factory(width)
    log_in(page)
    page.goto("/-/files/upload/team")
    assert "Drop files" in page.inner_text("[data-drop-zone]")  # a mouse: drop wording
    assert page.locator(".df-queue-tools").is_hidden()
    flaky, cut = f"flaky-{width}.bin", []
    # Listened for from the start: file chooser interception is then surely on when Enter opens one.
    page.on("filechooser", lambda chooser: chooser.set_files(files=[{
        "name": f"chosen-{width}.txt", "mimeType": "text/plain", "buffer": b"chosen by keyboard"}]))

    def cut_the_first_try(route, request):
        # The connection drops during the first PUT of this file; later ones go through.
        if not cut:
            cut.append(request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(f"**/-/files/upload/team/{flaky}*", cut_the_first_try)
    # Over the team source's 100 MiB limit (refused at prepare), cut, and fine.
    drop_files(page, "[data-drop-zone]", [("too-big.bin", 101 * MiB), (flaky, 3000),
                                          (f"fine-{width}.bin", 2000)])
    page.wait_for_function("document.querySelectorAll('.df-item.df-error').length === 2 && "
                           "document.querySelectorAll('.df-item.df-done').length === 1",
                           timeout=60_000)
    for name in ("too-big.bin", flaky):
        item = row(page, name)
        assert item.get_by_role("button", name=f"Retry {name}").is_visible()
        assert item.get_by_role("button", name=f"Remove {name}").is_visible()
        assert item.get_by_role("button", name=f"Cancel {name}").count() == 0
    assert "Network error" in row(page, flaky).inner_text()
    assert page.get_by_role("button", name="Clear finished").is_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, overflow
    screenshot(page, "upload-queue-failed")

    # Retry, from the keyboard: the same File goes again, and arrives whole.
    row(page, flaky).get_by_role("button", name=f"Retry {flaky}").focus()
    page.keyboard.press("Enter")
    page.locator(".df-item.df-done .df-item-name", has_text=flaky).wait_for()
    href = row(page, flaky).locator("a").get_attribute("href")
    assert page.request.get(href + "/download").body() == content(3000)
    assert len(cut) == 1

    # Remove: the row goes, and focus stays in the queue (not on the hidden input).
    row(page, "too-big.bin").get_by_role("button", name="Remove too-big.bin").click()
    assert row(page, "too-big.bin").count() == 0
    focused = page.evaluate("[document.activeElement.tagName, document.activeElement.type || '']")
    assert focused != ["INPUT", "file"], focused

    # Clear finished: the done rows go; the overall row (one file not uploaded) stays.
    page.get_by_role("button", name="Clear finished").click()
    assert page.locator(".df-item").count() == 0
    assert page.locator(".df-queue-tools").is_hidden()
    assert page.locator(".df-batch.df-error").count() == 1
    page.locator(".df-batch").get_by_role("button", name="Remove").click()
    assert page.locator("[data-queue] > li").count() == 0

    # The keyboard's chooser: the file input is the one Tab stop (the zone around
    # it is no control of its own, and shows the input's focus), and focus stays
    # on it after the upload (tests/browser/test_accessibility_ui.py checks the ring).
    assert page.get_attribute("[data-drop-zone]", "tabindex") is None
    page.focus("[data-file-input]")
    page.keyboard.press("Enter")
    page.wait_for_selector(".df-item.df-done")
    assert page.evaluate("document.activeElement.matches('[data-file-input]')")


def test_retry_after_cancel_resumes_a_chunked_upload(page_factory):
    page = page_factory()
    log_in(page)
    page.goto("/-/files/upload/team")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 200_000})
    ranges = []
    page.on("request", lambda request: ranges.append(request.headers["content-range"])
            if "content-range" in request.headers else None)
    size = 1_000_000  # four chunks of 256 KiB
    drop_files(page, "[data-drop-zone]", [("resumable.bin", size)])
    page.wait_for_function("document.querySelector('.df-item progress').value >= 30", timeout=30_000)
    page.get_by_role("button", name="Cancel resumable.bin").click()
    row(page, "resumable.bin").get_by_text("Cancelled").wait_for()
    sent_before = len(ranges)
    assert sent_before >= 2, ranges
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    page.get_by_role("button", name="Retry resumable.bin").click()
    page.wait_for_selector(".df-item.df-done", timeout=60_000)
    # Resumed from what the server had, not from the first byte.
    after = ranges[sent_before:]
    assert after and not after[0].startswith("bytes 0-"), ranges
    href = page.locator(".df-item.df-done a").get_attribute("href")
    assert page.request.get(href + "/download").body() == content(size)


def test_files_dropped_on_a_listing_go_to_its_folder_or_the_folder_card(page_factory, app_server):
    with app_server.login("alice", "alice-password") as alice:
        for parent, name in (("", "drops"), ("drops", "inner")):
            made = alice.post("/-/files/folders/team/-/create", json={"folder": parent, "name": name})
            assert made.status_code == 201, made.text

        def listed(folder):
            response = alice.get("/-/files/source/team.json", params={"folder": folder})
            return sorted(f["filename"] for f in response.json()["files"])

        page = page_factory()
        log_in(page)
        page.goto("/-/files/source/team?folder=drops&view=grid")
        page.evaluate("""() => { window.__uploaded = [];
            document.addEventListener("df:uploaded", (e) => window.__uploaded.push(e.detail.file.filename)); }""")
        # While files are dragged: the overlay says where they go, a folder card lights up.
        state = page.evaluate("""async (make) => {
            const dt = (${make})([["x.bin", 10]]);
            const card = document.querySelector('.df-folder-card[data-folder-path="drops/inner"]');
            const overlay = document.querySelector(".df-drop-overlay");
            const drag = (target, data) => target.dispatchEvent(new DragEvent("dragover",
                {dataTransfer: data, bubbles: true, cancelable: true}));
            drag(document.querySelector("h1"), dt);
            const onPage = [overlay.hidden, overlay.textContent];
            drag(card, dt);
            const onCard = [overlay.hidden, overlay.textContent, card.classList.contains("df-drop-target")];
            overlay.hidden = true;
            const text = new DataTransfer();
            text.setData("text/plain", "just some words");
            const refused = drag(document.querySelector("h1"), text);  // not cancelled: not ours
            return {onPage, onCard, text: [overlay.hidden, refused]};
        }""".replace("${make}", MAKE_TRANSFER))
        assert state["onPage"] == [False, "Drop to upload into drops"], state
        assert state["onCard"] == [False, "Drop to upload into inner", True], state
        assert state["text"] == [True, True], state

        drop_files(page, "h1", [("on-the-listing.bin", 500)])
        drop_files(page, '.df-folder-card[data-folder-path="drops/inner"]', [("on-the-card.bin", 700)])
        page.wait_for_function("document.querySelectorAll('.df-item.df-done').length === 2",
                               timeout=30_000)
        assert page.locator(".df-drop-target").count() == 0
        assert listed("drops") == ["on-the-listing.bin"]
        assert listed("drops/inner") == ["on-the-card.bin"]
        assert sorted(page.evaluate("window.__uploaded")) == ["on-the-card.bin", "on-the-listing.bin"]


def test_a_touch_screen_is_told_to_choose_files_not_to_drop_them(browser, app_server):
    context = browser.new_context(viewport={"width": 375, "height": 800}, base_url=app_server.url,
                                  has_touch=True, is_mobile=True)
    try:
        page = context.new_page()
        log_in(page)
        page.goto("/-/files/source/team")
        words = page.inner_text("[data-upload]")
        assert "Drop" not in words and "drop" not in words, words
        assert "Choose files" in words
        page.locator("[data-upload]").scroll_into_view_if_needed()
        screenshot(page, "upload-touch", full_page=False)
    finally:
        context.close()


# Each button's look, as the browser draws it: a default button is grey
# (#efefef), square-cornered, in the system font at 13.33 px.
BUTTON_LOOK = """(button) => {
    const style = getComputedStyle(button);
    const box = button.getBoundingClientRect();
    return {height: box.height, width: box.width, background: style.backgroundColor,
            radius: parseFloat(style.borderTopLeftRadius), border: style.borderTopColor,
            font: style.fontFamily, cursor: style.cursor,
            pageFont: getComputedStyle(document.body).fontFamily};
}"""
FOCUS_RING = """(button) => {
    const style = getComputedStyle(button);
    return {visible: button.matches(":focus-visible"), outline: style.outlineStyle,
            width: parseFloat(style.outlineWidth), shadow: style.boxShadow};
}"""


@pytest.mark.parametrize("width", [1280, 375])
def test_queue_buttons_look_like_the_pages_buttons_and_fit_a_finger(page_factory, width):
    page = page_factory(width)
    log_in(page)
    page.goto("/-/files/upload/team")
    # The third file's upload hangs until cancelled: its Cancel stays to be seen.
    page.route(f"**/-/files/upload/team/waiting-{width}.bin*", lambda route: None)
    drop_files(page, "[data-drop-zone]", [("too-big.bin", 101 * MiB), (f"done-{width}.bin", 900),
                                          (f"waiting-{width}.bin", 1200)])
    page.wait_for_function("document.querySelectorAll('.df-item.df-error').length === 1 && "
                           "document.querySelectorAll('.df-item.df-done').length === 1",
                           timeout=60_000)
    buttons = {
        "Retry": row(page, "too-big.bin").get_by_role("button", name="Retry too-big.bin"),
        "Remove": row(page, "too-big.bin").get_by_role("button", name="Remove too-big.bin"),
        "Cancel": row(page, f"waiting-{width}.bin").get_by_role("button", name=f"Cancel waiting-{width}.bin"),
        "Clear finished": page.get_by_role("button", name="Clear finished"),
    }
    for name, button in buttons.items():
        look = button.evaluate(BUTTON_LOOK)
        assert look["background"] != "rgb(239, 239, 239)", (name, look)  # not the browser's grey
        assert look["radius"] >= 3 and look["cursor"] == "pointer", (name, look)
        assert look["font"] == look["pageFont"], (name, look)
        if width == 375:  # a finger's size
            assert look["height"] >= 44 and look["width"] >= 44, (name, look)
        button.focus()
        ring = button.evaluate(FOCUS_RING)
        assert ring["visible"] and ring["outline"] != "none" and ring["width"] >= 2, (name, ring)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, overflow
    buttons["Retry"].focus()
    page.locator(".df-queue").scroll_into_view_if_needed()
    screenshot(page, "upload-queue-buttons")
    buttons["Cancel"].click()
    row(page, f"waiting-{width}.bin").get_by_text("Cancelled").wait_for()


def test_a_file_that_failed_inside_a_batch_is_retried_alone(page_factory, app_server):
    page = page_factory(375)
    log_in(page)
    page.goto("/-/files/upload/team")
    names = [f"in-batch-{n:02}.bin" for n in range(12)]  # twelve small files: one batch
    cut = []

    def cut_the_batch(route, request):
        cut.append(request.url)
        route.abort("connectionreset")

    page.route("**/-/files/upload/team/-/batch", cut_the_batch)
    drop_files(page, "[data-drop-zone]", [(name, 1000 + n) for n, name in enumerate(names)])
    batch = page.locator(".df-batch")
    batch.locator(".df-batch-problems .df-error").nth(11).wait_for(timeout=30_000)
    assert len(cut) == 1
    # Each file that failed has its own Retry and Remove.
    failed = batch.locator(".df-batch-problems li", has_text="in-batch-03.bin")
    assert "Network error" in failed.inner_text()
    retry = failed.get_by_role("button", name="Retry in-batch-03.bin")
    look = retry.evaluate(BUTTON_LOOK)
    assert look["height"] >= 44, look
    screenshot(page, "upload-queue-batch-failed")

    # Retried alone (not as a batch), from the keyboard: it arrives whole, in
    # a row of its own; the others stay listed as not uploaded.
    retry.focus()
    page.keyboard.press("Enter")
    done = page.locator(".df-item.df-done", has=page.locator(".df-item-name", has_text="in-batch-03.bin"))
    done.wait_for(timeout=30_000)
    assert len(cut) == 1
    href = done.locator("a").get_attribute("href")
    assert page.request.get(href + "/download").body() == content(1003)
    assert batch.locator(".df-batch-problems li", has_text="in-batch-03.bin").count() == 0
    assert batch.locator(".df-batch-problems .df-error").count() == 11
    # The upload's summary counts it uploaded now.
    assert batch.locator("[data-batch-status]").inner_text().startswith(
        "1 of 12 files uploaded, 11 not uploaded."), batch.inner_text()
    focused = page.evaluate("document.activeElement.closest('li') && "
                            "document.activeElement.closest('li').textContent")
    assert focused and "in-batch-03.bin" in focused, focused

    # Remove takes a failed file off the list.
    batch.locator(".df-batch-problems li", has_text="in-batch-04.bin").get_by_role(
        "button", name="Remove in-batch-04.bin").click()
    assert batch.locator(".df-batch-problems .df-error").count() == 10
    screenshot(page, "upload-queue-batch-retried")
