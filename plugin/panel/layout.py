"""Building the panel's widgets and actions and wiring their signals; the message bar."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
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

from .inspector import KeyframeInspector, KeyframeList, SettingsForm, section
from .timeline import Timeline
from .viewer import MODE_LABELS, MODES, Viewer


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


class PanelLayout:
    """The toolbar, viewer, side column, timeline and transport, the actions and shortcuts, and their wiring."""

    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        self.toolbar = QToolBar("Kinochrome")
        self.toolbar.setObjectName("kinoToolbar")
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        root.addWidget(self.toolbar)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self._build_centre())
        self.splitter.addWidget(self._build_side())
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setSizes([900, 320])
        root.addWidget(self.splitter, 1)
        root.addWidget(self._build_bottom())

        self.status_label = QLabel("Ready")
        self.status_label.setObjectName("kinoStatus")
        self.status_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.status_label.setStyleSheet("color: #9a9aa2; padding: 2px 8px; border-top: 1px solid #18181a;")
        root.addWidget(self.status_label)
        self._build_actions()
        self._build_shortcuts()

    def _build_centre(self) -> QWidget:
        """The message bar over the viewer."""
        self.viewer = Viewer()
        self.message_bar = MessageBar()
        centre = QWidget()
        cl = QVBoxLayout(centre)
        cl.setContentsMargins(4, 4, 0, 0)
        cl.setSpacing(4)
        cl.addWidget(self.message_bar)
        cl.addWidget(self.viewer, 1)
        return centre

    def _build_side(self) -> QWidget:
        """The keyframe list over the keyframe / settings / log tabs."""
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
        return side

    def _build_bottom(self) -> QWidget:
        """The timeline over the transport: playback buttons, frame, timecode, progress, Run and Cancel."""
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
        return bottom

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
        self.act_preview = self._action("Preview", "P", self.preview_current_frame, "Colourise this frame at working size")
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

    def _build_shortcuts(self) -> None:
        """Transport and navigation keys (no toolbar buttons: the transport row has them), and the Run menu."""
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
