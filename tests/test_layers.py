"""Imports run one way through the seven layers of docs/architecture.md, and no two modules import each other.

Every module of the portal is parsed (AST, so imports inside functions count too). A module may import its
own app or a lower layer; feature apps (layer 6) never import each other. Apps that have not landed yet
(notifications, quotas, loadtests, registry, alerts) have their layer here already, so they are checked the
day they appear. A new app must be given its layer below, or this test fails.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Layer of each app (or portal module prefix); lowest first. Longest prefix wins.
LAYERS: dict[str, int] = {
    "portal": 7,  # the top, except the layer-1 modules below
    "portal.api": 1,
    "portal.env": 1,
    "portal.logging": 1,
    "portal.migration_ops": 1,
    "portal.netguard": 1,  # the SSRF guard for outbound URLs (webhooks, scrape targets)
    "portal.prepared": 1,  # the kept preparing cursor of the hot one-statement writes
    "accounts": 2,
    "devices": 3,
    "timeseries": 4,
    "notifications": 5,
    "ingest": 6,
    "quotas": 6,
    "loadtests": 6,
    "registry": 6,
    "alerts": 6,
    # The top, named for the reader: settings, URLs, Celery, status, health, middleware, WSGI, commands.
    "portal.settings": 7,
    "portal.contributions": 7,
    "portal.urls": 7,
    "portal.celery": 7,
    "portal.status": 7,
    "portal.health": 7,
    "portal.middleware": 7,
    "portal.wsgi": 7,
    "portal.management": 7,
}
NOT_PORTAL_CODE = {"tests", "bench", "scripts", "agent", "clients", "docker", "docs", "requirements"}


def _packages(root: Path) -> list[str]:
    return sorted(
        p.parent.name
        for p in root.glob("*/__init__.py")
        if p.parent.name not in NOT_PORTAL_CODE and not p.parent.name.startswith(".")
    )


def _modules(root: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in _packages(root):
        for path in (root / package).rglob("*.py"):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _imports(path: Path, module: str, known: set[str]) -> set[str]:
    """Project modules `module` imports anywhere in its file, resolved to the most specific known module."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    targets: set[str] = set()
    for node in ast.walk(tree):
        names: Iterable[str] = ()
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" for alias in node.names]  # falls back to `base` below
        for name in names:
            parts = name.split(".")
            for end in range(len(parts), 0, -1):
                candidate = ".".join(parts[:end])
                if candidate in known:
                    if candidate != module:
                        targets.add(candidate)
                    break
    return targets


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        layer = LAYERS.get(".".join(parts[:end]))
        if layer is not None:
            return layer
    return None


def _app(module: str) -> str:
    return module.split(".")[0]


def graph(root: Path) -> dict[str, set[str]]:
    modules = _modules(root)
    known = set(modules)
    return {name: _imports(path, name, known) for name, path in modules.items()}


def violations(edges: dict[str, set[str]]) -> list[str]:
    problems = []
    for source, targets in sorted(edges.items()):
        source_layer = layer_of(source)
        if source_layer is None:
            problems.append(f"{source}: app {_app(source)!r} has no layer in tests/test_layers.py LAYERS")
            continue
        for target in sorted(targets):
            target_layer = layer_of(target)
            if target_layer is None:
                continue  # reported as its own source
            if target_layer > source_layer:
                problems.append(f"{source} (layer {source_layer}) imports {target} (layer {target_layer}): upward")
            elif target_layer == source_layer and _app(source) != _app(target):
                problems.append(f"{source} imports {target}: sibling apps of layer {source_layer}")
    return problems


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of two or more modules (Tarjan): modules that import each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
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
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_every_app_has_a_layer_and_imports_only_downward() -> None:
    edges = graph(ROOT)
    assert {"accounts", "devices", "timeseries", "ingest", "portal.api.errors"} <= set(edges)
    assert violations(edges) == []


def test_no_two_modules_import_each_other() -> None:
    assert cycles(graph(ROOT)) == []


def test_the_check_catches_upward_sibling_function_level_imports_and_cycles(tmp_path: Path) -> None:
    files = {
        "devices/__init__.py": "",
        "devices/views.py": "def f():\n    from ingest import services\n",  # upward, inside a function
        "ingest/__init__.py": "",
        "ingest/services.py": "from quotas.models import Quota\nfrom . import views\n",  # sibling; cycle below
        "ingest/views.py": "import ingest.services\n",
        "quotas/__init__.py": "",
        "quotas/models.py": "from accounts.models import Organization\n",
        "accounts/__init__.py": "",
        "accounts/models.py": "",
        "newapp/__init__.py": "",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    edges = graph(tmp_path)
    assert violations(edges) == [
        "devices.views (layer 3) imports ingest.services (layer 6): upward",
        "ingest.services imports quotas.models: sibling apps of layer 6",
        "newapp: app 'newapp' has no layer in tests/test_layers.py LAYERS",
    ]
    assert cycles(edges) == [["ingest.services", "ingest.views"]]
