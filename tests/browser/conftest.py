"""A real Chromium (Debian's, headless) driven by Playwright against a real server."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from support.server import REPO_ROOT, AppServer, member_env

CHROMIUM = "/usr/bin/chromium"
CHUNK_SIZE = 256 * 1024


# Module scope: Playwright's sync API keeps an event loop running in this thread
# while it is open, which other tests' asyncio.run() must not meet.
@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update",
                  "--no-first-run", "--disable-sync"],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    # The preset config, with small upload chunks so test files go in several.
    config = yaml.safe_load((REPO_ROOT / "config" / "datasette.yaml").read_text())
    config["plugins"]["datasette-files"]["upload_chunk_size"] = CHUNK_SIZE
    directory = tmp_path_factory.mktemp("browser")
    (directory / "datasette.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    server = AppServer(directory / "data", config_path=directory / "datasette.yaml",
                       env=member_env("alice", "alice-password")).start()
    yield server
    server.stop()


@pytest.fixture
def page_factory(browser, app_server):
    """New pages at a given width, each in its own context (own cookies)."""
    contexts = []

    def make(width: int = 1280, javascript: bool = True):
        context = browser.new_context(viewport={"width": width, "height": 900},
                                      base_url=app_server.url, java_script_enabled=javascript)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
