"""Zip downloads of many files: what goes in (``members``), the zip written as
it streams (``writer``), the response that sends it (``response``), and the
bounds on zips sent at once (``slots``)."""

from .members import (
    MAX_ARCHIVE_FILES, Member, empty_folders, members_of, selected_files, tree_files,
    uniquely_named)
from .response import ArchiveResponse
from .slots import ArchiveSlot, ArchiveSlots, TooManyArchives
from .writer import ArchiveBroken, ZipArchive

__all__ = ["MAX_ARCHIVE_FILES", "ArchiveBroken", "ArchiveResponse", "ArchiveSlot",
           "ArchiveSlots", "Member", "TooManyArchives", "ZipArchive", "empty_folders",
           "members_of", "selected_files", "tree_files", "uniquely_named"]
