"""Dependencies point one way (nuke/, resolve/ -> plugin/ -> core/) and no top-level `nuke`/`resolve` exists."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_CORE = ("PySide6", "PyQt5", "PyQt6", "nuke", "nukescripts", "DaVinciResolveScript",
                     "fusionscript", "kinochrome.plugin", "kinochrome.nuke", "kinochrome.resolve")
FORBIDDEN_IN_PLUGIN = ("nuke", "nukescripts", "DaVinciResolveScript", "kinochrome.nuke", "kinochrome.resolve")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.level == 0:
                names.add(node.module)
            elif node.level >= 2 and path.parent.name == "core" or node.level >= 3:
                names.add("kinochrome." + node.module)  # ..plugin from core/ climbs into the package root
    return names


def _violations(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for name in imported_modules(path):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    return bad


def test_core_imports_no_qt_host_or_plugin():
    assert _violations("core", FORBIDDEN_IN_CORE) == []


def test_plugin_imports_no_host():
    assert _violations("plugin", FORBIDDEN_IN_PLUGIN) == []


@pytest.mark.parametrize("name", ["nuke", "resolve", "core", "plugin"])
def test_no_top_level_module_shadows_hosts(name, tmp_path):
    """Outside the repo root (as inside Nuke) our folders are only reachable as kinochrome.*."""
    code = f"import importlib.util, sys; sys.exit(0 if importlib.util.find_spec({name!r}) is None else 1)"
    assert subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=False).returncode == 0


def core_import_graph() -> dict[str, set[str]]:
    """core's modules (``model`` as one) -> the core modules each imports, at module level or in a function."""
    graph: dict[str, set[str]] = {}
    for path in sorted((ROOT / "core").rglob("*.py")):
        in_model = path.parent.name == "model"
        node_name = "model" if in_model else path.stem
        deps = graph.setdefault(node_name, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == (2 if in_model else 1):
                deps.update((node.module or alias.name).split(".")[0] for alias in node.names)
            elif in_model and isinstance(node, ast.ImportFrom) and node.level == 1:
                deps.add("model")
    return {m: {d for d in deps if d != m} for m, deps in graph.items()}


def test_core_has_no_import_cycles():
    graph = core_import_graph()
    assert {"job", "pipeline", "cli", "demo"} <= set(graph)
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for dep in sorted(graph.get(module, ())):
            if state.get(dep) == 1:
                cycles.append(path[path.index(dep):] + [dep])
            elif dep in graph and not state.get(dep):
                visit(dep, path + [dep])
        state[module] = 2

    for module in sorted(graph):
        if not state.get(module):
            visit(module, [module])
    assert not cycles, "import cycles in core/: " + "; ".join(" -> ".join(c) for c in cycles)
