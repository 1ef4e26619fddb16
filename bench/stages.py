"""Stage profile of a colourisation run: where the time of each frame goes.

Runs the real job API (``run_job``) with its reader and writer pools replaced by a synchronous executor, so
every stage runs one after the other in the calling thread, and times the functions behind each stage
(exclusive time: a stage nested in another is subtracted from it). Each library gets one thread
(``--threads 2``: torch, OpenCV and OpenImageIO take half the budget each), so the figures are the work
of one core per stage, comparable between runs and little moved by other load on the machine. Both CPU
time of the calling thread and wall time are recorded; CPU time is what the tables report (under load,
wall time counts the waits for a core).

Stages: read (decode), L* and checks, network, flow (backward pass, forward pass and fusion, cut scan),
fill_from_reference, hint composition (the working-size -> full-size hint blend, the painted keyframe,
the rest of ``FrameColouriser.colourise``), guided upsampling, recombination, encode+write.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

STAGES = ("read", "L* and checks", "network", "flow bwd", "flow fwd", "cut scan", "fill_from_reference",
          "hint composition", "guided upsampling", "recombination", "encode+write")


class _SyncExecutor:
    """A stand-in for ThreadPoolExecutor that runs each task at submit (exceptions kept in the future)."""

    def __init__(self, *args: Any, **kwargs: Any):
        pass

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
            fut.set_exception(exc)
        return fut

    def map(self, fn: Callable[..., Any], *iterables: Any) -> Iterator[Any]:
        return iter([fn(*a) for a in zip(*iterables)])

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


class StageTimer:
    """Exclusive CPU and wall seconds and call counts per stage name."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = defaultdict(float)
        self.wall: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._local = threading.local()
        self._lock = threading.Lock()

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        timer = self

        def timed(*args: Any, **kwargs: Any) -> Any:
            stack = getattr(timer._local, "stack", None)
            if stack is None:
                stack = timer._local.stack = []
            stack.append([0.0, 0.0])  # time spent in nested stages
            c0, w0 = time.thread_time(), time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                dc, dw = time.thread_time() - c0, time.perf_counter() - w0
                nested_c, nested_w = stack.pop()
                with timer._lock:
                    timer.cpu[name] += dc - nested_c
                    timer.wall[name] += dw - nested_w
                    timer.calls[name] += 1
                if stack:
                    stack[-1][0] += dc
                    stack[-1][1] += dw

        timed.__wrapped__ = fn  # type: ignore[attr-defined]
        return timed


def _targets() -> list[tuple[Any, str, str]]:
    """(owner, attribute, stage) of every function timed. Owners are modules or classes; names imported
    into a module (``from .upsample import upsample_chroma``) are patched where they are looked up."""
    from kinochrome.core import colour, colouriser, frameio, pipeline, propagate, references
    from kinochrome.core.model import Colouriser

    targets: list[tuple[Any, str, str]] = [
        (frameio, "read_frame", "read"),
        (colour, "lightness_and_nonfinite", "L* and checks"),
        (Colouriser, "predict_ab", "network"),
        (Colouriser, "features", "network"),
        (propagate.Propagator, "_backward_block", "flow bwd"),
        (propagate.Propagator, "_advance_forward", "flow fwd"),
        (propagate.Propagator, "hints_for", "flow fwd"),
        (propagate.Propagator, "_scan", "cut scan"),
        (colouriser.FrameColouriser, "_fill_from_reference", "fill_from_reference"),
        (colouriser.FrameColouriser, "colourise", "hint composition"),
        (colouriser, "upsample_chroma", "guided upsampling"),
        (colour, "recombine_chroma", "recombination"),
        (frameio, "premultiply_like", "recombination"),
        (frameio, "write_frame", "encode+write"),
    ]
    # Optional hooks of newer code (present after the speed work): timed when they exist.
    try:
        from kinochrome.core import pixelops
    except ImportError:  # profiling a checkout from before the speed work
        pixelops = None
    for owner, attr, stage in ((pixelops, "recombine_planar", "recombination"),
                               (pixelops, "lightness_and_nonfinite", "L* and checks"),
                               (references, "compose_ab", "hint composition"),
                               (colouriser.FrameColouriser, "prepare", "hint composition"),
                               (colouriser.FrameColouriser, "colourise_prepared", "hint composition"),
                               (colouriser.FrameColouriser, "_finish", "hint composition"),
                               (pipeline, "read_prepared", "L* and checks")):
        if owner is not None and attr in vars(owner):
            targets.append((owner, attr, stage))
    return targets


@contextmanager
def profiling(timer: StageTimer) -> Iterator[StageTimer]:
    """Patch the stage functions and the pipeline's thread pools for the duration of the block."""
    from kinochrome.core import pipeline

    saved: list[tuple[Any, str, Any]] = []
    try:
        for owner, attr, stage in _targets():
            original = owner.__dict__[attr] if isinstance(owner, type) else getattr(owner, attr)
            saved.append((owner, attr, original))
            setattr(owner, attr, timer.wrap(stage, original))
        saved.append((pipeline, "ThreadPoolExecutor", pipeline.ThreadPoolExecutor))
        pipeline.ThreadPoolExecutor = _SyncExecutor  # type: ignore[misc,assignment]
        from kinochrome.core import propagate

        pair = getattr(propagate, "FlowPair", None)
        if pair is not None:  # both DIS flows of a step in this thread, so that their CPU time is counted
            saved.append((pair, "calc", pair.__dict__["calc"]))
            pair.calc = lambda self, t8, s8: (self.forward.calc(t8, s8, None), self.backward.calc(s8, t8, None))
        yield timer
    finally:
        for owner, attr, original in reversed(saved):
            setattr(owner, attr, original)


def profile_run(pattern: str, output: str, reference: str | None, device: str = "cpu",
                model: str | None = None) -> dict[str, Any]:
    """Profile one run of the job API -> ``{"frames", "total_cpu", "total_wall", "stages": {name: {...}}}``,
    seconds per frame. ``reference``: a painted keyframe for the first frame, or None (automatic)."""
    from kinochrome.core import sequence
    from kinochrome.core.job import JobSettings, run_job
    from kinochrome.core.session import Keyframe

    shot = sequence.open_shot(pattern)
    keyframes = [Keyframe(frame=shot.frames[0], reference=reference, kind="painted")] if reference else []
    settings = JobSettings(input=pattern, output=output, keyframes=keyframes, device=device, model=model,
                           mode="overwrite", threads=2)
    timer = StageTimer()
    with profiling(timer):
        c0, w0 = time.thread_time(), time.perf_counter()
        run_job(settings)
        total_cpu, total_wall = time.thread_time() - c0, time.perf_counter() - w0
    n = len(shot.frames)
    stages = {name: {"cpu": timer.cpu.get(name, 0.0) / n, "wall": timer.wall.get(name, 0.0) / n,
                     "calls": timer.calls.get(name, 0) / n} for name in STAGES}
    accounted = sum(s["cpu"] for s in stages.values())
    stages["other"] = {"cpu": total_cpu / n - accounted,
                       "wall": total_wall / n - sum(s["wall"] for s in stages.values()), "calls": 0.0}
    return {"frames": n, "total_cpu": total_cpu / n, "total_wall": total_wall / n, "stages": stages}


def table(profiles: dict[str, dict[str, Any]]) -> list[str]:
    """Markdown rows: one column per profiled case, ms of CPU per frame (calls per frame where not 1)."""
    names = list(profiles)
    lines = ["| stage | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for stage in (*STAGES, "other"):
        cells = []
        for name in names:
            s = profiles[name]["stages"][stage]
            calls = f" ({s['calls']:.1f}x)" if s["calls"] and abs(s["calls"] - 1) > 0.05 else ""
            cells.append(f"{s['cpu'] * 1000:.0f}{calls}" if s["cpu"] or s["calls"] else "-")
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    lines.append("| **total** | " + " | ".join(f"**{profiles[n]['total_cpu'] * 1000:.0f}**" for n in names) + " |")
    return lines
