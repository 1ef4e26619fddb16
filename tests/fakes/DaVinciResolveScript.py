"""Fake ``DaVinciResolveScript`` for tests: only ``scriptapp``, as Resolve's module provides.

Tests put tests/fakes on ``sys.path`` and set :data:`app` to a ``resolve_api.Resolve`` (or leave it None to
play "Resolve not running / external scripting off": the real ``scriptapp`` then returns None).
"""

from __future__ import annotations

from typing import Any

app: Any = None


def scriptapp(name: str) -> Any:
    """The application object for ``name`` ("Resolve"), or None when it cannot be reached."""
    return app if name == "Resolve" else None
