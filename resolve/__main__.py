"""``python -m kinochrome.resolve``: colourise a timeline's clips from outside Resolve (render scripts, batch).

    python -m kinochrome.resolve --project P --timeline T --track 1 --method reinhard \\
        --keyframe 86400=ref.png --output-dir /jobs/kino

connects to the running Resolve (Studio, external scripting on), does what the Workspace script does for
the named project/timeline/track (or the selection) and prints one line per clip. Exit status: 0 when every
clip was done or skipped with a reason, 1 when a clip failed, 2 for bad arguments, 3 when Resolve cannot be
reached or has no such project/timeline, 130 on cancel (Ctrl-C).

``python -m kinochrome.resolve job SETTINGS.json`` (internal) runs one job from JSON settings and prints its
JobEvents as JSON lines; the Workspace script uses it to run the job API in the venv's Python.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from collections.abc import Sequence
from typing import Any

from kinochrome.core.errors import KinochromeError, UsageError
from kinochrome.core.job import CancelToken, JobEvent

from .adapter import RENDER_FORMATS, ResolveAdapter, RunOptions, describe


def _keyframe(text: str) -> tuple[int, str]:
    frame, sep, path = text.partition("=")
    if not sep or not frame.strip().lstrip("-").isdigit() or not path:
        raise argparse.ArgumentTypeError(f"expected RECORD_FRAME=IMAGE, got {text!r}")
    return int(frame), path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m kinochrome.resolve",
        description="Colourise the clips of a Resolve timeline and bring them back on a new track.")
    parser.add_argument("--project", help="project name (default: the open project)")
    parser.add_argument("--timeline", help="timeline name (default: the current timeline)")
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("--track", type=int, help="all clips of this video track (from 1)")
    scope.add_argument("--selection", dest="selection_track", type=int, nargs="?", const=0, metavar="TRACK",
                       help="the clips between the In/Out marks (on TRACK, default the current clip's), "
                            "else the clip under the playhead (the default)")
    parser.add_argument("--method", default=None, help="model | histogram | reinhard | knn")
    parser.add_argument("--model", help="model name or path")
    parser.add_argument("--keyframe", action="append", type=_keyframe, default=[], metavar="FRAME=IMAGE",
                        help="colour reference for the clip at this record frame (repeatable)")
    parser.add_argument("--output-dir", help="where colourised sequences go (default: beside the source)")
    parser.add_argument("--render-format", choices=RENDER_FORMATS, default="exr",
                        help="movie clips are rendered to half EXR (default) or 16-bit DPX first")
    parser.add_argument("--render-timeout", type=float, help="seconds to wait for one render job")
    parser.add_argument("--mode", choices=("error", "overwrite", "resume"),
                        help="colourised frames already on disk: error (default), overwrite, resume")
    parser.add_argument("--bin", default="Kinochrome", help="media pool bin for the results")
    parser.add_argument("--dry-run", action="store_true", help="show what would be done; change nothing")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def options_from_args(args: argparse.Namespace) -> RunOptions:
    options = RunOptions(keyframes=list(args.keyframe), model=args.model, output_dir=args.output_dir,
                         render_format=args.render_format, render_timeout=args.render_timeout,
                         bin_name=args.bin, dry_run=args.dry_run)
    if args.method:
        options.method = args.method
    if args.mode:
        options.job_overrides["mode"] = args.mode
    if args.track is not None:
        options.scope, options.track = "track", args.track
    else:
        options.scope, options.track = "selection", (args.selection_track or None)
    return options


def run_job_file(path: str) -> int:
    """Run one job from a JSON settings file, printing JobEvents as JSON lines on stdout (in a process of
    its own, the venv's Python: the allocator is tuned for frame buffers)."""
    from kinochrome.core import memory
    from kinochrome.core.job import JobSettings, run_job

    memory.tune_allocator()

    with open(path, encoding="utf-8") as handle:
        settings = JobSettings.from_dict(json.load(handle), path)

    def emit(event: JobEvent) -> None:
        data: dict[str, Any] = {k: v for k, v in event.to_json().items() if k != "summary_obj"}
        print(json.dumps(data, default=str), flush=True)

    try:
        run_job(settings, emit)
    except KinochromeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


def main(argv: Sequence[str] | None = None, resolve: Any = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["job"]:
        if len(argv) != 2:
            print("usage: python -m kinochrome.resolve job SETTINGS.json", file=sys.stderr)
            return 2
        return run_job_file(argv[1])
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    cancel = CancelToken()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
    try:
        options = options_from_args(args)
        if resolve is None:
            from .connect import connect

            resolve = connect()
        report = ResolveAdapter(resolve).run(options, args.project, args.timeline, cancel=cancel)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KinochromeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    finally:
        signal.signal(signal.SIGINT, previous)
    for line in describe(report.clips):
        print(line)
    print(report.summary())
    if report.cancelled:
        return 130
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
