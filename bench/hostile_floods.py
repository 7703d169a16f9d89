"""Issue 14's floods: attacks on the server's memory, CPU and connections.

Each takes a Ctx (a fresh server, the bystander's login), is bounded in count
and time, and returns its outcome in words; every status its requests got
goes to ctx.statuses, longer findings to ctx.details and numbers to
ctx.figures. None assumes how the server was fixed: an unexpected answer is
reported, not raised."""

from __future__ import annotations

import asyncio
import collections
import functools
import json
import random
import re
import struct
import time
import zlib
from pathlib import Path
from typing import Optional

import httpx

from hostile_server import KIB, MEMBER, MIB, PASSWORDS, Ctx, children, descendants, fd_count
from hostile_wire import (TEAM, cookie_header, counts, error_message, mib, note_unexpected,
                          open_partial, prepare, read_answer, request_head, send, status_of,
                          stream_body)

# The attacker's own address (loopback has all of 127/8): the bystander's is 127.0.0.1.
ATTACKER = "127.0.0.2"


# One image, one process ------------------------------------------------------

@functools.lru_cache(maxsize=1)
def zero_png(width: int = 11000, height: int = 11000) -> bytes:
    """A PNG of ``width`` x ``height`` transparent RGBA pixels (459 KiB at
    11000 x 11000), written row by row: the pixels are never in memory here."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))

    deflate = zlib.compressobj(9)
    row = bytes(1 + 4 * width)  # filter byte 0, then the row's pixels
    pixels = b"".join(deflate.compress(row) for _ in range(height)) + deflate.flush()
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))


async def settle(ctx: Ctx, client: httpx.AsyncClient, file_ids: list[str],
                 longest: float = 45) -> str:
    """Wait until the files' thumbnails are images, or until no worker has run
    and the server's children have not grown for 3 s (a failed thumbnail stays an
    icon); at most ``longest`` seconds."""
    started = time.monotonic()
    quiet_since, last_rss = None, None
    while time.monotonic() - started < longest:
        await asyncio.sleep(0.5)
        answers = [await send(ctx, client, "GET", f"/-/files/{file_id}/thumbnail")
                   for file_id in file_ids]
        made = sum(1 for a in answers if isinstance(a, httpx.Response) and a.status_code == 200
                   and not a.headers.get("content-type", "").startswith("image/svg"))
        if made == len(file_ids):
            return f"{made}/{len(file_ids)} thumbnails made"
        pid = ctx.server.pid
        direct = set(children(pid)) if pid else set()
        workers = [p for p in (descendants(pid) if pid else []) if p not in direct]
        rss = ctx.sampler.samples[-1][2] if ctx.sampler.samples else 0
        growing = last_rss is not None and rss > last_rss + 2 * KIB
        last_rss = rss
        if workers or growing:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= 3 and time.monotonic() - started >= 3:
            return f"{made}/{len(file_ids)} thumbnails made"
    return f"{made}/{len(file_ids)} thumbnails made after {longest:.0f} s"


async def image(ctx: Ctx) -> str:
    png = zero_png()
    async with ctx.client(cookies=ctx.member_cookies) as client:
        phases = {}
        for label, count in (("one", 1), ("six at once", 6)):
            start = time.monotonic()
            base = ctx.sampler.before(start)
            answers = await asyncio.gather(*(
                send(ctx, client, "PUT", f"{TEAM}/zeros-{label[:3]}-{n}.png", content=png,
                     headers={"Content-Type": "image/png"}) for n in range(count)))
            uploaded = time.monotonic() - start
            ids = [a.json()["file"]["id"] for a in answers
                   if isinstance(a, httpx.Response) and a.status_code == 201]
            thumbnails = await settle(ctx, client, ids) if ids else "no file stored"
            peak = ctx.sampler.window(start, time.monotonic())
            dims = {(a.json()["file"].get("width"), a.json()["file"].get("height"))
                    for a in answers if isinstance(a, httpx.Response) and a.status_code == 201}
            phases[label] = {"base": base, "peak": peak, "upload_seconds": uploaded,
                             "statuses": [status_of(a) for a in answers],
                             "dimensions": sorted(dims, key=str), "thumbnails": thumbnails}
    ctx.figures.update(phases)
    parts = []
    for label, p in phases.items():
        base, peak = p["base"], p["peak"]
        grew = (peak["server"] - base["server"]) if peak["server"] and base["server"] else None
        dimensions = ", ".join(f"{w}x{h}" if w else "none" for w, h in p["dimensions"])
        parts.append(
            f"{label}: server {mib(base['server'])}→{mib(peak['server'])} MiB "
            f"(+{mib(grew)}), with workers peak {mib(peak['total'])} MiB; "
            f"PUT {counts(p['statuses'])} in {p['upload_seconds']:.1f} s, "
            f"dimensions {dimensions or 'n/a'}; {p['thumbnails']}")
    return (f"11000x11000 RGBA PNG of {len(png) // KIB} KiB. " + ". ".join(parts))


# Logins ----------------------------------------------------------------------

# A wrong password (the form again), a login, and a refusal by the throttle.
LOGIN_STATUSES = {"200", "302", "429"}


def login_attempt(ctx: Ctx, client: httpx.AsyncClient, username: str, password: str):
    return send(ctx, client, "POST", "/-/login",
                data={"username": username, "password": password})


async def login_flood(ctx: Ctx, count: int, right_at: Optional[int] = None) -> str:
    """``count`` concurrent logins as the member from one address, all wrong
    but (with ``right_at``) the one at that position."""
    async with ctx.client(local_address=ATTACKER, connections=count) as client:
        started = time.monotonic()
        answers = await asyncio.gather(*(
            login_attempt(ctx, client, MEMBER,
                          PASSWORDS[MEMBER] if n == right_at else f"wrong-{n}")
            for n in range(count)))
        seconds = time.monotonic() - started
    statuses = [status_of(a) for a in answers]
    note_unexpected(ctx, answers, LOGIN_STATUSES)
    ctx.figures.update(statuses=collections.Counter(statuses), seconds=seconds)
    outcome = (f"{count} concurrent POST /-/login from {ATTACKER} answered in {seconds:.1f} s: "
               f"{counts(statuses)} (429 = refused unchecked, 200 = checked and wrong)")
    if right_at is not None:
        right = statuses[right_at]
        verdict = "LOGGED IN" if right in ("301", "302", "303") else "not logged in"
        ctx.figures["right_password"] = right
        outcome += f"; the right password (sent #{right_at + 1}) got {right}: {verdict}"
    return outcome


async def login_60(ctx: Ctx) -> str:
    return await login_flood(ctx, 60)


async def login_100(ctx: Ctx) -> str:
    return await login_flood(ctx, 100, right_at=50)


async def login_accounts(ctx: Ctx) -> str:
    """20 addresses x 10 wrong guesses at one account, then the right password
    from the member's usual address and from an address never seen."""
    addresses = [f"127.0.0.{10 + n}" for n in range(20)]

    async def guesses(address: str) -> list:
        async with ctx.client(local_address=address, connections=1) as client:
            return [await login_attempt(ctx, client, MEMBER, f"guess-{address}-{n}")
                    for n in range(10)]

    started = time.monotonic()
    answers = [a for each in await asyncio.gather(*map(guesses, addresses)) for a in each]
    seconds = time.monotonic() - started
    statuses = [status_of(a) for a in answers]
    note_unexpected(ctx, answers, LOGIN_STATUSES)
    after = {}
    for label, address in (("her usual address", "127.0.0.1"), ("a new address", "127.0.0.99")):
        async with ctx.client(local_address=address) as client:
            after[label] = status_of(await login_attempt(ctx, client, MEMBER, PASSWORDS[MEMBER]))
    ctx.figures.update(statuses=collections.Counter(statuses), seconds=seconds, after=after)
    checked = sum(1 for s in statuses if s == "200")
    return (f"200 wrong guesses at {MEMBER!r} from 20 addresses in {seconds:.0f} s: "
            f"{counts(statuses)} ({checked} checked); then the right password from "
            + ", from ".join(f"{label}: {status}" for label, status in after.items())
            + " (302 = logged in)")


# Request bodies --------------------------------------------------------------

async def multipart_fields(ctx: Ctx, fields: int = 9000, size: int = 60 * KIB) -> str:
    """9,000 form fields of 60 KiB on the upload step, with no token at all (the
    server reads fields looking for one) and then with an invalid one in the
    header; how much the server reads before it answers, and holds meanwhile."""
    boundary = "hostile-fields-boundary"
    value = b"v" * size

    def part(n: int) -> bytes:
        return (f'--{boundary}\r\nContent-Disposition: form-data; name="field{n}"\r\n\r\n'
                .encode() + value + b"\r\n")

    closing = f"--{boundary}--\r\n".encode()
    total = sum(len(part(n)) for n in range(fields)) + len(closing)

    def chunks():
        batch = []
        for n in range(fields):
            batch.append(part(n))
            if len(batch) == 16:
                yield b"".join(batch)
                batch = []
        yield b"".join(batch) + closing

    outcomes = []
    for label, token in (("no token", {}),
                         ("an invalid X-Upload-Token", {"X-Upload-Token": "tok_invalid"})):
        head = request_head("POST", f"{TEAM}/-/upload", {
            "Cookie": cookie_header(ctx.member_cookies), "Content-Length": total,
            "Content-Type": f"multipart/form-data; boundary={boundary}", **token})
        base = ctx.sampler.before(time.monotonic())
        started = time.monotonic()
        streamed = await stream_body(ctx.server.port, head, chunks())
        peak = ctx.sampler.window(started, time.monotonic())
        answer = streamed.answer
        ctx.statuses.append(answer.status if answer.status is not None else "no answer")
        ctx.figures[label] = {"status": answer.status, "sent": streamed.sent,
                              "seconds": streamed.seconds, "base": base, "peak": peak}
        try:
            message = "; ".join(json.loads(answer.body).get("errors") or [])[:100]
        except (ValueError, AttributeError, TypeError):
            message = answer.body.decode("utf-8", "replace")[:100]
        outcomes.append(
            f"{label}: {answer.status or 'no answer'} after {streamed.sent / MIB:.0f} MiB sent, "
            f"in {streamed.seconds:.1f} s, server {mib(base['server'])}→{mib(peak['server'])} "
            f"MiB ({message})")
    return (f"{fields:,} fields of {size // KIB} KiB ({total / MIB:.0f} MiB): "
            + "; ".join(outcomes))


# Preview pages ---------------------------------------------------------------

PREVIEW_LOADS = 300
MARKDOWN_FILES = 20


def preview_text(n: int = 0) -> bytes:
    """256 KiB of text past ASCII (so Python keeps 4 bytes a character), with
    markup that has to be escaped; ``n`` makes each file's bytes its own."""
    lines = (f"line {j} of {n} é€😀 <b>&amp;</b> *em* [link](https://example.com)\n"
             for j in range(30000))
    return "".join(lines).encode()[:256 * KIB]


async def preview_pages(ctx: Ctx) -> str:
    """300 loads at once of one 256 KiB text file's page (its preview is
    decoded and escaped for each), then 300 across 20 different 256 KiB
    Markdown files (each rendered in the worker once, then cached): what the
    server's memory does, and whether every page is whole."""
    phases = []
    async with ctx.client(cookies=ctx.member_cookies, connections=PREVIEW_LOADS) as client:
        text = await send(ctx, client, "PUT", f"{TEAM}/big.txt", content=preview_text(),
                          headers={"Content-Type": "text/plain"})
        markdown = [await send(ctx, client, "PUT", f"{TEAM}/notes-{n}.md",
                               content=preview_text(n), headers={"Content-Type": "text/markdown"})
                    for n in range(MARKDOWN_FILES)]
        stored = [a.json()["file"]["id"] for a in [text, *markdown]
                  if isinstance(a, httpx.Response) and a.status_code == 201]
        if len(stored) != MARKDOWN_FILES + 1:
            return f"uploads failed: {counts([status_of(a) for a in [text, *markdown]])}"
        for label, ids in (("one text file", stored[:1]),
                           (f"{MARKDOWN_FILES} Markdown files", stored[1:])):
            start = time.monotonic()
            base = ctx.sampler.before(start)
            answers = await asyncio.gather(*(
                send(ctx, client, "GET", f"/-/files/{ids[n % len(ids)]}")
                for n in range(PREVIEW_LOADS)))
            seconds = time.monotonic() - start
            peak = ctx.sampler.window(start, time.monotonic())
            await asyncio.sleep(2)
            after = ctx.sampler.before(time.monotonic())
            whole = sum(1 for a in answers if isinstance(a, httpx.Response)
                        and a.status_code == 200 and b"</html>" in a.content)
            ctx.figures[label] = {"base": base, "peak": peak, "after": after,
                                  "seconds": seconds, "whole": whole}
            phases.append(
                f"{label}: server {mib(base['server'])}→{mib(peak['server'])} MiB at the peak, "
                f"{mib(after['server'])} MiB 2 s later; {whole}/{PREVIEW_LOADS} pages whole "
                f"({counts([status_of(a) for a in answers])}) in {seconds:.1f} s")
    return f"{PREVIEW_LOADS} page loads at once. " + ". ".join(phases)


# Long searches ---------------------------------------------------------------

SEARCH_FILES = 3000
VOCABULARY = ["report", "invoice", "photo", "scan", "draft", "minutes", "budget", "plan",
              "annual", "contract", "summary", "meeting", "letter", "design", "notes", "review"]


def search_corpus(data_dir: Path) -> None:
    """SEARCH_FILES small files in the team source's folder, registered by the sync at start."""
    root = data_dir / "files" / "team"
    root.mkdir(parents=True, exist_ok=True)
    rng = random.Random(14)
    for n in range(SEARCH_FILES):
        words = "-".join(rng.sample(VOCABULARY, 3))
        (root / f"{words}-{n}.txt").write_bytes(b"x")


async def wait_for_registered(ctx: Ctx, client: httpx.AsyncClient, count: int,
                              longest: float = 90) -> int:
    started, registered = time.monotonic(), 0
    while time.monotonic() - started < longest:
        response = await send(ctx, client, "GET", "/-/files/sources.json")
        if isinstance(response, httpx.Response) and response.status_code == 200:
            registered = sum(s.get("file_count") or 0 for s in response.json().get("sources", [])
                             if s.get("slug") == "team")
            if registered >= count:
                break
        await asyncio.sleep(1)
    return registered


async def long_searches(ctx: Ctx, concurrent: int = 6, words: int = 3000,
                        capped: int = 32) -> str:
    """``concurrent`` searches of ``words`` words at once, then as many of
    ``capped`` words (within the issue's cap): short prefixes of the files' words,
    so that every term matches many files."""
    async with ctx.client(cookies=ctx.member_cookies, timeout=180) as client:
        registered = await wait_for_registered(ctx, client, SEARCH_FILES)
        rng = random.Random(3000)

        async def search(q: str):
            started = time.monotonic()
            answer = await send(ctx, client, "GET", "/-/files/search.json", params={"q": q})
            return answer, time.monotonic() - started

        outcomes = []
        for count in (words, capped):
            queries = [" ".join(rng.choice(VOCABULARY)[:rng.randint(1, 3)]
                                for _ in range(count)) for _ in range(concurrent)]
            results = await asyncio.gather(*map(search, queries))
            statuses = [status_of(a) for a, _ in results]
            slowest = max(seconds for _, seconds in results)
            # One of each message: they differ only in the numbers they name.
            said = {re.sub(r"\d+", "N", error_message(a)): error_message(a)
                    for a, _ in results
                    if not (isinstance(a, httpx.Response) and a.status_code == 200)}
            ctx.figures[f"{count} words"] = {"statuses": statuses, "slowest": slowest}
            outcomes.append(f"{count:,} words: {counts(statuses)}, slowest {slowest:.1f} s"
                            + (f" ({' | '.join(said.values())})" if said else ""))
    return (f"{concurrent} concurrent search.json over {registered:,} files, of "
            + "; of ".join(outcomes))


# Slow clients ------------------------------------------------------------------

async def slow_clients(ctx: Ctx, headers: int = 2000, bodies: int = 50) -> str:
    """``headers`` connections that never finish their headers and ``bodies``
    uploads that stall (half) or trickle a byte every 5 s (half), held for
    --slow-seconds; the server's descriptors and which connections it closed."""
    port, pid = ctx.server.port, ctx.server.pid
    fds_before = fd_count(pid)
    async with ctx.client(cookies=ctx.member_cookies) as client:
        tokens = [await prepare(ctx, client, f"slow-{n}.bin", MIB) or "tok_missing"
                  for n in range(bodies)]
    started = time.monotonic()
    connections, refused = [], collections.Counter()

    async def connect(kind: str, head: bytes, body: bytes = b""):
        try:
            reader, writer = await asyncio.wait_for(open_partial(port, head, body), 10)
        except (OSError, asyncio.TimeoutError) as ex:
            refused[type(ex).__name__] += 1
            return
        connections.append((kind, reader, writer, asyncio.ensure_future(read_answer(reader))))

    partial = b"GET /-/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
    for batch in range(0, headers, 100):
        await asyncio.gather(*(connect("header", partial) for _ in range(batch, batch + 100)))
    for n, token in enumerate(tokens):
        head = request_head("POST", f"{TEAM}/-/upload", {
            "Cookie": cookie_header(ctx.member_cookies), "X-Upload-Token": token,
            "Content-Length": MIB, "Content-Type": "application/octet-stream"})
        await connect("stalled body" if n % 2 else "trickling body", head, b"b" * KIB)
    fds = [fd_count(pid)]

    async def trickle():
        while True:
            await asyncio.sleep(5)
            for kind, _, writer, answer in connections:
                if kind == "trickling body" and not answer.done() and not writer.is_closing():
                    try:
                        writer.write(b"t")
                    except (ConnectionError, OSError):
                        pass

    trickler = asyncio.ensure_future(trickle())
    while time.monotonic() - started < ctx.args.slow_seconds:
        await asyncio.sleep(1)
        fds.append(fd_count(pid))
    held = time.monotonic() - started
    fds_end = fd_count(pid)
    trickler.cancel()
    closed = collections.Counter(kind for kind, _, _, answer in connections if answer.done())
    answers = collections.Counter((kind, answer.result().status)
                                  for kind, _, _, answer in connections if answer.done())
    opened = collections.Counter(kind for kind, *_ in connections)
    for _, _, writer, answer in connections:
        answer.cancel()
        writer.transport.abort()
    await asyncio.sleep(3)
    fds_after = fd_count(pid)
    # Not counted as 5xx: a 503 to a connection beyond a cap is what the cap is for.
    for (kind, status), n in answers.items():
        ctx.details.append(f"{n} {kind} connections: the server "
                           + (f"answered {status}" if status else "closed them unanswered"))
    peak = max((f for f in fds if f is not None), default=None)
    ctx.figures.update(fds_before=fds_before, fds_peak=peak, fds_end=fds_end,
                       fds_after=fds_after, closed=dict(closed), opened=dict(opened),
                       refused=dict(refused), held=held)
    return (f"{headers} partial headers + {bodies // 2} stalled and {bodies // 2} trickling "
            f"upload bodies, held {held:.0f} s: server fds {fds_before} before, peak {peak}, "
            f"{fds_end} at the end, {fds_after} 3 s after we closed ours; the server closed "
            + ", ".join(f"{closed[kind]}/{n} {kind}" for kind, n in opened.items())
            + (f"; connects failed: {counts(refused.elements())}" if refused else ""))
