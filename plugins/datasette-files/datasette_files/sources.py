"""Sources: named, configured storage backends, loaded from the plugin config."""

from __future__ import annotations

import os
import re
import dataclasses
from dataclasses import dataclass, fields
from typing import Iterator, Optional

from datasette.plugins import pm

from .base import DEFAULT_MAX_FILE_SIZE, FreeSpace, StartupChecks, Storage, StorageCapabilities
from .errors import ConfigError, Forbidden

SLUG_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


@dataclass
class Source:
    """One configured source: a slug bound to a configured storage instance."""

    slug: str
    storage_type: str
    storage: Storage
    # A read-only source is browsed, searched and downloaded; never changed.
    read_only: bool = False
    # Whether uploads may go straight to the storage (one with DirectUploads)
    # instead of through the server; the source's ``direct_uploads`` setting.
    direct_uploads: bool = True

    @property
    def capabilities(self) -> StorageCapabilities:
        caps = self.storage.capabilities
        if self.read_only:
            caps = dataclasses.replace(caps, can_upload=False, can_delete=False)
        return caps

    def require_writable(self) -> None:
        """Refuse (403) any change to a read-only source."""
        if self.read_only:
            raise Forbidden(f"Source {self.slug!r} is read-only: its files and folders "
                            "cannot be changed")

    @property
    def max_file_size(self) -> int:
        return self.capabilities.max_file_size or DEFAULT_MAX_FILE_SIZE

    async def free_space(self) -> Optional[int]:
        """Free bytes in the backend, when the backend can tell (filesystem can)."""
        if isinstance(self.storage, FreeSpace):
            return await self.storage.free_space()
        return None

    def capability_flags(self) -> dict:
        caps = self.capabilities
        flags = {f.name: getattr(caps, f.name) for f in fields(StorageCapabilities)}
        return {**flags, "read_only": self.read_only}


class UnknownSource(LookupError):
    """No source has this slug."""


class Sources:
    """The configured sources, by slug."""

    def __init__(self, sources: list[Source]):
        self._by_slug = {source.slug: source for source in sources}

    def __iter__(self) -> Iterator[Source]:
        return iter(self._by_slug.values())

    def __len__(self) -> int:
        return len(self._by_slug)

    def __contains__(self, slug: str) -> bool:
        return slug in self._by_slug

    def get(self, slug: str) -> Source:
        """The source called ``slug``; UnknownSource if there is none."""
        try:
            return self._by_slug[slug]
        except KeyError:
            raise UnknownSource(f"Source not found: {slug}") from None


def storage_types(datasette) -> dict[str, type]:
    """Every registered ``Storage`` subclass, by its ``storage_type``.

    ConfigError when two classes claim one type: installing a plugin must
    never silently swap one implementation for another."""
    types: dict[str, type] = {}
    for classes in pm.hook.register_files_storage_types(datasette=datasette):
        for cls in classes or []:
            storage_type = _storage_type_of(cls)
            claimed = types.get(storage_type)
            if claimed is not None and claimed is not cls:
                raise ConfigError(
                    f"datasette-files: two storage classes claim the storage type "
                    f"{storage_type!r}: {_class_name(claimed)} and {_class_name(cls)}; "
                    "uninstall one of the plugins that register them")
            types[storage_type] = cls
    return types


def _class_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _storage_type_of(cls: type) -> str:
    # The spec allows a class attribute or a property; a property needs an instance.
    value = cls.__dict__.get("storage_type", getattr(cls, "storage_type", None))
    if isinstance(value, str):
        return value
    return cls().storage_type


async def load_sources(datasette, plugin_config: Optional[dict]) -> Sources:
    """Instantiate and configure every source, or raise ConfigError naming the problem."""
    plugin_config = plugin_config or {}
    configured = plugin_config.get("sources") or {}
    if not isinstance(configured, dict):
        raise ConfigError(
            "datasette-files: 'sources' must be a mapping of source slug to "
            "{storage: ..., config: {...}}"
        )
    types = storage_types(datasette)
    seen: dict[str, str] = {}
    sources = []
    for slug, source_config in configured.items():
        slug = str(slug)
        where = f"datasette-files: source {slug!r}"
        if not SLUG_PATTERN.match(slug):
            raise ConfigError(
                f"{where}: a slug must be 1-64 letters, digits, '-' or '_', "
                "starting with a letter or digit"
            )
        if slug.lower() in seen:
            raise ConfigError(
                f"{where}: duplicate slug (clashes with {seen[slug.lower()]!r}); "
                "each source needs its own slug"
            )
        seen[slug.lower()] = slug
        if not isinstance(source_config, dict) or "storage" not in source_config:
            raise ConfigError(f"{where}: expected a 'storage' key naming a storage type")
        storage_type = source_config["storage"]
        if storage_type not in types:
            raise ConfigError(
                f"{where}: unknown storage type {storage_type!r}; expected one of: "
                + ", ".join(sorted(types))
            )
        storage = types[storage_type]()
        try:
            await storage.configure(
                source_config.get("config") or {}, _secret_getter(datasette)
            )
        except ConfigError as ex:
            raise ConfigError(f"{where}: {ex}") from None
        except Exception as ex:
            raise ConfigError(
                f"{where}: {storage_type} storage rejected its config: "
                f"{type(ex).__name__}: {ex}"
            ) from ex
        read_only = source_config.get("read_only", False)
        if not isinstance(read_only, bool):
            raise ConfigError(f"{where}: read_only must be true or false")
        direct_uploads = source_config.get("direct_uploads", True)
        if not isinstance(direct_uploads, bool):
            raise ConfigError(f"{where}: direct_uploads must be true or false")
        if isinstance(storage, StartupChecks):
            try:
                await storage.check_at_start(writable=not read_only)
            except ConfigError as ex:
                raise ConfigError(f"{where}: {ex}") from None
        sources.append(Source(slug=slug, storage_type=storage_type, storage=storage,
                              read_only=read_only, direct_uploads=direct_uploads))
    return Sources(sources)


SECRET_NAMES_ATTRIBUTE = "_datasette_files_secret_names"


def requested_secret_names(datasette) -> set[str]:
    """Names that storage backends asked ``get_secret`` for: registered with
    datasette-secrets, so admins can set them at /-/secrets."""
    if not hasattr(datasette, SECRET_NAMES_ATTRIBUTE):
        setattr(datasette, SECRET_NAMES_ATTRIBUTE, set())
    return getattr(datasette, SECRET_NAMES_ATTRIBUTE)


def _secret_getter(datasette):
    """The ``get_secret`` handed to ``Storage.configure``: datasette-secrets when
    installed (the environment's ``DATASETTE_SECRETS_<NAME>`` first, then the
    encrypted store), otherwise that environment variable alone."""

    async def get_secret(name: str) -> Optional[str]:
        requested_secret_names(datasette).add(name)
        try:
            from datasette_secrets import get_secret as secrets_get_secret
        except ImportError:
            return os.environ.get(f"DATASETTE_SECRETS_{name}")
        return await secrets_get_secret(datasette, name)

    return get_secret
