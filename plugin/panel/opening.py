"""Opening shots in the panel: the open dialogs, recent shots, drag and drop, and taking in an opened shot."""

from __future__ import annotations

import os

from PySide6.QtCore import Slot
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog

from .workers import OpenResult

RECENT_KEY = "panel/recent"
STILL_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")     # dropped on an open shot: a reference
MAX_RECENT = 12


def _tc_to_frames(tc: str, fps: float) -> int | None:
    try:
        hh, mm, ss, ff = (int(x) for x in tc.replace(";", ":").split(":"))
    except ValueError:
        return None
    base = max(1, round(fps))
    return ((hh * 60 + mm) * 60 + ss) * base + ff


class OpeningMixin:
    """Opening a shot or session in the background and taking in the result (``open_path``, ``shotOpened``)."""

    def open_path(self, path: str | os.PathLike[str]) -> None:
        """Open a pattern (``shot.####.exr``), folder, frame file or session file, in the background."""
        path = os.fspath(path)
        if self.runner.running:
            self.show_message("warning", "A run is in progress: cancel it before opening another shot")
            return
        self.flush_autosave()
        self._opening = path
        self.status(f"Opening {path} …")
        self.worker.open(path, self.autosave_dir)

    @Slot(object)
    def _on_opened(self, result: OpenResult) -> None:
        self._opening = None
        self.stop()
        self.loader.clear()
        shot = result.shot
        self.shot = shot
        self.first, self.last = shot.first, shot.last
        self.missing = set(getattr(shot, "missing", []) or [])
        self.frame_size = (result.width, result.height) if result.width else None
        self.colourspace = result.colourspace
        self.guessed_colourspace = result.guessed
        self.fps = result.fps or 24.0
        self.tc_base = _tc_to_frames(result.timecode, self.fps) if result.timecode else None
        self.frame_status = {f: "missing" for f in self.missing}
        self.errors.clear()
        self.outputs = dict(result.outputs)
        for f in self.outputs:
            self.frame_status[f] = "ondisk"
        self.previews.clear()
        self._shown_before = None
        self.viewer.set_images(None, None, None)
        self.timeline.set_shot(self.first, self.last)
        for f, st in self.frame_status.items():
            self.timeline.set_status(f, st, "frame file missing" if st == "missing" else None)
        self.frame_spin.blockSignals(True)
        self.frame_spin.setRange(self.first, self.last)
        self.frame_spin.blockSignals(False)
        # the frame first: set_session refreshes the view, which reads the current frame of the new shot
        self.frame = self.first
        self.doc.set_session(result.session, result.session_path, result.protected)
        self._add_recent(result.request)
        self.viewer.fit()
        self.message_bar.hide()                  # messages about the previous shot no longer apply
        for level, text in result.messages:
            self.show_message(level, text)
        n = self.last - self.first + 1
        self.info_label.setText(f"{n} frames · {self.fps:g} fps · {self.colourspace}")
        self.status(f"Opened {shot.pattern} ({self.first}-{self.last})")
        self._refresh_all()
        self.set_frame(self.first, force=True)
        self._update_title()
        self.shotOpened.emit(shot.pattern)

    @Slot(str, str)
    def _on_open_failed(self, path: str, text: str) -> None:
        self._opening = None
        self.show_message("error", f"Cannot open: {text}")
        self.openFailed.emit(text)

    def open_dialog(self) -> None:
        dialog = QFileDialog(self, "Open shot or session")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setNameFilters(["Shots and sessions (*.exr *.dpx *.tif *.tiff *.png *.jpg *.json)",
                               "All files (*)"])
        dialog.fileSelected.connect(self.open_path)
        dialog.open()

    def _open_folder_dialog(self) -> None:
        dialog = QFileDialog(self, "Open shot folder")
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.fileSelected.connect(self.open_path)
        dialog.open()

    def _add_recent(self, path: str) -> None:
        recent = [p for p in self.recent_shots() if p != path]
        recent.insert(0, path)
        self.qsettings.setValue(RECENT_KEY, recent[:MAX_RECENT])

    def recent_shots(self) -> list[str]:
        value = self.qsettings.value(RECENT_KEY, [])
        if isinstance(value, str):
            return [value]
        return [str(v) for v in (value or [])]

    def _fill_recent(self) -> None:
        self.open_menu.clear()
        self.open_menu.addAction("Open…", self.open_dialog)
        self.open_menu.addAction("Open folder…", self._open_folder_dialog)
        self.open_menu.addSeparator()
        recent = self.recent_shots()
        if not recent:
            self.open_menu.addAction("(no recent shots)").setEnabled(False)
        for p in recent:
            self.open_menu.addAction(p, lambda p=p: self.open_path(p))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and event.mimeData().urls()[0].isLocalFile():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        """A dropped sequence, frame, folder or session opens; with a shot open, a dropped PNG/JPEG still
        becomes the current frame's colour reference instead."""
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if not urls:
            return
        path = urls[0].toLocalFile()
        if self.shot is not None and path.lower().endswith(STILL_SUFFIXES) and os.path.isfile(path):
            self.set_reference(path)
        else:
            self.open_path(path)
        event.acceptProposedAction()
