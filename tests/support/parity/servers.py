"""The two servers the harness compares, with one configuration and one secret."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from typing import Optional

import httpx

from ..server import SECRET, DatasetteServer, actor_cookie, source_config
from ..venvs import UPSTREAM_REQUIREMENTS, ensure_venv

# Who may do what: the member and the owner browse and upload to "team" only;
# the owner's own files are theirs to edit and delete (owners_can_*); the admin
# has every grant, on both sources, and may import into the "data" database.
ACTORS: dict[str, Optional[dict]] = {
    "anon": None,
    "member": {"id": "member"},
    "owner": {"id": "owner"},
    "admin": {"id": "admin"},
}
TEAM = ["member", "owner", "admin"]


def configuration(root: Path) -> dict:
    per_source = {"team": {"allow": {"id": TEAM}}, "private": {"allow": {"id": "admin"}}}
    return {
        "permissions": {
            "files-browse": per_source,
            "files-upload": per_source,
            "files-edit": {"id": "admin"},
            "files-delete": {"id": "admin"},
            "create-table": {"id": "admin"},
            "insert-row": {"id": "admin"},
        },
        "plugins": {"datasette-files": {
            "owners_can_edit": True,
            "owners_can_delete": True,
            "sources": {slug: source_config(root / slug) for slug in ("team", "private")},
        }},
    }


class ParityServer(DatasetteServer):
    """``datasette serve`` over a fresh directory with the harness's configuration
    and a database to import into; ``bin_dir`` picks whose datasette runs."""

    def __init__(self, name: str, data_dir: Path, bin_dir: Path):
        data_dir.mkdir(parents=True, exist_ok=True)
        database = data_dir / "data.db"
        sqlite3.connect(database).close()
        super().__init__(data_dir, configuration(data_dir), extra_args=[str(database)],
                         datasette=str(bin_dir / "datasette"))
        self.name = name

    def client(self, actor: Optional[dict] = None, **kwargs) -> httpx.Client:
        cookies = {"ds_actor": actor_cookie(actor, SECRET)} if actor else {}
        return httpx.Client(base_url=self.url, cookies=cookies, timeout=60,
                            follow_redirects=False, **kwargs)


def reference_server(data_dir: Path) -> ParityServer:
    """datasette-files 0.1a3 on Datasette 1.0a41, from its cached virtualenv."""
    return ParityServer("reference", data_dir, ensure_venv("upstream", UPSTREAM_REQUIREMENTS))


def our_server(data_dir: Path) -> ParityServer:
    """Our plugin, from the interpreter running the harness (the project's .venv)."""
    return ParityServer("ours", data_dir, Path(sys.executable).parent)
