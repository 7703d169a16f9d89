"""Ours against the published datasette-files 0.1a3, request for request.

Its own directory: it installs the reference from the package index (once;
the virtualenv is cached under bench/.peers like the benchmarks' peers) and
compares two servers, so it is neither a test of our plugin alone nor of the
app. ``.venv/bin/python bench/compat.py`` prints the same table."""

import pytest

from support.parity.ledger import COMPATIBILITY
from support.parity.run import run
from support.venvs import UPSTREAM_REQUIREMENTS, ensure_venv, required

pytestmark = pytest.mark.needs_venv("upstream", UPSTREAM_REQUIREMENTS)


def test_every_difference_from_the_reference_is_listed(tmp_path):
    # Fails under REQUIRE_PYPI=1 (CI) when the reference cannot be installed.
    required(lambda: ensure_venv("upstream", UPSTREAM_REQUIREMENTS))
    report = run(tmp_path)
    table = report.table()
    (tmp_path / "compat.md").write_text(table + "\n")
    print(table)
    assert report.requests > 250
    assert report.verdict.passed, (
        f"differences from datasette-files 0.1a3 not as {COMPATIBILITY} lists them "
        f"(fix them, or list them with the reason):\n{table}")
