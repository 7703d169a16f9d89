"""datasette-files: upload, serve, search and manage files in Datasette.

The public Python API is ``get_file`` and ``File``; storage backends and
thumbnail generators build on ``datasette_files.base``.
"""

from datasette.plugins import pm

from . import hookspecs
from .files import File, get_file

# Registered on import, so a third-party plugin that imports us (for
# datasette_files.base) can implement our hooks whatever the load order.
pm.add_hookspecs(hookspecs)

__all__ = ["File", "get_file"]
