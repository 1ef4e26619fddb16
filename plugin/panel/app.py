"""The standalone panel application (``kinochrome panel``)."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from .theme import apply_dark_theme
from .window import KinochromePanel
from .workers import warm_up


def main(argv: list[str] | None = None) -> int:
    """Open the panel in its own window (optionally with a shot or session) and run the event loop."""
    argv = list(sys.argv[1:] if argv is None else argv)
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "kinochrome"])
    app.setApplicationName("Kinochrome")
    app.setOrganizationName("Kinochrome")
    apply_dark_theme(app)
    warm_up()        # import torch & co. before the window shows: no GIL pause later
    panel = KinochromePanel()
    panel.resize(1480, 900)
    panel.show()
    if argv:
        panel.open_path(argv[0])
    return int(app.exec())
