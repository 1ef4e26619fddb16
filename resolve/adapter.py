"""Resolve adapter: timeline clips -> Kinochrome shots -> colourised media back on the timeline.

For each clip of a timeline's selection (or of a whole video track) :meth:`ResolveAdapter.run`

1. plans the clip (:meth:`~ResolveAdapter.plan_clip`): an image-sequence clip is used straight from its
   files and range; a movie clip is rendered first; a clip without a file (generator, title, compound or
   Fusion clip), offline media and a clip whose frame rate differs from the timeline's are skipped, each
   with a reason;
2. renders a movie clip's range to a half EXR (or 16-bit DPX) sequence with a render job: render format and
   codec picked at run time from ``GetRenderFormats``/``GetRenderCodecs``, ``SetRenderSettings``,
   ``AddRenderJob``, ``StartRendering``, polling ``IsRenderingInProgress``/``GetRenderJobStatus``;
3. colourises the sequence through the job API (``run_job``, in process or in the venv's Python);
4. only when every frame of that clip is written, imports the result into the "Kinochrome" bin with
   ``ImportMedia([{FilePath, StartIndex, EndIndex}])`` and places it with ``AppendToTimeline`` on a new video
   track directly above the source track, at the source's record frames.

Nothing here imports ``DaVinciResolveScript``: the caller passes the Resolve object (see ``connect.py``).
Resolve types come from fusionscript-stubs for mypy only.

Assumptions about Resolve that the stubs do not settle (kept in one place, mirrored by the fake):

* ``MediaPoolItem.GetClipProperty("File Path")`` of an image-sequence clip is ``/dir/shot.[1001-1100].exr``
  (a single frame path or a ``%04d``/``####`` pattern are accepted too); a clip with no file gives "".
* ``TimelineItem.GetStart``/``GetEnd`` are absolute record frames, ``GetEnd`` exclusive;
  ``GetLeftOffset`` is the number of media frames before the clip's first used frame (no retime).
* ``AppendToTimeline`` clip info: ``startFrame``/``endFrame`` in the clip's own frame numbers
  (``GetClipProperty("Start")``, 1001 for our results), ``endFrame`` exclusive from Resolve 19 on and inclusive
  in 18 (AYON/OpenPype's Resolve integration); ``recordFrame`` is absolute. A failed append may still return an
  item, whose getters return None: the item is checked.
* Versions (``GetVersion()``): 18.x lacks ``GetTrackTypeAndIndex``, ``AddTrack(type, options)``,
  ``GetStart/GetEnd(subframe)`` and ``GetMarkInOut`` (19.0-19.1). On 18 the selection is the clip under the
  playhead, the new track goes on top, and those calls are made in their 18 form. Below 18: refused.
* Movie clips are rendered in the project's output colour space (colour managed) or the timeline's (DaVinci
  YRGB), typically Rec.709 gamma 2.4 -- not scene-linear, though they are float EXR: the job is told so.
* A render job in single-clip mode writes ``TargetDir/CustomName<frame number>.<ext>``; the adapter does not
  rely on the digits or the first number: it takes the files that start with ``CustomName`` and end in the
  format's extension, and requires exactly one file per frame of the clip.
* ``GetRenderJobStatus(id)`` gives ``JobStatus`` ("Complete", "Failed", "Cancelled", ...),
  ``CompletionPercentage`` and, on failure, sometimes ``Error``.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, cast

from kinochrome.core import config
from kinochrome.core.errors import Cancelled, KinochromeError, UsageError
from kinochrome.core.job import CancelToken, JobEvent, JobSettings
from kinochrome.core.session import Keyframe

from .connect import ResolveError

if TYPE_CHECKING:
    from fusionscript import Folder, MediaPool, MediaPoolItem, Project, Resolve, Timeline, TimelineItem
    from fusionscript.fusionscript import ImportClipInfo, MediaPoolClipInfo, NewTrackOptions, RenderSettings

log = logging.getLogger("kinochrome.resolve")

BIN_NAME = "Kinochrome"
SCOPES = ("selection", "track")
RENDER_FORMATS = ("exr", "dpx")          # half EXR, 16-bit DPX
IMAGE_EXTENSIONS = {".exr", ".dpx", ".cin", ".tif", ".tiff", ".png", ".jpg", ".jpeg", ".tga", ".bmp",
                    ".sgi", ".rgb", ".hdr", ".jp2", ".j2c", ".webp"}
RENDER_DONE = "Complete"
MIN_VERSION = (18, 0)
NEW_API = (19, 1)            # GetTrackTypeAndIndex, AddTrack(type, options), GetStart(subframe), GetMarkInOut
#: Resolve colour space names (project settings colorSpaceTimeline / colorSpaceOutput) -> Kinochrome's.
RESOLVE_COLOURSPACES = {
    "Rec.709 Gamma 2.4": "g24_rec709", "Rec.709-A": "g24_rec709", "Rec.709 Gamma 2.2": "g22_rec709",
    "sRGB": "sRGB", "Rec.709 (Scene)": "g22_rec709", "Linear": "lin_rec709", "Rec.709 Linear": "lin_rec709",
    "ACEScg": "ACEScg", "ACES (AP0) Linear": "ACES2065-1",
}
DEFAULT_RENDER_COLOURSPACE = "Rec.709 Gamma 2.4"

_BRACKET_RE = re.compile(r"^(?P<head>.*)\[(?P<first>-?\d+)-(?P<last>-?\d+)\](?P<tail>\.[^./\\]+)$")
_NUMBERED_RE = re.compile(r"^(?P<head>.*?)(?P<number>\d+)(?P<tail>\.[^./\\]+)$")
_PATTERN_TOKEN_RE = re.compile(r"%0?\d*d|#+|@+")

Progress = Callable[[float, str], None]             # (fraction of the whole run 0..1, one-line status)
Colourise = Callable[[JobSettings, Callable[[JobEvent], None], CancelToken], Any]


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


def in_process_colourise(settings: JobSettings, progress: Callable[[JobEvent], None], cancel: CancelToken) -> Any:
    """Run the job API in this Python (the batch route runs in the Kinochrome venv)."""
    from kinochrome.core.job import run_job

    return run_job(settings, progress, cancel)


def subprocess_colouriser(python: str, poll: float = 0.2) -> Colourise:
    """Run the job API in another Python (the venv's), reading its JobEvents as JSON lines.

    Used by the Workspace script: Resolve runs it with its own Python, which need not have torch or
    OpenImageIO. Cancel terminates the child; its unfinished output is never imported.
    """
    def run(settings: JobSettings, progress: Callable[[JobEvent], None], cancel: CancelToken) -> None:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump(settings.to_dict(), handle)
            settings_file = handle.name
        try:
            proc = subprocess.Popen([python, "-m", "kinochrome.resolve", "job", settings_file],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            lines: queue.Queue[str | None] = queue.Queue()
            errors: list[str] = []

            def pump() -> None:
                assert proc.stdout is not None and proc.stderr is not None
                for line in proc.stdout:
                    lines.put(line)
                errors.append(proc.stderr.read())
                lines.put(None)

            threading.Thread(target=pump, name="kinochrome-job-output", daemon=True).start()
            while True:
                if cancel.cancelled:
                    proc.terminate()
                    proc.wait()
                    raise Cancelled("cancelled")
                try:
                    line = lines.get(timeout=poll)
                except queue.Empty:
                    continue
                if line is None:
                    break
                try:
                    data = json.loads(line)
                except ValueError:
                    continue
                progress(JobEvent.from_json(data))
            if proc.wait() != 0:
                last = ("".join(errors).strip().splitlines() or ["no output"])[-1]
                raise KinochromeError(f"colourisation failed (exit {proc.returncode}): {last}")
        finally:
            os.unlink(settings_file)
    return run


# --------------------------------------------------------------------------------------------- adapter

class ResolveAdapter:
    """Drives one Resolve session. ``colourise`` runs the job API (default: in this process)."""

    def __init__(self, resolve: Resolve, colourise: Colourise | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.resolve = resolve
        self.colourise = colourise or in_process_colourise
        self.sleep = sleep
        self.clock = clock
        self.version = resolve_version(resolve)
        if self.version < MIN_VERSION:
            raise ResolveError(f"Kinochrome needs DaVinci Resolve 18 or later; this is "
                               f"{'.'.join(str(v) for v in self.version)}")
        self.new_api = self.version >= NEW_API

    # ---------------------------------------------------------------- version-dependent calls

    def _start(self, item: TimelineItem) -> int:
        return int(item.GetStart(False) if self.new_api else item.GetStart())  # type: ignore[call-arg]

    def _end(self, item: TimelineItem) -> int:
        return int(item.GetEnd(False) if self.new_api else item.GetEnd())  # type: ignore[call-arg]

    # ---------------------------------------------------------------- project, timeline, clips

    def project(self, name: str | None = None) -> Project:
        manager = self.resolve.GetProjectManager()
        if manager is None:
            raise ResolveError("Resolve gave no project manager (is a database open?)")
        if name:
            current = manager.GetCurrentProject()
            if current is not None and current.GetName() == name:
                return current
            project = manager.LoadProject(name)
            if project is None:
                raise ResolveError(f"project {name!r}: not found in the current database folder")
            return project
        project = manager.GetCurrentProject()
        if project is None:
            raise ResolveError("no project is open in Resolve")
        return project

    def timeline(self, project: Project, name: str | None = None) -> Timeline:
        if name:
            for index in range(1, project.GetTimelineCount() + 1):
                timeline = project.GetTimelineByIndex(index)
                if timeline is not None and timeline.GetName() == name:
                    project.SetCurrentTimeline(timeline)
                    return timeline
            raise ResolveError(f"timeline {name!r}: not in project {project.GetName()!r}")
        timeline = project.GetCurrentTimeline()
        if timeline is None:
            raise ResolveError(f"project {project.GetName()!r} has no open timeline")
        return timeline

    def collect(self, timeline: Timeline, options: RunOptions) -> list[tuple[int, TimelineItem]]:
        """The (track, item) pairs to work on, in record order. ResolveError when there is no selection.

        The scripting API exposes no timeline selection, so "selection" means: the clips of the track that
        overlap the timeline's In/Out marks; without marks, the clip under the playhead
        (``GetCurrentVideoItem``).
        """
        count = timeline.GetTrackCount("video")
        if options.track is not None and options.track > count:
            raise ResolveError(f"timeline {timeline.GetName()!r} has {count} video track(s), not {options.track}")
        if options.scope == "track":
            assert options.track is not None
            items = sorted(timeline.GetItemListInTrack("video", options.track) or [], key=self._start)
            if not items:
                raise ResolveError(f"video track {options.track} of {timeline.GetName()!r} is empty")
            return [(options.track, item) for item in items]
        # GetMarkInOut arrived in 19.1: on 18 the selection is the clip under the playhead
        marks = cast("dict[str, Any]", (timeline.GetMarkInOut() if self.new_api else None) or {})
        video = marks.get("video") or {}
        current = timeline.GetCurrentVideoItem()
        if "in" in video and "out" in video:
            start = timeline.GetStartFrame()
            lo, hi = start + int(video["in"]), start + int(video["out"]) + 1
            track = options.track or (self._track_of(timeline, current) if current is not None else 1)
            picked = [(track, item) for item in timeline.GetItemListInTrack("video", track) or []
                      if _overlaps(self._start(item), self._end(item), lo, hi)]
            if not picked:
                raise ResolveError(f"no clip on video track {track} between the In and Out marks of "
                                   f"{timeline.GetName()!r}")
            return picked
        if current is None:
            raise ResolveError(f"nothing selected on {timeline.GetName()!r}: put the playhead over a clip, set "
                               "In/Out marks, or choose a whole track")
        return [(self._track_of(timeline, current), current)]

    def _track_of(self, timeline: Timeline, item: TimelineItem) -> int:
        if self.new_api:
            _kind, index = item.GetTrackTypeAndIndex()
            return int(index)
        # 18: no GetTrackTypeAndIndex; the topmost track holding a clip of that name and record range
        # (GetCurrentVideoItem gives the topmost clip under the playhead)
        key = (item.GetName(), self._start(item), self._end(item))
        for index in range(timeline.GetTrackCount("video"), 0, -1):
            for other in timeline.GetItemListInTrack("video", index) or []:
                if (other.GetName(), self._start(other), self._end(other)) == key:
                    return index
        raise ResolveError(f"cannot tell which video track {item.GetName()} is on; choose a whole track")

    def plan_clip(self, timeline: Timeline, track: int, item: TimelineItem) -> ClipPlan:
        """What to do with one timeline clip; a skip carries the reason in one line."""
        start, end = self._start(item), self._end(item)
        name = item.GetName() or f"clip at {start}"
        plan = ClipPlan(name=name, track=track, record_start=start, record_end=end, kind="skip", item=item)
        media = item.GetMediaPoolItem()
        if media is None:
            plan.reason = "no media (generator, title or effect)"
            return plan
        ctype = _prop(media, "Type")
        path = _prop(media, "File Path")
        if not path:
            plan.reason = f"no file ({ctype or 'compound, Fusion or generated clip'})"
            return plan
        plan.fps = _float(_prop(media, "FPS"))
        plan.resolution = _resolution(_prop(media, "Resolution"))
        timeline_fps = _float(timeline.GetSetting("timelineFrameRate"))
        if plan.fps and timeline_fps and abs(plan.fps - timeline_fps) > 0.01:
            plan.reason = (f"mixed frame rates: clip {plan.fps:g} fps on a {timeline_fps:g} fps timeline "
                           "(frames would not line up; conform it first)")
            return plan
        count = _float(_prop(media, "Frames"))
        left = int(item.GetLeftOffset(False))
        seq = sequence_from_file_path(path, int(count) if count else None)
        if seq is not None:
            pattern, first, last = seq
            return self._plan_sequence(plan, pattern, first, last, left)
        if os.path.splitext(path)[1].lower() in IMAGE_EXTENSIONS:
            plan.reason = f"still image {os.path.basename(path)}: not a sequence"
            return plan
        if not os.path.isfile(path):
            plan.reason = f"offline: {path} not found"
            return plan
        plan.kind, plan.source = "movie", path
        return plan

    def _plan_sequence(self, plan: ClipPlan, pattern: str, first: int | None, last: int | None,
                       left: int) -> ClipPlan:
        from kinochrome.core.errors import SequenceError
        from kinochrome.core.sequence import open_shot

        try:
            if first is None:
                first = open_shot(pattern).first
            used = (first + left, first + left + plan.duration - 1)
            if last is not None and used[1] > last:
                plan.reason = f"uses frames {used[0]}-{used[1]} beyond the media's {first}-{last} (retimed?)"
                return plan
            shot = open_shot(pattern, used)
        except SequenceError as exc:
            plan.reason = f"offline: {exc}"
            return plan
        if shot.missing:
            listed = ", ".join(str(f) for f in shot.missing[:8]) + (" ..." if len(shot.missing) > 8 else "")
            plan.reason = f"offline: {pattern} is missing frames {listed}"
            return plan
        plan.kind, plan.source, plan.frames = "sequence", shot.pattern, used
        return plan

    # ---------------------------------------------------------------- render (movie clips)

    def pick_render_format(self, project: Project, preferred: str = "exr") -> tuple[str, str, str]:
        """(format, codec, extension) for a half EXR or 16-bit DPX sequence, asked of Resolve at run time."""
        formats = project.GetRenderFormats() or {}
        order = [preferred] + [f for f in RENDER_FORMATS if f != preferred]
        tried = []
        for wanted in order:
            fmt = next((ext for name, ext in formats.items() if ext.lower() == wanted or name.lower() == wanted),
                       None)
            if fmt is None:
                continue
            codecs = project.GetRenderCodecs(fmt) or {}
            for description, codec in codecs.items():
                text = f"{description} {codec}".lower()
                if wanted == "exr" and "half" in text and "rgba" not in text:
                    return fmt, codec, fmt
                if wanted == "dpx" and "16" in text:
                    return fmt, codec, fmt
            tried.append(f"{fmt}: {', '.join(codecs.values()) or 'no codecs'}")
        raise ResolveError("Resolve offers no half EXR or 16-bit DPX render codec "
                           f"({'; '.join(tried) or 'no EXR or DPX format'})")

    def render_clip(self, project: Project, timeline: Timeline, plan: ClipPlan, target_dir: str,
                    options: RunOptions, cancel: CancelToken,
                    progress: Callable[[float], None] | None = None) -> tuple[str, tuple[int, int]]:
        """Render the clip's record range (its track alone) to an image sequence; (pattern, frames).

        Other video tracks are disabled for the render and restored afterwards. Raises ResolveError when a
        step is refused or the job does not end "Complete", Cancelled on cancel (rendering stopped).
        """
        fmt, codec, ext = self.pick_render_format(project, options.render_format)
        os.makedirs(target_dir, exist_ok=True)
        custom = f"{_safe_name(plan.name)}_src_"
        stale = [n for n in os.listdir(target_dir) if n.startswith(custom)]
        if stale and options.job_overrides.get("mode") in ("overwrite", "resume"):
            for name in stale:                      # our own earlier render of this clip
                os.remove(os.path.join(target_dir, name))
        elif stale:
            raise ResolveError(f"{target_dir}: holds an earlier render ({stale[0]}); remove it or use "
                               "mode overwrite")
        if not project.SetCurrentRenderFormatAndCodec(fmt, codec):
            raise ResolveError(f"Resolve refused render format {fmt} / codec {codec}")
        project.SetCurrentRenderMode(1)                  # single clip: one sequence for the range
        settings: dict[str, Any] = {
            "SelectAllFrames": False, "MarkIn": plan.record_start, "MarkOut": plan.record_end - 1,
            "TargetDir": target_dir, "CustomName": custom, "ExportVideo": True, "ExportAudio": False,
            # the file says what it holds: the project's output/timeline colour space (render_colourspace)
            "ColorSpaceTag": "Same as Project", "GammaTag": "Same as Project",
        }
        if plan.resolution:
            settings["FormatWidth"], settings["FormatHeight"] = plan.resolution
        if not project.SetRenderSettings(cast("RenderSettings", settings)):
            raise ResolveError(f"Resolve refused the render settings for {plan.name}: {settings}")
        disabled = []
        for index in range(1, timeline.GetTrackCount("video") + 1):
            if index != plan.track and timeline.GetIsTrackEnabled("video", index):
                timeline.SetTrackEnable("video", index, False)
                disabled.append(index)
        job = ""
        try:
            job = project.AddRenderJob()
            if not job:
                raise ResolveError(f"Resolve refused to add a render job for {plan.name}")
            if not project.StartRendering([job], False):
                raise ResolveError(f"Resolve did not start render job {job} for {plan.name}")
            started = self.clock()
            while project.IsRenderingInProgress():
                if cancel.cancelled:
                    project.StopRendering()
                    raise Cancelled(f"render of {plan.name} cancelled")
                if options.render_timeout is not None and self.clock() - started > options.render_timeout:
                    project.StopRendering()
                    raise ResolveError(f"render job {job} for {plan.name}: no result after "
                                       f"{options.render_timeout:g} s; stopped")
                status = dict(project.GetRenderJobStatus(job) or {})
                if progress is not None:
                    progress(float(cast(float, status.get("CompletionPercentage", 0)) or 0) / 100.0)
                self.sleep(options.poll_interval)
            status = dict(project.GetRenderJobStatus(job) or {})
            if status.get("JobStatus") != RENDER_DONE:
                detail = status.get("Error") or f"{status.get('CompletionPercentage', 0)}% done"
                raise ResolveError(f"render job {job} for {plan.name} ended {status.get('JobStatus', 'unknown')!r}: "
                                   f"{detail}")
        finally:
            for index in disabled:
                timeline.SetTrackEnable("video", index, True)
            if job:
                project.DeleteRenderJob(job)
        return self._rendered_sequence(target_dir, custom, ext, plan)

    @staticmethod
    def _rendered_sequence(target_dir: str, custom: str, ext: str, plan: ClipPlan) -> tuple[str, tuple[int, int]]:
        number = re.compile(rf"^{re.escape(custom)}[._-]?(\d+)\.{re.escape(ext)}$", re.IGNORECASE)
        found = sorted((int(m.group(1)), m) for m in map(number.match, os.listdir(target_dir)) if m)
        if len(found) != plan.duration:
            raise ResolveError(f"render of {plan.name} in {target_dir}: {len(found)} frame(s) written, "
                               f"{plan.duration} expected")
        first, last = found[0][0], found[-1][0]
        if last - first + 1 != plan.duration:
            raise ResolveError(f"render of {plan.name} in {target_dir}: frames {first}-{last} are not contiguous")
        sample = found[0][1]
        digits = sample.group(1)
        head = sample.group(0)[: sample.start(1)]
        padding = len(digits) if digits.startswith("0") or len(digits) > len(str(first)) else 1
        return os.path.join(target_dir, f"{head}{'#' * padding}.{ext}"), (first, last)

    # ---------------------------------------------------------------- job settings

    def render_colourspace(self, project: Project) -> tuple[str, str]:
        """(Resolve's name, Kinochrome's name) of the colour space Resolve renders in: the output colour space
        when colour managed, else the timeline's (DaVinci YRGB: typically Rec.709 Gamma 2.4)."""
        mode = str(project.GetSetting("colorScienceMode") or "")
        key = "colorSpaceOutput" if "managed" in mode.lower() or mode.lower().startswith("aces") else \
            "colorSpaceTimeline"
        name = str(project.GetSetting(key) or "") or DEFAULT_RENDER_COLOURSPACE
        ours = RESOLVE_COLOURSPACES.get(name)
        if ours is None:
            log.warning("render colour space %r is not one Kinochrome knows; reading the render as Rec.709 "
                        "gamma 2.4 (set the Kinochrome colourspace with --mode overrides if it is not)", name)
            ours = RESOLVE_COLOURSPACES[DEFAULT_RENDER_COLOURSPACE]
        return name, ours

    def job_settings(self, plan: ClipPlan, pattern: str, frames: tuple[int, int], options: RunOptions,
                     output: str | None, colourspace: str | None = None) -> JobSettings:
        """JobSettings for one clip; keyframes move from record frames to the sequence's frame numbers.
        ``colourspace``: what a movie clip's render is encoded in (a sequence clip keeps auto)."""
        keyframes = []
        for record, reference in options.keyframes:
            if plan.record_start <= record < plan.record_end:
                keyframes.append(Keyframe(frame=frames[0] + record - plan.record_start, reference=reference))
        settings = JobSettings(input=pattern, output=output, frames=frames, method=options.method,
                               model=options.model, keyframes=keyframes)
        if colourspace:
            settings.colourspace = colourspace
        return replace(settings, **options.job_overrides) if options.job_overrides else settings

    def output_pattern(self, plan: ClipPlan, pattern: str, frames: tuple[int, int], options: RunOptions) -> str:
        from kinochrome.core.sequence import Shot, output_shot_pattern

        shot = Shot(pattern=pattern, first=frames[0], last=frames[1],
                    frames=tuple(range(frames[0], frames[1] + 1)), missing=(), padding=pattern.count("#"))
        if plan.kind == "movie":
            base = os.path.join(os.path.dirname(os.path.dirname(pattern)), f"{_safe_name(plan.name)}_kino")
            ext = os.path.splitext(pattern)[1]
            return output_shot_pattern(os.path.join(base, f"{_safe_name(plan.name)}_kino.{'#' * 8}{ext}"), shot)
        if options.output_dir:
            return output_shot_pattern(options.output_dir + os.sep, shot)
        return output_shot_pattern(None, shot)

    def render_dir(self, plan: ClipPlan, options: RunOptions) -> str:
        assert plan.source is not None
        root = options.output_dir or os.path.join(os.path.dirname(plan.source), "kinochrome")
        return os.path.join(root, f"{_safe_name(plan.name)}_{plan.record_start}", "render")

    # ---------------------------------------------------------------- media pool, timeline

    def kinochrome_bin(self, pool: MediaPool, name: str = BIN_NAME) -> Folder:
        root = pool.GetRootFolder()
        for folder in root.GetSubFolderList() or []:
            if folder.GetName() == name:
                return folder
        folder = pool.AddSubFolder(root, name)
        if folder is None:
            raise ResolveError(f"Resolve refused to create the media pool bin {name!r}")
        return folder

    def add_track_above(self, timeline: Timeline, source_track: int) -> int:
        """Insert an empty video track directly above ``source_track``; its index. Resolve 18's AddTrack takes
        no options: the new track goes on top of the others."""
        before = timeline.GetTrackCount("video")
        if not self.new_api:
            # fusionscript-stubs 21 list only the 19.1+ AddTrack(type, options); 18's is AddTrack(type)
            if not timeline.AddTrack("video") or timeline.GetTrackCount("video") != before + 1:  # type: ignore[call-overload]
                raise ResolveError("Resolve refused to add a video track")
            return before + 1
        options = cast("NewTrackOptions", {"audiotype": "mono", "index": source_track + 1})
        if not timeline.AddTrack("video", options) or timeline.GetTrackCount("video") != before + 1:
            raise ResolveError(f"Resolve refused to add a video track above track {source_track}")
        return source_track + 1

    def import_result(self, project: Project, result: ClipResult, bin_name: str) -> MediaPoolItem:
        """Import the finished sequence (its exact frame range) into the bin as one clip."""
        assert result.output is not None and result.frames is not None
        pool = project.GetMediaPool()
        folder = self.kinochrome_bin(pool, bin_name)
        previous = pool.GetCurrentFolder()
        pool.SetCurrentFolder(folder)
        try:
            info = cast("ImportClipInfo", {"FilePath": _printf(result.output), "StartIndex": result.frames[0],
                                           "EndIndex": result.frames[1]})
            items = pool.ImportMedia([info]) or []
        finally:
            if previous is not None:
                pool.SetCurrentFolder(previous)
        if len(items) != 1:
            if items:
                pool.DeleteClips(items)
            raise ResolveError(f"Resolve imported {len(items)} clip(s) from {result.output} "
                               f"({result.frames[0]}-{result.frames[1]}), expected 1")
        result.media_item = items[0]
        return items[0]

    def place_result(self, project: Project, timeline: Timeline, result: ClipResult, track: int) -> TimelineItem:
        """Put the imported clip on video ``track`` at the source clip's record frames."""
        plan, media = result.plan, result.media_item
        current = project.GetCurrentTimeline()
        if current is None or current.GetName() != timeline.GetName():
            project.SetCurrentTimeline(timeline)         # AppendToTimeline works on the current timeline
        # the clip's own frame numbers (its "Start", 1001 for a result from 1001); endFrame exclusive from 19
        first = int(_float(_prop(media, "Start")) or 0)
        end = first + plan.duration if self.version >= (19, 0) else first + plan.duration - 1
        clip = cast("MediaPoolClipInfo", {"mediaPoolItem": media, "startFrame": first, "endFrame": end,
                                          "mediaType": 1, "trackIndex": track, "recordFrame": plan.record_start})
        # fusionscript-stubs 21.0.0 leave @overload off the first AppendToTimeline signature, which hides
        # the documented clipInfo form from mypy; the call is the README's.
        placed = project.GetMediaPool().AppendToTimeline([clip]) or []  # type: ignore[arg-type]
        item = placed[0] if len(placed) == 1 else None
        # a failed append can still hand back an item, whose getters return None
        if item is None or item.GetStart() is None or item.GetMediaPoolItem() is None:  # type: ignore[call-arg,union-attr]
            raise ResolveError(f"Resolve did not place {media.GetName()} on video track {track} at "
                               f"frame {plan.record_start}")
        result.timeline_item, result.new_track = placed[0], track
        return cast("TimelineItem", placed[0])

    # ---------------------------------------------------------------- the run

    def run(self, options: RunOptions, project_name: str | None = None, timeline_name: str | None = None,
            progress: Progress | None = None, cancel: CancelToken | None = None) -> RunReport:
        """Plan, render, colourise, import and place every clip; per-clip failures go in the report."""
        options.validate()
        cancel = cancel or CancelToken()
        report = RunReport()

        def say(message: str, level: int = logging.INFO) -> None:
            log.log(level, message)
            report.messages.append(message)

        project = self.project(project_name)
        timeline = self.timeline(project, timeline_name)
        pairs = self.collect(timeline, options)
        plans = [self.plan_clip(timeline, track, item) for track, item in pairs]
        work = [p for p in plans if p.kind != "skip"]
        say(f"{timeline.GetName()}: {len(plans)} clip(s), {len(work)} to colourise")
        new_tracks: dict[int, int] = {}
        for plan in plans:
            if plan.kind == "skip":
                report.clips.append(ClipResult(plan, "skipped", plan.reason or ""))
                say(f"skipped {plan.name}: {plan.reason}", logging.WARNING)
        for number, plan in enumerate(work):
            def step(fraction: float, text: str, number: int = number) -> None:
                if progress is not None:
                    progress((number + max(0.0, min(1.0, fraction))) / len(work), text)

            if cancel.cancelled:
                report.clips.append(ClipResult(plan, "cancelled", "not started"))
                continue
            if options.dry_run:
                report.clips.append(ClipResult(plan, "planned", f"{plan.kind} {plan.source}"))
                say(f"would colourise {plan.name} ({plan.kind}: {plan.source})")
                continue
            result = ClipResult(plan, "failed")
            report.clips.append(result)
            try:
                self._do_clip(project, timeline, plan, result, options, cancel, step, say)
                media = self.import_result(project, result, options.bin_name)
                track = new_tracks.get(plan.track)
                created = track is None
                if track is None:
                    track = self.add_track_above(timeline, plan.track)
                    for src, dst in list(new_tracks.items()):      # tracks above the insert moved up
                        new_tracks[src] = dst + 1 if dst >= track else dst
                    for other in work:
                        if other.track >= track:
                            other.track += 1
                    new_tracks[plan.track] = track
                try:
                    self.place_result(project, timeline, result, track)
                except ResolveError:
                    project.GetMediaPool().DeleteClips([media])     # no clip left half-done in the bin
                    result.media_item = None
                    if created and not timeline.GetItemListInTrack("video", track):
                        timeline.DeleteTrack("video", track)
                        del new_tracks[plan.track]
                        for other in work:
                            if other.track > track:
                                other.track -= 1
                    raise
                result.status = "done"
                result.message = f"{result.output} on video track {track} at {plan.record_start}"
                say(f"done {plan.name}: {result.message}")
            except Cancelled:
                result.status, result.message = "cancelled", "cancelled; nothing imported"
                report.cancelled = True
                say(f"cancelled {plan.name}: nothing imported", logging.WARNING)
            except KinochromeError as exc:
                result.message = str(exc)
                say(f"failed {plan.name}: {exc}", logging.ERROR)
            step(1.0, f"{plan.name}: {result.status}")
        say(report.summary())
        return report

    def _do_clip(self, project: Project, timeline: Timeline, plan: ClipPlan, result: ClipResult,
                 options: RunOptions, cancel: CancelToken, step: Progress,
                 say: Callable[..., None]) -> None:
        assert plan.source is not None
        if plan.kind == "movie":
            say(f"rendering {plan.name} ({plan.duration} frames)")
            pattern, frames = self.render_clip(
                project, timeline, plan, self.render_dir(plan, options), options, cancel,
                lambda f: step(0.3 * f, f"{plan.name}: rendering {int(f * 100)}%"))
            result.rendered = pattern
        else:
            assert plan.frames is not None
            pattern, frames = plan.source, plan.frames
        output = self.output_pattern(plan, pattern, frames, options)
        colourspace = self.render_colourspace(project)[1] if plan.kind == "movie" else None
        settings = self.job_settings(plan, pattern, frames, options, output, colourspace)
        base = 0.3 if plan.kind == "movie" else 0.0

        def on_event(event: JobEvent) -> None:
            if event.kind == "frame" and event.total:
                step(base + (0.95 - base) * event.index / event.total,
                     f"{plan.name}: frame {event.frame} ({event.index}/{event.total})")
            elif event.kind == "warning" and event.message:
                say(f"{plan.name}: {event.message}", logging.WARNING)

        say(f"colourising {plan.name}: {pattern} {frames[0]}-{frames[1]} -> {output}")
        summary = self.colourise(settings, on_event, cancel)
        if cancel.cancelled or getattr(summary, "cancelled", False):
            raise Cancelled(f"{plan.name}: cancelled")
        self._check_complete(output, frames)
        result.output, result.frames = output, frames

    @staticmethod
    def _check_complete(output: str, frames: tuple[int, int]) -> None:
        from kinochrome.core.sequence import frame_path

        missing = [f for f in range(frames[0], frames[1] + 1) if not os.path.isfile(frame_path(output, f))]
        if missing:
            raise ResolveError(f"{output}: {len(missing)} frame(s) not written (first {missing[0]}); "
                               "not imported")


def describe(results: Iterable[ClipResult]) -> list[str]:
    """One line per clip for logs and the dialog."""
    return [f"{r.plan.name} [{r.plan.record_start}-{r.plan.record_end - 1}] {r.status}: {r.message}"
            for r in results]


def resolve_version(resolve: Any) -> tuple[int, int]:
    """(major, minor) from ``resolve.GetVersion()`` ([major, minor, patch, build, suffix]); a Resolve without
    it (older than 16) reads as (0, 0)."""
    try:
        fields = list(resolve.GetVersion() or [])
    except (AttributeError, TypeError):
        return (0, 0)
    try:
        return int(fields[0]), int(fields[1]) if len(fields) > 1 else 0
    except (IndexError, TypeError, ValueError):
        return (0, 0)


def python_of(venv: str) -> str:
    """The Python executable of a venv folder."""
    if sys.platform.startswith("win"):
        return os.path.join(venv, "Scripts", "python.exe")
    return os.path.join(venv, "bin", "python")
