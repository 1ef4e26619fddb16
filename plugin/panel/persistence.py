"""The session's settings and keeping them: session fields, the run range, saving and autosave."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QFileDialog

from kinochrome.core.errors import SessionError

from .document import SetSessionField


class PersistenceMixin:
    """Session fields (``set_session_field``), ``save`` / save as, and the background autosave after each edit."""

    def set_session_field(self, name: str, value: Any) -> None:
        """Set a session field (``method``, ``model``, ``working_size``, ``colourspace``, ...) undoably."""
        if self.doc.session is None or getattr(self.doc.session, name) == value:
            return
        if name == "colourspace" and value != "auto":
            from kinochrome.core.colour import check_colourspace
            from kinochrome.core.errors import ColourspaceError

            try:
                check_colourspace(value)
            except ColourspaceError as exc:
                self.show_message("error", str(exc))
                self.settings_form.load(self.doc.session)
                return
        self.doc.undo.push(SetSessionField(self.doc, name, value, f"Set {name}"))

    def set_range_end(self, which: int) -> None:
        if not self._require_shot():
            return
        a, b = self.doc.session.frames or (self.first, self.last)
        a, b = (self.frame, max(b, self.frame)) if which == 0 else (min(a, self.frame), self.frame)
        self.set_session_field("frames", (a, b))

    def clear_range(self) -> None:
        self.set_session_field("frames", None)

    def save(self, path: str | os.PathLike[str] | None = None) -> Path | None:
        """Save the session (to ``path``, or where it was loaded from / beside the shot). Returns the path."""
        if not self._require_shot():
            return None
        try:
            target = self.doc.save(Path(path) if path else None)
        except (OSError, SessionError) as exc:
            self.show_message("error", f"Cannot save the session: {exc}")
            return None
        self.status(f"Saved {target}")
        self._update_title()
        return target

    def save_action(self) -> None:
        self.save()

    def save_as_dialog(self) -> None:
        if not self._require_shot():
            return
        dialog = QFileDialog(self, "Save session as")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter("Kinochrome sessions (*.kinochrome.json)")
        if self.doc.session_path:
            dialog.selectFile(str(self.doc.session_path))
        dialog.fileSelected.connect(self.save)
        dialog.open()

    def _on_doc_changed(self) -> None:
        if self.doc.session is not None and self.shot is not None:
            cs = self.doc.session.colourspace
            cs = self.guessed_colourspace if cs == "auto" else cs
            if cs != self.colourspace:                 # new display transform: re-read what is shown
                self.colourspace = cs
                for f in list(range(self.first, self.last + 1)):
                    self.loader.invalidate("before", f)
                    self.loader.invalidate("after", f)
                self.info_label.setText(f"{self.last - self.first + 1} frames · {self.fps:g} fps · {cs}")
        self.previews.clear()
        self._preview_generation += 1
        if self.doc.session is not None and not self.doc.undo.isClean():
            self.autosave_timer.start(self._autosave_delay)
        self._refresh_all()
        self._update_title()

    def set_autosave_delay(self, msecs: int) -> None:
        self._autosave_delay = msecs

    def autosave_now(self) -> None:
        """Autosave in the background: beside the shot when writable, else in the user folder."""
        self.autosave_timer.stop()
        if self.doc.session is None or self.doc.undo.isClean():
            return
        self.worker.autosave(self.doc.snapshot(), self.doc.session_path, self.doc.protected, self.autosave_dir,
                             self.doc.undo.index())

    def flush_autosave(self, wait: bool = False) -> None:
        """Autosave pending edits now; ``wait`` blocks until written (only when closing)."""
        if self.autosave_timer.isActive() or (self.doc.session is not None and not self.doc.undo.isClean()):
            self.autosave_now()
        if wait:
            self.worker.pool.waitForDone(5000)

    @Slot(int, str)
    def _on_autosaved(self, index: int, path: str) -> None:
        if self.doc.session_path is not None and Path(path) == self.doc.session_path \
                and self.doc.undo.index() == index:
            self.doc.undo.setClean()
        self.status(f"Autosaved {path}")
        self._update_title()
        self.autosaved.emit(path)

    def _update_title(self) -> None:
        name = Path(self.shot.pattern).name if self.shot is not None else "no shot"
        dirty = "" if self.doc.undo.isClean() else " •"
        self.setWindowTitle(f"Kinochrome — {name}{dirty}")
