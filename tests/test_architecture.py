"""The package's layers: no module imports one of a higher layer, and no import cycle exists.

The layer of each module is declared once, in the table of docs/architecture.md; this
test reads it. The import graph is built with ``ast`` from every module's static imports
of catalog modules (``import catalog.x``, ``from catalog.x import y``, ``from catalog
import x``), wherever they appear in the module.
"""

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "catalog"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
# Hooks that reach every request or every template: only catalog.web installs them.
APP_WIDE_HOOKS = {
    "before_app_request",
    "after_app_request",
    "teardown_app_request",
    "app_context_processor",
    "app_template_filter",
    "app_template_global",
    "add_app_template_filter",
    "context_processor",
    "template_filter",
    "add_template_filter",
    "teardown_appcontext",
}
APP_HOOKS_ON_APP = {"before_request", "after_request", "teardown_request"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def declared_layers() -> dict[str, int]:
    """Return each module's layer from docs/architecture.md's table."""
    rows = re.findall(r"^\| `(catalog[\w.]*)` \| (\d) \|", ARCHITECTURE.read_text(), re.M)
    layers: dict[str, int] = {}
    for module, layer in rows:
        assert module not in layers, f"{module} is in the table twice"
        layers[module] = int(layer)
    return layers


def imported(path: Path) -> set[str]:
    """Return the catalog modules ``path`` imports (a name of a module, not of a package's
    attribute: ``from catalog.web import limits`` is ``catalog.web.limits``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in MODULES
                else node.module
                for alias in node.names
            ]
        else:
            continue
        found |= {name for name in names if name == "catalog" or name.startswith("catalog.")}
    return found


def graph() -> dict[str, set[str]]:
    edges = {name: imported(path) for name, path in MODULES.items()}
    for name, targets in edges.items():
        unknown = targets - set(MODULES)
        assert not unknown, f"{name} imports {unknown}, which are not modules of the package"
    return edges


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_module_imports(name):
    importlib.import_module(name)


def test_every_module_has_one_declared_layer():
    layers = declared_layers()
    assert set(layers) == set(MODULES), (
        f"missing from docs/architecture.md: {sorted(set(MODULES) - set(layers))}; "
        f"not modules: {sorted(set(layers) - set(MODULES))}"
    )
    assert set(layers.values()) == {1, 2, 3, 4, 5}
    assert [m for m, layer in layers.items() if layer == 5] == ["catalog"]


def test_no_module_imports_one_of_a_higher_layer():
    layers = declared_layers()
    upward = sorted(
        f"{name} (layer {layers[name]}) imports {target} (layer {layers[target]})"
        for name, targets in graph().items()
        for target in targets
        if layers[target] > layers[name]
    )
    assert upward == []


def test_the_import_graph_has_no_cycle():
    edges = graph()
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            cycle = path[path.index(name) :] + [name]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if name in done:
            return
        for target in sorted(edges[name]):
            visit(target, [*path, name])
        done.add(name)

    for name in sorted(edges):
        visit(name, [])


def test_only_the_web_plumbing_installs_app_wide_hooks():
    installing = set()
    for name, path in MODULES.items():
        if name == "catalog.web" or name.startswith("catalog.web."):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Attribute):
                continue
            on_app = isinstance(node.value, ast.Name) and node.value.id == "app"
            if node.attr in APP_WIDE_HOOKS or (on_app and node.attr in APP_HOOKS_ON_APP):
                installing.add(f"{name}: {node.attr}")
    assert installing == set()


def test_blueprints_are_registered_in_one_place():
    registering = set()
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr == "register_blueprint":
                registering.add(name)
    # create_app's one list goes through api.register, which hands the API's to flask-smorest.
    assert registering == {"catalog.api"}
    source = MODULES["catalog"].read_text()
    assert source.count("api.register(app, blueprint)") == 1
