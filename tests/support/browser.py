"""Helpers for the browser tests."""

from pathlib import Path

from .server import REPO_ROOT

ARTIFACTS = REPO_ROOT / "test-artifacts" / "screenshots"


def screenshot(page, name: str, full_page: bool = True) -> Path:
    """Saved as a test artifact: test-artifacts/screenshots/NAME-WIDTH.png.
    (A full-page shot of an ``is_mobile`` context is drawn without its touch
    emulation: ``full_page=False`` shows what a phone shows.)"""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}-{page.viewport_size['width']}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def log_in(page, username="alice", password="alice-password"):
    """Through the real login form."""
    page.goto("/-/login")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url("**/")
