"""The streaming shot pipeline behind the job API.

Frames flow reader threads -> colouriser (one thread: the ConvLSTM state and the propagation are sequential)
-> writer threads, through bounded queues, so memory does not grow with shot length. Per frame:

1. read the frame (file encoding), convert to linear Rec.709 and take its luminance -> full-resolution L*;
2. shrink L* to working size; get keyframe hints (propagated by optical flow) for this frame;
3. predict a*b* at working size (CNN-LSTM, or a classical method from the nearest keyframe reference);
4. bring a*b* back to full resolution guided by the full-resolution L*; blend confident hints in;
5. recombine with the ORIGINAL luminance (``colour.recombine_chroma``) and write atomically.

Chunked runs warm up on ``preroll`` frames before the range (read and colourised, not written); ``resume``
keeps complete frames on disk and restarts just before the first missing one, warming up the same way.
"""

from __future__ import annotations

import collections
import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import colour, config, frameio, outputs, pixelops, references, sequence
from .colouriser import FrameColouriser, Prepared, ShotGeometry, as_numpy, frame_lightness, get_method
from .colouriser import require_reference as require_method_reference
from .errors import (
    Cancelled,
    ColourReferenceError,
    FrameLayoutError,
    FrameReadError,
    KinochromeError,
    OutputError,
    SequenceError,
    UsageError,
)
from .jobtypes import MISSING, MODES, ON_ERROR, CancelToken, JobEvent, JobSettings, JobSummary
from .resize import resize_plane, working_size
from .sequence import format_frames
from .session import Keyframe, resolve_path


def validate_settings(settings: JobSettings) -> None:
    """Reject bad settings before anything is read or written (UsageError, exit 2)."""
    get_method(settings.method)
    if settings.device not in config.DEVICES:
        raise UsageError(f"--device: expected one of {', '.join(config.DEVICES)}, got {settings.device!r}")
    if settings.threads is not None and not 1 <= settings.threads <= config.MAX_THREADS:
        raise UsageError(f"--threads: expected 1..{config.MAX_THREADS} threads, got {settings.threads}")
    if settings.preroll < 0:
        raise UsageError(f"--preroll: expected a non-negative number of frames, got {settings.preroll}")
    if settings.mode not in MODES:
        raise UsageError(f"mode: expected one of {', '.join(MODES)}, got {settings.mode!r}")
    if settings.missing not in MISSING:
        raise UsageError(f"--missing: expected one of {', '.join(MISSING)}, got {settings.missing!r}")
    if settings.on_error not in ON_ERROR:
        raise UsageError(f"--on-error: expected one of {', '.join(ON_ERROR)}, got {settings.on_error!r}")
    if not 64 <= settings.working_size <= 4096:
        raise UsageError(f"--working-size: expected 64..4096 pixels, got {settings.working_size}")
    if not 0.0 <= settings.ref_strength <= 1.0:
        raise UsageError(f"--ref-strength: expected 0..1, got {settings.ref_strength}")
    if settings.reach < 0:
        raise UsageError(f"--reach: expected a non-negative number of frames, got {settings.reach}")
    if settings.out_bit_depth is not None and settings.out_bit_depth not in frameio.BIT_DEPTHS:
        raise UsageError(f"--out-bit-depth: expected one of {', '.join(frameio.BIT_DEPTHS)}, "
                         f"got {settings.out_bit_depth!r}")


def require_reference(settings: JobSettings) -> None:
    """UsageError when the method colours only from a reference (classical methods; flow needs keyframes)
    and the settings give none."""
    require_method_reference(get_method(settings.method), settings.keyframes)


def resolved_keyframes(settings: JobSettings) -> list[Keyframe]:
    """The settings' keyframes with relative reference paths made absolute against ``base_dir`` (the session
    file's folder; None: the current folder)."""
    return [replace(k, reference=resolve_path(k.reference, settings.base_dir)) for k in settings.keyframes]


def check_job(settings: JobSettings) -> None:
    """Refuse, without running, what a run of ``settings`` would refuse before its first frame: the settings,
    the colourspace, the model name, empty frame files, keyframes outside the shot or with points outside
    the frame, and missing, grayscale or misshapen references. Reads headers and the reference images only.

    For front ends that hand the run to someone else (farm submission): a task that fails on a worker
    an hour later is a worse place to learn of a typo than the moment of submitting.
    """
    validate_settings(settings)
    if settings.colourspace != "auto":
        colour.check_colourspace(settings.colourspace)
    shot = sequence.open_shot(settings.input, settings.frames)
    empty = [f for f in shot.frames if os.path.getsize(shot.path(f)) == 0]
    if empty:
        raise FrameReadError(f"{shot.path(empty[0])}: empty file (0 bytes)"
                             + (f"; also frames {format_frames(empty[1:])}" if len(empty) > 1 else ""))
    if settings.method == "model":
        from .model.registry import resolve_model
        from .model.weights import load_network

        load_network(resolve_model(settings.model))  # as a run does before its first frame: card, tensors, NaN
    require_reference(settings)
    if not settings.keyframes or not shot.frames:
        return
    first = frameio.read_header(shot.path(shot.frames[0]), layer=settings.layer, frame=shot.frames[0])
    full_size = (first.width, first.height)
    disk = sequence.open_shot(settings.input) if settings.frames else shot
    keyframes = resolved_keyframes(settings)
    references.validate_keyframes(keyframes, disk.first, disk.last, full_size)
    for k in keyframes:
        if k.reference:
            references.load_reference(k.reference, full_size, fit=settings.fit, frame=k.frame)


def configure_threads(threads: int | None) -> int:
    """Share ``threads`` CPU threads (default: all cores) between torch, OpenCV and OpenImageIO; returns it.

    Reading, the network and writing run at the same time in their own threads, so each library gets half
    the budget. Giving torch every core oversubscribes them: its OpenMP workers spin waiting for cores the
    reader and writer threads hold, and on 2 cores the network ran 3-10x slower inside a run than alone.
    """
    import cv2
    import OpenImageIO as oiio

    n = threads or config.env_threads() or (os.cpu_count() or 1)
    share = max(1, n // 2)
    try:
        import torch

        torch.set_num_threads(share)
    except ImportError:  # classical methods run without torch
        pass
    cv2.setNumThreads(share)
    oiio.attribute("threads", share)
    return n


@dataclass
class _Plan:
    """What a run will do, decided before any pixel is read."""

    shot: sequence.Shot               # the requested range
    out_pattern: str
    write: list[int]                  # frames to write, in order
    kept: list[int]                   # complete output frames already on disk (resume)
    process: list[int]                # frames to colourise in order (preroll + write)
    source_of: dict[int, int]         # frame -> input frame to read (missing=hold reads the previous one)
    all_frames: tuple[int, ...]       # every input frame on disk (for propagation reaching outside the range)


@dataclass
class _Shot:
    """What the first frame says of the shot a run colours."""

    first: frameio.Frame
    colourspace: str
    max_linear: float | None          # the output's largest linear value (integer formats), None for float
    full_size: tuple[int, int]        # (w, h)
    size: tuple[int, int]             # working size (w, h)

    def checked(self, prepared: tuple[frameio.Frame, np.ndarray, int]) -> tuple[frameio.Frame, np.ndarray, int]:
        """A frame read by :func:`read_prepared`, FrameLayoutError when its size or channels are not the
        shot's (a resolution or layout change mid-shot)."""
        frame, first, full_size = prepared[0], self.first, self.full_size
        if (frame.width, frame.height) != full_size or frame.rgb.shape[2] != 3:
            raise FrameLayoutError(f"{frame.path}: {frame.width}x{frame.height} differs from the "
                                   f"shot's {full_size[0]}x{full_size[1]} (resolution changes mid-shot)")
        if (frame.alpha is None) != (first.alpha is None):
            raise FrameLayoutError(f"{frame.path}: channels {','.join(frame.channels)} differ from "
                                   f"the shot's {','.join(first.channels)} (layout changes mid-shot)")
        return prepared


class ShotPipeline:
    """One run of the job API over a shot. ``run()`` yields JobEvents."""

    def __init__(self, settings: JobSettings, cancel: CancelToken):
        self.settings = settings
        self.cancel = cancel
        self.summary = JobSummary(output="")
        self.warnings: list[str] = []
        self.quantise: str | None = None                 # storage type to keep luminance for (integers)
        self.colouriser: FrameColouriser | None = None

    # ------------------------------------------------------------------ planning
    def plan(self) -> _Plan:
        s = self.settings
        shot = sequence.open_shot(s.input, s.frames)
        disk = sequence.open_shot(s.input) if s.frames else shot
        if not shot.frames:  # before the missing-frames advice: neither hold nor skip helps here
            on_disk = f" (on disk: {disk.first}-{disk.last})" if disk.frames else ""
            raise SequenceError(f"{shot.pattern}: no frames on disk in {shot.first}-{shot.last}{on_disk}")
        if shot.missing and s.missing == "error":
            raise SequenceError(f"{shot.pattern}: missing frames {format_frames(shot.missing)} "
                                "(use --missing hold or --missing skip to go on)")
        out_pattern = sequence.output_shot_pattern(s.output, shot)
        frameio.check_output_writable(str(Path(out_pattern).parent))
        frameio.check_bit_depth(out_pattern, s.out_bit_depth)

        source_of = frame_sources(shot, s.missing)
        write = sorted(source_of)
        if s.missing == "hold" and shot.missing:
            held = [f for f in shot.missing if f in source_of]
            lead = [f for f in shot.missing if f not in source_of]
            if held:
                self.warnings.append(f"{shot.pattern}: missing frames {format_frames(held)} hold the previous frame")
            if lead:  # nothing before them to hold
                self.warnings.append(f"{shot.pattern}: missing frames {format_frames(lead)} come before the first "
                                     f"frame on disk ({shot.frames[0]}): nothing to hold, not written")
        elif shot.missing:
            self.warnings.append(f"{shot.pattern}: missing frames {format_frames(shot.missing)} skipped")

        outputs.check_reads_spared(out_pattern, write, outputs.files_read(s, resolved_keyframes(s)))
        # One writer per output frame range: the lock is taken before temp files of a killed run are cleared,
        # so a second run cannot delete the first one's frame in flight. run() releases it.
        self._lock = outputs.OutputLock(out_pattern, shot.first, shot.last)
        self._lock.acquire()
        remove_stale_temp_files(out_pattern, write)
        existing = [f for f in write if os.path.exists(sequence.frame_path(out_pattern, f))]
        kept: list[int] = []
        if existing and s.mode == "error":
            raise OutputError(f"{sequence.frame_path(out_pattern, existing[0])}: output exists "
                              f"({len(existing)} of {len(write)} frames); use --overwrite or --resume")
        if s.mode == "resume" and existing:
            like = frameio.read_frame(shot.path(shot.frames[0]), layer=s.layer, frame=shot.frames[0])
            inputs = [shot.path(f) for f in shot.frames]
            # an output that is a hardlink to an input frame holds the uncoloured picture: not done
            kept = [f for f in existing if frameio.check_output_frame(sequence.frame_path(out_pattern, f), like)
                    and not outputs.links_to_input(sequence.frame_path(out_pattern, f), inputs)]
        todo = [f for f in write if f not in set(kept)]

        process = list(todo)
        if todo:
            # A resumed run replays the frames it keeps (read and coloured, not written) from the start of
            # the range, so the LSTM state and the propagated colours reach the first frame still to do
            # exactly as in an uninterrupted run: no colour jump where the run stopped. Rebuilding the state
            # from 12 frames before that frame left a seam of 0.86 a*b* mean (13 at worst) on the sample shot.
            start = write[0]
            warm = warm_up_frames(disk.frames, start, s.preroll)
            if s.preroll and start == shot.first and len(warm) < s.preroll:
                self.warnings.append(f"--preroll {s.preroll}: only {len(warm)} frames before {start}; "
                                     "preroll clamped to the shot start")
            for f in warm:
                source_of.setdefault(f, f)
            # Kept frames up to the last one to do are processed too, so the state runs through them;
            # they are just not written again.
            process = warm + [f for f in write if start <= f <= todo[-1]]
        return _Plan(shot=shot, out_pattern=out_pattern, write=todo, kept=kept, process=process,
                     source_of=source_of, all_frames=disk.frames)

    # ------------------------------------------------------------------ run
    def run(self) -> Iterator[JobEvent]:
        """The run's events; the output lock taken when planning is released however it ends."""
        self._lock: outputs.OutputLock | None = None
        try:
            yield from self._run()
        finally:
            if self._lock is not None:
                self._lock.release()

    def _run(self) -> Iterator[JobEvent]:
        s = self.settings
        started = time.monotonic()
        validate_settings(s)
        # The model (importing torch, reading the weights) loads while the shot is planned and its first
        # frame read: a one-frame farm task or host render pays the start-up once per chunk.
        model = background_model_load(s)
        plan = self.plan()
        self.summary.output = plan.out_pattern
        shot = self._prepare(plan, model)
        total = len(plan.write) + len(plan.kept)
        yield JobEvent("start", total=total, path=plan.out_pattern,
                       data={"input": plan.shot.pattern, "colourspace": shot.colourspace, "method": s.method,
                             "frames": [plan.shot.first, plan.shot.last], "working_size": list(shot.size)})
        for message in self.warnings:
            yield JobEvent("warning", message=message)
        for index, f in enumerate(plan.kept, 1):
            self.summary.kept.append(f)
            yield JobEvent("frame", frame=f, index=index, total=total, status="kept",
                           path=sequence.frame_path(plan.out_pattern, f))
        yield from self._stream(plan, shot, total)
        self.summary.seconds = time.monotonic() - started
        self.summary.warnings = list(self.warnings)
        yield JobEvent("finished", total=total, index=len(plan.kept) + len(self.summary.written)
                       + len(self.summary.failed), path=plan.out_pattern, seconds=self.summary.seconds,
                       data={"summary": self.summary.to_json()}, summary=self.summary)

    def _prepare(self, plan: _Plan, model: Future | None) -> _Shot:
        """The shot's first frame read: colourspace, output range and quantising, format warnings, and the
        :class:`FrameColouriser` set up (keyframes loaded and checked) before any frame is written."""
        s = self.settings
        first = frameio.read_frame(plan.shot.path(plan.shot.frames[0]), layer=s.layer, frame=plan.shot.frames[0])
        cs = colour.check_colourspace(s.colourspace) if s.colourspace != "auto" else colour.guess_colourspace(first)
        self.summary.colourspace = cs
        # Integer outputs need the stored code values re-picked to keep luminance within one code value;
        # half and float already hold it to ~5e-4 relative, well inside the 1e-3 the guarantee allows.
        storage = colour.storage_type(first, s.out_bit_depth)
        self.quantise = storage if storage and storage.startswith("uint") else None
        lossy = frameio.lossy_compression(first.spec)
        if lossy:
            self.warnings.append(f"{plan.shot.pattern}: {lossy.upper()} compression is lossy and would move the "
                                 f"luminance; the output is written with {frameio.LOSSLESS_EXR_COMPRESSION.upper()} "
                                 "(lossless)")
        if Path(plan.out_pattern).suffix.lower() in (".jpg", ".jpeg"):
            self.warnings.append(f"{plan.out_pattern}: JPEG is lossy: the output's luminance is kept within a few "
                                 "code values, not one; write PNG, TIFF, DPX or EXR for an exact result")
        shot = _Shot(first, cs, colour.encoded_max_linear(first, cs, s.out_bit_depth), (first.width, first.height),
                     working_size(first.width, first.height, s.working_size))
        configure_threads(s.threads)
        # span: the frames this run asks for, so a farm chunk scans for cuts only around its own range.
        self.colouriser = FrameColouriser(
            s, resolved_keyframes(s),
            ShotGeometry(plan.shot.path, plan.all_frames, cs, shot.full_size, shot.size, s.layer),
            span=(plan.process[0], plan.process[-1]) if plan.process else None,
            model=model.result() if model is not None else None)
        return shot

    def _stream(self, plan: _Plan, shot: _Shot, total: int) -> Iterator[JobEvent]:
        """The executor: reader threads -> the colouriser in frame order -> writer threads, bounded queues."""
        s, colouriser, cs = self.settings, self.colouriser, shot.colourspace
        assert colouriser is not None
        index = len(plan.kept)
        to_write = set(plan.write)
        reader = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kino-read")
        writer = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kino-write")
        # One thread prepares the next frame (working-size L*, the propagation's flow and reference matching)
        # while the network colours this one: with a keyframe that work was a third of the calling thread's.
        preparer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kino-prepare")
        reads: collections.deque[tuple[int, Future[frameio.Frame]]] = collections.deque()
        ahead: collections.deque[tuple[int, frameio.Frame, int, float, Future[Prepared]]] = collections.deque()
        writes: collections.deque[tuple[int, float, Future[None]]] = collections.deque()
        queue = iter(plan.process)

        def submit_reads() -> None:
            while len(reads) < config.DEFAULT_QUEUE:
                f = next(queue, None)
                if f is None:
                    return
                src = plan.source_of.get(f, f)
                reads.append((f, reader.submit(read_prepared, plan.shot.path(src), s.layer, src, cs,
                                               shot.full_size)))

        def finish_write(block: bool) -> Iterator[JobEvent]:
            nonlocal index
            while writes and (block or writes[0][2].done() or len(writes) > config.DEFAULT_QUEUE):
                f, t0, fut = writes.popleft()
                fut.result()  # re-raises OutputError (disk full, ...)
                index += 1
                self.summary.written.append(f)
                yield JobEvent("frame", frame=f, index=index, total=total, status="done",
                               path=sequence.frame_path(plan.out_pattern, f), seconds=time.monotonic() - t0)

        def colour_oldest() -> Iterator[JobEvent]:
            """The network on the oldest prepared frame; its full-resolution finish goes to a writer."""
            f, frame, nonfinite, t0, prepared = ahead.popleft()
            cuts_before = len(colouriser.cut_frames)
            finish = colouriser.colourise_prepared(prepared.result())
            if f in to_write:
                yield from self._frame_warnings(f, frame, nonfinite, len(colouriser.cut_frames) > cuts_before)
                # The full-resolution work (upsampling, the hint blend, recombining with the luminance)
                # runs in the writer threads, overlapping the network on the next frame (NumPy, OpenCV
                # and the compiled kernels release the GIL).
                writes.append((f, t0, writer.submit(self._finish_and_write, sequence.frame_path(plan.out_pattern, f),
                                                    frame, finish, (frame.height, frame.width), cs,
                                                    shot.max_linear)))
            yield from finish_write(block=False)

        try:
            submit_reads()
            while reads:
                if self.cancel.cancelled:
                    yield from finish_write(block=True)
                    self.summary.cancelled = True
                    raise Cancelled(f"cancelled after {len(self.summary.written)} frames written; "
                                    "rerun with --resume to continue")
                f, fut = reads.popleft()
                t0 = time.monotonic()
                try:
                    frame, lightness, nonfinite = shot.checked(fut.result())
                except FrameReadError as exc:
                    submit_reads()
                    if s.on_error != "skip" or f not in to_write:
                        raise
                    while ahead:  # the frames before it first, so that events stay in frame order
                        yield from colour_oldest()
                    yield from finish_write(block=True)
                    index += 1
                    self.summary.failed.append((f, str(exc)))
                    yield JobEvent("frame", frame=f, index=index, total=total, status="failed", message=str(exc))
                    continue
                submit_reads()
                ahead.append((f, frame, nonfinite, t0, preparer.submit(colouriser.prepare, f, lightness)))
                if len(ahead) > 1:  # the next frame is being prepared: colour this one meanwhile
                    yield from colour_oldest()
            while ahead:
                yield from colour_oldest()
            yield from finish_write(block=True)
            # The propagation's warnings (stretches of frames no keyframe reaches, keyframes not on disk) come
            # after the frames: its cut scan then judges the frames the run has read instead of decoding
            # every frame within reach of a keyframe a second time before the first one.
            for message in colouriser.warnings:
                self.warnings.append(message)
                yield JobEvent("warning", message=message)
        finally:
            # Let frames in flight land (atomic writes: a frame is whole or absent), then stop the threads.
            for _, _, fut in writes:
                try:
                    fut.result()
                except KinochromeError:
                    pass
            reader.shutdown(wait=True, cancel_futures=True)
            preparer.shutdown(wait=True, cancel_futures=True)
            writer.shutdown(wait=True)

    def _frame_warnings(self, f: int, frame: frameio.Frame, nonfinite: int, cut: bool) -> Iterator[JobEvent]:
        """Warnings about a frame to write: a scene cut reset the model's memory; NaN/Inf pixels kept."""
        if cut:
            message = f"scene cut at frame {f}: the colour memory starts afresh"
            self.warnings.append(message)
            yield JobEvent("warning", frame=f, message=message)
        if nonfinite:
            message = f"{frame.path}: {nonfinite} NaN/Inf pixels passed through unchanged"
            self.warnings.append(message)
            yield JobEvent("warning", frame=f, message=message)

    def _finish_and_write(self, path: str, frame: frameio.Frame, finish: Callable[[], tuple[Any, Any]],
                          shape: tuple[int, int], cs: str, max_linear: float | None) -> None:
        """A frame's full-resolution chroma (``finish``: :meth:`FrameColouriser.colourise_prepared`'s), then
        :meth:`_recombine_and_write` (runs in a writer thread)."""
        ab, confidence = finish()
        extra = {"confidence": as_numpy(None, confidence, shape)[1]} if self.settings.confidence_aov else None
        self._recombine_and_write(path, frame, ab, cs, max_linear, extra)

    def _recombine_and_write(self, path: str, frame: frameio.Frame, ab: np.ndarray, cs: str,
                             max_linear: float | None, extra: dict[str, np.ndarray] | None) -> None:
        """New chroma on the frame's own luminance, written atomically (runs in a writer thread).

        ``ab``: ``(H, W, 2)`` NumPy, or a ``(2, H, W)`` tensor finished on a device (``--device cuda``), which
        is recombined there with the frame (up once, the result down once) where the colourspace allows."""
        straight = frameio.straight_rgb(frame)
        finisher = self.colouriser.finisher if self.colouriser is not None else None
        if hasattr(ab, "permute"):
            from . import pixels_torch

            if finisher is not None and pixels_torch.supported(cs, self.quantise):
                rgb = finisher.recombine(straight, ab, cs, max_linear, quantise=self.quantise)
                frameio.write_frame(path, frame, frameio.premultiply_like(frame, rgb), self.settings.out_bit_depth,
                                    extra)
                return
            ab = as_numpy(ab, None, (frame.height, frame.width))[0]
        rgb = frameio.premultiply_like(frame, pixelops.recombine_planar(straight, ab, cs, max_linear,
                                                                        quantise=self.quantise))
        frameio.write_frame(path, frame, rgb, self.settings.out_bit_depth, extra)


def background_model_load(settings: JobSettings) -> Future | None:
    """Start loading the model of ``settings`` in a daemon thread -> its Future (None for methods without a
    model). ``result()`` gives the loaded model or raises what :func:`~kinochrome.core.model.load_model`
    raised, where the run would have loaded it; a run that fails before then does not wait for it."""
    if not get_method(settings.method).model:
        return None
    future: Future = Future()

    def load() -> None:
        try:
            from .model import load_model

            future.set_result(load_model(settings.model, settings.device))
        except BaseException as exc:  # noqa: BLE001 - handed to the run through the future
            future.set_exception(exc)
            return
        # The recombination's compiled kernels next, while the first frame is read and coloured. A failure
        # here meets the run again on its first frame, where it is reported.
        with contextlib.suppress(Exception):
            pixelops.warm_up()

    threading.Thread(target=load, name="kino-model-load", daemon=True).start()
    return future


def remove_stale_temp_files(out_pattern: str, frames: list[int]) -> list[str]:
    """Delete temp files a killed run left for these output frames (never a complete frame); returns them.

    Writes go to ``.NAME.kino.tmpXXXX.EXT`` beside the target and are renamed when whole, so after a
    ``kill -9`` the only debris is such temp files.
    """
    removed = []
    for f in frames:
        target = Path(sequence.frame_path(out_pattern, f))
        if not target.parent.is_dir():
            return removed
        for tmp in target.parent.glob(f".{target.stem}{frameio.TMP_MARK}*{target.suffix}"):
            tmp.unlink(missing_ok=True)
            removed.append(str(tmp))
    return removed


def read_prepared(path: str, layer: str | None, frame: int, colourspace: str,
                  size: tuple[int, int] | None = None) -> tuple[frameio.Frame, np.ndarray, int]:
    """Reader-thread work: the frame, its full-resolution L* and its count of NaN/Inf pixels.

    ``size``: the shot's (width, height); a frame of another size is refused from its header, before decoding.
    """
    f = frameio.read_frame(path, layer, frame, size=size)
    lightness, nonfinite = pixelops.lightness_and_nonfinite(frameio.straight_rgb(f), colourspace)
    return f, lightness, nonfinite


def preview_frame(settings: JobSettings, frame: int) -> tuple[np.ndarray, np.ndarray]:
    """Before/after of one frame, display sRGB (H, W, 3) float32 in [0, 1] at working size; writes nothing.

    The after is the frame a run of ``settings`` writes, shown at working size: the same
    :class:`FrameColouriser`, fed (for methods with memory: the model's LSTM state, the flow propagation)
    the frames the run colours before this one, from the start of its range (with preroll and held missing
    frames); a frame outside ``settings.frames`` is previewed as in a run over the whole shot.
    """
    s = settings
    validate_settings(s)
    disk = sequence.open_shot(s.input)
    if frame not in disk.frames:
        raise SequenceError(f"{disk.pattern}: frame {frame} is not on disk")
    shot = sequence.open_shot(s.input, s.frames) if s.frames else disk
    if not shot.first <= frame <= shot.last:
        shot = disk
    f = frameio.read_frame(disk.path(frame), layer=s.layer, frame=frame)
    cs = colour.check_colourspace(s.colourspace) if s.colourspace != "auto" else colour.guess_colourspace(f)
    size = working_size(f.width, f.height, s.working_size)
    source_of = frame_sources(shot, s.missing)
    write = sorted(source_of)
    process = warm_up_frames(disk.frames, write[0], s.preroll) + [n for n in write if n <= frame]
    colouriser = FrameColouriser(s, resolved_keyframes(s),
                                 ShotGeometry(disk.path, disk.frames, cs, (f.width, f.height), size, s.layer),
                                 span=(process[0], write[-1]))
    if colouriser.method.has_memory:
        for n in process[:-1]:
            src = source_of.get(n, n)
            _, lightness, _ = read_prepared(disk.path(src), s.layer, src, cs)
            colouriser.colourise_small(n, resize_plane(lightness, size))
    straight = frameio.straight_rgb(f)
    ab, _ = as_numpy(*colouriser.colourise(frame, pixelops.lightness_and_nonfinite(straight, cs)[0]),
                     (f.height, f.width))
    storage = colour.storage_type(f, s.out_bit_depth)
    rgb = pixelops.recombine_planar(straight, ab, cs, colour.encoded_max_linear(f, cs, s.out_bit_depth),
                                  quantise=storage if storage and storage.startswith("uint") else None)
    return (colour.to_display_srgb(resize_plane(straight, size), cs),
            colour.to_display_srgb(resize_plane(rgb, size), cs))


def frame_sources(shot: sequence.Shot, missing: str) -> dict[int, int]:
    """Frame -> the input frame to read for it: each frame on disk in the shot's range reads itself; with
    ``missing="hold"`` a missing frame after the first on disk reads the frame before it."""
    source_of: dict[int, int] = {}
    previous: int | None = None
    present = set(shot.frames)
    for f in range(shot.first, shot.last + 1):
        if f in present:
            source_of[f] = previous = f
        elif missing == "hold" and previous is not None:
            source_of[f] = previous
    return source_of


def warm_up_frames(disk_frames: tuple[int, ...] | list[int], start: int, preroll: int) -> list[int]:
    """The up to ``preroll`` frames on disk just before ``start`` that a run colours without writing."""
    before = [f for f in disk_frames if f < start]
    return before[-preroll:] if preroll else []


__all__ = [
    "ColourReferenceError",
    "ShotPipeline",
    "format_frames",
    "frame_lightness",
    "preview_frame",
    "validate_settings",
]
