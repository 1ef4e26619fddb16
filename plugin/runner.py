"""Run a job in a background thread with progress and cancel, for hosts with a UI (panel, Nuke, Resolve).

The host passes plain callables; how they reach the host's UI thread (Qt signals, ``nuke.executeInMainThread``,
Resolve's dispatcher) is the host's business. No Qt and no host module here.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from kinochrome.core.errors import Cancelled, KinochromeError
from kinochrome.core.job import CancelToken, JobEvent, JobSettings, JobSummary, run_job


@dataclass
class JobOutcome:
    """How a background job ended: exactly one of summary / error is set, or cancelled is True."""

    summary: JobSummary | None = None
    error: str | None = None            # one-line message for the user
    details: str | None = None          # traceback for logs / Script Editor (unexpected errors only)
    cancelled: bool = False
    seconds: float = 0.0
    frames_done: list[int] = field(default_factory=list)


class BackgroundJob:
    """A job running in a daemon thread.

    ``on_event(event)`` is called from the worker thread for every JobEvent; ``on_done(outcome)`` once at the
    end, also from the worker thread. ``cancel()`` asks the run to stop after the frame in flight.
    """

    def __init__(self, settings: JobSettings,
                 on_event: Callable[[JobEvent], None] | None = None,
                 on_done: Callable[[JobOutcome], None] | None = None):
        self.settings = settings
        self.on_event = on_event
        self.on_done = on_done
        self.token = CancelToken()
        self.outcome: JobOutcome | None = None
        self.progress = 0.0                  # 0..1, readable from any thread
        self.last_event: JobEvent | None = None
        self._thread = threading.Thread(target=self._run, name="kinochrome-job", daemon=True)

    def start(self) -> BackgroundJob:
        self._thread.start()
        return self

    def cancel(self) -> None:
        self.token.cancel()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> JobOutcome | None:
        self._thread.join(timeout)
        return self.outcome

    def _event(self, event: JobEvent) -> None:
        self.last_event = event
        if event.kind == "frame" and event.total:
            self.progress = event.index / event.total
            if event.status in ("done", "kept") and event.frame is not None:
                self._done.append(event.frame)
        if self.on_event is not None:
            self.on_event(event)

    def _run(self) -> None:
        started = time.monotonic()
        self._done: list[int] = []
        outcome = JobOutcome()
        try:
            outcome.summary = run_job(self.settings, self._event, self.token)
        except Cancelled:
            outcome.cancelled = True
        except KinochromeError as exc:
            outcome.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - a bug, not bad input: the host logs the traceback
            outcome.error = f"unexpected error: {exc.__class__.__name__}: {exc}"
            outcome.details = traceback.format_exc()
        outcome.seconds = time.monotonic() - started
        outcome.frames_done = list(self._done)
        self.outcome = outcome
        if self.on_done is not None:
            self.on_done(outcome)
