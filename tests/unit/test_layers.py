"""The plugin's layers, and the application's use of the plugin, stated and checked.

Each layer imports only from the layers below it; modules of one layer do not
import each other unless the layer says so. No module of ours takes part in an
import cycle, and no function imports another of our modules (the usual way to
hide a cycle). The application uses only the plugin's public API.
"""

import ast
from pathlib import Path

import grimp
import pytest

import datasette_files

PACKAGE = "datasette_files"
# Top to bottom. A tuple's modules are independent of each other.
LAYERS = [
    ("plugin",),
    ("api", "views", "column_type"),
    ("state",),
    ("previews",),
    ("archives",),
    ("uploads", "downloads", "sync", "csv_import", "multipart"),
    ("organise",),
    ("hashing", "thumbnails"),
    ("permissions",),
    ("registry",),
    ("sources",),
    ("storage",),
    ("settings",),
    ("base", "errors", "naming", "clock", "hookspecs", "parsing", "kinds", "sizes"),
]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph(PACKAGE, "app", exclude_type_checking_imports=True)


def test_every_module_is_in_a_layer(graph):
    placed = {f"{PACKAGE}.{name}" for layer in LAYERS for name in layer}
    children = graph.find_children(PACKAGE)
    assert children == placed, f"add {sorted(children - placed)} to LAYERS"


def test_layers_import_only_downwards(graph):
    layers = [grimp.Layer(*layer, independent=True) for layer in LAYERS]
    illegal = graph.find_illegal_dependencies_for_layers(layers=layers, containers={PACKAGE})
    problems = [f"{dependency.importer} imports {dependency.imported}" for dependency in illegal]
    assert not problems, "\n".join(problems)


def test_no_import_cycles(graph):
    modules = sorted(m for m in graph.modules if m.startswith(PACKAGE + "."))
    cycles = []
    for importer in modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            if imported.startswith(PACKAGE + ".") and imported != importer:
                back = graph.find_shortest_chain(importer=imported, imported=importer)
                if back:
                    cycles.append(" -> ".join((importer, *back)))
    assert not cycles, "\n".join(cycles)


def test_no_function_imports_our_modules():
    found = []
    for path in Path(datasette_files.__file__).parent.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.ImportFrom) and (
                        node.level or (node.module or "").startswith(PACKAGE)):
                    found.append(f"{path.name}:{node.lineno}")
                elif isinstance(node, ast.Import) and any(
                        alias.name.startswith(PACKAGE) for alias in node.names):
                    found.append(f"{path.name}:{node.lineno}")
    assert not found, found


def test_the_app_uses_only_the_public_api(graph):
    reached = set()
    for module in graph.find_children("app") | {"app"}:
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.startswith(PACKAGE + "."):
                reached.add(f"{module} -> {imported}")
    assert not reached, sorted(reached)
    public = set(datasette_files.__all__)
    for path in (REPO / "app").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id == PACKAGE:
                assert node.attr in public, f"{path.name}:{node.lineno} {node.attr}"
