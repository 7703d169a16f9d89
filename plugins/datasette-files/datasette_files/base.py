"""The public contract for storage backends and thumbnail generators.

Third-party plugins import these names; their shapes follow the datasette-files
specification exactly, so a backend written against that document works here unchanged.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import AsyncIterator, Callable, Optional

DEFAULT_MAX_FILE_SIZE = 100 * 1024 * 1024


@dataclass
class StorageCapabilities:
    """What a storage backend supports."""

    can_upload: bool = False
    can_delete: bool = False
    can_list: bool = False
    can_generate_signed_urls: bool = False
    requires_proxy_download: bool = False
    max_file_size: Optional[int] = None


@dataclass
class FileMetadata:
    """A file as a storage backend describes it."""

    path: str
    filename: str
    content_type: Optional[str] = None
    content_hash: Optional[str] = None
    size: Optional[int] = None
    width: Optional[int] = None
    height: Optional[int] = None
    created_at: Optional[str] = None
    metadata: dict = field(default_factory=dict)


class Storage(ABC):
    """Base class for storage backends.

    Subclasses declare ``storage_type`` and ``capabilities``, either as class
    attributes or as properties, and implement the abstract methods. They are
    instantiated with no arguments, then ``configure()`` is awaited once.
    """

    storage_type: str
    capabilities: StorageCapabilities

    @abstractmethod
    async def configure(self, config: dict, get_secret: Callable) -> None:
        """Receive the source's ``config`` dict and a ``get_secret`` callable."""

    @abstractmethod
    async def get_file_metadata(self, path: str) -> Optional[FileMetadata]:
        """Describe the file at ``path``, or return None if it does not exist."""

    @abstractmethod
    async def read_file(self, path: str) -> bytes:
        """Return the whole content at ``path``; raise FileNotFoundError if missing."""

    async def read_bytes(self, path: str, num_bytes: int = 2048) -> bytes:
        """Return up to ``num_bytes`` from the start of the file.

        The default reads the whole file; backends should override it.
        """
        content = await self.read_file(path)
        return content[:num_bytes]

    async def stream_file(self, path: str) -> AsyncIterator[bytes]:
        """Yield the file's content in chunks.

        The default yields the whole file as one chunk; backends should override it.
        """
        yield await self.read_file(path)

    async def receive_upload(
        self, path: str, stream: AsyncIterator[bytes], content_type: str
    ) -> FileMetadata:
        """Store the chunks of ``stream`` at ``path``; required when ``can_upload``."""
        raise NotImplementedError(f"{type(self).__name__} cannot receive uploads")

    async def delete_file(self, path: str) -> None:
        """Delete the file at ``path``; required when ``can_delete``."""
        raise NotImplementedError(f"{type(self).__name__} cannot delete files")

    async def list_files(
        self, prefix: str = "", cursor: Optional[str] = None, limit: int = 100
    ) -> tuple[list[FileMetadata], Optional[str]]:
        """Return ``(files, next_cursor)``; required when ``can_list``."""
        raise NotImplementedError(f"{type(self).__name__} cannot list files")

    async def download_url(self, path: str, expires_in: int = 300) -> str:
        """Return an expiring URL; required when ``can_generate_signed_urls``."""
        raise NotImplementedError(f"{type(self).__name__} cannot sign URLs")


@dataclass
class ThumbnailResult:
    """A generated thumbnail."""

    thumb_bytes: bytes
    content_type: str
    width: int
    height: int


class ThumbnailGenerator(ABC):
    """Base class for thumbnail generators registered by plugins."""

    name: str

    @abstractmethod
    async def can_generate(self, content_type: str, filename: str) -> bool:
        """Return True if this generator can handle the file."""

    @abstractmethod
    async def generate(
        self,
        file_bytes: bytes,
        content_type: str,
        filename: str,
        max_width: int = 200,
        max_height: int = 200,
    ) -> Optional[ThumbnailResult]:
        """Return a thumbnail, or None if this file cannot be thumbnailed."""
