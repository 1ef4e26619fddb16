"""``KinochromePanel``: the shot panel as one embeddable ``QWidget``.

Layout: toolbar on top, viewer in the centre, keyframes / inspector / settings / log on the right, timeline and
transport at the bottom, status line under it. Everything slow (shot scanning, frame reads, previews, runs,
autosave) happens in pool or job threads; the UI thread only handles finished results.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, QStandardPaths, Qt, QTimer, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QColorDialog,
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QStyle,
    QTabWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from kinochrome.core.errors import SessionError
from kinochrome.core.job import JobEvent, JobSettings
from kinochrome.core.session import ColourPoint

from . import theme
from .document import (
    AddKeyframe,
    AddPoint,
    DeletePoint,
    RemoveKeyframe,
    ReplacePoint,
    SessionDocument,
    SetKeyframeField,
    SetSessionField,
    moved,
)
from .frames import DisplayImage, FrameLoader, timecode_from_frame
from .inspector import IMAGE_SUFFIXES, KeyframeInspector, KeyframeList, SettingsForm, hex_colour, section
from .timeline import Timeline
from .viewer import MODE_LABELS, MODES, PointMark, Viewer
from .workers import OpenResult, RunController, Worker

RECENT_KEY = "panel/recent"
STILL_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")     # dropped on an open shot: a reference
MAX_RECENT = 12
PREFETCH = 8


def _tc_to_frames(tc: str, fps: float) -> int | None:
    try:
        hh, mm, ss, ff = (int(x) for x in tc.replace(";", ":").split(":"))
    except ValueError:
        return None
    base = max(1, round(fps))
    return ((hh * 60 + mm) * 60 + ss) * base + ff


class MessageBar(QFrame):
    """A dismissible one-line message above the viewer (never modal)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("kinoMessageBar")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 2, 2, 2)
        self.label = QLabel()
        self.label.setWordWrap(True)
        # a long path cannot wrap; it must not widen the panel (docked in a host it would push the layout)
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.clicked.connect(self.hide)
        lay.addWidget(self.label, 1)
        lay.addWidget(close)
        self.hide()

    def show_message(self, level: str, text: str) -> None:
        self.setProperty("level", level)
        self.style().unpolish(self)
        self.style().polish(self)
        self.label.setText(text)
        self.show()


class KinochromePanel(QWidget):
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

        self.shot: Any = None
        self.frame = 0
        self.first = self.last = 0
        self.frame_size: tuple[int, int] | None = None
        self.colourspace = "auto"
        self.guessed_colourspace = "auto"
        self.fps = 24.0
        self.tc_base: int | None = None        # first frame's timecode in frames
        self.missing: set[int] = set()
        self.frame_status: dict[int, str] = {}
        self.errors: dict[int, str] = {}
        self.outputs: dict[int, str] = {}
        self.previews: dict[int, tuple[Any, Any]] = {}
        self.messages: list[tuple[str, str]] = []
        self._preview_generation = 0
        self._pending_reference: dict[str, int] = {}    # path -> keyframe frame awaiting a successful load
        self._preview_generation_of: dict[int, int] = {}  # frame -> the preview generation it was made in
        self._run_generation = -1                          # the preview generation when the last run started
        self._shown_before: DisplayImage | None = None
        self._play_dir = 0
        self._play_speed = 1
        self._toggle_back = "wipe"
        self._selected_point = -1
        self._opening: str | None = None
        self._failed_refs: set[str] = set()
        self._prior_status: dict[int, str] = {}
        self._autosave_delay = autosave_delay_ms

        self._build()
        self._connect()
        self._refresh_all()
        QTimer.singleShot(0, self.worker.warm_up)

    # ================================================================================================ building
    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        self.toolbar = QToolBar("Kinochrome")
        self.toolbar.setObjectName("kinoToolbar")
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        root.addWidget(self.toolbar)

        self.viewer = Viewer()
        self.message_bar = MessageBar()
        centre = QWidget()
        cl = QVBoxLayout(centre)
        cl.setContentsMargins(4, 4, 0, 0)
        cl.setSpacing(4)
        cl.addWidget(self.message_bar)
        cl.addWidget(self.viewer, 1)

        side = QWidget()
        side.setMinimumWidth(280)
        sl = QVBoxLayout(side)
        sl.setContentsMargins(4, 4, 4, 0)
        sl.setSpacing(2)
        sl.addWidget(section("Keyframes"))
        self.keyframe_list = KeyframeList()
        self.keyframe_list.setMaximumHeight(120)
        sl.addWidget(self.keyframe_list)
        self.tabs = QTabWidget()
        self.inspector = KeyframeInspector()
        self.settings_form = SettingsForm()
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.tabs.addTab(self.inspector, "Keyframe")
        self.tabs.addTab(self.settings_form, "Settings")
        self.tabs.addTab(self.log, "Log")
        sl.addWidget(self.tabs, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(centre)
        self.splitter.addWidget(side)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setSizes([900, 320])
        root.addWidget(self.splitter, 1)

        bottom = QWidget()
        bl = QVBoxLayout(bottom)
        bl.setContentsMargins(6, 2, 6, 4)
        bl.setSpacing(2)
        self.timeline = Timeline()
        bl.addWidget(self.timeline)
        transport = QHBoxLayout()
        transport.setSpacing(2)
        st = self.style()
        self.btn_first = self._tbutton(st.standardIcon(QStyle.StandardPixmap.SP_MediaSkipBackward), "First (Home)")
        self.btn_back = self._tbutton(st.standardIcon(QStyle.StandardPixmap.SP_MediaSeekBackward),
                                      "Play backwards (J)")
        self.btn_prev = self._tbutton(None, "Previous frame (←)", "◀|")
        self.btn_stop = self._tbutton(st.standardIcon(QStyle.StandardPixmap.SP_MediaStop), "Stop (K)")
        self.btn_next = self._tbutton(None, "Next frame (→)", "|▶")
        self.btn_play = self._tbutton(st.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Play (L, Space)")
        self.btn_last = self._tbutton(st.standardIcon(QStyle.StandardPixmap.SP_MediaSkipForward), "Last (End)")
        for b in (self.btn_first, self.btn_back, self.btn_prev, self.btn_stop, self.btn_next, self.btn_play,
                  self.btn_last):
            transport.addWidget(b)
        self.frame_spin = QSpinBox()
        self.frame_spin.setRange(0, 0)
        self.frame_spin.setKeyboardTracking(False)
        self.frame_spin.setMinimumWidth(80)
        self.frame_spin.setToolTip("Current frame")
        transport.addSpacing(8)
        transport.addWidget(self.frame_spin)
        self.tc_label = QLabel("--:--:--:--")
        self.tc_label.setStyleSheet("font-family: monospace; color: #d6d6da; padding: 0 8px;")
        self.tc_label.setToolTip("Timecode")
        transport.addWidget(self.tc_label)
        self.info_label = QLabel("")
        self.info_label.setStyleSheet("color: #8c8c94;")
        transport.addWidget(self.info_label)
        transport.addStretch(1)
        self.progress = QProgressBar()
        self.progress.setFixedWidth(220)
        self.progress.setFormat("%v / %m")
        self.progress.hide()
        self.eta_label = QLabel("")
        self.eta_label.setStyleSheet("color: #b8b8c0; padding: 0 6px;")
        self.run_button = QPushButton("▶ Run shot")
        self.run_button.setObjectName("kinoRun")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("kinoCancel")
        self.cancel_button.setEnabled(False)
        transport.addWidget(self.eta_label)
        transport.addWidget(self.progress)
        transport.addWidget(self.run_button)
        transport.addWidget(self.cancel_button)
        bl.addLayout(transport)
        root.addWidget(bottom)

        self.status_label = QLabel("Ready")
        self.status_label.setObjectName("kinoStatus")
        self.status_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.status_label.setStyleSheet("color: #9a9aa2; padding: 2px 8px; border-top: 1px solid #18181a;")
        root.addWidget(self.status_label)
        self._build_actions()

    def _tbutton(self, icon: Any, tip: str, text: str = "") -> QToolButton:
        b = QToolButton()
        if icon is not None:
            b.setIcon(icon)
        if text:
            b.setText(text)
        b.setToolTip(tip)
        b.setAutoRaise(True)
        return b

    def _action(self, text: str, keys: Any = None, slot: Any = None, tip: str = "", checkable: bool = False,
                toolbar: bool = True) -> QAction:
        a = QAction(text, self)
        if keys:
            seqs = keys if isinstance(keys, list) else [keys]
            a.setShortcuts([QKeySequence(k) for k in seqs])
            a.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            tip = f"{tip or text} ({QKeySequence(seqs[0]).toString()})"
        a.setToolTip(tip or text)
        a.setCheckable(checkable)
        if slot is not None:
            a.triggered.connect(slot)
        self.addAction(a)
        if toolbar:
            self.toolbar.addAction(a)
        return a

    def _build_actions(self) -> None:
        st = self.style()
        self.open_menu = QMenu(self)
        self.act_open = self._action("Open…", QKeySequence.StandardKey.Open, self.open_dialog,
                                     "Open a shot (sequence, folder) or a session file", toolbar=False)
        self.act_open.setIcon(st.standardIcon(QStyle.StandardPixmap.SP_DialogOpenButton))
        self.act_open.setMenu(self.open_menu)
        self.toolbar.addAction(self.act_open)
        self.act_save = self._action("Save", QKeySequence.StandardKey.Save, self.save_action, "Save the session")
        self.act_save.setIcon(st.standardIcon(QStyle.StandardPixmap.SP_DialogSaveButton))
        self.act_save_as = self._action("Save As…", "Ctrl+Shift+S", self.save_as_dialog, toolbar=False)
        self.toolbar.addSeparator()
        self.act_undo = self._action("Undo", QKeySequence.StandardKey.Undo, self.doc.undo.undo)
        self.act_redo = self._action("Redo", ["Ctrl+Shift+Z", "Ctrl+Y"], self.doc.undo.redo)
        self.act_undo.setEnabled(False)
        self.act_redo.setEnabled(False)
        self.doc.undo.canUndoChanged.connect(self.act_undo.setEnabled)
        self.doc.undo.canRedoChanged.connect(self.act_redo.setEnabled)
        self.doc.undo.undoTextChanged.connect(lambda t: self.act_undo.setToolTip(f"Undo {t} (Ctrl+Z)"))
        self.doc.undo.redoTextChanged.connect(lambda t: self.act_redo.setToolTip(f"Redo {t} (Ctrl+Shift+Z)"))
        self.toolbar.addSeparator()
        self.mode_group = QActionGroup(self)
        self.mode_actions: dict[str, QAction] = {}
        for i, mode in enumerate(MODES):
            a = self._action(MODE_LABELS[mode], str(i + 1), lambda _c=False, m=mode: self.set_view_mode(m),
                             f"View: {MODE_LABELS[mode].lower()}", checkable=True)
            self.mode_group.addAction(a)
            self.mode_actions[mode] = a
        self.act_toggle = self._action("A/B", "T", self.toggle_before_after, "Toggle before / after")
        self.act_fit = self._action("Fit", "F", self.viewer.fit, "Fit the frame to the viewer")
        self._action("1:1", "H", lambda: self.viewer.set_zoom(1.0), "Zoom 100%", toolbar=False)
        self._action("Zoom in", ["+", "="], lambda: self.viewer.set_zoom(self.viewer.zoom * 1.25), toolbar=False)
        self._action("Zoom out", "-", lambda: self.viewer.set_zoom(self.viewer.zoom / 1.25), toolbar=False)
        self.toolbar.addSeparator()
        self.act_add_key = self._action("Add Key", "Ctrl+K", self.add_keyframe, "Add a keyframe at this frame")
        self.act_remove_key = self._action("Remove Key", "Ctrl+Shift+K", self.remove_keyframe,
                                           "Remove the keyframe at this frame")
        self.act_points = self._action("Points", "C", None, "Colour points tool: click to add, drag to move, "
                                       "right-click to delete", checkable=True)
        self.act_points.toggled.connect(self._points_tool)
        self.act_reference = self._action("Reference…", None, self.reference_dialog,
                                          "Set the keyframe's colour reference image")
        self.toolbar.addSeparator()
        self.act_preview = self._action("Preview", "P", self.preview, "Colourise this frame at working size")
        self.act_run = self._action("Run", "Ctrl+R", lambda: self.run(), "Run the shot (or the I/O range)",
                                    toolbar=False)
        self.act_cancel = self._action("Cancel run", "Escape", self.cancel_run, toolbar=False)
        self.act_follow = self._action("Follow", None, None, "Jump to each frame as the run finishes it",
                                       checkable=True)
        self.toolbar.addSeparator()
        self.method_combo = QComboBox()
        self.method_combo.setToolTip("Colourisation method")
        self.method_combo.addItems(["model", "histogram", "reinhard", "knn"])
        self.toolbar.addWidget(QLabel(" Method "))
        self.toolbar.addWidget(self.method_combo)
        # transport and navigation (no toolbar buttons: the transport row has them)
        self._action("Play", "L", lambda: self.play(1), toolbar=False)
        self._action("Play backwards", "J", lambda: self.play(-1), toolbar=False)
        self._action("Stop", "K", self.stop, toolbar=False)
        self._action("Play/stop", "Space", self.toggle_play, toolbar=False)
        self._action("Next frame", "Right", lambda: self.step(1), toolbar=False)
        self._action("Previous frame", "Left", lambda: self.step(-1), toolbar=False)
        self._action("Forward 10", "Shift+Right", lambda: self.step(10), toolbar=False)
        self._action("Back 10", "Shift+Left", lambda: self.step(-10), toolbar=False)
        self._action("First frame", "Home", lambda: self.set_frame(self.first), toolbar=False)
        self._action("Last frame", "End", lambda: self.set_frame(self.last), toolbar=False)
        self._action("Previous keyframe", "[", lambda: self.jump_keyframe(-1), toolbar=False)
        self._action("Next keyframe", "]", lambda: self.jump_keyframe(1), toolbar=False)
        self._action("Range in", "I", lambda: self.set_range_end(0), toolbar=False)
        self._action("Range out", "O", lambda: self.set_range_end(1), toolbar=False)
        self._action("Clear range", "Alt+X", self.clear_range, toolbar=False)
        self.run_menu = QMenu(self)
        self.run_menu.addAction("Run whole shot", lambda: self.run(whole=True))
        self.run_menu.addAction("Run range (I/O)", lambda: self.run())
        self.run_menu.addAction("Run current frame", lambda: self.run((self.frame, self.frame)))

    def _connect(self) -> None:
        self.doc.changed.connect(self._on_doc_changed)
        self.doc.keyframesChanged.connect(self._refresh_keyframes)
        self.loader.loaded.connect(self._on_loaded)
        self.loader.failed.connect(self._on_load_failed)
        self.worker.opened.connect(self._on_opened)
        self.worker.openFailed.connect(self._on_open_failed)
        self.worker.autosaved.connect(self._on_autosaved)
        self.worker.autosaveFailed.connect(lambda m: self.show_message("warning", m))
        self.worker.previewed.connect(self._on_previewed)
        self.worker.previewFailed.connect(self._on_preview_failed)
        self.runner.started.connect(self._on_run_started)
        self.runner.frameDone.connect(self._on_run_frame)
        self.runner.warning.connect(lambda m: self.show_message("warning", m))
        self.runner.progress.connect(self._on_run_progress)
        self.runner.finished.connect(self._on_run_finished)
        self.timeline.frameRequested.connect(self.set_frame)
        self.frame_spin.valueChanged.connect(self.set_frame)
        self.viewer.pointAddRequested.connect(lambda x, y: self.add_point(x, y))
        self.viewer.pointMoveRequested.connect(self.move_point)
        self.viewer.pointDeleteRequested.connect(self.delete_point)
        self.viewer.pointSelected.connect(self._select_point)
        self.viewer.modeChanged.connect(self._on_mode_changed)
        self.keyframe_list.frameActivated.connect(self.set_frame)
        self.inspector.setReferenceRequested.connect(self.reference_dialog)
        self.inspector.clearReferenceRequested.connect(self.clear_reference)
        self.inspector.referenceDropped.connect(self.set_reference)
        self.inspector.kindChanged.connect(self._set_kind)
        self.inspector.brushColourRequested.connect(self._pick_brush)
        self.inspector.reference.colourSampled.connect(self._brush_sampled)
        self.inspector.deletePointRequested.connect(self.delete_point)
        self.inspector.pointSelected.connect(self._select_point)
        self.inspector.pointColourRequested.connect(self._pick_point_colour)
        self.settings_form.fieldChanged.connect(self.set_session_field)
        self.method_combo.activated.connect(lambda _i: self.set_session_field("method",
                                                                             self.method_combo.currentText()))
        self.btn_first.clicked.connect(lambda: self.set_frame(self.first))
        self.btn_last.clicked.connect(lambda: self.set_frame(self.last))
        self.btn_prev.clicked.connect(lambda: self.step(-1))
        self.btn_next.clicked.connect(lambda: self.step(1))
        self.btn_play.clicked.connect(lambda: self.play(1))
        self.btn_back.clicked.connect(lambda: self.play(-1))
        self.btn_stop.clicked.connect(self.stop)
        self.run_button.clicked.connect(lambda: self.run())
        self.run_button.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.run_button.customContextMenuRequested.connect(
            lambda pos: self.run_menu.exec(self.run_button.mapToGlobal(pos)))
        self.cancel_button.clicked.connect(self.cancel_run)
        self.open_menu.aboutToShow.connect(self._fill_recent)
        self.play_timer = QTimer(self)
        self.play_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.play_timer.timeout.connect(self._play_tick)
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setSingleShot(True)
        self.autosave_timer.timeout.connect(self.autosave_now)

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

    # ================================================================================================ opening
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

    def _open_folder_dialog(self) -> None:
        dialog = QFileDialog(self, "Open shot folder")
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.fileSelected.connect(self.open_path)
        dialog.open()

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

    # ================================================================================================ frames
    def set_frame(self, frame: int, force: bool = False) -> None:
        if self.shot is None:
            return
        frame = min(self.last, max(self.first, int(frame)))
        if frame == self.frame and not force:
            return
        self.frame = frame
        self._selected_point = -1
        self.timeline.set_current(frame)
        self.frame_spin.blockSignals(True)
        self.frame_spin.setValue(frame)
        self.frame_spin.blockSignals(False)
        self._refresh_keyframes()            # list highlight, Remove Key, inspector, viewer
        self.frameChanged.emit(frame)

    def step(self, n: int) -> None:
        self.stop()
        self.set_frame(self.frame + n)

    def jump_keyframe(self, direction: int) -> None:
        keys = self.doc.keyframe_frames()
        if direction > 0:
            nxt = [k for k in keys if k > self.frame]
            target = nxt[0] if nxt else None
        else:
            prv = [k for k in keys if k < self.frame]
            target = prv[-1] if prv else None
        if target is not None:
            self.stop()
            self.set_frame(target)

    def timecode(self, frame: int) -> str:
        if self.tc_base is not None:
            return timecode_from_frame(self.tc_base + frame - self.first, self.fps)
        return timecode_from_frame(frame - self.first, self.fps)

    def _frame_path(self, frame: int) -> str:
        return self.shot.path(frame)

    def _request_before(self, frame: int) -> DisplayImage | None:
        if self.shot is None or frame in self.missing:
            return None
        return self.loader.request("before", frame, self._frame_path(frame), self.colourspace)

    def _request_after(self, frame: int) -> DisplayImage | None:
        path = self.outputs.get(frame)
        if path is None:
            return None
        return self.loader.request("after", frame, path, self.colourspace)

    def _refresh_view(self) -> None:
        if self.shot is None:
            self.viewer.set_images(None, None, None)
            self.viewer.set_hud([])
            return
        f = self.frame
        before = self._request_before(f)
        if before is not None:
            self._shown_before = before
        elif f not in self.missing and f not in self.errors and self._shown_before is not None:
            # hold the last frame while this one loads (never under a frame that cannot be read: its picture
            # would pass for this frame's)
            before = self._shown_before
        after_img, label = None, "after"
        # A preview is of the session as it is now (previews are dropped on every edit), a result on disk may
        # be of an earlier one: the preview wins until a run writes this frame again.
        if f in self.previews:
            after_img, label = self.previews[f][1], "preview"
        else:
            after = self._request_after(f)
            if after is not None:
                after_img, label = after.image, "result"
        self.viewer.set_images(before.image if before else None, after_img, self.frame_size, label)
        kf = self.doc.keyframe(f)
        tag = "  ◆ keyframe" if kf else ""
        st = theme.STATUS_LABELS.get(self.frame_status.get(f, "none"), "")
        lines = [f"{Path(self.shot.pattern).name}   frame {f}{tag}",
                 f"TC {self.timecode(f)}   {self.fps:g} fps   {st}",
                 f"{self.colourspace} → sRGB display"]
        alert = None
        if f in self.missing:
            alert = f"Frame {f} is missing from the shot"
        elif f in self.errors:
            alert = f"Frame {f} failed: {self.errors[f]}"
        self.viewer.set_hud(lines, alert)
        self.tc_label.setText(self.timecode(f))
        self._refresh_points()
        # prefetch around the playhead
        if self._play_dir:
            for i in range(1, PREFETCH + 1):
                nf = self._wrap(f + i * self._play_dir)
                self._request_before(nf)
                if self.viewer.mode != "before":
                    self._request_after(nf)

    @Slot(str, object, object)
    def _on_loaded(self, kind: str, key: Any, image: DisplayImage) -> None:
        if kind == "reference":
            self._failed_refs.discard(key)
            frame = self._pending_reference.pop(key, None)
            if frame is not None and self.doc.keyframe(frame) is not None:
                self.doc.undo.push(SetKeyframeField(self.doc, frame, "reference", self.doc.stored_path(key),
                                                    f"Set reference of {frame}"))
                self.referenceLoaded.emit(key)
                self.status(f"Reference {os.path.basename(key)} set on keyframe {frame}")
                if self.message_bar.isVisible() and self.message_bar.label.text().startswith("Reference not set"):
                    self.message_bar.hide()                  # that problem is solved now
            self._refresh_inspector()
            return
        if key == self.frame:
            if kind == "before" and image.info.timecode:
                self.tc_label.setText(image.info.timecode)
            self._refresh_view()

    @Slot(str, object, str)
    def _on_load_failed(self, kind: str, key: Any, text: str) -> None:
        if kind == "reference":
            self._failed_refs.add(key)
            frame = self._pending_reference.pop(key, None)
            if frame is not None:
                self.show_message("error", f"Reference not set: cannot load {key}: {text}")
            self._refresh_inspector(error=text)
            return
        if kind == "before":
            self.status_label.setText(f"Frame {key}: {text}")
            self.errors.setdefault(key, text)
            if key == self.frame:
                self.show_message("error", f"Cannot read frame {key}: {text}")
                self._shown_before = None
                self._refresh_view()
        else:
            self.show_message("warning", f"Cannot read the result of frame {key}: {text}")

    # ================================================================================================ playback
    def _wrap(self, frame: int) -> int:
        n = self.last - self.first + 1
        return self.first + (frame - self.first) % n if n > 0 else frame

    def play(self, direction: int = 1) -> None:
        if self.shot is None:
            return
        if self._play_dir == direction:
            self._play_speed = min(4, self._play_speed * 2)     # L L: faster
        else:
            self._play_speed = 1
        self._play_dir = direction
        self.play_timer.start(max(5, round(1000 / (self.fps * self._play_speed))))
        self._refresh_view()

    def stop(self) -> None:
        self._play_dir = 0
        self._play_speed = 1
        self.play_timer.stop()

    def toggle_play(self) -> None:
        if self._play_dir:
            self.stop()
        else:
            self.play(1)

    @property
    def playing(self) -> bool:
        return self._play_dir != 0

    def _play_tick(self) -> None:
        nxt = self._wrap(self.frame + self._play_dir)
        ready = nxt in self.missing or self.loader.cached("before", nxt, self._frame_path(nxt)) is not None
        if not ready:
            self._request_before(nxt)            # stall until the cache has it
            return
        self.set_frame(nxt)

    # ================================================================================================ view
    def set_view_mode(self, mode: str) -> None:
        self.viewer.set_mode(mode)

    def toggle_before_after(self) -> None:
        if self.viewer.mode != "before":
            self._toggle_back = self.viewer.mode
            self.viewer.set_mode("before")
        else:
            self.viewer.set_mode(self._toggle_back if self._toggle_back != "before" else "after")

    def _on_mode_changed(self, mode: str) -> None:
        self.mode_actions[mode].setChecked(True)
        self._refresh_view()

    def _points_tool(self, on: bool) -> None:
        self.viewer.points_tool = on
        if on:
            self.tabs.setCurrentWidget(self.inspector)
            if self.viewer.mode == "after":
                self.viewer.set_mode("before")
        self.status("Points tool: click to add a colour point, drag to move, right-click to delete" if on
                    else "Points tool off")

    def _refresh_points(self) -> None:
        kf = self.doc.keyframe(self.frame)
        marks = [PointMark(p.x, p.y, p.colour, p.radius) for p in kf.points] if kf else []
        self.viewer.set_points(marks, self._selected_point)

    # ================================================================================================ keyframes
    def _require_shot(self) -> bool:
        if self.shot is None or self.doc.session is None:
            self.show_message("warning", "Open a shot first")
            return False
        return True

    def add_keyframe(self) -> None:
        if not self._require_shot():
            return
        if self.doc.keyframe(self.frame) is not None:
            self.status(f"Frame {self.frame} is already a keyframe")
            return
        self.doc.undo.push(AddKeyframe(self.doc, self.frame))
        self.tabs.setCurrentWidget(self.inspector)

    def remove_keyframe(self) -> None:
        if self._require_shot() and self.doc.keyframe(self.frame) is not None:
            self.doc.undo.push(RemoveKeyframe(self.doc, self.frame))

    def reference_dialog(self) -> None:
        if not self._require_shot():
            return
        dialog = QFileDialog(self, f"Colour reference for frame {self.frame}")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setNameFilters([f"Images ({' '.join('*' + s for s in IMAGE_SUFFIXES)})", "All files (*)"])
        dialog.fileSelected.connect(self.set_reference)
        dialog.open()

    def set_reference(self, path: str | os.PathLike[str]) -> None:
        """Assign a colour reference to the keyframe at the current frame (adds the keyframe if needed).

        The image is loaded in the background first; it is only assigned when it loads, otherwise the message
        bar says why and the session is unchanged.
        """
        if not self._require_shot():
            return
        path = os.path.abspath(os.fspath(path))
        if self.doc.keyframe(self.frame) is None:
            self.doc.undo.push(AddKeyframe(self.doc, self.frame))
        for earlier in [p for p, f in self._pending_reference.items() if f == self.frame]:
            del self._pending_reference[earlier]          # the last choice wins, whichever load ends first
        self._pending_reference[path] = self.frame
        self.loader.invalidate("reference", path)
        self.status(f"Loading reference {os.path.basename(path)} …")
        self.loader.request("reference", path, path, "auto", keep_pixels=True)

    def clear_reference(self) -> None:
        if self.doc.keyframe(self.frame) is not None:
            self.doc.undo.push(SetKeyframeField(self.doc, self.frame, "reference", None,
                                                f"Clear reference of {self.frame}"))

    def _set_kind(self, kind: str) -> None:
        kf = self.doc.keyframe(self.frame)
        if kf is not None and kf.kind != kind:
            self.doc.undo.push(SetKeyframeField(self.doc, self.frame, "kind", kind,
                                                f"Reference kind {kind} on {self.frame}"))

    def _reference_image(self, frame: int) -> DisplayImage | None:
        kf = self.doc.keyframe(frame)
        path = self.doc.reference_path(kf) if kf else None
        return self.loader.cached("reference", path) if path else None

    def point_colour_at(self, x: float, y: float) -> tuple[float, float, float]:
        """A new point's colour: sampled from the reference at the same place, or the brush colour."""
        ref = self._reference_image(self.frame)
        if ref is not None and self.inspector.source.currentIndex() == 0 and self.frame_size:
            w, h = self.frame_size
            colour = self.inspector.reference.sample(x / w, y / h, radius=2)
            if colour is not None:
                return colour
        return self.inspector.brush_colour

    def add_point(self, x: float, y: float, colour: tuple[float, float, float] | None = None,
                  radius: float | None = None) -> None:
        """Add a colour point at image pixel (x, y) on the current frame (a keyframe is added if needed)."""
        if not self._require_shot():
            return
        if self.frame_size is not None:
            width, height = self.frame_size
            if not (0 <= x < width and 0 <= y < height):   # every preview and run would refuse it
                self.show_message("error", f"Point ({x:g}, {y:g}) is outside the {width}x{height} frame")
                return
        if colour is None:
            colour = self.point_colour_at(x, y)
        if radius is None:
            radius = max(8.0, (self.frame_size[0] if self.frame_size else 0) / 128)
        point = ColourPoint(x=float(x), y=float(y), colour=tuple(float(c) for c in colour), radius=radius)
        self.doc.undo.beginMacro(f"Add colour point on {self.frame}")
        if self.doc.keyframe(self.frame) is None:
            self.doc.undo.push(AddKeyframe(self.doc, self.frame))
        self.doc.undo.push(AddPoint(self.doc, self.frame, point))
        self.doc.undo.endMacro()
        self._selected_point = len(self.doc.keyframe(self.frame).points) - 1
        self._refresh_inspector()

    def move_point(self, index: int, x: float, y: float) -> None:
        kf = self.doc.keyframe(self.frame)
        if kf is None or not 0 <= index < len(kf.points):
            return
        self.doc.undo.push(ReplacePoint(self.doc, self.frame, index, moved(kf.points[index], x, y),
                                        f"Move colour point on {self.frame}"))

    def set_point_colour(self, index: int, colour: tuple[float, float, float]) -> None:
        kf = self.doc.keyframe(self.frame)
        if kf is None or not 0 <= index < len(kf.points):
            return
        self.doc.undo.push(ReplacePoint(self.doc, self.frame, index, replace(kf.points[index], colour=colour),
                                        f"Recolour point on {self.frame}"))

    def delete_point(self, index: int) -> None:
        kf = self.doc.keyframe(self.frame)
        if kf is None or not 0 <= index < len(kf.points):
            return
        self.doc.undo.push(DeletePoint(self.doc, self.frame, index))
        self._selected_point = -1
        self._refresh_inspector()

    def _select_point(self, index: int) -> None:
        self._selected_point = index
        self._refresh_points()
        self.inspector.points.blockSignals(True)
        self.inspector.points.clearSelection()
        item = self.inspector.points.topLevelItem(index) if index >= 0 else None
        if item is not None:
            item.setSelected(True)
        self.inspector.points.blockSignals(False)

    def _colour_dialog(self, initial: tuple[float, float, float], title: str, on_colour: Any) -> QColorDialog:
        dialog = QColorDialog(QColor.fromRgbF(*initial), self)
        dialog.setWindowTitle(title)
        dialog.colorSelected.connect(lambda c: on_colour((c.redF(), c.greenF(), c.blueF())))
        dialog.open()
        return dialog

    def _pick_brush(self) -> None:
        self._colour_dialog(self.inspector.brush_colour, "Brush colour", self._brush_sampled)

    def _brush_sampled(self, colour: tuple[float, float, float]) -> None:
        self.inspector.set_brush(colour)
        self.inspector.source.setCurrentIndex(1)
        if self._selected_point >= 0:
            self.set_point_colour(self._selected_point, colour)
        self.status(f"Brush colour {hex_colour(colour)}")

    def _pick_point_colour(self, index: int) -> None:
        kf = self.doc.keyframe(self.frame)
        if kf is not None and 0 <= index < len(kf.points):
            self._colour_dialog(kf.points[index].colour, f"Colour of point {index + 1}",
                                lambda c: self.set_point_colour(index, c))

    # ================================================================================================ session
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

    # ================================================================================================ refresh
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

    def _refresh_keyframes(self) -> None:
        if self.doc.session is None:
            self.keyframe_list.set_keyframes([], None)
            self.timeline.set_keyframes([])
            self.inspector.set_keyframe(None, None)
            return
        self.keyframe_list.set_keyframes(self.doc.session.keyframes, self.frame)
        self.timeline.set_keyframes(self.doc.keyframe_frames())
        kf = self.doc.keyframe(self.frame)
        self.act_remove_key.setEnabled(kf is not None)
        self._refresh_inspector()
        if self.shot is not None:
            self._refresh_view()

    def _refresh_inspector(self, error: str | None = None) -> None:
        if self.doc.session is None or self.shot is None:
            self.inspector.set_keyframe(None, None)
            return
        kf = self.doc.keyframe(self.frame)
        if kf is not None and not 0 <= self._selected_point < len(kf.points):
            self._selected_point = -1
        self.inspector.set_keyframe(kf, self.frame, self._selected_point)
        if kf is None:
            return
        path = self.doc.reference_path(kf)
        if path is None:
            self.inspector.reference.set_image(None, "No reference — drop an image here or use Choose…")
            return
        ref = self.loader.cached("reference", path)
        if ref is not None:
            self.inspector.reference.set_image(ref.image)
            self.inspector.ref_label.setText(
                f"{kf.reference}  ·  {ref.info.width}×{ref.info.height}  ·  click to sample a colour")
        elif error is not None or (not self.loader.is_pending("reference", path)
                                   and path in self._failed_refs):
            self.inspector.reference.set_image(None, f"Cannot load reference:\n{error or path}", error=True)
        else:
            self.inspector.reference.set_image(None, "Loading reference…")
            self.loader.request("reference", path, path, "auto", keep_pixels=True)

    # ================================================================================================ preview
    def preview(self) -> None:
        """Colourise the current frame at working size in the background (``previewReady`` when done)."""
        if not self._require_shot():
            return
        settings = self._settings()
        self._preview_generation += 1
        self.status(f"Previewing frame {self.frame} …")
        self.worker.preview(settings, self.frame, self._preview_generation)

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

    # ================================================================================================ run
    def _settings(self, **overrides: Any) -> JobSettings:
        snap = self.doc.snapshot()
        return JobSettings.from_session(snap, **overrides)

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
