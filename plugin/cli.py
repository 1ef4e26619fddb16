"""The ``kinochrome`` console script: the core commands plus the plugin layer's ``panel`` and ``farm``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from kinochrome.core import memory
from kinochrome.core.cli import build_parser, run_parser
from kinochrome.core.errors import UsageError


def _missing_extra(name: str, extra: str, error: Exception) -> None:
    def func(args: argparse.Namespace) -> int:
        raise UsageError(f"kinochrome {name} needs the '{extra}' extra ({error}): "
                         f"run `python3 install.py` or `pip install 'kinochrome[{extra}]'`")
    return func  # type: ignore[return-value]


def main(argv: Sequence[str] | None = None) -> int:
    memory.tune_allocator()  # this process is ours (not a host's): keep frame buffers for reuse
    parser, sub = build_parser()
    try:
        from kinochrome.plugin import farm

        farm.add_parser(sub)
    except ImportError as exc:
        sub.add_parser("farm", help="render-farm jobs (needs the 'farm' extra)").set_defaults(
            func=_missing_extra("farm", "farm", exc))
    try:
        from kinochrome.plugin import panel

        panel.add_parser(sub)
    except (ImportError, AttributeError) as exc:
        p = sub.add_parser("panel", help="the shot panel (needs the 'panel' extra)")
        p.add_argument("path", nargs="?")
        p.set_defaults(func=_missing_extra("panel", "panel", exc))
    return run_parser(parser, argv)


if __name__ == "__main__":
    sys.exit(main())
