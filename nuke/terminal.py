"""Run a script's Kinochrome nodes in terminal mode (farm or batch), synchronously::

    nuke -t /path/to/kinochrome/nuke/terminal.py comp.nk [--node=Kinochrome1 ...] [--frames=1001-1040] [--save]

Each node runs exactly as its Colorize button does (same checks, same settings, the session file's keyframes);
progress goes to stdout, one line per frame. ``--save`` saves the script so the inner Reads point at the result.
Write ``--frames=A-B`` as one argument: Nuke takes a *last* argument that looks like a frame range for itself
and drops it from ``sys.argv``. Exit status: 0 done, 1 a Kinochrome error, 2 bad arguments, 130 cancelled.
"""

from __future__ import annotations

import argparse
import sys

import nuke


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nuke -t terminal.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("script", help="the .nk script holding Kinochrome nodes")
    parser.add_argument("--node", action="append", default=[], help="node to run (repeatable); default: all")
    parser.add_argument("--frames", help="frame range A-B overriding the nodes' frame range")
    parser.add_argument("--save", action="store_true", help="save the script after the runs")
    return parser


def main(argv: list[str] | None = None) -> int:
    from kinochrome.core.errors import KinochromeError
    from kinochrome.core.sequence import parse_frame_range
    from kinochrome.nuke import adapter
    from kinochrome.nuke import node as kino_node

    args = build_parser().parse_args(argv)
    try:
        frames = parse_frame_range(args.frames) if args.frames else None
        nuke.scriptOpen(args.script)
        if args.node:
            found = [nuke.toNode(name) for name in args.node]
            missing = [name for name, n in zip(args.node, found) if n is None]
            if missing:
                raise KinochromeError(f"{args.script}: no node named {', '.join(missing)}")
            nodes = [n for n in found if n is not None]
        else:
            nodes = [n for n in nuke.allNodes("Group") if kino_node.is_kinochrome_node(n)]
        if not nodes:
            raise KinochromeError(f"{args.script}: no Kinochrome nodes")
        for group in nodes:
            if not kino_node.is_kinochrome_node(group):
                raise KinochromeError(f"{group.name()} is not a Kinochrome node")
            saved_range = (group["frame_first"].value(), group["frame_last"].value())
            if frames is not None:
                group["frame_first"].setValue(frames[0])
                group["frame_last"].setValue(frames[1])
            try:
                adapter.require_venv()
                settings, _shot = kino_node.node_settings(group)
                adapter.run_sync(group, settings)
            finally:
                # --frames renders a part; the node (and a --save'd script) keeps the range it had
                group["frame_first"].setValue(saved_range[0])
                group["frame_last"].setValue(saved_range[1])
        if args.save:
            nuke.scriptSave(args.script)
    except KinochromeError as exc:
        print(f"kinochrome: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("kinochrome: interrupted; finished frames are kept (existing frames: resume continues)",
              file=sys.stderr)
        return 130
    except (RuntimeError, OSError) as exc:   # scriptOpen of a missing or broken .nk, a full disk
        print(f"kinochrome: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
