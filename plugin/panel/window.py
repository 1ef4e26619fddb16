"""``KinochromePanel``: the shot panel as one embeddable ``QWidget``.

Layout: toolbar on top, viewer in the centre, keyframes / inspector / settings / log on the right, timeline and
transport at the bottom, status line under it. Everything slow (shot scanning, frame reads, previews, runs,
autosave) happens in pool or job threads; the UI thread only handles finished results.

The panel is put together from one mixin per seam, each in its own module: ``layout`` (widgets, actions,
wiring), ``opening``, ``playback``, ``viewing`` (what the viewer shows), ``keyframes`` (keyframe editing),
``persistence`` (session fields, save, autosave), ``preview`` and ``runview``. They share the panel's state,
set up here, and the signals declared here.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

# torch is imported with the panel, in the UI thread: core imports it only when a model is loaded (a run's
# start-up, issue 19), and imported by the first preview or run in a worker thread it held the GIL for about
# a second and froze the panel.
import torch  # noqa: F401
from PySide6.QtCore import QSettings, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QWidget

from . import theme
from .document import SessionDocument
from .frames import DisplayImage, FrameLoader
from .keyframes import KeyframeEditingMixin
from .layout import PanelLayout
from .opening import OpeningMixin
from .persistence import PersistenceMixin
from .playback import PlaybackMixin
from .preview import PreviewMixin
from .runview import RunViewMixin
from .viewing import ViewingMixin
from .workers import RunController, Worker


class KinochromePanel(OpeningMixin, PlaybackMixin, ViewingMixin, KeyframeEditingMixin, PersistenceMixin,
                      PreviewMixin, RunViewMixin, PanelLayout, QWidget):
    """The Kinochrome shot panel. Embed it in any Qt host; ``main()`` runs it standalone.

    Public API for hosts and tests: :meth:`open_path`, :meth:`set_frame`, :meth:`add_keyframe`,
    :meth:`remove_keyframe`, :meth:`set_reference`, :meth:`add_point`, :meth:`move_point`, :meth:`delete_point`,
    :meth:`save`, :meth:`preview`, :meth:`run`, :meth:`cancel_run`, :meth:`shutdown`.
    """

    shotOpened = Signal(str)
    openFailed = Signal(str)
    message = Signal(str, str)                 # level (info|warning|error), text
    frameChanged = Signal(int)
    referenceLoaded = Signal(str)
    previewReady = Signal(int)
    runStarted = Signal(int)
    frameFinished = Signal(int, str)           # frame, status
    runFinished = Signal(object)               # plugin.runner.JobOutcome
    autosaved = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, settings: QSettings | None = None,
                 autosave_dir: str | os.PathLike[str] | None = None, autosave_delay_ms: int = 1000):
        super().__init__(parent)
        self.setObjectName("kinochromePanel")
        self.setStyleSheet(theme.PANEL_QSS)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.qsettings = settings if settings is not None else QSettings("Kinochrome", "Kinochrome")
        if autosave_dir is None:         # the same folder whichever host the panel runs in
            base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericDataLocation)
            autosave_dir = Path(base or Path.home() / ".local" / "share") / "kinochrome" / "autosave"
        self.autosave_dir = Path(autosave_dir)

        self.doc = SessionDocument(self)
        self.loader = FrameLoader(self)
        self.worker = Worker(self)
        self.runner = RunController(self)

        # the open shot (opening)
        self.shot: Any = None
        self.first = self.last = 0
        self.frame_size: tuple[int, int] | None = None
        self.colourspace = "auto"
        self.guessed_colourspace = "auto"
        self.fps = 24.0
        self.tc_base: int | None = None        # first frame's timecode in frames
        self.missing: set[int] = set()
        self._opening: str | None = None
        # the playhead (playback) and the viewer (viewing)
        self.frame = 0
        self._play_dir = 0
        self._play_speed = 1
        self._toggle_back = "wipe"
        self._shown_before: DisplayImage | None = None
        # keyframe editing
        self._selected_point = -1
        self._pending_reference: dict[str, int] = {}    # path -> keyframe frame awaiting a successful load
        self._failed_refs: set[str] = set()
        # persistence
        self._autosave_delay = autosave_delay_ms
        # previews and runs: each frame's status, error, result on disk and preview
        self.frame_status: dict[int, str] = {}
        self.errors: dict[int, str] = {}
        self.outputs: dict[int, str] = {}
        self.previews: dict[int, tuple[Any, Any]] = {}
        self._preview_generation = 0
        self._preview_generation_of: dict[int, int] = {}  # frame -> the preview generation it was made in
        self._run_generation = -1                          # the preview generation when the last run started
        self._prior_status: dict[int, str] = {}
        self.messages: list[tuple[str, str]] = []

        self._build()
        self._connect()
        self._refresh_all()
        QTimer.singleShot(0, self.worker.warm_up)

    # ================================================================================================ messages
    def show_message(self, level: str, text: str) -> None:
        """Show a message in the message bar, the status line and the log; never modal."""
        self.messages.append((level, text))
        self.log.appendPlainText(f"{time.strftime('%H:%M:%S')}  {level.upper():7s} {text}")
        self.status_label.setText(text)
        self.status_label.setToolTip(text)       # the line may be cut at the panel's width
        if level in ("warning", "error"):
            self.message_bar.show_message(level, text)
        self.message.emit(level, text)

    def status(self, text: str) -> None:
        self.status_label.setText(text)

    def _require_shot(self) -> bool:
        if self.shot is None or self.doc.session is None:
            self.show_message("warning", "Open a shot first")
            return False
        return True

    def _refresh_all(self) -> None:
        has = self.shot is not None
        for a in (self.act_save, self.act_save_as, self.act_add_key, self.act_remove_key, self.act_points,
                  self.act_reference, self.act_preview, self.act_run):
            a.setEnabled(has)
        running = self.runner.running
        self.run_button.setEnabled(has and not running)
        self.cancel_button.setEnabled(running)
        self.mode_actions[self.viewer.mode].setChecked(True)
        if self.doc.session is not None:
            self.settings_form.load(self.doc.session)
            self.method_combo.setCurrentText(self.doc.session.method)
            self.timeline.set_range(self.doc.session.frames)
            rng = self.doc.session.frames
            self.run_button.setText(f"▶ Run {rng[0]}-{rng[1]}" if rng else "▶ Run shot")
        self._refresh_keyframes()

    # ================================================================================================ lifetime
    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop playback, cancel a run, flush the autosave and wait for background work (hosts call this
        before deleting the panel)."""
        self.stop()
        if self.runner.job is not None and self.runner.running:
            self.runner.cancel()
            self.runner.job.wait(timeout)
        self.flush_autosave(wait=True)
        self.worker.wait(int(timeout * 1000))
        self.loader.wait(int(timeout * 1000))

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)
