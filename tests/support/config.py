"""Actors and configurations the tests share."""

from pathlib import Path

ALICE = {"id": "alice"}
BOB = {"id": "bob"}
ADMIN = {"id": "admin", "roles": ["admin"]}

OPEN_PERMISSIONS = {
    "files-browse": True,
    "files-upload": True,
    "files-edit": True,
    "files-delete": True,
}

MEMSTORE = Path(__file__).resolve().parent.parent / "plugins" / "datasette-files-memstore"
