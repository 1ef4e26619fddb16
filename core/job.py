"""The one job API: every front end (CLI, panel, Nuke, Resolve, farm tasks) colourises shots through here.

``run_job(settings, progress, cancel)`` streams the shot frame by frame and calls ``progress`` with a
:class:`JobEvent` per step (``start``, ``frame``, ``warning``, ``finished``); ``iter_job`` yields the same
events. A :class:`CancelToken` stops the run after the frame in flight. No host code lives here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import config
from .session import Keyframe, Session

MODES = ("error", "overwrite", "resume")      # what to do with output frames already on disk
MISSING = ("error", "hold", "skip")           # missing input frames
ON_ERROR = ("fail", "skip")                   # unreadable input frames


@dataclass
class JobSettings:
    """Everything a run needs. Build it from a session with :meth:`from_session`."""

    input: str                                   # pattern (####, %04d, @@@@), folder or file
    output: str | None = None                    # output pattern; None = beside the input with _kino
    frames: tuple[int, int] | None = None        # inclusive range to write; None = whole shot
    method: str = config.DEFAULT_METHOD          # model | histogram | reinhard | knn
    model: str | None = None                     # model name or path; None = default
    colourspace: str = "auto"
    layer: str | None = None
    keyframes: list[Keyframe] = field(default_factory=list)
    ref_strength: float = config.DEFAULT_REF_STRENGTH
    reach: int = config.DEFAULT_REACH
    working_size: int = config.DEFAULT_WORKING_SIZE
    fit: bool = False                            # allow references of another aspect ratio (crop to fit)
    device: str = "auto"
    threads: int | None = None
    preroll: int = 0
    mode: str = "error"                          # error | overwrite | resume
    missing: str = "error"                       # error | hold | skip
    on_error: str = "fail"                       # fail | skip
    out_bit_depth: str | None = None             # None = same as input; uint8|uint10|uint12|uint16|half|float
    confidence_aov: bool = False                 # write the hint confidence as an extra channel
    base_dir: Path | None = None                 # relative reference paths resolve against this
    stateless: bool = False                      # reset the LSTM state every frame (evaluation only)
    session_file: Path | None = None             # the session the settings came from (never written over)

    @classmethod
    def from_session(cls, session: Session, **overrides: Any) -> JobSettings:
        """Settings from a session file's contents; ``overrides`` (CLI flags) win over the session."""
        base = session.path.parent if session.path else None
        settings = cls(
            input=session.resolve(session.shot) or session.shot,
            output=session.resolve(session.output),
            frames=session.frames,
            method=session.method,
            model=session.model,
            colourspace=session.colourspace,
            layer=session.layer,
            keyframes=list(session.keyframes),
            ref_strength=session.ref_strength,
            reach=session.reach,
            working_size=session.working_size,
            device=session.device,
            out_bit_depth=session.out_bit_depth,
            base_dir=base,
            session_file=session.path,
        )
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})


@dataclass
class JobEvent:
    """One step of a run.

    kind: ``start`` (total = frames to write), ``frame`` (frame written or kept; ``status`` is
    ``done``, ``kept`` (resume), ``skipped`` or ``failed``), ``warning`` (message), ``finished`` (summary in
    ``data``). ``index`` counts written frames from 1.
    """

    kind: str
    frame: int | None = None
    index: int = 0
    total: int = 0
    status: str | None = None
    path: str | None = None
    message: str | None = None
    seconds: float | None = None
    data: dict[str, Any] = field(default_factory=dict)
    summary: JobSummary | None = field(default=None, repr=False)   # on ``finished`` only

    def to_json(self) -> dict[str, Any]:
        d = {"event": self.kind}
        for key in ("frame", "index", "total", "status", "path", "message", "seconds"):
            value = getattr(self, key)
            if value is not None:
                d[key] = value
        d.update(self.data)
        return d


class CancelToken:
    """Thread-safe cancel flag; the run finishes the frame in flight and raises Cancelled."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


@dataclass
class JobSummary:
    output: str
    written: list[int] = field(default_factory=list)
    kept: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cancelled: bool = False
    colourspace: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"output": self.output, "written": len(self.written), "kept": len(self.kept),
                "skipped": self.skipped, "failed": [{"frame": f, "error": e} for f, e in self.failed],
                "warnings": self.warnings, "seconds": round(self.seconds, 3), "cancelled": self.cancelled,
                "colourspace": self.colourspace}


ProgressCallback = Callable[[JobEvent], None]


def iter_job(settings: JobSettings, cancel: CancelToken | None = None) -> Iterator[JobEvent]:
    """Run a job, yielding events. Raises a KinochromeError subclass on failure (Cancelled on cancel)."""
    from .pipeline import ShotPipeline

    yield from ShotPipeline(settings, cancel or CancelToken()).run()


def run_job(settings: JobSettings, progress: ProgressCallback | None = None,
            cancel: CancelToken | None = None) -> JobSummary:
    """Run a job to completion, calling ``progress`` per event; returns the summary of the run."""
    summary: JobSummary | None = None
    for event in iter_job(settings, cancel):
        if progress is not None:
            progress(event)
        if event.kind == "finished":
            summary = event.summary
    assert summary is not None
    return summary


def preview_frame(settings: JobSettings, frame: int) -> tuple[Any, Any]:
    """The frame a run of ``settings`` would write, shown at working size; writes nothing.

    Returns ``(before, after)``: display sRGB-encoded float32 ``(H, W, 3)`` arrays in [0, 1] at working size.
    Methods with memory (the model, flow) colour the run's earlier frames first, so previewing a late frame
    of a long shot takes longer than an early one.
    """
    from .pipeline import preview

    return preview(settings, frame)
