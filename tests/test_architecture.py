"""The shape of `app/`: layers that import only downward, a domain below the edge that knows
nothing of Flask, and no module importing itself back through others (function-level imports
included: they hide cycles)."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"

# The web framework and what comes with it; none of it belongs below `app/http`.
WEB = ("flask", "werkzeug", "flask_smorest", "flask_sqlalchemy", "flask_migrate", "flask_limiter")
WEB += ("webargs",)
# What must import without them: the business rules and everything they stand on.
DOMAIN = ("app.services", "app.models", "app.schemas", "app.render")
DOMAIN_MODULES = ("app.errors", "app.vocabulary", "app.config", "app.metrics")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def app_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(APP.rglob("*.py"))}


def imports_of(name: str, path: Path, known: Mapping[str, Path]) -> Iterator[str]:
    """Every module `name` imports, at its top or inside a function: `from app.x import y`
    names `app.x.y` when that is a module, `app.x` otherwise."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            submodules = [f"{module}.{a.name}" for a in node.names if f"{module}.{a.name}" in known]
            yield from submodules or [module]


def graph() -> dict[str, set[str]]:
    """Module -> the modules it imports: of the app by name, and outside ones by top package."""
    known = app_modules()
    found: dict[str, set[str]] = {}
    for name, path in known.items():
        edges = set()
        for imported in imports_of(name, path, known):
            if imported.split(".")[0] == "app":
                while imported not in known:  # `app.x.Name` read as a module: its module
                    imported = imported.rpartition(".")[0]
            else:
                imported = imported.split(".")[0]
            if imported != name:
                edges.add(imported)
        found[name] = edges
    return found


def cycles(edges: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in edges:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def in_domain(name: str) -> bool:
    return name in DOMAIN_MODULES or any(name == p or name.startswith(p + ".") for p in DOMAIN)


def reachable(edges: Mapping[str, set[str]], start: str) -> dict[str, str]:
    """Each module reachable from `start`, with the module that imports it on the way."""
    seen = {start: ""}
    todo = [start]
    while todo:
        node = todo.pop()
        for nxt in edges.get(node, ()):
            if nxt not in seen:
                seen[nxt] = node
                todo.append(nxt)
    return seen


def test_the_graph_sees_function_level_imports_and_cycles() -> None:
    """The walker itself: a local import counts, and a cycle through one is found."""
    edges = graph()
    assert "app.cli" in edges["app"]  # imported inside create_app
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_itself_back() -> None:
    assert cycles(graph()) == []


def test_nothing_below_the_edge_reaches_the_web_framework() -> None:
    """Not directly, not through another module of the app."""
    edges = graph()
    leaks = []
    for name in sorted(edges):
        if not in_domain(name):
            continue
        path = reachable(edges, name)
        for web in WEB:
            if web in path:
                chain = [web]
                while path[chain[-1]]:
                    chain.append(path[chain[-1]])
                leaks.append(" <- ".join(chain))
    assert leaks == []


def test_importing_every_domain_module_loads_no_web_framework() -> None:
    """What Python really loads (packages' `__init__` included), in a fresh interpreter."""
    modules = [name for name in app_modules() if in_domain(name)]
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({WEB!r})))\n"
    )
    done = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("web", WEB)
def test_the_check_would_see_a_web_import(web: str) -> None:
    """A domain module importing the framework would be reported: the walk is not blind."""
    edges = {name: set(found) for name, found in graph().items()}
    edges["app.services.lookup"].add(web)
    assert web in reachable(edges, "app.services.directory.people")


# The layers, lowest first: a module imports its own layer and those below it, never above.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", ("app.vocabulary", "app.config", "app.errors", "app.metrics")),
    ("models", ("app.models",)),
    ("domain", ("app.services", "app.schemas", "app.render")),
    ("edge", ("app.http", "app.extensions")),
    ("entry points", ("app.api", "app.workers", "app.cli", "app")),
)


def layer_of(name: str) -> int:
    """The index in LAYERS of the most specific prefix naming `name`'s layer."""
    best = (-1, -1)
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best[0]:
                best = (len(prefix), index)
    assert best[1] >= 0, f"{name} is in no layer: add it to LAYERS"
    return best[1]


def upward_imports(edges: Mapping[str, set[str]]) -> list[str]:
    return sorted(
        f"{name} ({LAYERS[layer_of(name)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for name, targets in edges.items()
        for target in targets
        if target.split(".")[0] == "app" and layer_of(target) > layer_of(name)
    )


def test_nothing_imports_a_layer_above_its_own() -> None:
    assert upward_imports(graph()) == []


def test_entry_points_do_not_import_each_other() -> None:
    """The API, the worker and the CLI are beside each other: a view never reaches into the
    worker, nor the worker into a view (the CLI starts the worker, which is what it is for)."""
    edges = graph()
    crossing = [
        f"{name} imports {target}"
        for name, targets in edges.items()
        for target in targets
        for mine, other in (
            ("app.api", "app.workers"),
            ("app.workers", "app.api"),
            ("app.api", "app.cli"),
            ("app.workers", "app.cli"),
        )
        if name.startswith(mine) and target.startswith(other)
    ]
    assert crossing == []


def test_the_layer_check_sees_an_upward_import() -> None:
    edges = {"app.models.team": {"app.services.lookup"}, "app.services.lookup": {"app.models"}}
    assert upward_imports(edges) == [
        "app.models.team (models) imports app.services.lookup (domain)"
    ]
