"""Datasette finds every hook implementation, whichever is imported first."""

import subprocess
import sys

import pytest

CHECK = """
{first}
from datasette.plugins import pm
plugin = pm.get_plugin("files")
print(sorted(hook.name for hook in pm.get_hookcallers(plugin)))
"""


@pytest.mark.parametrize("first", ["import datasette_files", "import datasette.app",
                                   "from datasette_files.base import Storage"])
def test_every_hook_is_registered_whatever_is_imported_first(first):
    out = subprocess.run([sys.executable, "-c", CHECK.format(first=first)],
                         capture_output=True, text=True, check=True).stdout
    hooks = eval(out)
    for hook in ("startup", "register_routes", "register_actions", "asgi_wrapper",
                 "permission_resources_sql", "register_files_storage_types"):
        assert hook in hooks, (first, hooks)
