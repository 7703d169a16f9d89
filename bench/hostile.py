"""Issue 14's attacks against a real server on loopback; what each did to it.

    .venv/bin/python bench/hostile.py [--checkout PATH | --ref REF] [--only NAME[,NAME]]
        [--slow-seconds 70] [--parts-wait 20] [--parts-mib 48] [--json PATH] [--keep]

Each attack (bench/hostile_floods.py, bench/hostile_state.py) gets a fresh
server (the checkout's `files-server serve` over an empty data directory with
its shipped config/datasette.yaml; see bench/hostile_server.py), is bounded
in count and time, and runs while a bystander member, in a process of its
own, downloads a 14-byte file and asks /-/health in a loop. One row per attack:

  RSS     the server's resident memory plus its descendants' (thumbnail
          workers, the fork server), sampled from /proc every 50 ms: just
          before the attack, and the peak during it
  p95/max the bystander's request latencies (n requests, how many were not 200)
  5xx     answers of 500 or more, to the attack's requests + to the bystander's
  outcome what the attack is about (429s, a copied cookie, bytes left...)

Attacks (--only takes these names): image, login-60, login-100,
login-accounts, fields, search, malformed, logout, parts, slow, previews, stale,
anonymous, adopted. Login attacks come from 127.0.0.2 and up (loopback has all
of 127/8); the bystander is 127.0.0.1. Not run: a nearly full disk (/-/health
degraded), a storage error the hasher cannot survive and a file it cannot read
(root, as here, reads everything), and a backup taken during uploads
(`adopted` restores an older registry instead, which is the same case to sync).

--ref REF serves REF from its own worktree and virtualenv under bench/.ab/
(bench/ab.py makes them); --checkout PATH serves that checkout with its .venv.
Run main before and after the fixes side by side:

    .venv/bin/python bench/hostile.py --ref BEFORE_SHA
    .venv/bin/python bench/hostile.py --ref main

About 3.5 minutes on a quiet 2-CPU machine, 7.5 on a saturated one (the
login attacks are CPU-bound; the slow clients hold for 70 s). Latencies on a
shared machine are noisy, and so is whether 3,000-word searches run out of
time: the CPU pressure during each attack is printed beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable, Optional

import httpx

from ab import conditions, cpu_pressure_total, prepare
from hostile_floods import (image, login_60, login_100, login_accounts, long_searches,
                            multipart_fields, preview_pages, search_corpus, slow_clients)
from hostile_server import (BENCH, BYSTANDER_FILE, MEMBER, PASSWORDS, Bystander, Ctx, Sampler,
                            Server, Target, latency_summary, login, password_hash_env)
from hostile_state import adopted, anonymous, logout, malformed, parts, stale_bytes

REPO = BENCH.parent


@dataclass
class Attack:
    name: str
    title: str
    run: Callable[[Ctx], Awaitable[str]]
    # Called with the data directory before the server first starts.
    before_start: Optional[Callable[[Path], None]] = None


ATTACKS = [
    Attack("image", "One image, one process", image),
    Attack("login-60", "Login flood, 60 at once", login_60),
    Attack("login-100", "Throttle counts too late", login_100),
    Attack("login-accounts", "Per-account guessing", login_accounts),
    Attack("fields", "Multipart fields flood", multipart_fields),
    Attack("search", "Long searches", long_searches, before_start=search_corpus),
    Attack("malformed", "Malformed inputs", malformed),
    Attack("logout", "Logout does not revoke", logout),
    Attack("parts", "Leftover parts", parts),
    Attack("slow", "Slow clients", slow_clients),
    Attack("previews", "Preview pages flood", preview_pages),
    Attack("stale", "Stale bytes", stale_bytes),
    Attack("anonymous", "Anonymous 200s", anonymous),
    Attack("adopted", "Adopted under a new name", adopted),
]


def target_from(args) -> Target:
    if args.ref:
        side = prepare(args.ref, args.ref)
        return Target(f"{args.ref} ({side.sha[:10]})", side.tree, str(side.python))
    repo = Path(args.checkout).resolve() if args.checkout else REPO
    python = repo / ".venv" / "bin" / "python"
    described = subprocess.run(["git", "-C", str(repo), "describe", "--always", "--dirty"],
                               capture_output=True, text=True).stdout.strip()
    return Target(f"{repo} ({described or 'not a git checkout'})", repo,
                  str(python) if python.exists() else sys.executable)


def run_attack(attack: Attack, target: Target, hashes: dict, args, work: Path) -> dict:
    print(f"hostile: {attack.name} ...", end=" ", file=sys.stderr, flush=True)
    data_dir = work / attack.name / "data"
    data_dir.mkdir(parents=True)
    if attack.before_start:
        attack.before_start(data_dir)
    server = Server(target, data_dir, hashes)
    row = {"attack": attack.name, "title": attack.title}
    sampler = bystander = ctx = stalled = None
    started = time.monotonic()
    try:
        server.start(timeout=120)
        cookies = login(server.url, MEMBER, PASSWORDS[MEMBER])
        stored = httpx.put(f"{server.url}/-/files/upload/team/bystander.txt",
                           content=BYSTANDER_FILE, cookies=cookies, timeout=60)
        member_file = stored.json()["file"]
        sampler = Sampler(server)
        sampler.start()
        time.sleep(0.5)
        bystander = Bystander(server.url, cookies, member_file["download_url"]).start()
        ctx = Ctx(server, sampler, args, cookies, member_file)
        stalled, started = cpu_pressure_total(), time.monotonic()
        row["outcome"] = asyncio.run(asyncio.wait_for(attack.run(ctx), args.attack_timeout))
    except Exception as ex:
        traceback.print_exc()
        row["outcome"] = f"ATTACK FAILED: {type(ex).__name__}: {str(ex)[:300]}"
    finally:
        ended, stalled_until = time.monotonic(), cpu_pressure_total()
        seconds = ended - started
        row["bystander"] = latency_summary(bystander.stop() if bystander else [])
        if sampler:
            sampler.stop()
            row["rss_before"] = sampler.before(started)
            row["rss_peak"] = sampler.window(started, ended)
        row["tracebacks"] = server.tracebacks()
        server.stop()
    row["seconds"] = seconds
    if ctx:
        row.update(restarted=ctx.restarted, details=ctx.details, figures=ctx.figures,
                   attack_5xx=sum(1 for s in ctx.statuses if isinstance(s, int) and s >= 500),
                   attack_requests=len(ctx.statuses))
    if stalled is not None and seconds > 0:
        # Share of the attack's wall time during which some task waited for a CPU.
        row["cpu_pressure_pct"] = min(100, round(
            100 * (stalled_until - stalled) / (seconds * 1e6)))
    print(f"{seconds:.0f} s", file=sys.stderr, flush=True)
    return row


def fmt(value, digits=0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def print_table(target: Target, rows: list[dict], at_start: dict, at_end: dict) -> None:
    print(f"\nbench/hostile.py against {target.label}")
    header = (f"{'attack':<15}{'RSS MiB before→peak':>22}{'bystander p95/max ms':>24}"
              f"{'(n, not 200)':>14}{'5xx':>9}{'CPU':>6}  outcome")
    print(header)
    print("-" * 140)
    for row in rows:
        before, peak = row.get("rss_before") or {}, row.get("rss_peak") or {}
        rss = f"{fmt(before.get('total'))}→{fmt(peak.get('total'))}"
        b = row["bystander"]
        mark = "*" if row.get("restarted") else ""
        latency = f"{fmt(b['p95'])}/{fmt(b['max'])}{mark}"
        counted = f"({b['n']}, {b['failed']})"
        five = f"{row.get('attack_5xx', 'n/a')}+{b['5xx']}"
        pressure = f"{row['cpu_pressure_pct']}%" if "cpu_pressure_pct" in row else "n/a"
        outcome = row["outcome"]
        if row.get("tracebacks"):
            outcome += f" [{row['tracebacks']} tracebacks in the server log]"
        lines = textwrap.wrap(outcome, 68) or [""]
        print(f"{row['attack']:<15}{rss:>22}{latency:>24}{counted:>14}{five:>9}{pressure:>6}  "
              f"{lines[0]}")
        for line in lines[1:]:
            print(f"{'':<92}{line}")
    print("RSS: server + its descendants. 5xx: attack's + bystander's. CPU: share of the "
          "attack's time some task waited for a CPU (/proc/pressure/cpu). * the attack "
          "restarted the server: the bystander's failures include the gap.")
    for row in rows:
        # What was accepted (a clamped page number, an ignored Range) is in the JSON only.
        shown = [line for line in row.get("details", []) if not line.startswith("accepted")]
        for line in shown[:12]:
            print(f"  {row['attack']}: {line}")
        if len(shown) > 12:
            print(f"  {row['attack']}: ... {len(shown) - 12} more in the JSON")
    for when, c in (("start", at_start), ("end", at_end)):
        print(f"machine at {when} ({c['time']}): nproc {c['nproc']}, load "
              f"{' '.join(c['loadavg'])}; /proc/pressure/cpu: "
              f"{' / '.join(c['cpu_pressure'].splitlines())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--checkout", help="serve this checkout (default: this one)")
    where.add_argument("--ref", help="serve this git ref (worktree + venv under bench/.ab/)")
    parser.add_argument("--only", help="comma-separated attack names")
    parser.add_argument("--slow-seconds", type=float, default=70,
                        help="how long the slow clients hold their connections")
    parser.add_argument("--parts-wait", type=float, default=20,
                        help="seconds the server runs before leftover parts are counted")
    parser.add_argument("--parts-mib", type=int, default=48,
                        help="MiB each cut upload has sent when the server is killed")
    parser.add_argument("--attack-timeout", type=float, default=300)
    parser.add_argument("--json", help="default bench/results/hostile-<time>.json")
    parser.add_argument("--keep", action="store_true", help="keep the data directories")
    args = parser.parse_args()
    names = {attack.name for attack in ATTACKS}
    only = set(args.only.split(",")) if args.only else names
    if only - names:
        parser.error(f"unknown attack(s) {', '.join(sorted(only - names))}; "
                     f"known: {', '.join(a.name for a in ATTACKS)}")

    target = target_from(args)
    hashes = {}
    for member, password in PASSWORDS.items():
        hashes.update(password_hash_env(target, member, password))
    work = Path(tempfile.mkdtemp(prefix="hostile-"))
    at_start, rows = conditions(), []
    try:
        for attack in ATTACKS:
            if attack.name in only:
                rows.append(run_attack(attack, target, hashes, args, work))
    finally:
        if args.keep:
            print(f"data directories kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    at_end = conditions()
    print_table(target, rows, at_start, at_end)
    output = Path(args.json) if args.json else \
        BENCH / "results" / f"hostile-{time.strftime('%Y%m%d-%H%M%S')}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps({"target": target.label, "machine": {
        "start": at_start, "end": at_end}, "rows": rows}, indent=2, default=str))
    print(f"\nwrote {output}")


if __name__ == "__main__":
    main()
