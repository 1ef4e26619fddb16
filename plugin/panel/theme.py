"""The panel's dark look: Fusion style, a dark palette and a small style sheet.

``apply_dark_theme(app)`` is for the standalone application only; inside Nuke or Resolve the host owns the
application style and the panel only sets its own style sheet (:data:`PANEL_QSS`) on itself.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

#: Colours shared by the custom-painted widgets (viewer, timeline).
BACKGROUND = QColor(24, 24, 26)
BASE = QColor(34, 35, 38)
WINDOW = QColor(44, 45, 49)
TEXT = QColor(214, 214, 218)
DIM_TEXT = QColor(140, 140, 148)
ACCENT = QColor(232, 146, 52)         # playhead, selection: warm orange, neutral for colour judgement
KEYFRAME = QColor(247, 203, 77)
STATUS_COLOURS = {
    "none": QColor(58, 59, 64),        # not run
    "queued": QColor(70, 78, 96),
    "running": QColor(86, 140, 230),
    "done": QColor(84, 176, 104),
    "kept": QColor(64, 146, 140),
    "ondisk": QColor(60, 120, 80),     # a result from an earlier run
    "skipped": QColor(196, 160, 60),
    "failed": QColor(214, 72, 72),
    "missing": QColor(110, 40, 40),
}
STATUS_LABELS = {
    "none": "not run", "queued": "queued", "running": "running", "done": "done", "kept": "kept (on disk)",
    "ondisk": "result on disk (earlier run)",
    "skipped": "skipped", "failed": "failed", "missing": "missing frame",
}

PANEL_QSS = """
QToolBar#kinoToolbar { spacing: 3px; padding: 2px 4px; border: none; border-bottom: 1px solid #18181a; }
QToolBar#kinoToolbar QToolButton { padding: 3px 7px; border-radius: 3px; }
QToolBar#kinoToolbar QToolButton:checked { background: #5a3c1c; color: #ffd8a8; }
QToolBar#kinoToolbar QToolButton:hover { background: #3a3b40; }
QLabel#kinoSectionTitle { color: #9a9aa2; font-weight: bold; padding: 6px 2px 2px 2px; }
QFrame#kinoMessageBar { border-radius: 3px; padding: 2px; }
QFrame#kinoMessageBar[level="error"] { background: #5a1f22; border: 1px solid #9c3a3e; }
QFrame#kinoMessageBar[level="warning"] { background: #554417; border: 1px solid #9a7a2a; }
QFrame#kinoMessageBar[level="info"] { background: #1f3a57; border: 1px solid #33608f; }
QLabel#kinoHud { color: #d6d6da; }
QListWidget, QPlainTextEdit, QTreeWidget { background: #1c1c1f; border: 1px solid #141416; }
QListWidget::item:selected { background: #5a3c1c; color: #ffe2c0; }
QProgressBar { border: 1px solid #141416; border-radius: 2px; background: #1c1c1f; text-align: center;
               height: 14px; }
QProgressBar::chunk { background: #3f7fd6; }
QPushButton#kinoRun { background: #2f6a3a; font-weight: bold; padding: 3px 12px; }
QPushButton#kinoRun:disabled { background: #2c3a2f; color: #6f7f72; }
QPushButton#kinoCancel { background: #6a2f2f; padding: 3px 10px; }
QPushButton#kinoCancel:disabled { background: #3a2c2c; color: #7f6f6f; }
"""


def dark_palette() -> QPalette:
    p = QPalette()
    p.setColor(QPalette.ColorRole.Window, WINDOW)
    p.setColor(QPalette.ColorRole.WindowText, TEXT)
    p.setColor(QPalette.ColorRole.Base, BASE)
    p.setColor(QPalette.ColorRole.AlternateBase, WINDOW)
    p.setColor(QPalette.ColorRole.ToolTipBase, QColor(30, 30, 32))
    p.setColor(QPalette.ColorRole.ToolTipText, TEXT)
    p.setColor(QPalette.ColorRole.PlaceholderText, DIM_TEXT)
    p.setColor(QPalette.ColorRole.Text, TEXT)
    p.setColor(QPalette.ColorRole.Button, QColor(52, 53, 58))
    p.setColor(QPalette.ColorRole.ButtonText, TEXT)
    p.setColor(QPalette.ColorRole.BrightText, QColor(255, 90, 90))
    p.setColor(QPalette.ColorRole.Link, QColor(110, 160, 240))
    p.setColor(QPalette.ColorRole.Highlight, QColor(150, 92, 36))
    p.setColor(QPalette.ColorRole.HighlightedText, QColor(255, 240, 225))
    p.setColor(QPalette.ColorRole.Light, QColor(70, 70, 76))
    p.setColor(QPalette.ColorRole.Midlight, QColor(60, 60, 66))
    p.setColor(QPalette.ColorRole.Mid, QColor(40, 40, 44))
    p.setColor(QPalette.ColorRole.Dark, QColor(20, 20, 22))
    p.setColor(QPalette.ColorRole.Shadow, QColor(0, 0, 0))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(100, 100, 106))
    return p


def apply_dark_theme(app: QApplication) -> None:
    """Fusion style and the dark palette for the whole (standalone) application."""
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
