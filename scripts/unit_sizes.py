"""List the package's classes over 300 lines and functions over 80 lines (issue 18).

Usage: .venv/bin/python scripts/unit_sizes.py [--classes N] [--functions N] [PATH ...]

A unit's size is its lines from the ``def``/``class`` line to its last line (decorators excluded, docstrings
and comments included). Methods and nested functions count as functions. Default PATHs: the package folders
core/, plugin/, nuke/, resolve/. Exits 1 when anything is over a limit, else 0.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIRS = ("core", "plugin", "nuke", "resolve")


def units(path: Path) -> list[tuple[str, str, int, int]]:
    """(kind, qualified name, first line, line count) of every class and function in one file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[str, str, int, int]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                kind = "class" if isinstance(child, ast.ClassDef) else "function"
                name = f"{prefix}{child.name}"
                found.append((kind, name, child.lineno, child.end_lineno - child.lineno + 1))
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--classes", type=int, default=300, help="class limit in lines (default 300)")
    parser.add_argument("--functions", type=int, default=80, help="function limit in lines (default 80)")
    args = parser.parse_args(argv)
    roots = args.paths or [ROOT / name for name in PACKAGE_DIRS]
    files = sorted(f for r in roots for f in ([r] if r.is_file() else r.rglob("*.py")))
    over = []
    for path in files:
        for kind, name, line, size in units(path):
            limit = args.classes if kind == "class" else args.functions
            if size > limit:
                try:
                    shown = path.resolve().relative_to(ROOT)
                except ValueError:
                    shown = path
                over.append((kind, size, f"{shown}:{line}", name))
    over.sort(key=lambda row: (row[0], -row[1]))
    for kind, size, where, name in over:
        print(f"{kind:8} {size:5}  {where:40} {name}")
    print(f"{len(over)} over the limits (class > {args.classes}, function > {args.functions} lines)"
          f" in {len(files)} files")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
