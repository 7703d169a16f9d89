"""The bounds on zips being sent at once: how many, and how many files they
hold between them.

A zip in flight holds one chunk of bytes, but also every member's entry
until its central directory is written at the end: about a kilobyte a file
(name, place in storage, CRC, offset). The server's memory (256 MB on the
smallest deployment) bounds the files all running zips may hold together;
file handles, connections and the event loop's time bound how many run.
"""

from __future__ import annotations

from ..errors import ApiError

# Zip downloads a server sends at once; more are answered 503 (try again).
MAX_RUNNING_ARCHIVES = 8
# Files the running zips may hold between them (about 1 KB each).
MAX_HELD_FILES = 100_000
# Zips one person (or, signed out, one address) receives at once: a slow
# reader keeps its place for the whole archive, and one person's readers must
# not take every place.
MAX_ARCHIVES_PER_CLIENT = 2


class TooManyArchives(ApiError):
    status = 503


class ArchiveSlots:
    """The zips being sent, and the files they hold."""

    def __init__(self, most: int = MAX_RUNNING_ARCHIVES, files: int = MAX_HELD_FILES,
                 per_client: int = MAX_ARCHIVES_PER_CLIENT):
        self.most = most
        self.files = files
        self.per_client = per_client
        self.running = 0
        self.held = 0
        self.by_client: dict[str, int] = {}

    def take(self, client: str) -> "ArchiveSlot":
        """A place for one more zip for ``client``, or TooManyArchives."""
        if self.by_client.get(client, 0) >= self.per_client:
            raise TooManyArchives(f"You are already downloading {self.per_client} zips: "
                                  "try again when one has finished", retry_after=5)
        if self.running >= self.most:
            raise TooManyArchives(f"{self.most} zip downloads are running: try again shortly",
                                  retry_after=5)
        self.running += 1
        self.by_client[client] = self.by_client.get(client, 0) + 1
        return ArchiveSlot(self, client)


class ArchiveSlot:
    """One zip's place, and the files its zip holds; given back once, when
    the zip is sent, cut off, or refused before its first byte."""

    def __init__(self, slots: ArchiveSlots, client: str):
        self._slots = slots
        self._client = client
        self._held = 0
        self._given_back = False

    def hold(self, count: int = 1) -> None:
        """Count ``count`` more files in this zip; TooManyArchives when the
        running zips would hold more than their bound between them."""
        slots = self._slots
        if slots.held + count > slots.files:
            raise TooManyArchives(f"The zips being sent hold {slots.files:,} files between "
                                  "them: try again shortly", retry_after=5)
        slots.held += count
        self._held += count

    def give_back(self) -> None:
        if self._given_back:
            return
        self._given_back = True
        slots = self._slots
        slots.running -= 1
        slots.held -= self._held
        slots.by_client[self._client] -= 1
        if not slots.by_client[self._client]:
            del slots.by_client[self._client]
