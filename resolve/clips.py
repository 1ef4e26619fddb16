"""What the Resolve adapter works with: run options, clip plans, results and the report; the Resolve object
with its version-dependent calls (``ResolveCalls``, the base of the adapter's parts); clip-path helpers.

The assumptions about Resolve that the stubs do not settle are listed in ``adapter.py``'s docstring.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kinochrome.core import config
from kinochrome.core.errors import UsageError

if TYPE_CHECKING:
    from fusionscript import MediaPoolItem, Resolve, TimelineItem

BIN_NAME = "Kinochrome"
SCOPES = ("selection", "track")
RENDER_FORMATS = ("exr", "dpx")          # half EXR, 16-bit DPX
IMAGE_EXTENSIONS = {".exr", ".dpx", ".cin", ".tif", ".tiff", ".png", ".jpg", ".jpeg", ".tga", ".bmp",
                    ".sgi", ".rgb", ".hdr", ".jp2", ".j2c", ".webp"}
MIN_VERSION = (18, 0)
NEW_API = (19, 1)            # GetTrackTypeAndIndex, AddTrack(type, options), GetStart(subframe), GetMarkInOut

_BRACKET_RE = re.compile(r"^(?P<head>.*)\[(?P<first>-?\d+)-(?P<last>-?\d+)\](?P<tail>\.[^./\\]+)$")
_NUMBERED_RE = re.compile(r"^(?P<head>.*?)(?P<number>\d+)(?P<tail>\.[^./\\]+)$")
_PATTERN_TOKEN_RE = re.compile(r"%0?\d*d|#+|@+")


# --------------------------------------------------------------------------------------------- data

@dataclass
class RunOptions:
    """What to colourise and how. Keyframes are ``(record frame on the timeline, reference image path)``."""

    scope: str = "selection"                 # selection: In/Out marks on a track, else the current clip
    track: int | None = None                 # source video track (from 1); required for scope "track"
    method: str = config.DEFAULT_METHOD
    model: str | None = None
    keyframes: list[tuple[int, str]] = field(default_factory=list)
    output_dir: str | None = None            # None: beside each sequence (``_kino``), renders beside the movie
    render_format: str = "exr"               # exr (half) | dpx (16-bit)
    render_timeout: float | None = None      # seconds; None waits as long as the render runs
    poll_interval: float = 0.5
    bin_name: str = BIN_NAME
    dry_run: bool = False                    # plan only: no render, no job, nothing imported
    job_overrides: dict[str, Any] = field(default_factory=dict)   # further JobSettings fields

    def validate(self) -> None:
        if self.scope not in SCOPES:
            raise UsageError(f"scope: expected one of {', '.join(SCOPES)}, got {self.scope!r}")
        if self.scope == "track" and self.track is None:
            raise UsageError("scope 'track' needs a track number (--track N)")
        if self.track is not None and self.track < 1:
            raise UsageError(f"track: video tracks count from 1, got {self.track}")
        if self.render_format not in RENDER_FORMATS:
            raise UsageError(f"render format: expected exr or dpx, got {self.render_format!r}")


@dataclass
class ClipPlan:
    """One timeline clip and what will be done with it. Record frames are absolute, ``record_end`` exclusive."""

    name: str
    track: int
    record_start: int
    record_end: int
    kind: str                                # sequence | movie | skip
    reason: str | None = None                # why it is skipped
    source: str | None = None                # '#'-padded sequence pattern, or the movie file
    frames: tuple[int, int] | None = None    # the sequence frames the clip uses (sequence clips)
    fps: float | None = None
    resolution: tuple[int, int] | None = None
    item: Any = field(default=None, repr=False)          # the TimelineItem

    @property
    def duration(self) -> int:
        return self.record_end - self.record_start


@dataclass
class ClipResult:
    plan: ClipPlan
    status: str                              # done | skipped | failed | cancelled | planned
    message: str = ""
    output: str | None = None                # colourised '#'-padded pattern
    frames: tuple[int, int] | None = None
    rendered: str | None = None              # the intermediate render of a movie clip
    new_track: int | None = None
    media_item: Any = field(default=None, repr=False)
    timeline_item: Any = field(default=None, repr=False)


@dataclass
class RunReport:
    clips: list[ClipResult] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    cancelled: bool = False

    @property
    def failed(self) -> list[ClipResult]:
        return [c for c in self.clips if c.status == "failed"]

    @property
    def done(self) -> list[ClipResult]:
        return [c for c in self.clips if c.status == "done"]

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for clip in self.clips:
            counts[clip.status] = counts.get(clip.status, 0) + 1
        parts = [f"{n} {status}" for status, n in counts.items()] or ["no clips"]
        return ", ".join(parts) + (" (cancelled)" if self.cancelled else "")


# --------------------------------------------------------------------------------------------- Resolve

class ResolveCalls:
    """The Resolve object, its version and the calls whose form depends on it; what each part of the adapter
    (planning, rendering, placing) shares. ``ResolveAdapter.__init__`` sets the attributes."""

    resolve: Resolve
    version: tuple[int, int]
    new_api: bool                            # 19.1+: GetTrackTypeAndIndex, AddTrack(type, options), ...
    sleep: Callable[[float], None]           # time.sleep; tests pass a fake
    clock: Callable[[], float]               # time.monotonic

    def _start(self, item: TimelineItem) -> int:
        return int(item.GetStart(False) if self.new_api else item.GetStart())  # type: ignore[call-arg]

    def _end(self, item: TimelineItem) -> int:
        return int(item.GetEnd(False) if self.new_api else item.GetEnd())  # type: ignore[call-arg]


# --------------------------------------------------------------------------------------------- helpers

def _prop(item: MediaPoolItem, name: str) -> str:
    value = item.GetClipProperty(name)
    return value if isinstance(value, str) else ""


def _float(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _resolution(text: str) -> tuple[int, int] | None:
    match = re.match(r"^\s*(\d+)\s*x\s*(\d+)", text or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def sequence_from_file_path(path: str, frame_count: int | None = None) -> tuple[str, int | None, int | None] | None:
    """Resolve's "File Path" of a clip -> (``#``-padded pattern, first, last) if it is an image sequence.

    ``/x/shot.[1001-1100].exr`` -> ('/x/shot.####.exr', 1001, 1100); ``/x/shot.%04d.exr`` or
    ``/x/shot.####.exr`` -> (pattern, None, None); a numbered image file ``/x/shot.1001.exr`` of a clip with
    more than one frame -> (pattern, 1001, 1001 + frames - 1). None for a movie or a still.
    """
    folder, name = os.path.split(path)
    match = _BRACKET_RE.match(name)
    if match:
        first_text = match.group("first").lstrip("-")
        pattern = f"{match.group('head')}{'#' * len(first_text)}{match.group('tail')}"
        return os.path.join(folder, pattern), int(match.group("first")), int(match.group("last"))
    ext = os.path.splitext(name)[1].lower()
    if ext not in IMAGE_EXTENSIONS:
        return None
    token = _PATTERN_TOKEN_RE.search(name)
    if token:
        text = token.group(0)
        width = int(re.sub(r"\D", "", text) or 1) if text.startswith("%") else len(text)
        pattern = name[:token.start()] + "#" * width + name[token.end():]
        return os.path.join(folder, pattern), None, None
    match = _NUMBERED_RE.match(name)
    if match and frame_count and frame_count > 1:
        number = match.group("number")
        first = int(number)
        pattern = f"{match.group('head')}{'#' * len(number)}{match.group('tail')}"
        return os.path.join(folder, pattern), first, first + frame_count - 1
    return None


def _printf(pattern: str) -> str:
    """``/x/shot.####.exr`` -> ``/x/shot.%04d.exr``, the form ImportMedia's FilePath takes."""
    folder, name = os.path.split(pattern)
    name = re.sub(r"#+", lambda m: f"%0{len(m.group(0))}d", name, count=1)
    return os.path.join(folder, name)


def _safe_name(name: str) -> str:
    """A clip name as a file-name stem: 'reel.[1001-1100].exr' -> 'reel', 'A001 C003.mov' -> 'A001_C003'."""
    name = re.sub(r"[._]?\[-?\d+--?\d+\]", "", name)
    name = re.sub(r"\.[A-Za-z][A-Za-z0-9]{1,4}$", "", name)
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "clip"


def _overlaps(start: int, end: int, lo: int, hi: int) -> bool:
    return start < hi and end > lo
