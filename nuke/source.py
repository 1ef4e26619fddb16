"""What a Read node says about its shot: file pattern, frame range, time offset, colorspace -- checked before
any run.

The file path is the one Nuke itself would read: ``nuke.filename(read)`` ("All expansion of commands and
variables is done", Foundry's Python reference for ``nuke.filename``; filename filters added with
``nuke.addFilenameFilter`` run there too), and a relative result is taken against the Root's
``project_directory``, as Nuke resolves relative paths -- never against the process's working directory.
Imports nothing heavy (no numpy, OpenImageIO or torch): this runs inside Nuke's process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import nuke
from kinochrome.core.errors import SequenceError, UsageError
from kinochrome.core.sequence import (
    Shot,
    canonical_pattern,
    format_frames,
    has_frame_token,
    open_shot,
    output_shot_pattern,
)

from . import colorspaces

#: Single files that hold many frames. Kinochrome reads image sequences (EXR, DPX, TIFF, PNG, ...).
MOVIE_EXTENSIONS = (".mov", ".mp4", ".m4v", ".mxf", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".r3d", ".braw",
                    ".gif")


#: Read node ``frame_mode`` items (Read node reference, learn.foundry.com: "frame" knob with the modes
#: expression / start at / offset); ``before``/``after``: hold, loop, bounce, black.
FRAME_MODES = ("expression", "start at", "offset")


@dataclass(frozen=True)
class ReadSource:
    """The input shot as the Read node states it. ``first``/``last`` are file frame numbers; the Read shows
    file frame ``f`` at comp frame ``f + offset``."""

    node: str                 # the Read's full name
    file: str                 # the evaluated file path: Nuke pattern (#### or %04d), absolute
    first: int
    last: int
    nuke_colorspace: str      # the Read's colorspace knob value
    colourspace: str          # Kinochrome's name for it ('auto' for Nuke's default)
    offset: int = 0           # comp frame - file frame ("start at" N: N - first; "offset" N: N)
    before: str = "hold"      # the Read's before/after modes, carried to the result
    after: str = "hold"

    @property
    def frames(self) -> tuple[int, int]:
        return (self.first, self.last)


def _knob_text(node: Any, name: str, default: str = "") -> str:
    knob = node.knob(name)
    return str(knob.value()) if knob is not None else default


def read_offset(read: Any, first: int) -> int:
    """Comp frame minus file frame for the Read's ``frame_mode``/``frame`` knobs (0 when absent or blank).
    UsageError for an expression, which Kinochrome cannot map to one offset."""
    mode = _knob_text(read, "frame_mode", "expression")
    text = _knob_text(read, "frame").strip()
    if not text:
        return 0
    if mode in ("start at", "offset"):
        try:
            number = int(float(text))
        except ValueError:
            raise UsageError(f"{read.fullName()}: frame {mode} {text!r} is not a number") from None
        return number - first if mode == "start at" else number
    raise UsageError(f"{read.fullName()}: its frame knob holds an expression ({text!r}); Kinochrome maps file "
                     "frames to comp frames only for 'start at' and 'offset': use one of those, or a TimeOffset "
                     "node after the Read")


def evaluated_file(read: Any) -> str:
    """The path Nuke reads: ``nuke.filename(read)`` (expressions, variables and filename filters applied),
    made absolute against the Root's ``project_directory`` when relative."""
    name = read.fullName()
    path = nuke.filename(read)
    if not path:
        raise UsageError(f"{name}: the file knob is empty")
    path = str(path).strip()
    if not os.path.isabs(os.path.expanduser(path)):
        knob = nuke.root().knob("project_directory")
        project = str(knob.evaluate() if hasattr(knob, "evaluate") else knob.value()).strip() if knob else ""
        if not project:
            raise UsageError(f"{name}: the file path {path!r} is relative and the project has no Project "
                             "Directory (Project Settings): set it, or give the Read an absolute path")
        path = os.path.join(project, path)
    return os.path.normpath(os.path.expanduser(path))


def upstream_read(node: Any) -> Any:
    """The Read feeding ``node``'s input 0, following Dot nodes. UsageError when there is none."""
    seen = 0
    up = node.input(0)
    while up is not None and up.Class() == "Dot" and seen < 100:
        up, seen = up.input(0), seen + 1
    if up is None:
        raise UsageError(f"{node.name()}: input 0 is not connected; connect it to the Read of the shot")
    if up.Class() != "Read":
        raise UsageError(f"{node.name()}: input 0 is {up.name()} (a {up.Class()} node); connect it to a Read node "
                         "of the black-and-white scan")
    return up


def source_from_read(read: Any, ocio_config: str | None = "nuke-default") -> ReadSource:
    """Check a Read node and describe its shot. UsageError for a non-Read, an empty file knob, a movie file, a relative
    path without a project directory, or a frame expression Kinochrome cannot map."""
    name = read.fullName()
    if read.Class() != "Read":
        raise UsageError(f"{name} is a {read.Class()} node: select the Read node of the black-and-white scan")
    if not str(read["file"].value()).strip():
        raise UsageError(f"{name}: the file knob is empty")
    file = evaluated_file(read)
    ext = os.path.splitext(file)[1].lower()
    if ext in MOVIE_EXTENSIONS:
        raise UsageError(f"{name} reads a movie file ({os.path.basename(file)}): Kinochrome works on image "
                         "sequences; render it to an EXR or DPX sequence first (a Write node with file "
                         f"{os.path.splitext(os.path.basename(file))[0]}.####.exr) and colourise that Read")
    first, last = int(read["first"].value()), int(read["last"].value())
    cs = str(read["colorspace"].value())
    return ReadSource(node=name, file=file, first=first, last=last, nuke_colorspace=cs,
                      colourspace=colorspaces.to_kinochrome(cs, ocio_config), offset=read_offset(read, first),
                      before=_knob_text(read, "before", "hold"), after=_knob_text(read, "after", "hold"))


def check_frames(source: ReadSource, frames: tuple[int, int]) -> Shot:
    """The shot on disk for ``frames``; SequenceError naming the Read and the missing frames."""
    first, last = frames
    if first > last:
        raise UsageError(f"frame range {first}-{last}: first is after last")
    if first < source.first or last > source.last:
        raise UsageError(f"frame range {first}-{last} is outside {source.node}'s range {source.first}-{source.last}")
    try:
        shot = open_shot(source.file, frames if has_frame_token(source.file) else None)
    except SequenceError as exc:
        raise SequenceError(f"{source.node}: {exc}") from None
    if shot.missing:
        shown = format_frames(shot.missing)
        raise SequenceError(f"{source.node}: {len(shot.missing)} frame(s) missing on disk ({shown}) of "
                            f"{os.path.basename(source.file)} {first}-{last}: restore or render them, or narrow "
                            "the Kinochrome node's frame range")
    return shot


def default_output(source: ReadSource) -> str:
    """Beside the source with the ``_kino`` suffix, ``#``-padded as Nuke writes it:
    ``/x/plate.%04d.dpx`` -> ``/x/plate_kino.####.dpx`` (same rule as the CLI)."""
    shot = Shot(pattern=canonical_pattern(source.file), first=source.first, last=source.last, frames=(),
                missing=(), padding=0)
    return output_shot_pattern(None, shot)


def check_output(output: str, shot: Shot) -> str:
    """The canonical output pattern; OutputError when it is the input or lacks a frame token."""
    return output_shot_pattern(output, shot)
