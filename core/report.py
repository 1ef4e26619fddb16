"""Reporting a run on the terminal: a progress bar or JSON lines per event, the summary at the end, and
Ctrl-C / SIGTERM turned into a cancel that lets the frame in flight land (exit 130 / 143).

Used by ``kinochrome colorize`` and ``kinochrome demo``; the job API itself prints nothing.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from typing import Any

from .errors import Cancelled
from .job import CancelToken, JobEvent, JobSettings, JobSummary, run_job


class Reporter:
    """Turns job events into a tqdm bar, JSON lines, or nothing."""

    def __init__(self, json_lines: bool, quiet: bool):
        self.json_lines = json_lines
        self.quiet = quiet
        self.bar: Any = None

    def __call__(self, event: JobEvent) -> None:
        if self.json_lines:
            print(json.dumps(event.to_json(), ensure_ascii=False), flush=True)
            return
        if self.quiet:
            return
        if event.kind == "start":
            from tqdm import tqdm

            print(f"kinochrome: {event.data.get('input')} -> {event.path} ({event.total} frames, "
                  f"{event.data.get('colourspace')}, {event.data.get('method')})", file=sys.stderr)
            self.bar = tqdm(total=event.total, unit="frame", file=sys.stderr, dynamic_ncols=True)
        elif event.kind == "warning":
            (self.bar.write if self.bar else print)(f"warning: {event.message}", file=sys.stderr)
        elif event.kind == "frame" and self.bar is not None:
            if event.status == "failed":
                self.bar.write(f"failed: {event.message}", file=sys.stderr)
            self.bar.update(1)
        elif event.kind == "finished" and self.bar is not None:
            self.bar.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def report_summary(summary: JobSummary | None, json_lines: bool, cancelled: bool = False) -> None:
    if summary is None or json_lines:
        return
    parts = [f"{len(summary.written)} written"]
    if summary.kept:
        parts.append(f"{len(summary.kept)} kept")
    if summary.failed:
        parts.append(f"{len(summary.failed)} failed")
    state = "interrupted" if cancelled else "done"
    print(f"kinochrome: {state}: {', '.join(parts)} in {summary.seconds:.1f}s -> {summary.output}",
          file=sys.stderr)
    for frame, message in summary.failed:
        print(f"  failed {frame}: {message}", file=sys.stderr)


def run_with_reporting(settings: JobSettings, json_lines: bool, quiet: bool) -> int:
    """Run a job with progress, SIGINT -> cancel after the frame in flight (exit 130), summary at the end."""
    token = CancelToken()
    reporter = Reporter(json_lines, quiet)
    summary_box: list[JobSummary] = []

    def on_event(event: JobEvent) -> None:
        if event.kind == "finished" and event.summary is not None:
            summary_box.append(event.summary)
        reporter(event)

    received: list[int] = []

    def on_sigint(signum: int, frame: Any) -> None:
        received.append(signum)
        if token.cancelled:  # a second Ctrl-C stops at once
            raise KeyboardInterrupt
        token.cancel()
        if not json_lines:
            what = "interrupt" if signum == signal.SIGINT else "terminate"
            print(f"\nkinochrome: {what}: finishing the frame in flight (Ctrl-C again to abort)", file=sys.stderr)

    # SIGTERM (kill, a farm cancelling a task, a shutdown) is handled as Ctrl-C: the frame in flight lands
    # whole or not at all, temp files are removed, and the exit status says which signal it was (143).
    handled = [signal.SIGINT] + ([signal.SIGTERM] if hasattr(signal, "SIGTERM") else [])
    previous = {sig: signal.signal(sig, on_sigint) for sig in handled} if _main_thread() else None
    started = time.monotonic()
    try:
        summary = run_job(settings, on_event, token)
    except Cancelled as exc:
        reporter.close()
        if json_lines:
            print(json.dumps({"event": "cancelled", "message": str(exc)}), flush=True)
        else:
            print(f"kinochrome: interrupted: {exc} ({time.monotonic() - started:.1f}s)", file=sys.stderr)
        return 143 if received and received[-1] == getattr(signal, "SIGTERM", None) else 130
    finally:
        reporter.close()
        if previous is not None:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    report_summary(summary, json_lines)
    return 1 if summary.failed else 0


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()
