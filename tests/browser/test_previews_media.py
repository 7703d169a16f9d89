"""Audio and video play on their file's page, images show sized to the page and
open the lightbox (on the file's page and from a folder's grid), at 1280 and
375 px."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw

from support import api
from support.browser import ARTIFACTS, log_in, screenshot
from support.media import wav_bytes, webm_bytes

WIDTHS = [1280, 375]
# Uploaded in this order, so the folder lists them newest first: sunset, lake, forest.
PHOTOS = [("forest.png", "#2f6f3e"), ("lake.png", "#2a6fb0"), ("sunset.png", "#d9792b")]


def photo(colour: str) -> bytes:
    """A 1200 x 800 picture: a sky of one colour, a sun and hills."""
    image = Image.new("RGB", (1200, 800), colour)
    draw = ImageDraw.Draw(image)
    draw.ellipse((820, 120, 1020, 320), fill="#fbe38e")
    draw.polygon([(0, 800), (0, 560), (300, 420), (640, 600), (900, 470), (1200, 620),
                  (1200, 800)], fill="#1d2b21")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def files(app_server):
    with app_server.login("alice", "alice-password") as alice:
        made = alice.post("/-/files/folders/team/-/create", json={"folder": "", "name": "Trip"})
        assert made.status_code == 201, made.text
        uploaded = {name: api.upload(alice, "team", name, photo(colour), "image/png",
                                     folder="Trip") for name, colour in PHOTOS}
        uploaded["tone.wav"] = api.upload(alice, "team", "tone.wav", wav_bytes(3.0), "audio/wav")
        uploaded["clip.webm"] = api.upload(alice, "team", "clip.webm", webm_bytes(), "video/webm")
    return uploaded


def watch_media_requests(page) -> list[dict]:
    """The Range header and status of every request for a -/media URL."""
    seen = []
    page.on("response", lambda response: seen.append(
        {"range": response.request.headers.get("range"), "status": response.status})
        if "/-/media" in response.url else None)
    return seen


def assert_plays_and_seeks(page, selector: str, duration: float, seen: list[dict]):
    """Metadata loads (readyState >= 1, a duration), the bytes came by Range
    requests (206), and setting currentTime seeks."""
    page.wait_for_function(
        "(s) => { const m = document.querySelector(s); return m.readyState >= 1"
        " && isFinite(m.duration); }", arg=selector, timeout=15_000)
    assert page.evaluate(f"document.querySelector('{selector}').duration") == pytest.approx(
        duration, abs=0.1)
    seeked = page.evaluate(f"""() => new Promise((resolve) => {{
        const media = document.querySelector('{selector}');
        media.addEventListener('seeked', () => resolve(media.currentTime), {{once: true}});
        media.currentTime = {duration / 2};
    }})""")
    assert seeked == pytest.approx(duration / 2, abs=0.15)
    assert any(r["range"] and r["status"] == 206 for r in seen), seen
    assert page.locator("[data-media-fallback]").is_hidden()


def no_overflow(page):
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


@pytest.mark.parametrize("width", WIDTHS)
def test_audio_and_video_play_and_seek(page_factory, files, width):
    page = page_factory(width)
    log_in(page)
    seen = watch_media_requests(page)
    page.goto(files["tone.wav"]["url"])
    audio = page.locator("audio.df-player")
    assert audio.get_attribute("preload") == "metadata"
    assert audio.get_attribute("src").endswith(f"/{files['tone.wav']['id']}/-/media")
    assert_plays_and_seeks(page, "audio.df-player", 3.0, seen)
    no_overflow(page)
    screenshot(page, "viewer-audio")

    seen.clear()
    page.goto(files["clip.webm"]["url"])
    assert page.locator("video.df-player").get_attribute("playsinline") is not None
    assert_plays_and_seeks(page, "video.df-player", 2.0, seen)
    assert page.evaluate("document.querySelector('video').videoWidth") == 160
    # The first frame is drawn before the screenshot.
    page.wait_for_function("document.querySelector('video').readyState >= 2")
    box = page.locator("video.df-player").bounding_box()
    assert box["width"] > 300, box
    no_overflow(page)
    screenshot(page, "viewer-video")


def lightbox_state(page) -> dict:
    return page.evaluate("""() => {
        const dialog = document.querySelector('[data-lightbox-dialog]');
        const image = dialog.querySelector('[data-lightbox-image]');
        return {open: dialog.open, name: dialog.querySelector('[data-lightbox-file]').textContent,
                count: dialog.querySelector('[data-lightbox-count]').textContent,
                src: image.getAttribute('src'), focus: document.activeElement.className};
    }""")


@pytest.mark.parametrize("width", WIDTHS)
def test_an_image_and_its_lightbox(page_factory, files, width):
    page = page_factory(width)
    log_in(page)
    lake = files["lake.png"]
    page.goto(lake["url"])
    picture = page.locator(".df-image-open img")
    page.wait_for_function("document.querySelector('.df-image-open img').naturalWidth > 0")
    box = picture.bounding_box()
    assert 200 < box["width"] <= width and box["height"] == pytest.approx(box["width"] * 2 / 3,
                                                                          abs=2)
    # Previous and next in the folder's order (newest first), without JavaScript too.
    steps = page.locator(".df-image-steps a").all_inner_texts()
    assert steps == ["← sunset.png", "forest.png →"]
    no_overflow(page)
    screenshot(page, "viewer-image")

    page.locator(".df-image-open").click()
    page.wait_for_function("document.querySelector('[data-lightbox-image]').complete"
                           " && document.querySelector('[data-lightbox-image]').naturalWidth")
    state = lightbox_state(page)
    assert state["open"] and state["name"] == "lake.png" and state["count"] == "2 of 3"
    assert state["src"].endswith(f"/{lake['id']}/-/image")
    dialog = page.locator("[data-lightbox-dialog]")
    assert dialog.get_attribute("role") == "dialog"
    assert dialog.get_attribute("aria-modal") == "true"
    # Fills the screen; its buttons are big enough to tap.
    dialog_box = dialog.bounding_box()
    assert dialog_box["width"] == width and dialog_box["height"] == 900
    for button in ("[data-lightbox-prev]", "[data-lightbox-next]", "[data-lightbox-close]"):
        tap = page.locator(button).bounding_box()
        assert tap["width"] >= 44 and tap["height"] >= 44, (button, tap)
        assert page.locator(button).get_attribute("aria-label")
    # What the screen shows (a full-page picture would show the page below it).
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"viewer-lightbox-{width}.png"))

    page.keyboard.press("ArrowRight")
    assert lightbox_state(page)["name"] == "forest.png"
    assert lightbox_state(page)["count"] == "3 of 3"
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert lightbox_state(page)["name"] == "sunset.png"
    # Focus stays in the dialog (the browser's modal dialog makes the page inert).
    for _ in range(5):
        page.keyboard.press("Tab")
        assert page.evaluate("document.querySelector('[data-lightbox-dialog]')"
                             ".contains(document.activeElement)")
    page.keyboard.press("Escape")
    state = lightbox_state(page)
    assert not state["open"] and state["focus"] == "df-image-open"


@pytest.mark.parametrize("width", WIDTHS)
def test_a_folder_grid_opens_its_images_in_the_lightbox(page_factory, files, width):
    page = page_factory(width)
    log_in(page)
    page.goto("/-/files/source/team?folder=Trip")
    cards = page.locator(".df-card[data-file-id]")
    assert cards.locator(".df-name").all_inner_texts() == ["sunset.png", "lake.png", "forest.png"]
    cards.nth(1).locator(".df-thumb").click()
    page.wait_for_function("document.querySelector('[data-lightbox-dialog]').open")
    state = lightbox_state(page)
    assert state["name"] == "lake.png" and state["count"] == "2 of 3"
    page.keyboard.press("ArrowRight")
    assert lightbox_state(page)["name"] == "forest.png"
    page.keyboard.press("ArrowRight")  # past the last: back to the first
    assert lightbox_state(page)["name"] == "sunset.png"
    page.locator("[data-lightbox-close]").click()
    state = lightbox_state(page)
    assert not state["open"] and "df-card-link" in state["focus"]
    # The card's name still goes to the file's page.
    cards.nth(0).locator(".df-name").click()
    page.wait_for_url(f"**{files['sunset.png']['url']}")
    # Search results open it too, over the images they show, in their order.
    page.goto("/-/files/search?source=team&folder=Trip")
    shown = page.locator(".df-result-name").all_inner_texts()
    page.locator(".df-result .df-thumb").nth(0).click()
    page.wait_for_function("document.querySelector('[data-lightbox-dialog]').open")
    state = lightbox_state(page)
    assert state["name"] == shown[0] and state["count"] == f"1 of {len(shown)}"
    page.keyboard.press("Escape")
    assert not lightbox_state(page)["open"]
