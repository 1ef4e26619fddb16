"""Previewing the current frame: colourised at working size in the background, shown as "preview"."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Slot

from kinochrome.core.job import JobSettings


class PreviewMixin:
    """``preview_current_frame()`` and its result; a preview belongs to the session as it is now (an edit drops it)."""

    def _settings(self, **overrides: Any) -> JobSettings:
        snap = self.doc.snapshot()
        return JobSettings.from_session(snap, **overrides)

    def preview_current_frame(self) -> None:
        """Colourise the current frame at working size in the background (``previewReady`` when done)."""
        if not self._require_shot():
            return
        settings = self._settings()
        self._preview_generation += 1
        self.status(f"Previewing frame {self.frame} …")
        self.worker.preview_in_background(settings, self.frame, self._preview_generation)

    @Slot(int, int, object, object)
    def _on_previewed(self, generation: int, frame: int, before: Any, after: Any) -> None:
        if generation != self._preview_generation:
            return
        self.previews[frame] = (before, after)
        self._preview_generation_of[frame] = generation
        if self.viewer.mode == "before":
            self.viewer.set_mode("wipe")
        self.status(f"Preview of frame {frame} ready")
        if frame == self.frame:
            self._refresh_view()
        self.previewReady.emit(frame)

    @Slot(int, int, str)
    def _on_preview_failed(self, generation: int, frame: int, text: str) -> None:
        if generation == self._preview_generation:
            self.show_message("error", f"Preview of frame {frame} failed: {text}")
