"""datasette-files: upload, serve, search and manage files in Datasette.

The public Python API is ``get_file`` and ``File``; storage backends and
thumbnail generators build on ``datasette_files.base``. This package is the
plugin Datasette loads: its hook implementations live in ``plugin.py``.
"""

from datasette.plugins import pm

from . import hookspecs

# Registered before anything else, so a third-party plugin that imports us (for
# datasette_files.base) can implement our hooks whatever the load order.
pm.add_hookspecs(hookspecs)

from .files import File, get_file  # noqa: E402
from .plugin import (  # noqa: E402,F401  (hook implementations Datasette finds here)
    asgi_wrapper,
    extra_css_urls,
    extra_js_urls,
    file_actions,
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

__all__ = ["File", "get_file"]
