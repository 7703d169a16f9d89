"""The differential harness as a script: ours against the published
datasette-files 0.1a3, every difference in one table.

    .venv/bin/python bench/compat.py [--out bench/results/compat.md]

Exit status 1 when a difference is not listed in
plugins/datasette-files/COMPATIBILITY.md or a listed one no longer occurs
(tests/compat/test_reference_parity.py fails on the same)."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "tests"))

from support.parity.run import run  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "compat.md")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="compat-") as workdir:
        report = run(Path(workdir))
    table = report.table()
    print(table)
    print(f"\n{time.perf_counter() - started:.1f} s; written to {args.out}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table + "\n")
    return 0 if report.verdict.passed else 1


if __name__ == "__main__":
    sys.exit(main())
