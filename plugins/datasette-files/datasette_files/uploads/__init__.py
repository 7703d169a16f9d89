"""Uploads: the specification's three steps (``tokens``), resumable chunks
(``chunks``) and single-request PUTs (``single_request``), with the checks and
storing they share."""

from __future__ import annotations

from .chunks import MAX_CHUNK_BYTES, chunk_size_for
from .sessions import UploadSessions
from .single_request import SMALL_FILE_BYTES

__all__ = ["MAX_CHUNK_BYTES", "SMALL_FILE_BYTES", "UploadSessions", "chunk_size_for"]
