"""Datasette hook implementations: the plugin's wiring, and nothing else."""

from __future__ import annotations

from datasette import hookimpl

from . import permissions
from .column_type import FileColumnType
from .csv_import.detect import is_csv
from .fast_paths import fast_paths
from .files import FILE_ID_PATTERN, format_timestamp, utc_now
from .plugin_state import PluginState, set_state, state
from .registry import FileRegistry
from .sources import load_sources, requested_secret_names
from .storage.filesystem import FilesystemStorage
from .sync import Hasher, SyncInProgress, sync_source
from .thumbnails.pillow import PillowThumbnailGenerator
from .thumbnails.service import ThumbnailService
from .thumbnails.worker import WALL_SECONDS
from .uploads import expire_uploads
from .views import files, imports, listings, pages, uploads
from .views import sources as sources_views

PLUGIN_NAME = "datasette-files"


def plugin_config(datasette) -> dict:
    """The plugin's configuration with $env secrets resolved. Resolving walks the
    whole block, and permission checks ask for it on every request: after
    start-up, the copy kept in the plugin state answers."""
    try:
        return state(datasette).config
    except RuntimeError:  # not started yet
        return datasette.plugin_config(PLUGIN_NAME) or {}


@hookimpl
def register_files_storage_types(datasette):
    return [FilesystemStorage]


@hookimpl
def register_thumbnail_generators(datasette):
    return [PillowThumbnailGenerator()]


@hookimpl
def file_actions(datasette, actor, file, preview_bytes):
    """The built-in "Import as table" action for CSV and TSV files."""
    if not is_csv(file.get("content_type"), file.get("filename") or ""):
        return []
    return [{
        "href": datasette.urls.path(f"/-/files/import/{file['id']}"),
        "label": "Import as table",
        "description": "Create a database table from this file's rows",
    }]


@hookimpl
def register_column_types(datasette):
    return [FileColumnType]


@hookimpl
def extra_js_urls(template, database, table, columns, view_name, request, datasette):
    # Table and row pages render file cells and have the insert/edit dialogs.
    if view_name in ("table", "row"):
        return [{"url": datasette.urls.static_plugins(PLUGIN_NAME, "datasette-file.js"),
                 "module": True}]
    return []


@hookimpl
def extra_css_urls(template, database, table, columns, view_name, request, datasette):
    if view_name in ("table", "row"):
        return [datasette.urls.static_plugins(PLUGIN_NAME, "datasette-file.css")]
    return []


@hookimpl
def register_actions(datasette):
    return permissions.actions()


@hookimpl
def permission_resources_sql(datasette, actor, action):
    if action not in permissions.ACTIONS:
        return None
    return permissions.rules_sql(
        action,
        actor,
        (datasette.config or {}).get("permissions") or {},
        plugin_config(datasette),
    )


@hookimpl(tryfirst=True)
def asgi_wrapper(datasette):
    # First, so innermost: other plugins' wrappers (one may set scope["actor"])
    # still see every request the fast paths answer.
    return fast_paths(datasette)


@hookimpl
def startup(datasette):
    async def start():
        config = plugin_config(datasette)
        sources = await load_sources(datasette, config)
        registry = FileRegistry(datasette.get_internal_database())
        await registry.migrate()
        await registry.set_sources((s.slug, s.storage_type) for s in sources)
        # No request survives a restart: uploads cut off mid-body can be retried.
        await registry.reset_interrupted_uploads()
        await registry.interrupt_unfinished_imports(format_timestamp(utc_now()))
        thumbnails = ThumbnailService(
            datasette, registry, sources,
            timeout=float(config.get("thumbnail_timeout_seconds") or WALL_SECONDS),
        )
        plugin = PluginState(
            sources=sources, registry=registry, thumbnails=thumbnails, config=config
        )
        set_state(datasette, plugin)
        datasette.add_background_task(thumbnails.run_queue, name="datasette-files-thumbnails")
        plugin.hasher = Hasher(registry, sources, thumbnails)
        datasette.add_background_task(plugin.hasher.run, name="datasette-files-hashing")
        if config.get("sync_on_start", True):
            datasette.add_background_task(sync_all_at_start, name="datasette-files-sync")
        await expire_uploads(plugin)

    return start


@hookimpl
def shutdown(datasette):
    try:
        plugin = state(datasette)
    except RuntimeError:  # never started
        return
    # The upload path's writer commits what is queued (normally nothing: requests
    # have ended) and closes its connection. Waited for without yielding to the
    # event loop: a request uvicorn cancelled at its shutdown timeout would
    # otherwise log a traceback on its way out.
    plugin.registry.group.close()


async def sync_all_at_start(datasette) -> None:
    """Sync every source that can list, one after another, after start-up."""
    plugin = state(datasette)
    for source in plugin.sources:
        if source.capabilities.can_list:
            try:
                await sync_source(plugin.registry, source, plugin.sync_status(source.slug),
                                  include_hidden=bool(plugin.config.get("include_hidden")))
            except SyncInProgress:
                continue
            plugin.hasher.wake.set()


@hookimpl
def register_secrets(datasette):
    """Secrets the sources' storage backends use (a datasette-secrets hook)."""
    from datasette_secrets import Secret

    return [
        Secret(name, description="Used by a datasette-files storage source")
        for name in sorted(requested_secret_names(datasette))
    ]


@hookimpl
def top_homepage(datasette, request):
    async def panel():
        return await pages.homepage_panel(datasette, request)

    return panel


@hookimpl
def menu_links(datasette, actor, request):
    async def links():
        for source in state(datasette).sources:
            if await permissions.allowed_on_source(datasette, actor, permissions.BROWSE,
                                                   source.slug):
                return [{"href": datasette.urls.path("/-/files"), "label": "Files"}]
        return []

    return links


@hookimpl
def register_routes(datasette):
    file_id = r"(?P<file_id>[^/]+)"
    upload = r"^/-/files/upload/(?P<slug>[^/]+)/-/"
    return [
        (r"^/-/files/sync/(?P<slug>[^/]+)\.json$", sources_views.sync_status_view),
        (r"^/-/files/sync/(?P<slug>[^/]+)$", sources_views.sync_view),
        (r"^/-/files/source/(?P<slug>[^/]+)\.json$", sources_views.listing_view),
        (r"^/-/files$", pages.index_page),
        (r"^/-/files/search$", pages.search_page),
        (r"^/-/files/icon\.svg$", files.icon_view),
        (r"^/-/files/source/(?P<slug>[^/]+)$", pages.source_page),
        (r"^/-/files/upload/(?P<slug>[^/]+)$", pages.upload_page),
        (rf"^/-/files/(?P<file_id>{FILE_ID_PATTERN})$", pages.file_page),
        (r"^/-/files/import/(?P<file_id>[^/]+)$", imports.preview_page),
        (r"^/-/files/import/(?P<file_id>[^/]+)/(?P<import_id>imp-[0-9a-z]+)"
         r"(\.(?P<format>json))?$", imports.progress_page),
        (r"^/-/files/search\.json$", listings.search_view),
        (r"^/-/files/batch\.json$", listings.batch_view),
        (r"^/-/files/sources\.json$", listings.sources_view),
        (upload + r"prepare$", uploads.prepare_view),
        (upload + r"upload$", uploads.upload_view),
        (upload + r"complete$", uploads.complete_view),
        (r"^/-/files/upload/(?P<slug>[^/]+)/(?P<filename>[^/]+)$", uploads.put_view),
        (rf"^/-/files/{file_id}\.json$", files.file_json_view),
        (rf"^/-/files/{file_id}/download$", files.download_view),
        (rf"^/-/files/{file_id}/thumbnail$", files.thumbnail_view),
        (rf"^/-/files/{file_id}/-/delete$", files.delete_view),
        (rf"^/-/files/{file_id}/-/update$", files.update_view),
    ]
