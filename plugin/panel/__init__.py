"""The Kinochrome shot panel (PySide6): keyframes, colour references, before/after review, background runs.

``from kinochrome.plugin.panel import KinochromePanel`` gives the embeddable widget (Nuke and Resolve adapters
use it); ``main()`` runs it standalone; ``add_parser(subparsers)`` registers ``kinochrome panel``. Qt is only
imported when one of those is used, so the CLI works without PySide6 installed.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["KinochromePanel", "add_parser", "main"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``kinochrome panel [SHOT_OR_SESSION]`` on the console script's subparsers."""
    parser = subparsers.add_parser(
        "panel", help="open the shot panel (PySide6)",
        description="Open the Kinochrome shot panel: set keyframe colour references, review before/after, "
                    "run the shot in the background.")
    parser.add_argument("shot", nargs="?", metavar="SHOT_OR_SESSION",
                        help="a sequence pattern (shot.####.exr), folder, frame file or session file")
    parser.set_defaults(func=_run_command)
    return parser


def _run_command(args: argparse.Namespace) -> int:
    try:
        from .app import main as app_main
    except ImportError as exc:  # PySide6 missing: the optional 'panel' extra
        from kinochrome.core.errors import UsageError

        raise UsageError(f"kinochrome panel needs PySide6 ({exc}): pip install 'kinochrome[panel]'") from None
    return app_main([args.shot] if args.shot else [])


def main(argv: list[str] | None = None) -> int:
    """Run the panel as a standalone application."""
    from .app import main as app_main

    return app_main(argv)


def __getattr__(name: str) -> Any:
    if name == "KinochromePanel":
        from .window import KinochromePanel

        return KinochromePanel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
