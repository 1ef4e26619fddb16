"""The image viewer: before/after wipe, side by side, toggle; zoom, pan and fit; colour points overlay.

Coordinates: "image" coordinates are pixels of the full-resolution frame (origin top-left), the same space as
:class:`~kinochrome.core.session.ColourPoint`. The before and after images are each drawn into the frame's
rectangle whatever their own resolution, so a working-size preview wipes cleanly against the full-size scan.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QImage,
    QKeyEvent,
    QMouseEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from .painting import ViewerPainting

MODES = ("before", "after", "wipe", "side")
MODE_LABELS = {"before": "Before", "after": "After", "wipe": "Wipe", "side": "Side by side"}


@dataclass
class PointMark:
    x: float
    y: float
    colour: tuple[float, float, float]
    radius: float


class Viewer(ViewerPainting, QWidget):
    """Custom-painted viewer. It never reads files: the panel hands it ``QImage``s."""

    pointAddRequested = Signal(float, float)
    pointMoveRequested = Signal(int, float, float)
    pointDeleteRequested = Signal(int)
    pointSelected = Signal(int)
    modeChanged = Signal(str)
    zoomChanged = Signal(float)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("kinoViewer")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 200)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.before: QImage | None = None
        self.after: QImage | None = None
        self.after_label = "after"
        self.frame_size: tuple[int, int] | None = None
        self.mode = "wipe"
        self.wipe = 0.5                      # divider position, fraction of the frame width
        self.zoom = 1.0
        self.center = QPointF(0, 0)          # image point shown at the widget centre
        self.fit_mode = True
        self.hud_lines: list[str] = []
        self.hud_alert: str | None = None
        self.placeholder = ("Open a shot (Ctrl+O) or drop it here:\n"
                            "an EXR/DPX sequence, a frame, a folder, or a .kinochrome.json session")
        self.points: list[PointMark] = []
        self.points_visible = True
        self.points_tool = False
        self.selected_point = -1
        self._drag: str | None = None        # "wipe" | "pan" | "point"
        self._drag_origin = QPointF()
        self._drag_center = QPointF()
        self._drag_point: QPointF | None = None

    # -- content -----------------------------------------------------------------------------------------------
    def set_images(self, before: QImage | None, after: QImage | None,
                   frame_size: tuple[int, int] | None = None, after_label: str = "after") -> None:
        size = frame_size or (
            (before.width(), before.height()) if before is not None
            else (after.width(), after.height()) if after is not None else None)
        changed_size = size != self.frame_size
        self.before, self.after, self.frame_size, self.after_label = before, after, size, after_label
        if changed_size and self.fit_mode:
            self.fit()
        self.update()

    def set_hud(self, lines: list[str], alert: str | None = None) -> None:
        self.hud_lines, self.hud_alert = lines, alert
        self.update()

    def set_points(self, points: list[PointMark], selected: int = -1) -> None:
        self.points = points
        self.selected_point = selected if 0 <= selected < len(points) else -1
        self.update()

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"viewer mode: expected one of {', '.join(MODES)}, got {mode!r}")
        if mode != self.mode:
            self.mode = mode
            if self.fit_mode:
                self.fit()
            self.update()
            self.modeChanged.emit(mode)

    def toggle_before_after(self) -> None:
        self.set_mode("before" if self.mode != "before" else "after")

    # -- geometry ----------------------------------------------------------------------------------------------
    def _content_size(self) -> tuple[float, float]:
        w, h = self.frame_size or (16, 9)
        return (2 * w + self._gap(), h) if self.mode == "side" else (w, h)

    def _gap(self) -> float:
        return (self.frame_size[0] if self.frame_size else 16) * 0.02

    def fit(self) -> None:
        cw, ch = self._content_size()
        margin, top = 16, 64                  # room above the frame for the info overlay
        avail_w, avail_h = max(1, self.width() - 2 * margin), max(1, self.height() - top - margin)
        self.zoom = max(0.01, min(avail_w / cw, avail_h / ch))
        self.center = QPointF(cw / 2, ch / 2 - (top - margin) / 2 / self.zoom)
        self.fit_mode = True
        self.update()
        self.zoomChanged.emit(self.zoom)

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        zoom = max(0.02, min(64.0, zoom))
        if anchor is not None:
            before = self.widget_to_content(anchor)
            self.zoom = zoom
            after = self.widget_to_content(anchor)
            self.center += before - after
        else:
            self.zoom = zoom
        self.fit_mode = False
        self.update()
        self.zoomChanged.emit(self.zoom)

    def _origin(self) -> QPointF:
        """Widget position of content point (0, 0)."""
        return QPointF(self.width() / 2 - self.center.x() * self.zoom,
                       self.height() / 2 - self.center.y() * self.zoom)

    def widget_to_content(self, p: QPointF) -> QPointF:
        o = self._origin()
        return QPointF((p.x() - o.x()) / self.zoom, (p.y() - o.y()) / self.zoom)

    def content_rect(self, which: int = 0) -> QRectF:
        """Widget rectangle of the frame (``which`` = 1: the right-hand frame of side by side)."""
        w, h = self.frame_size or (16, 9)
        o = self._origin()
        x = (w + self._gap()) * which
        return QRectF(o.x() + x * self.zoom, o.y(), w * self.zoom, h * self.zoom)

    def widget_to_image(self, p: QPointF) -> QPointF:
        """Widget point -> image pixel coordinates of the frame (either half in side by side)."""
        c = self.widget_to_content(p)
        if self.mode == "side" and self.frame_size and c.x() > self.frame_size[0]:
            c = QPointF(c.x() - self.frame_size[0] - self._gap(), c.y())
        return c

    def image_to_widget(self, x: float, y: float, which: int = 0) -> QPointF:
        r = self.content_rect(which)
        return QPointF(r.x() + x * self.zoom, r.y() + y * self.zoom)

    def _wipe_x(self) -> float:
        r = self.content_rect()
        return r.x() + self.wipe * r.width()

    def point_at(self, pos: QPointF) -> int:
        best, best_d = -1, 1e9
        for which in ((0, 1) if self.mode == "side" else (0,)):
            for i, pt in enumerate(self.points):
                c = self.image_to_widget(pt.x, pt.y, which)
                d = (c - pos).manhattanLength()
                if d < max(10.0, pt.radius * self.zoom + 4) and d < best_d:
                    best, best_d = i, d
        return best

    def resizeEvent(self, event) -> None:
        if self.fit_mode:
            self.fit()
        super().resizeEvent(event)

    # -- interaction -------------------------------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.set_zoom(self.zoom * (1.25 ** steps), event.position())
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        self._drag_origin = pos
        self._drag_center = QPointF(self.center)
        if event.button() == Qt.MouseButton.MiddleButton or (
                event.button() == Qt.MouseButton.LeftButton
                and event.modifiers() & Qt.KeyboardModifier.AltModifier):
            self._drag = "pan"
            return
        if self.frame_size is None:
            return
        if event.button() == Qt.MouseButton.RightButton and self.points_visible:
            i = self.point_at(pos)
            if i >= 0:
                self.pointDeleteRequested.emit(i)
            return
        if event.button() != Qt.MouseButton.LeftButton:
            return
        if self.mode == "wipe" and abs(pos.x() - self._wipe_x()) < 8:
            self._drag = "wipe"
            return
        if self.points_tool and self.points_visible:
            i = self.point_at(pos)
            if i >= 0:
                self.selected_point = i
                self.pointSelected.emit(i)
                self._drag = "point"
                self._drag_point = None
                self.update()
                return
            img = self.widget_to_image(pos)
            w, h = self.frame_size
            if 0 <= img.x() < w and 0 <= img.y() < h:
                self.pointAddRequested.emit(img.x(), img.y())
            return
        if self.mode == "wipe":
            self._drag = "wipe"
            self._set_wipe_from(pos)
            return
        self._drag = "pan"

    def _set_wipe_from(self, pos: QPointF) -> None:
        r = self.content_rect()
        if r.width() > 0:
            self.wipe = min(1.0, max(0.0, (pos.x() - r.x()) / r.width()))
            self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self._drag == "pan":
            delta = (pos - self._drag_origin) / self.zoom
            self.center = self._drag_center - delta
            self.fit_mode = False
            self.update()
        elif self._drag == "wipe":
            self._set_wipe_from(pos)
        elif self._drag == "point":
            self._drag_point = self.widget_to_image(pos)
            self.update()
        else:
            near_wipe = self.mode == "wipe" and self.frame_size and abs(pos.x() - self._wipe_x()) < 8
            if near_wipe:
                self.setCursor(Qt.CursorShape.SplitHCursor)
            elif self.points_tool:
                self.setCursor(Qt.CursorShape.CrossCursor)
            else:
                self.unsetCursor()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag == "point" and self._drag_point is not None and self.frame_size:
            w, h = self.frame_size
            x = min(max(self._drag_point.x(), 0.0), w - 1.0)
            y = min(max(self._drag_point.y(), 0.0), h - 1.0)
            self.pointMoveRequested.emit(self.selected_point, x, y)
        self._drag = None
        self._drag_point = None
        self.update()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if not self.points_tool:
            self.fit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.selected_point >= 0:
            self.pointDeleteRequested.emit(self.selected_point)
            event.accept()
            return
        super().keyPressEvent(event)
