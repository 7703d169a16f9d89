"""Every page of ours checked by axe-core in a real browser, at 1280 and 375 px,
plus the keyboard paths the checker cannot see: the skip link, no invisible
Tab stop, and where focus goes after an upload, a delete and a dialog.

axe-core's script comes from the axe-playwright-python package on PyPI (it
ships axe.min.js), installed with the test dependencies: never from a CDN."""

from __future__ import annotations

from importlib import resources

import pytest

from support import api, media, pdfs
from support.browser import log_in, screenshot
from support.images import image_bytes

WIDTHS = (1280, 375)
# Impacts that fail the test; "moderate" and "minor" are reported by axe too,
# but the bar is no serious or critical violation.
FAILING = ("serious", "critical")
# Datasette's own chrome (base.html), not ours, taken out of the page before the
# check. <navigation-search> is its "Jump to" dialog (a web component, closed
# until "/" is pressed): axe-core 4.12.1 stops with "e[to] is not a function"
# while naming a node of its shadow tree, and an `exclude` does not prevent it.
DATASETTE_CHROME = ["navigation-search"]


@pytest.fixture(scope="module")
def axe_script() -> str:
    return (resources.files("axe_playwright_python") / "axe.min.js").read_text()


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
        "trash": "/-/files/trash/team",
        "import": csv["url"].replace("/-/files/", "/-/files/import/"),
        "not-found": "/-/files/df-0000000000000000000000",
    }


def violations(page, axe_script: str) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    page.add_script_tag(content=axe_script)
    result = page.evaluate("""async (chrome) => {
        for (const selector of chrome) document.querySelectorAll(selector).forEach(e => e.remove());
        const results = await axe.run({resultTypes: ["violations"]});
        return results.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => n.target.join(" ") + " :: " + n.failureSummary)}));
    }""", DATASETTE_CHROME)
    return [f"{v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["nodes"][:5])
            for v in result if v["impact"] in FAILING]


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
    anonymous.close()

    context = browser.new_context(viewport={"width": width, "height": 900},
                                  base_url=app_server.url, bypass_csp=True)
    page = context.new_page()
    log_in(page)
    for name, path in pages.items():
        page.goto(path)
        page.wait_for_load_state("networkidle")
        found[name] = violations(page, axe_script)
        screenshot(page, f"a11y-{name}")
    context.close()
    failures = {name: problems for name, problems in found.items() if problems}
    assert not failures, "\n".join(f"{name}:\n  " + "\n  ".join(problems)
                                   for name, problems in failures.items())
