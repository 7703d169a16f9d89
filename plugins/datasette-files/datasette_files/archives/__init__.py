"""Zip downloads of many files: what goes in (``members``), the zip written as
it streams (``writer``), and the response that sends it (``response``)."""

from .members import (
    MAX_ARCHIVE_FILES, Member, empty_folders, members_of, selected_files, tree_files)
from .response import ArchiveResponse, ArchiveSlots
from .writer import ArchiveBroken, ZipArchive

__all__ = ["MAX_ARCHIVE_FILES", "ArchiveBroken", "ArchiveResponse", "ArchiveSlots", "Member",
           "ZipArchive", "empty_folders", "members_of", "selected_files", "tree_files"]
