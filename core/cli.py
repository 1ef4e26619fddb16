"""The ``kinochrome`` command line: parses, calls the job API, reports. The work lives in the job API.

Exit codes: 0 done, 1 failed, 2 usage error, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import config, memory
from .errors import KinochromeError, UsageError
from .job import JobSettings
from .report import run_with_reporting
from .session import METHODS, SESSION_SUFFIX, Keyframe, Session, load_session


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of exiting, so main() owns the exit code."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def parse_ref(text: str) -> Keyframe:
    """``--ref FRAME=IMAGE`` -> Keyframe."""
    frame, sep, image = text.partition("=")
    if not sep or not frame.strip().lstrip("-").isdigit() or not image:
        raise UsageError(f"--ref: expected FRAME=IMAGE (e.g. 1001=ref.png), got {text!r}")
    if len(frame.strip()) > 15:
        raise UsageError(f"--ref: frame number of up to 15 digits expected, got {frame[:20]!r}...")
    # absolute, symlinks kept: Path.resolve() raises on a symlink loop, and the reader names the file as given
    return Keyframe(frame=int(frame), reference=os.path.abspath(os.path.expanduser(image)))


def _frames(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    from .sequence import parse_frame_range

    return parse_frame_range(text)


def add_job_arguments(p: argparse.ArgumentParser) -> None:
    """The options every colourising command shares (colorize, eval, farm)."""
    p.add_argument("--frames", metavar="A-B", help="frame range to write (inclusive), e.g. 1001-1100")
    p.add_argument("--ref", action="append", default=[], metavar="FRAME=IMAGE",
                   help="colour reference for a keyframe (repeatable)")
    p.add_argument("--session", metavar="FILE", help="session file (SHOT.kinochrome.json); flags override it")
    p.add_argument("--method", choices=METHODS, help=f"colouriser (default {config.DEFAULT_METHOD})")
    p.add_argument("--model", metavar="NAME|PATH", help=f"model name or weights path (default {config.DEFAULT_MODEL})")
    p.add_argument("--colorspace", "--colourspace", dest="colourspace", metavar="NAME",
                   help="input colourspace (an OCIO name; default auto)")
    p.add_argument("--layer", help="EXR layer or part name")
    p.add_argument("--ref-strength", type=float, metavar="0..1", help="how strictly hints are followed")
    p.add_argument("--reach", type=int, metavar="N", help="frames a keyframe may travel")
    p.add_argument("--working-size", type=int, metavar="PX", help="long side the network runs at")
    p.add_argument("--fit", action="store_true", default=None, help="crop references of another aspect ratio")
    p.add_argument("--device", help="auto, cpu, cuda or mps")
    p.add_argument("--threads", type=int, help="CPU threads the run may use (default: all cores); torch, OpenCV "
                   "and OpenImageIO get half each, as reading, the network and writing overlap")
    p.add_argument("--preroll", type=int, help="frames before the range run to warm up state (not written)")


def settings_from_args(args: argparse.Namespace, input_path: str | None,
                       output: str | None) -> JobSettings:
    """JobSettings from a session file (if any) overridden by command-line flags."""
    overrides: dict[str, Any] = {
        "frames": _frames(args.frames), "method": args.method, "model": args.model,
        "colourspace": args.colourspace, "layer": args.layer, "ref_strength": args.ref_strength,
        "reach": args.reach, "working_size": args.working_size, "fit": args.fit, "device": args.device,
        "threads": args.threads, "preroll": args.preroll,
    }
    if args.session:
        session = load_session(args.session)
    else:
        if not input_path:
            raise UsageError("colorize: give an INPUT shot or --session FILE")
        session = Session(shot=str(Path(input_path)))
    if input_path:
        overrides["input"] = input_path
    if output:
        overrides["output"] = output
    settings = JobSettings.from_session(session, **overrides)
    refs = [parse_ref(r) for r in args.ref]
    seen: dict[int, str | None] = {}
    for k in refs:
        if k.frame in seen:  # which of the two the artist meant cannot be guessed
            raise UsageError(f"--ref: frame {k.frame} is given twice ({seen[k.frame]} and {k.reference})")
        seen[k.frame] = k.reference
    if refs:
        by_frame = {k.frame: k for k in settings.keyframes}
        for k in refs:
            old = by_frame.get(k.frame)
            by_frame[k.frame] = Keyframe(frame=k.frame, reference=k.reference, kind=old.kind if old else "auto",
                                         points=old.points if old else [], strokes=old.strokes if old else [])
        settings.keyframes = sorted(by_frame.values(), key=lambda k: k.frame)
    return settings


# ---------------------------------------------------------------------- commands
def setting_flags(settings: JobSettings) -> list[str]:
    """``kinochrome colorize`` flags for the settings besides the shot, output, range, method, model, device,
    preroll, mode, threads and keyframes (those a farm template passes as job parameters).

    The settings a session file also holds are always passed (the flags win over the session's values); the
    others only where they differ from the defaults; a None (layer, bit depth) leaves the session's value.
    """
    default = JobSettings(input="")
    flags = ["--colorspace", settings.colourspace, "--ref-strength", repr(float(settings.ref_strength)),
             "--reach", str(int(settings.reach)), "--working-size", str(int(settings.working_size))]
    for flag, key in (("--layer", "layer"), ("--out-bit-depth", "out_bit_depth"), ("--on-error", "on_error"),
                      ("--missing", "missing")):
        if getattr(settings, key) != getattr(default, key) and getattr(settings, key) is not None:
            flags += [flag, str(getattr(settings, key))]
    return flags + ["--fit"] * bool(settings.fit) + ["--confidence-aov"] * bool(settings.confidence_aov)


def ref_flags(keyframes: Sequence[Keyframe]) -> list[str]:
    """``--ref FRAME=IMAGE`` per keyframe; UsageError for what the flag cannot carry (a session file can)."""
    flags: list[str] = []
    for key in keyframes:
        if key.points or key.strokes or key.kind != "auto" or not key.reference:
            raise UsageError(f"keyframe {key.frame}: colour points, strokes or a reference kind need a session "
                             f"file; save the session and pass it (SHOT.kinochrome.json)")
        flags += ["--ref", f"{key.frame}={key.reference}"]
    return flags


def colorize_args(settings: JobSettings, session_file: str | os.PathLike[str] | None = None) -> list[str]:
    """The ``kinochrome colorize`` arguments that run ``settings`` (the inverse of :func:`colorize_settings`).

    Keyframes travel in ``session_file`` (the session the settings were saved to: points and strokes need
    it) or, without one, as ``--ref`` flags. ``stateless`` (evaluation only) has no flag.
    """
    args = ["colorize", settings.input]
    if settings.output:
        args += ["-o", settings.output]
    if settings.frames:
        args += ["--frames", f"{settings.frames[0]}-{settings.frames[1]}"]
    args += ["--method", settings.method, "--device", settings.device]
    if settings.model:
        args += ["--model", settings.model]
    if settings.preroll:
        args += ["--preroll", str(int(settings.preroll))]
    if settings.threads:
        args += ["--threads", str(int(settings.threads))]
    if settings.mode != "error":
        args.append(f"--{settings.mode}")
    args += setting_flags(settings)
    if session_file is not None:
        return [*args, "--session", str(session_file)]
    return [*args, *ref_flags(settings.keyframes)]


def colorize_settings(args: argparse.Namespace) -> JobSettings:
    """The JobSettings of parsed ``kinochrome colorize`` arguments (what Nuke's and the farm's commands carry)."""
    settings = settings_from_args(args, args.input, args.output)
    settings.mode = "overwrite" if args.overwrite else "resume" if args.resume else "error"
    settings.missing = args.missing
    settings.on_error = args.on_error
    settings.out_bit_depth = args.out_bit_depth or settings.out_bit_depth
    settings.confidence_aov = args.confidence_aov
    return settings


def cmd_colorize(args: argparse.Namespace) -> int:
    return run_with_reporting(colorize_settings(args), args.json, args.quiet)


def cmd_info(args: argparse.Namespace) -> int:
    from .info import format_info, shot_info

    path, frames, layer = args.path, _frames(args.frames), args.layer
    if path.endswith(SESSION_SUFFIX):
        # the shot a session file names, with its range and layer unless given here
        session = load_session(path)
        path = session.resolve(session.shot) or session.shot
        frames, layer = frames or session.frames, layer or session.layer
    info = shot_info(path, frames, layer=layer)
    print(json.dumps(info, indent=2, ensure_ascii=False) if args.json else format_info(info))
    return 0


def cmd_sheet(args: argparse.Namespace) -> int:
    from .contact import sequences_sheet

    path = sequences_sheet(args.patterns, args.output, frames=_frames(args.frames), count=args.count,
                           colourspace=args.colourspace)
    print(path)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(Path(args.out), method=args.method, json_lines=args.json, quiet=args.quiet)


def cmd_models(args: argparse.Namespace) -> int:
    from .model import list_models

    models = list_models()
    if args.json:
        print(json.dumps(models, indent=2, default=str))
        return 0
    if not models:
        print("no models installed")
    for m in models:
        card = m.get("card") or {}
        note = f"BROKEN: {m['problem']}" if m.get("problem") else card.get("description", "")
        print(f"{m.get('name', '?'):<16} {m.get('path', '')}  {note}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .model.train import train

    path = train(Path(args.config), resume=args.resume)
    print(path)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .evalrun import run_eval

    return run_eval(args)


def cmd_export(args: argparse.Namespace) -> int:
    from .model import resolve_model
    from .model.export import export_torchscript

    path = export_torchscript(resolve_model(args.model), Path(args.output))
    print(path)
    return 0


def build_parser() -> tuple[argparse.ArgumentParser, Any]:
    """The core parser and its subparsers (the plugin layer adds ``panel`` and ``farm``)."""
    parser = _Parser(prog="kinochrome", description="Colourise black-and-white film and photo scans.")
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"kinochrome {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("colorize", aliases=["colourise", "colorise"], help="colourise a shot")
    p.add_argument("input", nargs="?", help="shot: shot.####.exr, shot.%%04d.dpx, a folder or a file")
    p.add_argument("-o", "--output", help="output pattern (default: beside the input with _kino)")
    add_job_arguments(p)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--overwrite", action="store_true", help="replace output frames already there")
    mode.add_argument("--resume", action="store_true", help="keep complete output frames, do the rest")
    p.add_argument("--missing", choices=("error", "hold", "skip"), default="error",
                   help="missing input frames: error (default), hold the previous frame, or skip")
    p.add_argument("--on-error", choices=("fail", "skip"), default="fail",
                   help="unreadable frames: fail (default) or skip and report at the end")
    p.add_argument("--out-bit-depth", choices=("uint8", "uint10", "uint12", "uint16", "half", "float"))
    p.add_argument("--confidence-aov", action="store_true", help="write hint confidence as a channel (EXR)")
    p.add_argument("--json", action="store_true", help="one JSON object per event on stdout")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_colorize)

    p = sub.add_parser("info", help="describe a shot")
    p.add_argument("path", help="shot pattern, folder, file, or a session file (SHOT.kinochrome.json)")
    p.add_argument("--frames", metavar="A-B")
    p.add_argument("--layer")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("sheet", help="contact sheet PNG of one or more sequences, side by side")
    p.add_argument("patterns", nargs="+", help="sequences to put side by side (e.g. input and output)")
    p.add_argument("-o", "--output", required=True, help="PNG path")
    p.add_argument("--frames", metavar="A-B")
    p.add_argument("--count", type=int, default=6, help="frames sampled (rows)")
    p.add_argument("--colorspace", "--colourspace", dest="colourspace", default="auto")
    p.set_defaults(func=cmd_sheet)

    p = sub.add_parser("demo", help="colourise the bundled sample shot and write a contact sheet")
    p.add_argument("--out", default="kinochrome-demo")
    p.add_argument("--method", choices=METHODS, default=None)
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("models", help="list installed models")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("train", help="train a model from a config file")
    p.add_argument("config")
    p.add_argument("--resume", action="store_true")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="score the pipeline on colour clips against baselines")
    p.add_argument("clips", help="folder of colour clips (one subfolder of frames per clip)")
    p.add_argument("-o", "--output", default="eval-out", help="folder for JSON, tables and sheets")
    p.add_argument("--clips-only", nargs="*", metavar="NAME", help="clip names to use (default: all)")
    p.add_argument("--frames", type=int, default=24, help="frames per clip")
    p.add_argument("--model", metavar="NAME|PATH")
    p.add_argument("--references", choices=("none", "first", "first-last"), default="first")
    p.add_argument("--variants", nargs="*", metavar="NAME", help="variants to run (default: all)")
    p.add_argument("--photos", metavar="DIR", help="also score automatic mode on the model's held-out photos "
                                                  "in DIR (its card lists them); CLIPS '-' = photos only")
    p.add_argument("--photo-split", choices=("tune", "test", "all"), default="all",
                   help="score only the tuning or the test half of the held-out photos")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("export", help="export the network for other runtimes")
    p.add_argument("format", choices=("torchscript",))
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--model", metavar="NAME|PATH")
    p.set_defaults(func=cmd_export)
    return parser, sub


def run_parser(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    try:
        args = parser.parse_args(argv)
        func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
        if func is None:
            parser.print_help()
            return 2
        return func(args)
    except KinochromeError as exc:
        json_mode = "--json" in (argv if argv is not None else sys.argv[1:])
        if json_mode:
            print(json.dumps({"event": "error", "message": str(exc), "exit_code": exc.exit_code}), flush=True)
        print(f"kinochrome: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("kinochrome: interrupted", file=sys.stderr)
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    memory.tune_allocator()  # this process is ours (not a host's): keep frame buffers for reuse
    parser, _ = build_parser()
    return run_parser(parser, argv)


if __name__ == "__main__":
    sys.exit(main())
