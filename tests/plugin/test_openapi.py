"""The OpenAPI description at /-/files/openapi.json: a valid OpenAPI 3.1
document describing every JSON route the plugin registers, and nothing else."""

import importlib.metadata
import inspect
import re

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from datasette_files import plugin
from datasette_files.views.openapi import description

from support import api

DESCRIPTION = description()
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
# Routes that answer HTML pages (and the upload page's SVG icons), not JSON.
PAGES = {"index_page", "search_page", "source_page", "upload_page", "file_page", "icon_view",
         "trash_page"}
# Methods of described paths that answer an HTML page, not an operation.
PAGE_METHODS = {("/-/files/import/{file_id}", "get")}
# The description's parameter names (the specification's) for the routes' groups.
ROUTE_GROUPS = {"source_slug": "slug"}


def resolve(node: dict) -> dict:
    """``node``, or what its local ``$ref`` points to."""
    if "$ref" not in node:
        return node
    target = DESCRIPTION
    for part in node["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    return target


def parameters(path: str, method: str) -> list[dict]:
    item = DESCRIPTION["paths"][path]
    return [resolve(p) for p in item.get("parameters", []) + item[method].get("parameters", [])]


def example_url(path: str, method: str) -> str:
    """``path`` with each path parameter replaced by its example."""
    examples = {p["name"]: p["example"] for p in parameters(path, method) if p["in"] == "path"}
    return re.sub(r"\{(\w+)\}", lambda m: examples[m[1]], path)


def operations() -> list[tuple[str, str]]:
    return [(path, method) for path, item in DESCRIPTION["paths"].items()
            for method in HTTP_METHODS if method in item]


def route_for(url: str):
    """The first registered route matching ``url`` (Datasette tries them in
    order) and its view's name."""
    for pattern, view in plugin.register_routes(None):
        match = re.match(pattern, url)
        if match:
            return match, inspect.unwrap(view).__name__
    raise AssertionError(f"no route serves {url}")


def test_description_is_valid_openapi_3_1(open_server):
    with open_server.client() as client:
        response = client.get("/-/files/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    served = response.json()
    OpenAPIV31SpecValidator(served).validate()
    assert served["openapi"].startswith("3.1")
    assert served["info"]["version"] == importlib.metadata.version("datasette-files")


@pytest.mark.parametrize("path", sorted(DESCRIPTION["paths"]))
def test_each_described_path_has_its_own_route(path):
    """A described path reaches a route whose parameters are the path's (the
    first route to match: an earlier, broader one would take its requests)."""
    described = next(m for m in HTTP_METHODS if m in DESCRIPTION["paths"][path])
    match, view = route_for(example_url(path, described))
    assert view not in PAGES
    named = {name for name, value in match.groupdict().items() if name != "format"}
    assert named == {ROUTE_GROUPS.get(name, name) for name in re.findall(r"\{(\w+)\}", path)}


def test_every_json_route_is_described():
    described = {route_for(example_url(path, method))[1] for path, method in operations()}
    views = {inspect.unwrap(view).__name__ for _, view in plugin.register_routes(None)}
    assert views - PAGES - described == set(), "describe these routes in openapi.yaml"


@pytest.mark.parametrize("path,method", operations())
def test_described_operations_are_served(open_server, path, method):
    """Each described operation reaches its view: whatever the request lacks,
    the answer is the view's own (JSON), never a 405 or a route's miss."""
    with open_server.client() as client:
        response = client.request(method.upper(), example_url(path, method),
                                  headers={"Accept": "application/json"})
    assert response.status_code != 405, response.text
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    if response.status_code == 404:
        # A route's miss is Datasette's bare "404"; a view names what it missed.
        assert body["errors"] != ["404"], body


@pytest.mark.parametrize("path,method", [
    (path, method) for path, item in DESCRIPTION["paths"].items() for method in HTTP_METHODS
    if method not in item and (path, method) not in PAGE_METHODS])
def test_undescribed_methods_are_405(open_server, path, method):
    described = next(m for m in HTTP_METHODS if m in DESCRIPTION["paths"][path])
    with open_server.client() as client:
        response = client.request(method.upper(), example_url(path, described))
    api.assert_api_error(response, 405, "not allowed")


def test_every_operation_states_its_permissions_and_errors():
    """What client authors rely on: a summary, a description, the files-*
    actions it needs (x-permissions), and the JSON error shape for each error."""
    error = {"$ref": "#/components/schemas/Error"}
    for path, method in operations():
        operation = DESCRIPTION["paths"][path][method]
        assert operation.get("summary") and operation.get("description"), (path, method)
        assert isinstance(operation.get("x-permissions"), list), (path, method)
        for status, response in operation["responses"].items():
            content = resolve(response).get("content", {})
            if status.startswith(("4", "5")):
                assert content == {"application/json": {"schema": error}}, (path, method, status)
