"""The run view: starting and cancelling a run, and following it in the timeline, progress bar and viewer."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import Slot

from kinochrome.core.job import JobEvent


class RunViewMixin:
    """``run()`` / ``cancel_run()`` through ``RunController``, and each frame's status as the run reports it."""

    def run(self, frames: tuple[int, int] | None = None, whole: bool = False, **overrides: Any) -> bool:
        """Run the shot (or ``frames``, or the session's I/O range) in the background. Returns False if not
        started. Finished frames appear as they land; ``runFinished(outcome)`` at the end."""
        if not self._require_shot():
            return False
        if self.runner.running:
            self.show_message("warning", "A run is already in progress")
            return False
        self.flush_autosave()
        rng = frames or (None if whole else self.doc.session.frames) or (self.first, self.last)
        opts: dict[str, Any] = {"mode": "overwrite", "missing": "skip", "on_error": "skip"}
        opts.update(overrides)
        settings = self._settings(frames=rng, **opts)
        if frames is None and whole:
            settings = replace(settings, frames=None)
        self._prior_status = {}
        for f in range(rng[0], rng[1] + 1):
            if f not in self.missing:
                self._prior_status[f] = self.frame_status.get(f, "none")
                self._set_status(f, "queued")
        self.errors.clear()
        # previews made after this (of a later edit) are newer than what this run writes
        self._run_generation = self._preview_generation
        self.runner.start(settings)
        self.progress.setRange(0, rng[1] - rng[0] + 1)
        self.progress.setValue(0)
        self.progress.show()
        self.eta_label.setText("starting…")
        self._refresh_all()
        self.status(f"Running {rng[0]}-{rng[1]} ({settings.method}) …")
        return True

    def cancel_run(self) -> None:
        if self.runner.running:
            self.runner.cancel()
            self.status("Cancelling after the frame in flight …")

    def _set_status(self, frame: int, status: str, message: str | None = None) -> None:
        self.frame_status[frame] = status
        self.timeline.set_status(frame, status, message)

    @Slot(int)
    def _on_run_started(self, total: int) -> None:
        self.progress.setRange(0, max(1, total))
        first = next((f for f in range(self.first, self.last + 1) if self.frame_status.get(f) == "queued"), None)
        if first is not None:
            self._set_status(first, "running")    # the one being computed now, not just waiting
        self.runStarted.emit(total)

    @Slot(object)
    def _on_run_frame(self, event: JobEvent) -> None:
        f = event.frame
        if f is None:
            return
        status = event.status or "done"
        if status == "failed":
            self.errors[f] = event.message or "failed"
            self.show_message("error", f"Frame {f} failed: {event.message}")
        self._set_status(f, status, event.message)
        if event.path and status in ("done", "kept"):
            self.outputs[f] = event.path
            self.loader.invalidate("after", f)
            if status == "done" and self._preview_generation_of.get(f, -1) <= self._run_generation:
                self.previews.pop(f, None)         # the run's result is newer than that preview
        nxt = next((g for g in range(f + 1, self.last + 1) if self.frame_status.get(g) == "queued"), None)
        if nxt is not None:
            self._set_status(nxt, "running")
        if self.act_follow.isChecked() and status in ("done", "kept"):
            self.set_frame(f)
        elif f == self.frame:
            self._refresh_view()
        self.frameFinished.emit(f, status)

    @Slot(int, int, str)
    def _on_run_progress(self, done: int, total: int, eta: str) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.eta_label.setText(eta)

    @Slot(object)
    def _on_run_finished(self, outcome: Any) -> None:
        for f, s in list(self.frame_status.items()):
            if s in ("queued", "running"):
                self._set_status(f, self._prior_status.get(f, "none"))
        self.progress.hide()
        self.eta_label.setText("")
        n_done = len(outcome.frames_done)
        if outcome.cancelled:
            self.show_message("info", f"Run cancelled after {n_done} frame{'s' if n_done != 1 else ''}")
        elif outcome.error:
            self.show_message("error", f"Run failed: {outcome.error}")
        else:
            s = outcome.summary
            failed = len(s.failed) if s else 0
            level = "warning" if failed else "info"
            self.show_message(level, f"Run finished: {n_done} frames written, {failed} failed, "
                                     f"in {outcome.seconds:.1f} s → {s.output if s else ''}")
        self._refresh_all()
        self._refresh_view()
        self.runFinished.emit(outcome)
