"""The one job API: every front end (CLI, panel, Nuke, Resolve, farm tasks) colourises shots through here.

``run_job(settings, progress, cancel)`` streams the shot frame by frame and calls ``progress`` with a
:class:`JobEvent` per step (``start``, ``frame``, ``warning``, ``finished``); ``iter_job`` yields the same
events. A :class:`CancelToken` stops the run after the frame in flight. No host code lives here.

The types live in :mod:`kinochrome.core.jobtypes` (re-exported here); the pipeline is imported when a job
runs, so a host's own Python (Resolve's, without NumPy) can import this module for the types.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .jobtypes import (
    JOB_VERSION,
    MISSING,
    MODES,
    ON_ERROR,
    CancelToken,
    JobEvent,
    JobSettings,
    JobSummary,
    ProgressCallback,
)

__all__ = ["JOB_VERSION", "MISSING", "MODES", "ON_ERROR", "CancelToken", "JobEvent", "JobSettings", "JobSummary",
           "ProgressCallback", "iter_job", "preview_frame", "run_job"]


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
    from . import pipeline

    return pipeline.preview_frame(settings, frame)
