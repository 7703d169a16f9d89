"""GET /-/files/openapi.json: the OpenAPI description of the JSON API.

The description is a data file (``openapi.yaml``), read on the first request
and kept on the plugin state; this instance's version and base path are
filled in then.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import json

import yaml
from datasette import Response

from ..state import state
from .common import json_api, require_method

DESCRIPTION_FILE = "openapi.yaml"
# libyaml's loader, where PyYAML has it, is much faster than the pure-Python one.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@json_api
async def openapi_view(datasette, request):
    require_method(request, "GET", "HEAD")
    plugin = state(datasette)
    if plugin.openapi_json is None:
        plugin.openapi_json = json.dumps(description(datasette.urls.path("/")))
    return Response(plugin.openapi_json, content_type="application/json; charset=utf-8")


def description(base_path: str = "/") -> dict:
    """The description, with this distribution's version, for an instance
    served under ``base_path``."""
    text = importlib.resources.files("datasette_files").joinpath(
        DESCRIPTION_FILE).read_text("utf-8")
    document = yaml.load(text, Loader=_LOADER)
    document["info"]["version"] = importlib.metadata.version("datasette-files")
    if base_path != "/":
        document["servers"] = [{"url": base_path.rstrip("/")}]
    return document
