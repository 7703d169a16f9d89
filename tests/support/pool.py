"""One server for a test module, and sources of their own for each of its tests:
starting a server costs a second or two, and no test sees another's files,
folders, trash or sync, whatever order they run in.

A module makes its ``pool`` fixture (module scope) and its server fixture
(``yield from pool.serve(config)``); a test asks for ``src`` (tests/conftest.py)."""

from __future__ import annotations

import itertools
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator

import pytest

from .server import DatasetteServer, assert_no_server_errors, source_config


class SourcePool:
    """``kinds`` names a test's sources (say "team" and "archive"); test N of the
    module gets "teamN" and "archiveN", under ``root``."""

    def __init__(self, request: pytest.FixtureRequest, root: Path, kinds=("team",)):
        # The module's tests in this run (after -k and the like), one set each.
        self.size = sum(1 for item in request.session.items
                        if getattr(item, "module", None) is request.module)
        self.root = root
        self.kinds = kinds
        self._taken = itertools.count()

    def sources(self, **options) -> dict:
        """The plugin's "sources" setting: every test's, with these options."""
        return {f"{kind}{n}": source_config(self.root / f"{kind}{n}", **options)
                for n in range(self.size) for kind in self.kinds}

    def serve(self, config: dict) -> Iterator[DatasetteServer]:
        """The module's server (a fixture yields from it), with ``config``
        naming ``self.sources()``; its log has no traceback at the end."""
        server = DatasetteServer(self.root, config).start()
        yield server
        server.stop()
        assert_no_server_errors(server)

    def take(self) -> SimpleNamespace:
        """A test's own sources: for each kind its slug (``.team``) and its
        root directory (``.team_dir``)."""
        n = next(self._taken)
        assert n < self.size, "more tests took sources than were collected"
        slugs = {kind: f"{kind}{n}" for kind in self.kinds}
        return SimpleNamespace(**slugs, **{f"{kind}_dir": self.root / slug
                                           for kind, slug in slugs.items()})
