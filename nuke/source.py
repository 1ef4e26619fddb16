"""What a Read node says about its shot: file pattern, frame range, colorspace -- checked before any run.

The ``nuke`` module is only touched through the node objects passed in, so this is testable against the fake.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from kinochrome.core.errors import SequenceError, UsageError
from kinochrome.core.pipeline import format_frames
from kinochrome.core.sequence import Shot, canonical_pattern, has_frame_token, open_shot, output_shot_pattern

from . import colorspaces

#: Single files that hold many frames. Kinochrome reads image sequences (EXR, DPX, TIFF, PNG, ...).
MOVIE_EXTENSIONS = (".mov", ".mp4", ".m4v", ".mxf", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".r3d", ".braw",
                    ".gif")


@dataclass(frozen=True)
class ReadSource:
    """The input shot as the Read node states it."""

    node: str                 # the Read's full name
    file: str                 # the file knob: Nuke pattern (#### or %04d), absolute
    first: int
    last: int
    nuke_colorspace: str      # the Read's colorspace knob value
    colourspace: str          # Kinochrome's name for it ('auto' for Nuke's default)

    @property
    def frames(self) -> tuple[int, int]:
        return (self.first, self.last)


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
    """Check a Read node and describe its shot. UsageError for a non-Read, an empty file knob, a movie file or a
    TCL expression in the file knob."""
    name = read.fullName()
    if read.Class() != "Read":
        raise UsageError(f"{name} is a {read.Class()} node: select the Read node of the black-and-white scan")
    file = str(read["file"].value()).strip()
    if not file:
        raise UsageError(f"{name}: the file knob is empty")
    if "[" in file:
        raise UsageError(f"{name}: the file knob holds an expression ({file}); Kinochrome needs a plain path "
                         "(#### or %04d for the frame number)")
    ext = os.path.splitext(file)[1].lower()
    if ext in MOVIE_EXTENSIONS:
        raise UsageError(f"{name} reads a movie file ({os.path.basename(file)}): Kinochrome works on image "
                         "sequences; render it to an EXR or DPX sequence first (a Write node with file "
                         f"{os.path.splitext(os.path.basename(file))[0]}.####.exr) and colourise that Read")
    first, last = int(read["first"].value()), int(read["last"].value())
    cs = str(read["colorspace"].value())
    return ReadSource(node=name, file=os.path.abspath(os.path.expanduser(file)), first=first, last=last,
                      nuke_colorspace=cs, colourspace=colorspaces.to_kinochrome(cs, ocio_config))


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
