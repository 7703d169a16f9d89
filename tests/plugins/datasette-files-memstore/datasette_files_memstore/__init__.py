"""Two storage types in the two styles the spec shows, using the base class
defaults for read_bytes and stream_file; and a third that fails in ways of its own."""

import hashlib
from pathlib import Path
from typing import Optional, Sequence

from datasette import hookimpl
from datasette_files.base import FileMetadata, Storage, StorageCapabilities

# Stands in for a remote object store: bucket name -> key -> (bytes, content type).
BUCKETS: dict = {}


class BucketStorage(Storage):
    """Class-attribute style, signed URLs, no proxying: like the spec's S3Storage."""

    storage_type = "memory-bucket"
    capabilities = StorageCapabilities(
        can_upload=True,
        can_delete=True,
        can_list=True,
        can_generate_signed_urls=True,
        requires_proxy_download=False,
    )

    async def configure(self, config: dict, get_secret) -> None:
        self.bucket = config["bucket"]
        self.prefix = config.get("prefix", "")
        if "secret_name" in config:
            secret = await get_secret(config["secret_name"])
            if secret != config["expected_secret"]:
                raise ValueError(f"get_secret gave {secret!r}")
        self.objects = BUCKETS.setdefault(self.bucket, {})
        # Objects already in the bucket before the server started (for sync).
        for path, text in config.get("seed", {}).items():
            self.objects[self._key(path)] = (text.encode(), "application/octet-stream")

    def _key(self, path: str) -> str:
        return f"{self.prefix}{path}" if self.prefix else path

    async def get_file_metadata(self, path: str) -> Optional[FileMetadata]:
        if self._key(path) not in self.objects:
            return None
        content, content_type = self.objects[self._key(path)]
        return FileMetadata(path=path, filename=path.split("/")[-1],
                            content_type=content_type, size=len(content))

    async def read_file(self, path: str) -> bytes:
        if self._key(path) not in self.objects:
            raise FileNotFoundError(path)
        return self.objects[self._key(path)][0]

    async def receive_upload(self, path: str, stream, content_type: str) -> FileMetadata:
        chunks = []
        sha256 = hashlib.sha256()
        size = 0
        async for chunk in stream:
            chunks.append(chunk)
            sha256.update(chunk)
            size += len(chunk)
        self.objects[self._key(path)] = (b"".join(chunks), content_type)
        return FileMetadata(path=path, filename=path.split("/")[-1], content_type=content_type,
                            content_hash="sha256:" + sha256.hexdigest(), size=size)

    async def download_url(self, path: str, expires_in: int = 300) -> str:
        return f"https://{self.bucket}.bucket.invalid/{self._key(path)}?expires={expires_in}"

    async def delete_file(self, path: str) -> None:
        self.objects.pop(self._key(path), None)

    async def list_files(self, prefix: str = "", cursor: Optional[str] = None, limit: int = 100):
        keys = sorted(k for k in self.objects if k.startswith(self._key(prefix))
                      and (cursor is None or k > cursor))
        files = [FileMetadata(path=k.removeprefix(self.prefix), filename=k.split("/")[-1],
                              size=len(self.objects[k][0])) for k in keys[:limit]]
        return files, (keys[limit - 1] if len(keys) > limit else None)


class ProxiedBucketStorage(BucketStorage):
    """Property style (the spec's "Required methods" section), proxied downloads."""

    @property
    def storage_type(self) -> str:
        return "memory-proxied"

    @property
    def capabilities(self) -> StorageCapabilities:
        return StorageCapabilities(can_upload=True, can_delete=True, can_list=True,
                                   requires_proxy_download=True)


class FlakyBucketStorage(ProxiedBucketStorage):
    """Hashes in place (``ContentHashes``), and fails with an error of its own, not
    an OSError, for objects named ``broken...`` while the file ``failing_marker``
    exists; each failure appends a line to that file."""

    @property
    def storage_type(self) -> str:
        return "memory-flaky"

    async def configure(self, config: dict, get_secret) -> None:
        await super().configure(config, get_secret)
        self.failing_marker = Path(config["failing_marker"])

    def _fail_if_broken(self, paths) -> None:
        broken = [p for p in paths if p.rsplit("/", 1)[-1].startswith("broken")]
        if broken and self.failing_marker.exists():
            with self.failing_marker.open("a") as log:
                log.write("".join(f"{path}\n" for path in broken))
            raise RuntimeError(f"the flaky bucket cannot read {', '.join(broken)}")

    async def read_file(self, path: str) -> bytes:
        self._fail_if_broken([path])
        return await super().read_file(path)

    async def content_hashes(self, paths: Sequence[str]) -> dict:
        self._fail_if_broken(paths)  # the whole batch fails, as a plugin's might
        digests = {}
        for path in paths:
            digests[path] = "sha256:" + hashlib.sha256(await self.read_file(path)).hexdigest()
        return digests


@hookimpl
def register_files_storage_types(datasette):
    return [BucketStorage, ProxiedBucketStorage, FlakyBucketStorage]
