"""A decompression bomb being thumbnailed leaves health checks and downloads fast."""

import io
import time

import httpx
from PIL import Image

from support import api


def bomb() -> bytes:
    """30,000 x 30,000 one-bit pixels: a few KB of PNG, 900 MB if decoded."""
    out = io.BytesIO()
    Image.new("1", (30_000, 30_000)).save(out, "PNG")
    return out.getvalue()


def test_health_and_downloads_stay_fast_while_a_bomb_is_thumbnailed(make_app):
    server = make_app()
    with server.login("admin", server.generated_admin_password()) as admin:
        other = api.upload(admin, "team", "plain.bin", b"p" * 200_000)
        bombs = [api.upload(admin, "team", f"bomb-{n}.png", bomb(), "image/png")
                 for n in range(3)]
        timings = []
        for _ in range(10):
            for path in ("/-/health", other["download_url"]):
                started = time.perf_counter()
                response = admin.get(path) if path != "/-/health" else httpx.get(server.url + path)
                timings.append(time.perf_counter() - started)
                assert response.status_code == 200
        assert max(timings) < 1.0, timings
        for file in bombs:
            thumbnail = admin.get(file["thumbnail_url"])
            assert thumbnail.headers["content-type"].startswith("image/svg+xml")
    assert httpx.get(server.url + "/-/health").status_code == 200
