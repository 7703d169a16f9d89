"""Downloads: bytes, safety headers, validators, ranges and HEAD."""

import pytest

from support import api
from support.config import ALICE

CONTENT = bytes(range(256)) * 40  # 10,240 bytes


@pytest.fixture(scope="module")
def stored(open_server):
    with open_server.client() as client:
        return api.upload(client, "one", "Übersicht «2025».bin", CONTENT, "application/x-test")


def get(server, path, **headers):
    with server.client() as client:
        return client.get(path, headers=headers)


def test_download_is_the_uploaded_bytes_as_an_attachment(open_server, stored):
    response = get(open_server, stored["download_url"])
    assert response.status_code == 200
    assert response.content == CONTENT
    assert response.headers["content-length"] == str(len(CONTENT))
    assert response.headers["content-type"] == "application/x-test"
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"_bersicht _2025_.bin\"; "
        "filename*=UTF-8''%C3%9Cbersicht%20%C2%AB2025%C2%BB.bin"
    )
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in response.headers["content-security-policy"]
    assert response.headers["accept-ranges"] == "bytes"


def test_downloads_answer_with_the_routers_cache_headers(open_server, stored):
    """A download to someone signed in is private and not stored; every answer
    varies on Cookie and Authorization; a rejected token is a 401."""
    with open_server.client() as anyone, open_server.client(ALICE) as alice:
        public, private = anyone.get(stored["download_url"]), alice.get(stored["download_url"])
    assert public.status_code == private.status_code == 200
    assert public.headers["cache-control"] == "private, no-cache"
    assert private.headers["cache-control"] == "private, no-store"
    for response in (public, private):
        assert {"cookie", "authorization"} <= {
            part.strip().lower() for part in response.headers["vary"].split(",")}
    with open_server.client(headers={"Authorization": "Bearer dstok_not-a-real-token"}) as bad:
        response = bad.get(stored["download_url"])
        api.assert_api_error(response, 401)
        assert "invalid_token" in response.headers["www-authenticate"]


def test_a_thumbnail_at_its_versioned_url_is_cached_for_good_even_when_signed_in(
        open_server, stored):
    bare = stored["thumbnail_url"]
    assert stored["thumbnail_version"]
    versioned = f"{bare}?v={stored['thumbnail_version']}"
    for actor in (None, ALICE):
        with open_server.client(actor) as client:
            kept, checked = client.get(versioned), client.get(bare)
            stale = client.get(bare + "?v=0123456789abcdef")
            again = client.get(versioned, headers={"If-None-Match": kept.headers["etag"]})
        assert kept.status_code == checked.status_code == stale.status_code == 200
        assert kept.headers["cache-control"] == "private, max-age=31536000, immutable"
        assert checked.headers["cache-control"] == "private, no-cache"
        assert stale.headers["cache-control"] == "private, no-cache"
        assert again.status_code == 304 and again.content == b""
        assert "x-datasette-files-cache-control" not in kept.headers
        assert {"cookie", "authorization"} <= {
            part.strip().lower() for part in kept.headers["vary"].split(",")}


def test_html_and_svg_never_render_inline(open_server):
    with open_server.client() as client:
        page = api.upload(client, "one", "evil.html", b"<script>alert(1)</script>", "text/html")
        response = client.get(page["download_url"])
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["content-security-policy"] == "default-src 'none'; sandbox"


def test_etag_and_last_modified_give_304(open_server, stored):
    first = get(open_server, stored["download_url"])
    etag = first.headers["etag"]
    assert etag == '"' + stored["content_hash"].removeprefix("sha256:") + '"'
    not_modified = get(open_server, stored["download_url"], **{"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    assert get(open_server, stored["download_url"], **{"If-None-Match": '"other"'}).status_code == 200
    since = get(open_server, stored["download_url"],
                **{"If-Modified-Since": first.headers["last-modified"]})
    assert since.status_code == 304
    assert get(open_server, stored["download_url"],
               **{"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}).status_code == 200


@pytest.mark.parametrize(
    "header,start,end",
    [
        ("bytes=0-99", 0, 99),
        ("bytes=5000-5009", 5000, 5009),
        ("bytes=10000-", 10000, 10239),
        ("bytes=-40", 10200, 10239),
        ("bytes=10200-99999", 10200, 10239),
    ],
)
def test_single_ranges(open_server, stored, header, start, end):
    response = get(open_server, stored["download_url"], Range=header)
    assert response.status_code == 206
    assert response.content == CONTENT[start : end + 1]
    assert response.headers["content-range"] == f"bytes {start}-{end}/{len(CONTENT)}"
    assert response.headers["content-length"] == str(end - start + 1)


@pytest.mark.parametrize("header", ["bytes=10240-", "bytes=20000-20001", "bytes=-0"])
def test_unsatisfiable_ranges_are_416(open_server, stored, header):
    response = get(open_server, stored["download_url"], Range=header)
    api.assert_api_error(response, 416, f"outside the file's {len(CONTENT)} bytes")
    assert response.headers["content-range"] == f"bytes */{len(CONTENT)}"


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "items=0-5", "bytes=abc"])
def test_ranges_we_do_not_serve_give_the_whole_file(open_server, stored, header):
    response = get(open_server, stored["download_url"], Range=header)
    assert response.status_code == 200 and response.content == CONTENT


def test_if_range_with_a_stale_etag_gives_the_whole_file(open_server, stored):
    stale = get(open_server, stored["download_url"], Range="bytes=0-9", **{"If-Range": '"old"'})
    assert stale.status_code == 200 and len(stale.content) == len(CONTENT)
    etag = get(open_server, stored["download_url"]).headers["etag"]
    fresh = get(open_server, stored["download_url"], Range="bytes=0-9", **{"If-Range": etag})
    assert fresh.status_code == 206 and fresh.content == CONTENT[:10]


def test_head_has_headers_and_no_body(open_server, stored):
    with open_server.client() as client:
        response = client.head(stored["download_url"])
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(CONTENT))
    assert response.content == b""


def test_empty_file(open_server):
    with open_server.client() as client:
        file = api.upload(client, "one", "empty.txt", b"")
        response = client.get(file["download_url"])
    assert response.status_code == 200 and response.content == b""
    assert file["size"] == 0


def test_file_json(open_server, stored):
    with open_server.client() as client:
        response = client.get(f"/-/files/{stored['id']}.json")
    # The bare file object, as the published datasette-files answers: clients read meta["id"].
    assert response.json() == stored


def test_bytes_missing_from_storage_are_a_404_whatever_is_asked(open_server):
    with open_server.client() as client:
        empty = api.upload(client, "one", "gone-empty.txt", b"", "text/plain")
        full = api.upload(client, "one", "gone.txt", b"soon gone", "text/plain")
    for file in (empty, full):
        path = next((open_server.data_dir / "one").glob(f"{file['id']}-*"))
        path.unlink()
    with open_server.client() as client:
        for file in (empty, full):
            url = file["download_url"]
            api.assert_api_error(client.get(url), 404, "missing from storage")
            assert client.head(url).status_code == 404
            etag = f'"{file["content_hash"][7:]}"'
            api.assert_api_error(client.get(url, headers={"If-None-Match": etag}), 404)
        api.assert_api_error(client.get(full["download_url"],
                                        headers={"Range": "bytes=100-200"}), 404)


@pytest.mark.parametrize("size", ["\u00b2", "\u0663\u0660\u0660", "-200", "200.0", "9" * 40])
def test_a_thumbnail_size_that_is_not_one_we_make_is_a_400(open_server, stored, size):
    with open_server.client() as client:
        response = client.get(stored["thumbnail_url"], params={"size": size})
    api.assert_api_error(response, 400, "'size' must be one of 200, 400")
