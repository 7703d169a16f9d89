"""Issue 14's attacks on correctness: malformed input, who may see what, logins
that outlive a logout, bytes left or served stale, files adopted as strangers.

Each takes a Ctx, as in hostile_floods.py, and returns its outcome in words."""

from __future__ import annotations

import asyncio
import io
import os
import sqlite3
import time
from pathlib import Path
from typing import Optional

import httpx

from hostile_inputs import cases
from hostile_server import KIB, MIB, PASSWORDS, Ctx, login, password_hash_env
from hostile_wire import (ARCHIVE, TEAM, cookie_header, counts, error_message, open_partial,
                          prepare, put_file, read_answer, request_head, send, status_of)


# Malformed input -------------------------------------------------------------

def small_png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


async def malformed(ctx: Ctx) -> str:
    admin = login(ctx.url, "admin", PASSWORDS["admin"])
    ids = {}
    for key, cookies, name, content, kind in (
            ("text", ctx.member_cookies, "target.txt", b"target bytes", "text/plain"),
            ("victim", ctx.member_cookies, "victim.txt", b"victim", "text/plain"),
            ("png", ctx.member_cookies, "small.png", small_png(), "image/png"),
            ("csv", admin, "table.csv", b"a,b\n1,2\n", "text/csv")):
        file = await put_file(ctx, cookies, name, content, kind)
        ids[key] = file["id"] if file else "df-01aaaaaaaaaaaaaaaaaaaaaaaa"
    async with ctx.client(cookies=ctx.member_cookies) as client:
        ids["token"] = await prepare(ctx, client, "ten.bin", 10) or "tok_missing"
    every = cases(ids)
    clients = {"member": ctx.client(cookies=ctx.member_cookies, timeout=60),
               "admin": ctx.client(cookies=admin, timeout=60),
               "anonymous": ctx.client(timeout=60)}
    results = []
    try:
        for case in every:
            try:
                # Bytes, so header values go out as they are (httpx encodes str as ASCII).
                answer = await send(ctx, clients[case.who], case.method, case.path,
                                    params=case.params or None, content=case.content,
                                    headers={k: v.encode("latin-1")
                                             for k, v in case.headers.items()})
            except (ValueError, TypeError) as ex:  # a request this client cannot send
                ctx.details.append(f"not sent ({type(ex).__name__}): {case.label}")
                continue
            results.append((case, answer))
    finally:
        for client in clients.values():
            await client.aclose()
    five, four, other, html = [], 0, [], []
    for case, answer in results:
        if not isinstance(answer, httpx.Response):
            five.append(f"no answer ({type(answer).__name__})  {case.label}")
            continue
        status = answer.status_code
        if status >= 500:
            five.append(f"{status}  {case.label}  {error_message(answer)[:80]}")
        elif status >= 400:
            four += 1
            if case.json_endpoint and not answer.headers.get("content-type", "").startswith(
                    "application/json"):
                html.append(f"{status} not JSON  {case.label}")
        else:
            other.append(f"{status}  {case.label}")
    ctx.details += [f"5xx or no answer: {line}" for line in five]
    ctx.details += [f"error not in JSON: {line}" for line in html]
    ctx.details += [f"accepted (2xx/3xx): {line}" for line in other]
    ctx.figures.update(tried=len(results), four=four, five=len(five), other=len(other),
                       not_json=len(html))
    kinds = counts(_kind(line.split("  ")[1]) for line in five)
    return (f"{len(results)} malformed inputs: {four} got 4xx, {len(five)} got 5xx or no answer, "
            f"{len(other)} were accepted (2xx/3xx); {len(html)} JSON-endpoint errors not JSON"
            + (f"; 5xx by input: {kinds}" if five else ""))


def _kind(label: str) -> str:
    """A case's input, without its value: 'search.json limit', 'prepare body'."""
    for mark, keep in ((" body ", " body"), ("=", ""), (":", "")):
        if mark in label:
            return label.split(mark)[0] + keep
    return label


# Anonymous visitors of a closed instance ---------------------------------------

async def anonymous(ctx: Ctx) -> str:
    file_id = ctx.member_file["id"]
    paths = ["/-/files", "/-/files/search.json", "/-/files/sources.json",
             "/-/files/source/team.json", "/-/files/source/team", "/-/files/search?q=x",
             f"/-/files/{file_id}.json", f"/-/files/{file_id}/download",
             f"/-/files/{file_id}/thumbnail", "/-/files/batch.json?id=" + file_id]
    seen = []
    async with ctx.client() as client:
        for path in paths:
            answer = await send(ctx, client, "GET", path)
            seen.append(f"{path.replace(file_id, '{id}')} {status_of(answer)}{_listed(answer)}")
        health = await send(ctx, client, "GET", "/-/health")
    keys = "n/a"
    if isinstance(health, httpx.Response):
        try:
            body = health.json()
            keys = ",".join(sorted(map(str, body))) if isinstance(body, dict) else "none"
        except ValueError:
            keys = "none (not JSON)"
        size = len(health.content)
    ctx.figures["seen"] = seen
    return ("no login: " + "; ".join(seen)
            + f"; /-/health {status_of(health)} with keys {keys}"
            + (f" ({size} bytes)" if isinstance(health, httpx.Response) else ""))


def _listed(answer) -> str:
    if not (isinstance(answer, httpx.Response) and answer.status_code == 200):
        return ""
    try:
        body = answer.json()
    except ValueError:
        return ""
    for key in ("files", "sources"):
        if isinstance(body.get(key), (list, dict)):
            return f" ({len(body[key])} {key})"
    return ""


# Logout and revocation ---------------------------------------------------------

async def who_is(ctx: Ctx, cookies: dict) -> str:
    async with ctx.client(cookies=cookies) as client:
        answer = await send(ctx, client, "GET", "/-/actor.json")
    if isinstance(answer, httpx.Response) and answer.status_code == 200:
        try:
            actor = answer.json().get("actor")
        except ValueError:
            return f"{answer.status_code} not JSON"
        return (actor or {}).get("id") or "anonymous"
    return f"/-/actor.json {status_of(answer)}"


async def logout(ctx: Ctx) -> str:
    cookies = login(ctx.url, "bob", PASSWORDS["bob"])
    if not cookies:
        return "bob could not log in"
    before = await who_is(ctx, cookies)
    async with ctx.client(cookies=cookies) as client:
        out = await send(ctx, client, "POST", "/-/logout")
        listing = await send(ctx, client, "GET", "/-/files/sources.json")
    copied = await who_is(ctx, cookies)
    # A password change (a new hash, then a restart) with a login made before it.
    cookies = login(ctx.url, "bob", PASSWORDS["bob"])
    new_hash = password_hash_env(ctx.server.target, "bob", "bob-new-password")
    await asyncio.to_thread(ctx.restart, **new_hash)
    after_change = await who_is(ctx, cookies)
    ctx.figures.update(before=before, after_logout=copied, after_password_change=after_change)
    return (f"a copied cookie: before logout {before!r}; POST /-/logout {status_of(out)}; "
            f"after it the copy is {copied!r} (sources.json {status_of(listing)}"
            f"{_listed(listing)}); a login from before a password change, after the "
            f"restart with the new hash: {after_change!r}")


# Leftover parts ----------------------------------------------------------------

TEMP_DIRS = (".datasette-files-tmp", "tmp")
TEMP_SUFFIXES = (".part", ".chunks")


def temp_bytes(data_dir: Path) -> int:
    """Bytes in upload temporaries: files under a .datasette-files-tmp or tmp
    directory, or named *.part or *.chunks, anywhere in the data directory."""
    total = 0
    for folder, _, names in os.walk(data_dir):
        parts = Path(folder).relative_to(data_dir).parts
        in_temp = any(p in TEMP_DIRS for p in parts)
        for name in names:
            if in_temp or name.endswith(TEMP_SUFFIXES):
                try:
                    total += os.path.getsize(os.path.join(folder, name))
                except OSError:
                    pass
    return total


async def cut_upload(ctx: Ctx, client: httpx.AsyncClient, how: str, size_mib: int, n: int):
    """An upload to the archive of 2 x size_mib MiB by ``how`` (PUT, raw,
    multipart) that has sent size_mib MiB and waits, its connection open:
    (reader, writer)."""
    declared = 2 * size_mib * MIB
    cookie = {"Cookie": cookie_header(ctx.member_cookies)}
    preamble = b""
    if how == "PUT":
        head = request_head("PUT", f"{ARCHIVE}/cut-{n}.bin",
                            {**cookie, "Content-Length": declared})
    else:
        token = await prepare(ctx, client, f"cut-{n}.bin", declared, ARCHIVE) or "tok_missing"
        if how == "raw":
            head = request_head("POST", f"{ARCHIVE}/-/upload", {
                **cookie, "X-Upload-Token": token, "Content-Length": declared,
                "Content-Type": "application/octet-stream"})
        else:
            boundary = "hostile-cut"
            preamble = (f'--{boundary}\r\nContent-Disposition: form-data; name="upload_token"'
                        f'\r\n\r\n{token}\r\n--{boundary}\r\nContent-Disposition: form-data; '
                        f'name="file"; filename="cut-{n}.bin"\r\n\r\n').encode()
            closing = f"\r\n--{boundary}--\r\n".encode()
            head = request_head("POST", f"{ARCHIVE}/-/upload", {
                **cookie, "Content-Length": len(preamble) + declared + len(closing),
                "Content-Type": f"multipart/form-data; boundary={boundary}"})
    reader, writer = await open_partial(ctx.server.port, head, preamble)
    block = os.urandom(MIB)
    try:
        for _ in range(size_mib):
            writer.write(block)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    return reader, writer


async def early_answer(reader) -> str:
    """The status the server already sent on a cut upload's connection, if any."""
    try:
        answer = await asyncio.wait_for(read_answer(reader), 1)
    except asyncio.TimeoutError:
        return ""
    return f" (answered {answer.status or 'nothing and closed'})"


async def wait_for_temp(data_dir: Path, at_least: int, longest: float = 15) -> int:
    started = time.monotonic()
    while time.monotonic() - started < longest:
        seen = temp_bytes(data_dir)
        if seen >= at_least:
            return seen
        await asyncio.sleep(0.2)
    return temp_bytes(data_dir)


async def parts(ctx: Ctx) -> str:
    size_mib, wait = ctx.args.parts_mib, ctx.args.parts_wait
    data_dir = ctx.server.data_dir
    cut = []
    for n, how in enumerate(("PUT", "raw", "multipart")):
        async with ctx.client(cookies=ctx.member_cookies) as client:
            before = temp_bytes(data_dir)
            reader, writer = await cut_upload(ctx, client, how, size_mib, n)
            seen = await wait_for_temp(data_dir, before + size_mib * MIB * 9 // 10) - before
            odd = await early_answer(reader) if seen < size_mib * MIB // 2 else ""
            cut.append(f"{how} {seen / MIB:.0f} MiB on disk{odd}")
            await asyncio.to_thread(ctx.restart, kill=True)
            writer.close()
    at_restart = temp_bytes(data_dir)
    async with ctx.client(cookies=ctx.member_cookies) as client:
        # A client that hangs up mid-upload while the server runs.
        before = temp_bytes(data_dir)
        reader, writer = await cut_upload(ctx, client, "raw", 16, 9)
        await wait_for_temp(data_dir, before + 15 * MIB, longest=10)
        writer.transport.abort()
        await asyncio.sleep(3)
        hung_up = temp_bytes(data_dir) - before
        # A resumable upload paused (within its token's life) while we wait.
        token = await prepare(ctx, client, "paused.bin", 2 * MIB) or "tok_missing"
        first = await send(ctx, client, "POST", f"{TEAM}/-/upload", content=bytes(MIB),
                           headers={"X-Upload-Token": token,
                                    "Content-Range": f"bytes 0-{MIB - 1}/{2 * MIB}"})
        await asyncio.sleep(wait)
        after_wait = temp_bytes(data_dir)
        rest = await send(ctx, client, "POST", f"{TEAM}/-/upload", content=bytes(MIB),
                          headers={"X-Upload-Token": token,
                                   "Content-Range": f"bytes {MIB}-{2 * MIB - 1}/{2 * MIB}"})
        done = await send(ctx, client, "POST", f"{TEAM}/-/complete",
                          json={"upload_token": token})
    ctx.figures.update(cut=cut, at_restart=at_restart, after_wait=after_wait, hung_up=hung_up)
    return (f"3 uploads cut by kill -9 after {size_mib} MiB each ({', '.join(cut)}): after the "
            f"restarts {at_restart / MIB:.0f} MiB of temporary files, {after_wait / MIB:.0f} MiB "
            f"after {wait:g} s more with the server running (incl. 1 MiB of a paused resumable "
            f"upload); a client that hung up mid-upload left {hung_up / MIB:.1f} MiB after 3 s; "
            f"the paused upload then: chunks {status_of(first)}/{status_of(rest)}, complete "
            f"{status_of(done)}")


# Stale bytes -------------------------------------------------------------------

def stored_path(data_dir: Path, file_id: str) -> Optional[Path]:
    for folder, _, names in os.walk(data_dir / "files"):
        for name in names:
            if name.startswith(file_id):
                return Path(folder) / name
    return None


async def download(ctx: Ctx, client: httpx.AsyncClient, file_id: str) -> dict:
    got, cut, status, etag = b"", None, None, None
    try:
        async with client.stream("GET", f"/-/files/{file_id}/download") as response:
            status, etag = response.status_code, response.headers.get("etag")
            promised = response.headers.get("content-length")
            async for chunk in response.aiter_raw():
                got += chunk
        ctx.statuses.append(status)
    except httpx.HTTPError as ex:
        cut = type(ex).__name__
        ctx.statuses.append(status if status else cut)
    return {"status": status, "etag": etag, "bytes": got, "cut": cut,
            "promised": int(promised) if status and promised and promised.isdigit() else None}


async def stale_bytes(ctx: Ctx) -> str:
    changes = {
        "truncated 64→16 KiB": lambda path: path.write_bytes(path.read_bytes()[:16 * KIB]),
        "grown 64→128 KiB": lambda path: path.write_bytes(
            path.read_bytes() + os.urandom(64 * KIB)),
        "rewritten, same size": lambda path: path.write_bytes(os.urandom(64 * KIB)),
    }
    seen = []
    async with ctx.client(cookies=ctx.member_cookies) as client:
        for n, (label, change) in enumerate(changes.items()):
            file = await put_file(ctx, ctx.member_cookies, f"stale-{n}.bin", os.urandom(64 * KIB))
            path = stored_path(ctx.server.data_dir, file["id"]) if file else None
            if path is None:
                seen.append(f"{label}: {'upload failed' if not file else 'not found on disk'}")
                continue
            before = await download(ctx, client, file["id"])
            change(path)
            later = path.stat().st_mtime + 5
            os.utime(path, (later, later))
            on_disk = path.read_bytes()
            after = await download(ctx, client, file["id"])
            described = await send(ctx, client, "GET", f"/-/files/{file['id']}.json")
            api_size = described.json().get("size") \
                if isinstance(described, httpx.Response) and described.status_code == 200 else "n/a"
            verdict = ("the bytes on disk" if after["bytes"] == on_disk
                       else "a prefix of them" if on_disk.startswith(after["bytes"])
                       else "other bytes")
            seen.append(
                f"{label}: {after['status']}, {len(after['bytes']) // KIB} KiB of "
                f"{after['promised'] // KIB if after['promised'] else '?'} KiB promised "
                f"({len(on_disk) // KIB} KiB on disk: {verdict})"
                f"{', cut off (' + after['cut'] + ')' if after['cut'] else ''}, ETag "
                f"{'unchanged' if after['etag'] == before['etag'] else 'changed'}, API size "
                f"{api_size}")
    ctx.figures["seen"] = seen
    return "files changed on disk, then downloaded: " + "; ".join(seen)


# Adopted under a new name -------------------------------------------------------

async def adopted(ctx: Ctx) -> str:
    """A file uploaded after the registry's snapshot, the snapshot restored: does
    the sync at start bring it back under its id, name and owner?"""
    internal = ctx.server.data_dir / "internal" / "internal.db"
    snapshot = ctx.server.data_dir.parent / "snapshot.db"
    with sqlite3.connect(internal) as source, sqlite3.connect(snapshot) as copy:
        source.backup(copy)
    file = await put_file(ctx, ctx.member_cookies, "Quarterly report.txt", b"numbers")
    if file is None:
        return "the upload after the snapshot failed"

    def restore():
        ctx.restarted = True
        ctx.server.stop()
        for suffix in ("-wal", "-shm"):
            Path(str(internal) + suffix).unlink(missing_ok=True)
        internal.write_bytes(snapshot.read_bytes())
        ctx.server.start(timeout=120)

    await asyncio.to_thread(restore)
    found = None
    async with ctx.client(cookies=ctx.member_cookies) as client:
        started = time.monotonic()
        while found is None and time.monotonic() - started < 30:
            listing = await send(ctx, client, "GET", "/-/files/source/team.json")
            if isinstance(listing, httpx.Response) and listing.status_code == 200:
                found = next((f for f in listing.json().get("files", [])
                              if f.get("id") != ctx.member_file["id"]), None)
            if found is None:
                await asyncio.sleep(1)
    if found is None:
        return (f"{file['filename']!r} (uploaded after the registry's snapshot) was not back "
                "30 s after the snapshot was restored")
    ctx.figures.update(original=file, back=found)
    same = "its own id" if found["id"] == file["id"] else f"a new id {found['id']}"
    return (f"{file['filename']!r} by {file.get('uploaded_by')!r}, uploaded after the "
            f"registry's snapshot; the snapshot restored, the sync at start registered it "
            f"under {same}, named {found.get('filename')!r}, owner {found.get('uploaded_by')!r}")
