"""The upload page on a source whose bucket takes the bytes itself, in a real
browser against a real S3-compatible server (moto): a small file goes in one
presigned POST, a large one in parallel parts; a multipart upload cancelled
part-way goes on after a reload from the parts the bucket holds. Our server
only ever sees prepare, parts and complete."""

from __future__ import annotations

import hashlib
import json
import re
from urllib.parse import parse_qs, urlparse

import pytest

from support.browser import screenshot
from support.config import OPEN_PERMISSIONS
from support.s3 import needs_moto, s3_env, start_moto
from support.s3_direct import PART_SIZE, bucket_for, direct_source

SMALL = 200_000
LARGE = 2 * PART_SIZE + 300_000  # three parts
LAST_MODIFIED = 1_700_000_000_000

# A DataTransfer of files ([name, size]) of bytes i % 251, with a fixed
# lastModified, so dropping "the same file" again after a reload is possible.
MAKE_TRANSFER = """([files, lastModified]) => {
    const dt = new DataTransfer();
    for (const [name, size] of files) {
        const bytes = new Uint8Array(size);
        for (let i = 0; i < size; i++) bytes[i] = i % 251;
        dt.items.add(new File([bytes], name, {type: "application/octet-stream", lastModified}));
    }
    return dt;
}"""


def pattern(size: int) -> bytes:
    return (bytes(range(251)) * (size // 251 + 1))[:size]


def drop_files(page, files):
    transfer = page.evaluate_handle(MAKE_TRANSFER, [files, LAST_MODIFIED])
    for event in ("dragenter", "dragover", "drop"):
        page.dispatch_event("[data-drop-zone]", event, {"dataTransfer": transfer})


def row(page, name):
    return page.locator(".df-item", has=page.locator(".df-item-name", has_text=name))


pytestmark = needs_moto()


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    server = start_moto(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


@pytest.fixture
def bucket(moto, request):
    return bucket_for(moto, request.node.nodeid)


@pytest.fixture
def server(make_server, moto, bucket, tmp_path):
    return make_server({"permissions": OPEN_PERMISSIONS, "plugins": {"datasette-files": {
        "sources": {"bucket": direct_source(moto, bucket)}}}},
        data_dir=tmp_path / "data", env=s3_env())


@pytest.fixture
def page_at(browser, server):
    contexts = []

    def make(width: int):
        context = browser.new_context(viewport={"width": width, "height": 900},
                                      base_url=server.url)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.mark.parametrize("width", [1280, 375])
def test_files_go_straight_to_the_bucket_and_a_cut_upload_resumes(page_at, server, moto,
                                                                  bucket, width):
    page = page_at(width)
    ours, parts_sent = [], []
    prepared = []
    page.on("request", lambda request: ours.append(f"{request.method} {request.url}")
            if request.url.startswith(server.url + "/-/files/upload/bucket/") else None)
    page.on("request", lambda request: prepared.append(json.loads(request.post_data))
            if request.url.endswith("/-/prepare") else None)

    def parts(route, request):
        query = parse_qs(urlparse(request.url).query)
        if request.method == "PUT" and "partNumber" in query:
            number = int(query["partNumber"][0])
            parts_sent.append(number)
            if number != 1 and cutting:
                route.abort("connectionreset")  # the network goes after part 1
                return
        route.continue_()

    cutting = True
    page.route(re.compile(re.escape(moto.url) + ".*"), parts)
    page.goto("/-/files/upload/bucket")
    section = page.locator("[data-upload]")
    assert section.get_attribute("data-direct") is not None
    assert section.get_attribute("data-put-url") is None  # no one-request PUT through us

    small, large = f"small-{width}.bin", f"large-{width}.bin"
    drop_files(page, [(small, SMALL), (large, LARGE)])
    page.wait_for_selector(f".df-item.df-done >> text=Uploaded: view {small}", timeout=30_000)
    # Parts 2 and 3 fail and are retried; part 1 is in the bucket. Cancel, as someone
    # whose train went into a tunnel would.
    page.wait_for_function("document.body.innerText.includes('Connection lost')", timeout=30_000)
    assert 1 in parts_sent
    screenshot(page, "direct-upload-resuming")
    row(page, large).get_by_role("button", name=f"Cancel {large}").click()
    remembered = page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('df-direct'))")
    assert len(remembered) == 1

    # Back online, the page reloaded: the same file dropped again sends only what is missing.
    cutting = False
    parts_sent.clear()
    page.goto("/-/files/upload/bucket")
    drop_files(page, [(large, LARGE)])
    page.wait_for_selector(f".df-item.df-done >> text=Uploaded: view {large}", timeout=60_000)
    assert sorted(parts_sent) == [2, 3]
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('df-direct'))") == []
    assert row(page, large).locator("progress").get_attribute("value") == "100"
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, overflow
    screenshot(page, "direct-upload")

    stored = {name: key for key in bucket.keys() for name in (small, large)
              if key.endswith("-" + name)}
    assert bucket.get(stored[small]) == pattern(SMALL)
    assert bucket.get(stored[large]) == pattern(LARGE)
    # The small file's hash went with prepare (the bucket checks it); parts have none.
    asked = {body["filename"]: body for body in prepared}
    assert asked[small]["sha256"] == hashlib.sha256(pattern(SMALL)).hexdigest()
    assert asked[large]["multipart"] is True and "sha256" not in asked[large]
    # Our server saw the steps, never the bytes.
    paths = {urlparse(line.split(" ", 1)[1]).path.rsplit("/", 1)[-1] for line in ours}
    assert paths == {"prepare", "parts", "complete"}, ours
    files = json.loads(page.evaluate(
        "fetch('/-/files/source/bucket.json').then(r => r.text())"))["files"]
    assert sorted(file["filename"] for file in files) == sorted([small, large])


def test_a_part_the_bucket_lacks_at_complete_is_sent_again_not_the_whole_file(
        page_at, server, moto, bucket):
    # A part PUT answered 200 that never reached the bucket (a proxy's doing,
    # say): complete answers 409 with missing_parts. The page sends that part
    # again and completes, on the same token; it does not start from zero.
    page = page_at(1280)
    parts_sent, prepares = [], []
    page.on("request", lambda request: prepares.append(request.url)
            if request.url.endswith("/-/prepare") else None)

    def parts(route, request):
        query = parse_qs(urlparse(request.url).query)
        if request.method == "PUT" and "partNumber" in query:
            number = int(query["partNumber"][0])
            parts_sent.append(number)
            if number == 3 and parts_sent.count(3) == 1:
                route.fulfill(status=200, body="", headers={
                    "Access-Control-Allow-Origin": "*", "ETag": '"lost"',
                    "Access-Control-Expose-Headers": "ETag"})
                return
        route.continue_()

    page.route(re.compile(re.escape(moto.url) + ".*"), parts)
    page.goto("/-/files/upload/bucket")
    name = "lost-part.bin"
    drop_files(page, [(name, LARGE)])
    page.wait_for_selector(f".df-item.df-done >> text=Uploaded: view {name}", timeout=60_000)
    assert sorted(parts_sent) == [1, 2, 3, 3]
    assert len(prepares) == 1
    [key] = [key for key in bucket.keys() if key.endswith("-" + name)]
    assert bucket.get(key) == pattern(LARGE)
