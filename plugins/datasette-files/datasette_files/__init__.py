"""datasette-files: upload, serve, search and manage files in Datasette.

The public Python API: ``get_file`` and ``File`` (the specification's),
``list_sources``, ``validate_sources``, ``sync_source`` and ``check_source`` for
an application that runs sources, and ``storage_name_time`` for one that backs
up their files. Storage backends and thumbnail generators
build on ``datasette_files.base``. Datasette finds the plugin's hook
implementations here; they live in ``plugin.py``.
"""

import sys

from datasette.plugins import pm

from . import hookspecs

# Registered before anything else, so a third-party plugin that imports us (for
# datasette_files.base) can implement our hooks whatever the load order.
pm.add_hookspecs(hookspecs)

from .api import (  # noqa: E402
    File,
    SourceCheck,
    SourceSummary,
    check_source,
    get_file,
    list_sources,
    sync_source,
    validate_sources,
)
from .errors import ConfigError  # noqa: E402
from .naming import storage_name_time  # noqa: E402
from .plugin import (  # noqa: E402,F401  (hook implementations Datasette finds here)
    asgi_wrapper,
    extra_css_urls,
    extra_js_urls,
    file_actions,
    forbidden,
    handle_exception,
    menu_links,
    permission_resources_sql,
    register_actions,
    register_column_types,
    register_files_storage_types,
    register_routes,
    register_secrets,
    register_thumbnail_generators,
    shutdown,
    startup,
    top_homepage,
)
from .sync import SyncInProgress, SyncStatus  # noqa: E402

# Importing this package may be what first loaded Datasette's plugins: pluggy
# then registered it from its entry point while it was still half-imported,
# before the hook implementations above existed. Register it again, whole.
_name = pm.get_name(sys.modules[__name__])
if _name is not None:
    pm.unregister(sys.modules[__name__])
    pm.register(sys.modules[__name__], name=_name)

__all__ = [
    "ConfigError", "File", "SourceCheck", "SourceSummary", "SyncInProgress", "SyncStatus",
    "check_source", "get_file", "list_sources", "storage_name_time", "sync_source",
    "validate_sources",
]
