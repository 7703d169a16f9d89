"""A/B: our server at two (or more) git refs, measured by one benchmark in alternating rounds.

    .venv/bin/python bench/ab.py OLD_REF NEW_REF [MORE_REFS ...] [--rounds 3] [--quick]
        [--skip large,search] [--only-figures REGEX] [--json PATH]
        [--script compare.py|hot_paths.py] [--timeout SECONDS] [-- ARGS FOR THE SCRIPT]

For each ref, a git worktree at bench/.ab/<short sha>/ (gitignored) and a
virtualenv in its .venv, installed as dev.py does (the worktree's
plugins/datasette-files and its root package with [test] extras, editable);
both are reused while they exist for that sha.

Every round runs the benchmark script of THIS checkout once per ref
(compare.py with `--only ours --runs 1`), its `Ours` server pointed at the
ref's worktree and interpreter through BENCH_OURS_REPO and BENCH_OURS_PYTHON
(see bench/peers.py). Round r starts with ref number r (mod the number of
refs), so with two refs the order alternates: OLD NEW, NEW OLD, OLD NEW...

Prints, per figure, each ref's median over the rounds, each later ref's ratio
to the first (above 1: better, whatever the unit), the spread of each ref's
rounds ((max-min)/median) and the per-round values; and the machine's
conditions (CPU pressure, load average, CPUs) at the start, the end and during
each run. Writes all of it as JSON (default bench/results/ab-<time>.json);
each run's own log and JSON stay under bench/.ab/runs/<time>/.

A/A (the same ref twice) measures the noise floor:
    .venv/bin/python bench/ab.py HEAD HEAD --rounds 2 --quick
On a shared 2-CPU machine whole runs of the same code differ by 10-70%; for
per-request differences of a few percent, bench/hot_paths_ab.py runs the refs'
servers side by side and interleaves short blocks of requests.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
import venv
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
AB_DIR = BENCH / ".ab"
# What each benchmark script needs to measure only our server, once.
SCRIPT_ARGS = {"compare.py": ["--only", "ours", "--runs", "1"], "hot_paths.py": []}


@dataclass
class Side:
    ref: str
    label: str
    sha: str
    tree: Path
    python: Path


def git(*args: str, cwd: Path = REPO) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


def prepare(ref: str, label: str) -> Side:
    """The ref's worktree and virtualenv under bench/.ab/<short sha>/, made once."""
    sha = git("rev-parse", "--verify", f"{ref}^{{commit}}")
    tree = AB_DIR / sha[:10]
    if not (tree / ".git").exists():
        git("worktree", "prune")
        print(f"ab: worktree for {ref} ({sha[:10]}) at {tree}", file=sys.stderr, flush=True)
        git("worktree", "add", "--detach", "--quiet", str(tree), sha)
    if git("rev-parse", "HEAD", cwd=tree) != sha:
        raise SystemExit(f"ab: {tree} is not at {sha}; remove it (git worktree remove) and rerun")
    home = tree / ".venv"
    stamp = home / ".ab-installed"
    if not stamp.exists() or stamp.read_text() != sha:
        print(f"ab: installing {ref} ({sha[:10]}) into {home}", file=sys.stderr, flush=True)
        venv.create(home, with_pip=True)
        pip = subprocess.run([str(home / "bin" / "python"), "-m", "pip", "install", "--quiet",
                              "--disable-pip-version-check",
                              "-e", str(tree / "plugins" / "datasette-files"),
                              "-e", f"{tree}[test]"], capture_output=True, text=True)
        if pip.returncode:
            raise SystemExit(f"ab: pip install for {ref} failed:\n{pip.stdout}{pip.stderr}")
        stamp.write_text(sha)
    return Side(ref, label, sha, tree, home / "bin" / "python")


def cpu_pressure_total() -> Optional[int]:
    """Microseconds some task waited for a CPU (PSI "some total"), if the kernel has PSI."""
    try:
        text = Path("/proc/pressure/cpu").read_text()
    except OSError:
        return None
    return int(re.search(r"some .*total=(\d+)", text).group(1))


def conditions() -> dict:
    try:
        pressure = Path("/proc/pressure/cpu").read_text().strip()
    except OSError:
        pressure = "n/a"
    return {"time": time.strftime("%Y-%m-%d %H:%M:%S"), "nproc": len(os.sched_getaffinity(0)),
            "cpu_count": os.cpu_count(), "loadavg": Path("/proc/loadavg").read_text().split()[:3],
            "cpu_pressure": pressure}


def run_once(side: Side, script: str, script_args: list[str], out: Path,
             timeout: float) -> dict:
    """One run of the benchmark against one side; its figures and conditions."""
    env = {**os.environ, "BENCH_OURS_REPO": str(side.tree), "BENCH_OURS_PYTHON": str(side.python)}
    command = [sys.executable, str(BENCH / script), "--json", str(out.with_suffix(".json")),
               *SCRIPT_ARGS[script], *script_args]
    load, stalled, started = os.getloadavg()[0], cpu_pressure_total(), time.monotonic()
    with open(out.with_suffix(".log"), "w") as log:
        try:
            code = subprocess.run(command, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                  timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
    seconds = time.monotonic() - started
    record = {"ref": side.ref, "label": side.label, "sha": side.sha, "seconds": round(seconds, 1),
              "exit": code, "loadavg_1m_at_start": load, "log": str(out.with_suffix(".log"))}
    if stalled is not None:
        # Share of the run's wall time during which some task was waiting for a CPU.
        record["cpu_pressure_some_pct"] = round(
            100 * (cpu_pressure_total() - stalled) / (seconds * 1e6), 1)
    try:
        data = json.loads(out.with_suffix(".json").read_text())
    except (OSError, ValueError):
        data = {}
    record["notes"] = data.get("notes", [])
    record["figures"] = data.get("results", {}).get("ours", {})
    record["units"] = data.get("units", {})
    record["higher_is_better"] = data.get("higher_is_better", {})
    return record


def ratio(base: Optional[float], other: Optional[float], higher_is_better: bool):
    """other against base, above 1 when other is better."""
    if not base or not other:
        return None
    return other / base if higher_is_better else base / other


def fmt(value: Optional[float]) -> str:
    if value is None:
        return "n/a"
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}" if abs(value) >= 10 \
        else f"{value:.2f}"


def summarize(sides: list[Side], runs: list[dict], only: Optional[str]) -> dict:
    """Per figure: unit, direction, each side's per-round values, median, spread, ratio."""
    units, higher = {}, {}
    for run in runs:
        units.update(run["units"])
        higher.update(run["higher_is_better"])
    figures = {}
    for name, unit in units.items():
        if only and not re.search(only, name):
            continue
        values = {s.label: [r["figures"].get(name) for r in runs if r["label"] == s.label]
                  for s in sides}
        medians = {label: statistics.median([v for v in vs if v is not None])
                   if any(v is not None for v in vs) else None for label, vs in values.items()}
        spread = {label: (max(v for v in vs if v is not None) - min(v for v in vs if v is not None))
                  / medians[label] if medians[label] else None for label, vs in values.items()}
        better = higher.get(name, True)
        base = medians[sides[0].label]
        figures[name] = {
            "unit": unit, "higher_is_better": better, "values": values, "median": medians,
            "spread": spread,
            "ratio_vs_first": {s.label: ratio(base, medians[s.label], better) for s in sides[1:]},
        }
    return figures


def print_table(sides: list[Side], figures: dict) -> None:
    width = max([len(name) for name in figures] + [20]) + 1
    header = f"{'figure':<{width}}{'unit':>8}" + "".join(f"{s.label[:12]:>13}" for s in sides) \
        + "".join(f"{(s.label + '/' + sides[0].label)[:16]:>17}" for s in sides[1:]) \
        + "   spread per ref; values per round"
    print(header)
    print("-" * len(header))
    for name, figure in figures.items():
        cells = "".join(f"{fmt(figure['median'][s.label]):>13}" for s in sides)
        for s in sides[1:]:
            r = figure["ratio_vs_first"][s.label]
            cells += f"{r:>16.3f}x" if r is not None else f"{'':>17}"
        rounds = " | ".join(
            f"{'±' if figure['spread'][s.label] is None else format(figure['spread'][s.label], '.0%')}"
            f" {' '.join(fmt(v) for v in figure['values'][s.label])}" for s in sides)
        print(f"{name:<{width}}{figure['unit']:>8}{cells}   {rounds}")
    print("(ratio: later ref against the first, above 1 = better, whatever the unit; "
          "spread: (max-min)/median of a ref's rounds)")


def main() -> None:
    argv, extra = sys.argv[1:], []
    if "--" in argv:
        argv, extra = argv[:argv.index("--")], argv[argv.index("--") + 1:]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("refs", nargs="+", metavar="REF", help="OLD_REF NEW_REF [MORE_REFS ...]")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="pass --quick to the script")
    parser.add_argument("--skip", help="pass --skip SKIP to compare.py (e.g. large,search)")
    parser.add_argument("--only-figures", metavar="REGEX", help="only figures matching REGEX")
    parser.add_argument("--json", help="summary path (default bench/results/ab-<time>.json)")
    parser.add_argument("--script", choices=sorted(SCRIPT_ARGS), default="compare.py")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per run")
    args = parser.parse_args(argv)
    if len(args.refs) < 2:
        parser.error("give at least two refs (the same one twice for an A/A run)")
    script_args = [*(["--quick"] if args.quick else []),
                   *(["--skip", args.skip] if args.skip else []), *extra]

    labels: list[str] = []
    for ref in args.refs:  # the same ref twice (A/A) gets "ref#2"
        labels.append(ref if ref not in labels else f"{ref}#{labels.count(ref) + 1}")
    sides = [prepare(ref, label) for ref, label in zip(args.refs, labels)]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_dir = AB_DIR / "runs" / stamp
    run_dir.mkdir(parents=True, exist_ok=True)

    at_start, runs = conditions(), []
    for round_ in range(args.rounds):
        order = sides[round_ % len(sides):] + sides[:round_ % len(sides)]
        for side in order:
            print(f"ab: round {round_ + 1}/{args.rounds}: {side.label} ({side.sha[:10]}) ...",
                  end=" ", file=sys.stderr, flush=True)
            out = run_dir / f"r{round_ + 1}-{re.sub(r'[^A-Za-z0-9_.-]', '_', side.label)}"
            runs.append({"round": round_ + 1,
                         **run_once(side, args.script, script_args, out, args.timeout)})
            last = runs[-1]
            print(f"{last['seconds']:.0f} s, exit {last['exit']}, CPU pressure "
                  f"{last.get('cpu_pressure_some_pct', 'n/a')}%", file=sys.stderr, flush=True)
    at_end = conditions()

    figures = summarize(sides, runs, args.only_figures)
    print(f"\n{args.script} {' '.join(SCRIPT_ARGS[args.script] + script_args)}; "
          f"{args.rounds} round(s)")
    for side in sides:
        print(f"  {side.label}: {side.sha[:10]}  {git('log', '-1', '--format=%s', side.sha)[:90]}")
    print()
    print_table(sides, figures)
    print()
    for when, c in (("start", at_start), ("end", at_end)):
        print(f"machine at {when} ({c['time']}): nproc {c['nproc']}, load {' '.join(c['loadavg'])}; "
              f"/proc/pressure/cpu: {' / '.join(c['cpu_pressure'].splitlines())}")
    print("during each run (CPU pressure = share of wall time some task waited for a CPU):")
    for run in runs:
        print(f"  round {run['round']} {run['label']:<16} {run['seconds']:>6.0f} s  exit "
              f"{run['exit']}  load1 at start {run['loadavg_1m_at_start']:.2f}  CPU pressure "
              f"{run.get('cpu_pressure_some_pct', 'n/a')}%")
        for note in run["notes"]:
            print(f"    note: {note}")

    output = Path(args.json) if args.json else BENCH / "results" / f"ab-{stamp}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps({
        "script": args.script, "script_args": SCRIPT_ARGS[args.script] + script_args,
        "rounds": args.rounds,
        "refs": [{"ref": s.ref, "label": s.label, "sha": s.sha, "worktree": str(s.tree)}
                 for s in sides],
        "machine": {"start": at_start, "end": at_end},
        "runs": [{k: v for k, v in run.items() if k not in ("units", "higher_is_better")}
                 for run in runs],
        "figures": figures,
    }, indent=2))
    print(f"\nwrote {output}")
    if any(run["exit"] != 0 for run in runs):
        sys.exit(1)


if __name__ == "__main__":
    main()
