"""Datasette hook implementations: the plugin's wiring, and nothing else."""

from __future__ import annotations

import logging

from datasette import Response, hookimpl
from datasette.plugins import pm
from datasette.utils import await_me_maybe
from datasette.utils.asgi import Base400

from . import permissions
from .api import sync_all_sources
from .column_type import FileColumnType
from .csv_import.detect import is_csv
from .csv_import.job import drop_leftovers
from .hashing import Hasher
from .naming import FILE_ID_PATTERN
from .organise.service import Organiser
from .registry import Registry
from .settings import Settings
from .sources import load_sources, requested_secret_names
from .state import PluginState, set_state, state
from .base import Closing
from .clock import now_timestamp
from .storage.filesystem import FilesystemStorage
from .storage.s3 import S3CompatibleStorage
from .previews.pdf import PdfPages
from .previews.text import TextPreviews
from .thumbnails.pdf import PdfThumbnailGenerator
from .thumbnails.pillow import PillowThumbnailGenerator
from .thumbnails.service import ThumbnailService
from .uploads.leftovers import LeftoverSweeper
from .views import (
    bulk, error_pages, files, imports, inline, instance_gate, listings, live_listing, openapi,
    organise, pages, pdf_pages, preferences, search_page, trash, trash_pages, uploads, zips)
from .views import sources as sources_views
from .views.cache_control import KeepCacheControl
from .views.negotiation import answers_json

log = logging.getLogger("datasette_files")
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
    return [FilesystemStorage, S3CompatibleStorage]


@hookimpl(trylast=True)
def register_thumbnail_generators(datasette):
    # Last: a plugin's generator for the same types is more particular, and is tried first.
    return [PillowThumbnailGenerator(), PdfThumbnailGenerator()]


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


@hookimpl
def asgi_wrapper(datasette):
    return KeepCacheControl


@hookimpl
def shutdown(datasette):
    async def stop():
        try:
            sources = state(datasette).sources
        except RuntimeError:  # never started
            return
        for source in sources:
            if isinstance(source.storage, Closing):
                try:
                    await source.storage.close()
                except Exception:
                    log.exception("datasette-files: closing source %r failed", source.slug)
    return stop


@hookimpl
def startup(datasette):
    async def start():
        config = plugin_config(datasette)
        settings = Settings.from_config(config)
        sources = await load_sources(datasette, config)
        registry = Registry(datasette.get_internal_database(), settings.search_time_limit_ms)
        await registry.migrate()
        await registry.set_sources((s.slug, s.storage_type) for s in sources)
        # No request survives a restart: uploads cut off mid-body can be retried,
        # and imports cut off leave hidden tables to drop.
        await registry.uploads.reset_interrupted()
        for job in await registry.imports.interrupt_unfinished(now_timestamp()):
            await _drop_leftovers(datasette, job)
        # A change a crash cut short is undone (or finished) before anything else runs.
        organiser = Organiser(registry, sources)
        await organiser.recover()
        thumbnails = ThumbnailService(registry, sources, await _thumbnail_generators(datasette),
                                      timeout=settings.thumbnail_timeout_seconds)
        hasher = Hasher(registry, sources, thumbnails.enqueue_eager, settings.hash_retry_seconds)
        plugin = PluginState(config=config, settings=settings, sources=sources,
                             registry=registry, thumbnails=thumbnails, hasher=hasher,
                             organiser=organiser,
                             pdf_pages=PdfPages(registry, sources, thumbnails.slots,
                                                timeout=settings.thumbnail_timeout_seconds,
                                                on_changed=hasher.wake.set),
                             text_previews=TextPreviews(thumbnails.slots))
        set_state(datasette, plugin)
        datasette.add_background_task(thumbnails.run_queue, name="datasette-files-thumbnails")
        datasette.add_background_task(plugin.hasher.run, name="datasette-files-hashing")
        if settings.sync_on_start:
            datasette.add_background_task(sync_all_sources, name="datasette-files-sync")
        # Its first sweep, at once, removes what a crash left.
        sweeper = LeftoverSweeper(registry, sources, plugin.uploads,
                                  settings.temp_sweep_interval_seconds)
        datasette.add_background_task(sweeper.run, name="datasette-files-sweep")
        datasette.add_background_task(
            lambda _datasette: organiser.purge_expired_forever(settings.trash_retention_days),
            name="datasette-files-trash")

    return start


async def _drop_leftovers(datasette, job) -> None:
    """A cut-off import's hidden table goes; failing that (the database is
    read-only now, say), the server starts anyway."""
    db = datasette.databases.get(job.database_name)
    if db is None or not db.is_mutable:
        return
    try:
        await drop_leftovers(job, db)
    except Exception as ex:
        log.warning("datasette-files: could not drop what import %s left in %s: %s",
                    job.id, job.database_name, ex)


async def _thumbnail_generators(datasette) -> list:
    generators = []
    for result in pm.hook.register_thumbnail_generators(datasette=datasette):
        generators.extend(await await_me_maybe(result) or [])
    return generators


@hookimpl
def register_secrets(datasette):
    """Secrets the sources' storage backends use (a datasette-secrets hook)."""
    try:
        from datasette_secrets import Secret  # optional: only with datasette-secrets
    except ImportError:
        return []
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
def handle_exception(datasette, request, exception):
    # The errors of our pages keep the member's header and menu, and say what
    # to do next; a failure to render them leaves Datasette's page.
    if isinstance(exception, Base400) and error_pages.is_our_page(datasette, request):
        return _error_page(error_pages.exception_page(datasette, request, exception))
    return None


@hookimpl
def forbidden(datasette, request, message):
    # Datasette's Forbidden, raised by our pages, comes here rather than to
    # handle_exception; JSON callers (by Accept too) keep Datasette's answer.
    if error_pages.is_our_page(datasette, request) and not answers_json(request):
        # Datasette answers with the first response it gets here: never None.
        return _error_page(error_pages.error_page(datasette, request, 403, message),
                           Response.text(message, status=403))
    return None


async def _error_page(rendering, fallback=None):
    try:
        return await rendering
    except Exception:
        log.exception("datasette-files: could not render the error page")
        return fallback


@hookimpl
def register_routes(datasette):
    """Every route, behind the instance's door: pages answer a closed instance
    with an HTML page, the rest with JSON (``views/instance_gate``)."""
    file_id = r"(?P<file_id>[^/]+)"
    upload = r"^/-/files/upload/(?P<slug>[^/]+)/-/"
    page, api = instance_gate.page, instance_gate.api
    return [
        (r"^/-/files/sync/(?P<slug>[^/]+)\.json$", api(sources_views.sync_status_view)),
        (r"^/-/files/sync/(?P<slug>[^/]+)$", api(sources_views.sync_view)),
        (r"^/-/files/source/(?P<slug>[^/]+)\.json$", api(sources_views.listing_view)),
        (r"^/-/files/source/(?P<slug>[^/]+)/-/changes$", api(live_listing.changes_view)),
        (r"^/-/files$", page(pages.index_page)),
        (r"^/-/files/search$", page(search_page.search_page)),
        (r"^/-/files/icon\.svg$", api(files.icon_view)),
        (r"^/-/files/openapi\.json$", api(openapi.openapi_view)),
        (r"^/-/files/source/(?P<slug>[^/]+)$", page(pages.source_page)),
        (r"^/-/files/upload/(?P<slug>[^/]+)$", page(pages.upload_page)),
        # Slugs have no dots (sources.SLUG_PATTERN): ".json" is the trash's JSON.
        (r"^/-/files/trash/(?P<slug>[^/.]+)$", page(trash_pages.trash_page)),
        (rf"^/-/files/(?P<file_id>{FILE_ID_PATTERN})$", page(pages.file_page)),
        (r"^/-/files/import/(?P<file_id>[^/]+)$", page(imports.preview_page)),
        # Any import id reaches the view, which answers an unknown one with a 404 of its own.
        (r"^/-/files/import/(?P<file_id>[^/]+)/(?P<import_id>[^/]+?)"
         r"(\.(?P<format>json))?$", page(imports.progress_page)),
        (r"^/-/files/search\.json$", api(listings.search_view)),
        (r"^/-/files/-/delete$", api(bulk.bulk_delete_view)),
        (r"^/-/files/-/move$", api(bulk.bulk_move_view)),
        # Before the {file_id} routes, whose [^/]+ would take "-" for an id.
        (r"^/-/files/-/zip$", api(zips.zip_view)),
        (r"^/-/files/-/preferences$", api(preferences.preferences_view)),
        (r"^/-/files/batch\.json$", api(listings.batch_view)),
        (r"^/-/files/sources\.json$", api(listings.sources_view)),
        (upload + r"prepare$", api(uploads.prepare_view)),
        (upload + r"upload$", api(uploads.upload_view)),
        (upload + r"parts$", api(uploads.parts_view)),
        (upload + r"complete$", api(uploads.complete_view)),
        (upload + r"batch$", api(uploads.batch_view)),
        (r"^/-/files/upload/(?P<slug>[^/]+)/(?P<filename>[^/]+)$", api(uploads.put_view)),
        (rf"^/-/files/{file_id}\.json$", api(files.file_json_view)),
        (rf"^/-/files/{file_id}/download$", api(files.download_view)),
        (rf"^/-/files/{file_id}/thumbnail$", api(files.thumbnail_view)),
        (rf"^/-/files/{file_id}/-/media$", api(inline.media_view)),
        (rf"^/-/files/{file_id}/-/image$", api(inline.image_view)),
        (rf"^/-/files/{file_id}/-/pdf-page/(?P<page>[^/]+)$", api(pdf_pages.pdf_page_view)),
        (rf"^/-/files/{file_id}/-/delete$", api(files.delete_view)),
        (rf"^/-/files/{file_id}/-/update$", api(files.update_view)),
        (rf"^/-/files/{file_id}/-/move$", api(organise.move_file_view)),
        (rf"^/-/files/{file_id}/-/rename$", api(organise.rename_file_view)),
        (r"^/-/files/folders/(?P<slug>[^/]+)\.json$", api(organise.folders_view)),
        (r"^/-/files/folders/(?P<slug>[^/]+)/-/create$", api(organise.create_folder_view)),
        (r"^/-/files/folders/(?P<slug>[^/]+)/-/move$", api(organise.move_folder_view)),
        (r"^/-/files/folders/(?P<slug>[^/]+)/-/delete$", api(organise.delete_folder_view)),
        (r"^/-/files/trash/(?P<slug>[^/]+)\.json$", api(trash.trash_view)),
        (r"^/-/files/trash/(?P<slug>[^/]+)/-/empty$", api(trash.empty_view)),
        (r"^/-/files/trash/(?P<slug>[^/]+)/(?P<item_id>[^/]+)/-/restore$",
         api(trash.restore_view)),
        (r"^/-/files/trash/(?P<slug>[^/]+)/(?P<item_id>[^/]+)/-/purge$", api(trash.purge_view)),
    ]
