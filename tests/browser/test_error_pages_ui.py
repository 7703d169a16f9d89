"""Errors in human terms in a real browser: a missing file's page and a refused
import form keep the signed-in member in the header, at 1280 and 375 px."""

from __future__ import annotations

import sqlite3

from support import api
from support.browser import log_in, screenshot

WIDTHS = (1280, 375)


def screenshots(page, name: str) -> None:
    """The page at both widths, checked for sideways overflow and for the
    signed-in member's name in the header."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (name, width, overflow)
        assert page.inner_text("header .actor").strip() == "admin", name
        screenshot(page, name)
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})


def test_a_missing_file_and_a_refused_import(page_factory, app_server):
    password = app_server.generated_admin_password()
    with app_server.login("admin", password) as admin:
        file = api.upload(admin, "team", "Budget.csv", b"item,cost\npens,3\n", "text/csv")
        gone = api.upload(admin, "team", "old notes.txt", b"notes", "text/plain")
        assert admin.post(f"{gone['url']}/-/delete",
                          json={"permanent": True}).status_code == 200
    with sqlite3.connect(app_server.data_dir / "databases" / "data.db") as db:
        db.execute("create table budget (item text)")
    page = page_factory()
    log_in(page, "admin", password)

    response = page.goto(gone["url"])
    assert response.status == 404
    assert page.inner_text("h1") == "This file is not here"
    assert "This file no longer exists, or you may not see it." in page.inner_text(".df-notice")
    # The menu is there, with its Files link; the next steps lead somewhere.
    page.click("details.nav-menu summary")
    assert page.locator("nav .nav-menu-inner a", has_text="Files").count() == 1
    page.click("details.nav-menu summary")
    screenshots(page, "error-file-gone")
    page.click("text=Search the files")
    page.wait_for_url("**/-/files/search")
    # Datasette's own error pages keep the member too (the app's hook).
    assert page.goto("/no_such_database").status == 404
    assert page.inner_text("header .actor").strip() == "admin"

    # The import form pre-fills "budget", which is taken: it comes back filled
    # in, saying what to change, with the focus on the name.
    page.goto(f"/-/files/import/{file['id']}")
    page.click(".df-import-form button[type=submit]")
    page.wait_for_selector(".df-form-error")
    assert "A table named 'budget' already exists in 'data': choose another name" \
        in page.inner_text(".df-form-error")
    name = page.locator("#df-table-name")
    assert name.input_value() == "budget" and name.get_attribute("aria-invalid") == "true"
    assert page.evaluate("document.activeElement.id") == "df-table-name"
    screenshots(page, "error-import-refused")
    name.fill("budget_2026")
    page.click(".df-import-form button[type=submit]")
    page.wait_for_url(f"**/-/files/import/{file['id']}/imp-*")
