"""Each folder's listing version: counted up by triggers (schema
``LISTING_VERSIONS``) whenever what the folder's listing shows changes, and
read by pages that keep their listing live."""

from __future__ import annotations


class ListingVersions:
    """Queries over ``datasette_files_listing_versions``."""

    def __init__(self, db):
        self.db = db

    async def of(self, source: str, folder: str) -> int:
        """The version of ``folder``'s listing in ``source`` ('' is the root):
        one primary-key lookup; 0 for a folder nothing has changed in yet."""
        row = (await self.db.execute(
            "SELECT version FROM datasette_files_listing_versions "
            "WHERE source_slug = ? AND folder = ?", [source, folder])).first()
        return row[0] if row else 0
