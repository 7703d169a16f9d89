"""Every page of ours checked by axe-core in a real browser, at 1280 and 375 px,
(each HTML route of the plugin and the app: the files index, search, a source
as grid, list and folder, upload, trash, a file of each preview kind and one in
the trash, the CSV import form as a member and as an admin, an import's progress
page, the form refused, the error pages: 400, 403, 404 for a file and for no
route; the login and account pages),
plus the keyboard paths the checker cannot see: the skip link, no invisible
Tab stop, and where focus goes after an upload, a delete and a dialog.
axe-core's script: tests/support/axe.py. Datasette's table page, where our
file column and its dialogs live, is checked in test_table_dialogs_ui.py."""

from __future__ import annotations

import pytest

from support import api, media, pdfs
from support.axe import load_axe_script, violations
from support.browser import log_in, screenshot
from support.images import image_bytes

WIDTHS = (1280, 375)
# Pages whose content a script fetches after the load (the trash's list, the
# PDF's pages): checked once it is there.
FILLED_BY_SCRIPT = {"trash", "file-pdf"}


@pytest.fixture(scope="module")
def axe_script() -> str:
    return load_axe_script()


@pytest.fixture(scope="module")
def pages(app_server) -> dict[str, str]:
    """One of each page of ours, by name: made once through the API."""
    with app_server.login("alice", "alice-password") as alice:
        def up(name, content, content_type, **extra):
            return api.upload(alice, "team", name, content, content_type, **extra)

        made = alice.post("/-/files/folders/team/-/create", json={"name": "A11y folder"})
        assert made.status_code == 201, made.text
        up("a11y-inside.txt", b"in the folder", "text/plain", folder="A11y folder")
        image = up("a11y-photo.png", image_bytes(320, 240), "image/png")
        pdf = up("a11y-report.pdf", pdfs.document([(612, 792)]), "application/pdf")
        text = up("a11y-notes.txt", b"Some notes\nover two lines\n", "text/plain")
        csv = up("a11y-roster.csv", b"name,age\nAda,36\nGrace,45\n", "text/csv")
        audio = up("a11y-tone.wav", media.wav_bytes(0.5), "audio/wav")
        video = up("a11y-clip.webm", media.webm_bytes(), "video/webm")
        markdown = up("a11y-readme.md", b"# Read me\n\nSome *words* and a [link](https://example.com).\n",
                      "text/markdown")
        data = up("a11y-data.json", b'{"name": "Ada", "langs": ["en", "fr"]}', "application/json")
        binary = up("a11y-blob.bin", bytes(range(256)) * 4, "application/octet-stream")
        gone = up("a11y-gone.txt", b"to the trash", "text/plain")
        deleted = alice.post(gone["url"] + "/-/delete")
        assert deleted.status_code == 200, deleted.text
    return {
        "index": "/-/files",
        "source-grid": "/-/files/source/team?view=grid",
        "source-list": "/-/files/source/team?view=list",
        "folder": "/-/files/source/team?folder=A11y%20folder",
        "file-image": image["url"], "file-pdf": pdf["url"], "file-text": text["url"],
        "file-csv": csv["url"], "file-audio": audio["url"],
        "upload": "/-/files/upload/team",
        "search": "/-/files/search?q=a11y",
        "trash": "/-/files/trash/team", "trashed-file": gone["url"],
        "import": csv["url"].replace("/-/files/", "/-/files/import/"),
        "file-video": video["url"], "file-markdown": markdown["url"], "file-json": data["url"],
        "file-binary": binary["url"],
        "not-found": "/-/files/df-" + "0" * 26,  # a well-formed id of no file
        "no-such-page": "/-/files/no/such/page",  # no route: the bare 404
        "bad-address": "/-/files/source/team?sort=nonsense",  # the 400 page
        "account": "/-/logout",  # log out here or everywhere
    }


def admin_pages(page, import_path: str, table: str):
    """Visit, in turn, an admin's import form, the progress page of an import it
    starts, and the form refused for the same table name; yields each's name."""
    page.goto(import_path)
    assert page.locator("#df-table-name").count() == 1, "no import form for the admin"
    yield "import-admin", import_path
    page.fill("#df-table-name", table)
    page.get_by_role("button", name="Import").click()
    page.wait_for_url(f"**{import_path}/*")
    page.wait_for_load_state("networkidle")
    yield "import-progress", page.url
    page.goto(import_path)
    page.fill("#df-table-name", table)
    page.get_by_role("button", name="Import").click()
    page.locator("#df-import-error").wait_for()
    yield "import-refused", import_path


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_passes_axe(browser, app_server, pages, axe_script, width):
    found = {}
    anonymous = browser.new_context(viewport={"width": width, "height": 900},
                                    base_url=app_server.url, bypass_csp=True)
    page = anonymous.new_page()
    response = page.goto("/-/files")
    assert response.status == 403
    found["forbidden"] = violations(page, axe_script)
    screenshot(page, "a11y-forbidden")
    page.goto("/-/login")
    found["login"] = violations(page, axe_script)
    screenshot(page, "a11y-login")
    anonymous.close()

    context = browser.new_context(viewport={"width": width, "height": 900},
                                  base_url=app_server.url, bypass_csp=True)
    page = context.new_page()
    log_in(page)
    for name, path in pages.items():
        page.goto(path)
        if name in FILLED_BY_SCRIPT:
            page.wait_for_load_state("networkidle")
        found[name] = violations(page, axe_script)
        screenshot(page, f"a11y-{name}")
    context.close()

    # An admin's pages (members may not create tables): the import form, its
    # progress page, and the form given back refused (a table of that name is there).
    context = browser.new_context(viewport={"width": width, "height": 900},
                                  base_url=app_server.url, bypass_csp=True)
    page = context.new_page()
    log_in(page, "admin", app_server.generated_admin_password())
    for name, path in admin_pages(page, pages["import"], f"a11y_roster_{width}"):
        found[name] = violations(page, axe_script)
        screenshot(page, f"a11y-{name}")
    context.close()
    failures = {name: problems for name, problems in found.items() if problems}
    assert not failures, "\n".join(f"{name}:\n  " + "\n  ".join(problems)
                                   for name, problems in failures.items())


# Each Tab stop as a person sees it: the element, and whether it or (for a
# visually hidden file input) the label around it shows on screen, a label
# (the drop zone, the folder chooser) with a focus ring.
FOCUSED = """() => {
    const el = document.activeElement;
    const shown = el.closest("label.df-drop, label.df-choose-folder") || el;
    const box = shown.getBoundingClientRect();
    const style = getComputedStyle(shown);
    return {tag: el.tagName, id: el.id, text: (el.textContent || el.value || "").trim().slice(0, 40),
            input: el.matches("[data-file-input], [data-drop-zone]") ? "files"
                 : el.matches("[data-folder-input]") ? "folder" : "",
            in_listing: !!el.closest(".df-grid, .df-list"), in_upload: !!el.closest("[data-upload]"),
            width: box.width, height: box.height, top: box.top + window.scrollY,
            ring: shown.tagName !== "LABEL" || style.outlineStyle !== "none"};
}"""

# The contrast of every colour our stylesheet gives links (visited, hovered,
# focused ones included), against white and our lightest blue: axe cannot see
# :visited styles, which browsers hide from scripts.
LINK_CONTRASTS = """() => {
    const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
    const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255;
        return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
        .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
    const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
        return (x + 0.05) / (y + 0.05); };
    const probe = document.createElement("span");
    document.body.append(probe);
    const found = [];
    for (const sheet of document.styleSheets) {
        if (!sheet.href || !sheet.href.includes("/datasette-files/files.css")) continue;
        for (const rule of sheet.cssRules) {
            if (!rule.selectorText || !/\\ba[^,]*:(visited|link|hover|focus)/.test(rule.selectorText)) continue;
            if (!rule.style.color || rule.style.color === "inherit" || rule.style.color === "#fff") continue;
            if (rule.style.color === "rgb(255, 255, 255)") continue;  // on a coloured background
            probe.style.color = rule.style.color;
            const colour = rgb(getComputedStyle(probe).color);
            for (const background of [[255, 255, 255], [238, 244, 255]]) {
                found.push([rule.selectorText, ratio(colour, background)]);
            }
        }
    }
    probe.remove();
    return found;
}"""


def test_the_keyboard_path_through_a_source(browser, app_server, pages):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=app_server.url)
    page = context.new_page()
    log_in(page)

    # Our link colours: 4.5:1 at least, visited and focused ones too.
    page.goto(pages["source-grid"])
    contrasts = page.evaluate(LINK_CONTRASTS)
    assert any(":visited" in selector for selector, _ in contrasts), contrasts
    assert all(ratio >= 4.5 for _, ratio in contrasts), [c for c in contrasts if c[1] < 4.5]

    # The first Tab stop is the skip link, shown when focused; it leads to the files.
    page.keyboard.press("Tab")
    first = page.evaluate(FOCUSED)
    assert first["text"] == "Skip to files" and first["top"] >= 0 and first["width"] > 0, first
    screenshot(page, "a11y-skip-link")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "df-files"
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED)["in_listing"], page.evaluate(FOCUSED)

    # From the top of the page to the listing: every Tab stop is seen on screen,
    # and each file chooser is one stop, shown by the ring around its label.
    page.goto(pages["source-grid"])
    stops = []
    for _ in range(40):
        page.keyboard.press("Tab")
        stop = page.evaluate(FOCUSED)
        if stop["in_listing"]:
            break
        stops.append(stop)
        if stop["input"] == "files":
            screenshot(page, "a11y-file-chooser-focused")
    else:
        raise AssertionError(f"40 Tabs did not reach the listing: {stops}")
    invisible = [s for s in stops if s["width"] < 4 or s["height"] < 4 or not s["ring"]]
    assert not invisible, invisible
    assert [s["input"] for s in stops if s["in_upload"]] == ["files", "folder"], stops

    # After an upload, focus stays on the chooser that was used.
    page.focus("[data-file-input]")
    page.set_input_files("[data-file-input]", files=[
        {"name": "a11y-keyboard.txt", "mimeType": "text/plain", "buffer": b"typed"}])
    page.wait_for_selector(".df-item.df-done")
    assert page.evaluate(FOCUSED)["input"] == "files"

    # A dialog gives the focus back to what opened it.
    page.focus("[data-new-folder]")
    page.keyboard.press("Enter")
    page.locator("dialog[open]").wait_for()
    assert page.evaluate("!!document.activeElement.closest('dialog')")
    page.keyboard.press("Escape")
    page.locator("dialog[open]").wait_for(state="detached")
    assert page.evaluate("document.activeElement.matches('[data-new-folder]')")

    # Deleting ticked files: focus goes to the file that took the first one's place.
    page.goto(pages["source-grid"] + "&sort=name&order=asc")
    names = page.eval_on_selector_all("[data-file-id]", "cards => cards.map(c => c.dataset.filename)")
    gone = names.index("a11y-keyboard.txt")
    page.get_by_role("checkbox", name="Select a11y-keyboard.txt", exact=True).check()
    page.click("[data-bulk-delete]")
    page.locator('[data-filename="a11y-keyboard.txt"]').wait_for(state="detached")
    assert page.evaluate("document.activeElement.closest('[data-file-id]').dataset.filename") \
        == names[gone + 1]

    # A delete from a file's page leads to its folder, focus on the listing.
    page.goto(pages["file-text"])
    page.locator("[data-delete-form] button").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/-/files/source/team**")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'df-files'")
    context.close()


# What the focused skip link overlaps: every other element with text or a
# control of its own that is drawn where it is (its ancestors aside).
SKIP_LINK_OVERLAPS = """() => {
    const skip = document.activeElement;
    const box = skip.getBoundingClientRect();
    const hits = [];
    for (const el of document.body.querySelectorAll("a, button, summary, input, svg, h1, p, span, strong, li")) {
        if (el === skip || el.contains(skip) || skip.contains(el)) continue;
        const r = el.getBoundingClientRect();
        if (!r.width || !r.height || getComputedStyle(el).visibility === "hidden") continue;
        if (el.closest(".df-visually-hidden, [hidden]")) continue;
        if (r.left < box.right && box.left < r.right && r.top < box.bottom && box.top < r.bottom) {
            hits.push(el.tagName + " " + (el.textContent || "").trim().slice(0, 30));
        }
    }
    return {hits, top: box.top, height: box.height};
}"""


@pytest.mark.parametrize("width", WIDTHS)
def test_the_focused_skip_link_hides_nothing(page_factory, pages, width):
    page = page_factory(width)
    log_in(page)
    for name in ("source-grid", "folder", "file-text", "upload", "search"):
        page.goto(pages[name])
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.matches('.df-skip-link')"), name
        found = page.evaluate(SKIP_LINK_OVERLAPS)
        assert found["top"] >= 0 and found["height"] >= 24, (name, found)
        assert not found["hits"], (name, found)
        if name == "folder":
            screenshot(page, "a11y-skip-link-focused", full_page=False)
        # Tabbed past, it leaves no gap: the page is as it was.
        page.keyboard.press("Tab")
        assert page.evaluate("getComputedStyle(document.querySelector('.df-skip-link')).position") \
            == "absolute", name
