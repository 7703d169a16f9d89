"""The spec's three-step upload, as a test would drive it with curl."""

from __future__ import annotations

import contextlib
import socket
import time
from pathlib import Path
from typing import Optional

import httpx


def prepare(client: httpx.Client, source: str, filename: str, size: Optional[int],
            content_type: Optional[str] = None, **extra) -> httpx.Response:
    """Prepare an upload; ``extra`` goes in the body (folder, on_conflict, ...)."""
    body = {"filename": filename, **extra}
    if size is not None:
        body["size"] = size
    if content_type is not None:
        body["content_type"] = content_type
    return client.post(f"/-/files/upload/{source}/-/prepare", json=body)


def send_multipart(client: httpx.Client, source: str, token: str, content: bytes,
                   filename: str = "file.bin") -> httpx.Response:
    return client.post(
        f"/-/files/upload/{source}/-/upload",
        data={"upload_token": token},
        files={"file": (filename, content)},
    )


def send_raw(client: httpx.Client, source: str, token: str, content) -> httpx.Response:
    return client.post(
        f"/-/files/upload/{source}/-/upload",
        content=content,
        headers={"X-Upload-Token": token, "Content-Type": "application/octet-stream"},
    )


def send_chunk(client: httpx.Client, source: str, token: str, content: bytes, start: int,
               total: int, content_range: Optional[str] = None) -> httpx.Response:
    """One chunk of a resumable upload: ``content`` at byte ``start`` of ``total``."""
    content_range = content_range or f"bytes {start}-{start + len(content) - 1}/{total}"
    return client.post(
        f"/-/files/upload/{source}/-/upload",
        content=content,
        headers={"X-Upload-Token": token, "Content-Range": content_range,
                 "Content-Type": "application/octet-stream"},
    )


def upload_progress(client: httpx.Client, source: str, token: str) -> dict:
    response = client.get(f"/-/files/upload/{source}/-/upload",
                          headers={"X-Upload-Token": token})
    assert response.status_code == 200, response.text
    return response.json()


def complete(client: httpx.Client, source: str, token: str, **extra) -> httpx.Response:
    return client.post(f"/-/files/upload/{source}/-/complete",
                       json={"upload_token": token, **extra})


def upload(client: httpx.Client, source: str, filename: str, content: bytes,
           content_type: Optional[str] = None, raw: bool = False, **extra) -> dict:
    """All three steps; returns the registered file object. ``extra`` goes in
    prepare's body (folder, on_conflict, ...)."""
    prepared = prepare(client, source, filename, len(content), content_type, **extra)
    assert prepared.status_code == 200, prepared.text
    token = prepared.json()["upload_token"]
    sender = send_raw if raw else send_multipart
    sent = sender(client, source, token, content)
    assert sent.status_code == 200, sent.text
    completed = complete(client, source, token)
    assert completed.status_code == 201, completed.text
    return completed.json()["file"]


def assert_api_error(response: httpx.Response, status: int, *fragments: str) -> dict:
    """A JSON error with this status whose messages mention every fragment."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert body["ok"] is False and body["errors"], body
    message = " ".join(body["errors"])
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return body


@contextlib.contextmanager
def partial_upload(port: int, source: str, token: str, declared: int, sent: int,
                   headers: Optional[dict] = None):
    """A raw upload promising ``declared`` bytes that sends only ``sent`` of them;
    the connection stays open inside the block and drops when it ends."""
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            f"POST /-/files/upload/{source}/-/upload HTTP/1.1\r\nHost: test\r\n{extra}"
            f"X-Upload-Token: {token}\r\nContent-Length: {declared}\r\n\r\n".encode()
            + b"p" * sent
        )
        time.sleep(0.5)
        yield


def wait_for_sync(client, slug="share", hashed=True):
    """The status of source ``slug``'s sync once it (and, with ``hashed``, hashing) ended."""
    for _ in range(300):
        status = client.get(f"/-/files/sync/{slug}.json").json()
        if status["sync"]["state"] in ("done", "unhealthy", "failed") and not status["running"] \
                and (not hashed or not status["hashing_pending"]):
            return status
        time.sleep(0.1)
    raise AssertionError(status)


def stored_files(root: Path) -> list[str]:
    """Every file under a source's root but the server's own temporary files."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and ".datasette-files-tmp" not in p.parts)


def search(client: httpx.Client, **params) -> dict:
    """search.json's answer, which must be a 200."""
    response = client.get("/-/files/search.json", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def names(result: dict) -> list[str]:
    """The file names of a search's answer, in order."""
    return [file["filename"] for file in result["files"]]


def multipart_body(files: list[tuple[str, bytes]], fields: Optional[dict] = None,
                   content_type: str = "application/octet-stream") -> tuple[bytes, str]:
    """A multipart/form-data body: ``fields`` first, then a ``file`` part per
    (filename, content), filenames exactly as given; and its Content-Type."""
    boundary = "batch-boundary-7d1c"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
             f'{value}\r\n'.encode() for name, value in (fields or {}).items()]
    parts += [f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
              f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'.encode("utf-8")
              + content + b"\r\n" for filename, content in files]
    return (b"".join(parts) + f"--{boundary}--\r\n".encode(),
            f"multipart/form-data; boundary={boundary}")


def batch(client: httpx.Client, source: str, files: list[tuple[str, bytes]],
          **fields) -> httpx.Response:
    """POST /-/files/upload/{source}/-/batch with these files and fields."""
    body, content_type = multipart_body(files, fields)
    return client.post(f"/-/files/upload/{source}/-/batch", content=body,
                       headers={"Content-Type": content_type})


def upload_many(client: httpx.Client, source: str, files: list[tuple[str, bytes]],
                **fields) -> list[dict]:
    """Register many files in one batch request (a test's filler: one request
    instead of three per file); their file objects, in order."""
    response = batch(client, source, files, **fields)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert all(result["ok"] for result in results), results
    return [result["file"] for result in results]
