"""One long-lived aiobotocore S3 client per source: opened on first use (in the
event loop that uses it), shared by every request, closed at shutdown.

aiobotocore is an optional dependency (``pip install 'datasette-files[s3]'``):
it is imported here alone, when a source of this type is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, AsyncIterator, Optional

from ...errors import ConfigError
from .config import S3Config

INSTALL_HINT = "pip install 'datasette-files[s3]'"
# Requests a source makes at once (uploads' parts, moves' copies, listings).
MAX_POOL_CONNECTIONS = 32


def require_aiobotocore() -> None:
    """ConfigError saying how to install the client library when it is missing."""
    try:
        import aiobotocore.session  # noqa: F401
    except ImportError:
        raise ConfigError("the s3-compatible storage needs aiobotocore, which is not "
                          f"installed: {INSTALL_HINT}") from None


class ClientHolder:
    """Opens the client once and hands it out; ``close()`` at shutdown."""

    def __init__(self, config: S3Config):
        self.config = config
        self._client: Any = None
        self._context: Any = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._lock: Optional[asyncio.Lock] = None

    @contextlib.asynccontextmanager
    async def client(self) -> AsyncIterator[Any]:
        """The shared client (not closed on exit: others are using it)."""
        yield await self._opened()

    async def _opened(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._client is not None and self._loop is loop:
            return self._client
        if self._lock is None or self._loop is not loop:
            # A client (and its connections) belongs to the loop it was opened in:
            # a new loop (tests, a restart in-process) gets its own.
            self._lock, self._loop, self._client, self._context = asyncio.Lock(), loop, None, None
        async with self._lock:
            if self._client is None:
                self._context = _new_client_context(self.config)
                self._client = await self._context.__aenter__()
            return self._client

    async def close(self) -> None:
        """Close the client's connections (when it was opened in this loop)."""
        context, client = self._context, self._client
        self._context = self._client = None
        if context is not None and self._loop is asyncio.get_running_loop():
            await context.__aexit__(None, None, None)


def _new_client_context(config: S3Config):
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    client_config = AioConfig(
        signature_version="s3v4",
        max_pool_connections=MAX_POOL_CONNECTIONS,
        retries={"max_attempts": 3, "mode": "standard"},
        # A hung bucket answers 503 in seconds, not after botocore's minutes.
        connect_timeout=config.timeout_seconds,
        read_timeout=config.timeout_seconds,
        # Checksums only where an operation needs one, or we ask (ChecksumAlgorithm):
        # several S3-compatible services refuse the newer defaults' trailers.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return get_session().create_client("s3", config=client_config,
                                       **config.client_arguments())
