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

The parts live beside this module: ``clips.py`` (options, plans, results, ``ResolveCalls``), ``planning.py``
(``ClipPlanner``: steps 1), ``render.py`` (``ClipRenderer``: step 2), ``placing.py`` (``ResultPlacer``: step 4);
``ResolveAdapter`` puts them together and runs step 3.

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
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from kinochrome.core.errors import Cancelled, KinochromeError
from kinochrome.core.job import CancelToken, JobEvent, JobSettings
from kinochrome.core.session import Keyframe

from .clips import (  # noqa: F401  (re-exported: the adapter's public names)
    BIN_NAME,
    IMAGE_EXTENSIONS,
    MIN_VERSION,
    NEW_API,
    RENDER_FORMATS,
    SCOPES,
    ClipPlan,
    ClipResult,
    RunOptions,
    RunReport,
    _safe_name,
    sequence_from_file_path,
)
from .connect import ResolveError
from .placing import ResultPlacer
from .planning import ClipPlanner
from .render import DEFAULT_RENDER_COLOURSPACE, RESOLVE_COLOURSPACES, ClipRenderer  # noqa: F401

if TYPE_CHECKING:
    from fusionscript import Project, Resolve, Timeline

log = logging.getLogger("kinochrome.resolve")

Progress = Callable[[float, str], None]             # (fraction of the whole run 0..1, one-line status)
Colourise = Callable[[JobSettings, Callable[[JobEvent], None], CancelToken], Any]


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

class ResolveAdapter(ClipPlanner, ClipRenderer, ResultPlacer):
    """Drives one Resolve session. ``colourise`` runs the job API (default: in this process).

    Planning (``collect``, ``plan_clip``), rendering (``render_clip``) and placing (``import_result``,
    ``place_result``) come from its parts; here: the job for each clip and the run over all of them.
    """

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

    # ---------------------------------------------------------------- job settings

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
