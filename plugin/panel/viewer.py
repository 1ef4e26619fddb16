"""The image viewer: before/after wipe, side by side, toggle; zoom, pan and fit; colour points overlay.

Coordinates: "image" coordinates are pixels of the full-resolution frame (origin top-left), the same space as
:class:`~kinochrome.core.session.ColourPoint`. The before and after images are each drawn into the frame's
rectangle whatever their own resolution, so a working-size preview wipes cleanly against the full-size scan.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from . import theme

MODES = ("before", "after", "wipe", "side")
MODE_LABELS = {"before": "Before", "after": "After", "wipe": "Wipe", "side": "Side by side"}


@dataclass
class PointMark:
    x: float
    y: float
    colour: tuple[float, float, float]
    radius: float


class Viewer(QWidget):
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

    # -- painting ----------------------------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:
        if self.fit_mode:
            self.fit()
        super().resizeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), theme.BACKGROUND)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.zoom < 2.0)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        if self.frame_size is None:
            self._paint_empty(p)
            return
        r = self.content_rect()
        p.fillRect(r.adjusted(-1, -1, 1, 1), QColor(0, 0, 0))
        if self.mode == "before":
            self._draw(p, self.before, r, "before")
        elif self.mode == "after":
            self._draw(p, self.after, r, self.after_label)
        elif self.mode == "side":
            r2 = self.content_rect(1)
            p.fillRect(r2.adjusted(-1, -1, 1, 1), QColor(0, 0, 0))
            self._draw(p, self.before, r, "before")
            self._draw(p, self.after, r2, self.after_label)
            self._label(p, r, "BEFORE", left=True)
            self._label(p, r2, self.after_label.upper(), left=True)
        else:
            self._paint_wipe(p, r)
        if self.points_visible:
            self._paint_points(p)
        self._paint_hud(p)

    def _paint_empty(self, p: QPainter) -> None:
        c = self.rect().center()
        title = QFont(self.font())
        title.setPointSizeF(title.pointSizeF() * 2.2)
        title.setBold(True)
        p.setFont(title)
        p.setPen(QColor(120, 120, 128))
        p.drawText(QRectF(0, c.y() - 70, self.width(), 40), Qt.AlignmentFlag.AlignCenter, "Kinochrome")
        p.setFont(self.font())
        p.setPen(theme.DIM_TEXT)
        p.drawText(QRectF(0, c.y() - 24, self.width(), 60), Qt.AlignmentFlag.AlignHCenter, self.placeholder)
        half = max(p.fontMetrics().horizontalAdvance(line) for line in self.placeholder.split("\n")) / 2 + 40
        box = QRectF(c.x() - half, c.y() - 90, 2 * half, 150)
        p.setPen(QPen(QColor(70, 70, 76), 1.5, Qt.PenStyle.DashLine))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRoundedRect(box, 10, 10)

    def _draw(self, p: QPainter, image: QImage | None, r: QRectF, what: str,
              visible: QRectF | None = None) -> None:
        if image is None:
            p.fillRect(r, QColor(30, 30, 33))
            p.setPen(theme.DIM_TEXT)
            text = "no result yet\nPreview (P) or Run" if what != "before" else "loading…"
            p.drawText(visible if visible is not None else r,
                       Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)
            return
        p.drawImage(r, image, QRectF(0, 0, image.width(), image.height()))

    def _paint_wipe(self, p: QPainter, r: QRectF) -> None:
        x = self._wipe_x()
        p.save()
        left = QRectF(r.x(), r.y(), max(0.0, x - r.x()), r.height())
        p.setClipRect(left)
        self._draw(p, self.before, r, "before", left)
        p.restore()
        p.save()
        right = QRectF(x, r.y(), max(0.0, r.right() - x), r.height())
        p.setClipRect(right)
        self._draw(p, self.after, r, self.after_label, right)
        p.restore()
        pen = QPen(QColor(255, 255, 255, 220), 1.5)
        p.setPen(pen)
        p.drawLine(QPointF(x, r.top()), QPointF(x, r.bottom()))
        # handle
        cy = r.center().y()
        p.setBrush(QColor(30, 30, 33, 230))
        p.drawEllipse(QPointF(x, cy), 9, 9)
        p.setPen(QPen(QColor(255, 255, 255), 1.4))
        p.drawLine(QPointF(x - 4, cy), QPointF(x - 1.5, cy - 3))
        p.drawLine(QPointF(x - 4, cy), QPointF(x - 1.5, cy + 3))
        p.drawLine(QPointF(x + 4, cy), QPointF(x + 1.5, cy - 3))
        p.drawLine(QPointF(x + 4, cy), QPointF(x + 1.5, cy + 3))
        self._label(p, QRectF(r.x(), r.y(), x - r.x(), r.height()), "BEFORE", left=True)
        self._label(p, QRectF(x, r.y(), r.right() - x, r.height()), self.after_label.upper(), left=False)

    def _label(self, p: QPainter, r: QRectF, text: str, left: bool) -> None:
        if r.width() < 60:
            return
        f = QFont(self.font())
        f.setPointSizeF(max(7.0, f.pointSizeF() * 0.85))
        f.setBold(True)
        p.setFont(f)
        w = p.fontMetrics().horizontalAdvance(text) + 12
        box = QRectF(r.x() + 8 if left else r.right() - w - 8, r.bottom() - 26, w, 18)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 150))
        p.drawRoundedRect(box, 3, 3)
        p.setPen(QColor(235, 235, 235))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_points(self, p: QPainter) -> None:
        for which in ((0, 1) if self.mode == "side" else (0,)):
            for i, pt in enumerate(self.points):
                c = self.image_to_widget(pt.x, pt.y, which)
                if i == self.selected_point and self._drag == "point" and self._drag_point is not None:
                    c = self.image_to_widget(self._drag_point.x(), self._drag_point.y(), which)
                rad = max(5.0, pt.radius * self.zoom)
                colour = QColor.fromRgbF(*pt.colour)
                p.setBrush(colour)
                p.setPen(QPen(QColor(0, 0, 0, 200), 3.0))
                p.drawEllipse(c, rad, rad)
                sel = i == self.selected_point
                p.setPen(QPen(theme.ACCENT if sel else QColor(255, 255, 255), 2.0 if sel else 1.4))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawEllipse(c, rad, rad)
                if sel:
                    p.drawEllipse(c, rad + 4, rad + 4)
                label = QPointF(c.x() + rad * 0.75 + 3, c.y() - rad * 0.75 - 3)
                p.setPen(QColor(0, 0, 0, 200))
                p.drawText(label + QPointF(1, 1), str(i + 1))
                p.setPen(theme.ACCENT if sel else QColor(255, 255, 255))
                p.drawText(label, str(i + 1))

    def _paint_hud(self, p: QPainter) -> None:
        if not self.hud_lines and not self.hud_alert:
            return
        f = QFont(self.font())
        f.setFamily("monospace")
        f.setStyleHint(QFont.StyleHint.Monospace)
        p.setFont(f)
        fm = p.fontMetrics()
        line_h = fm.height() + 2
        lines = list(self.hud_lines)
        width = max((fm.horizontalAdvance(s) for s in lines), default=0) + 16
        if lines:
            box = QRectF(8, 8, width, line_h * len(lines) + 8)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(0, 0, 0, 140))
            p.drawRoundedRect(box, 4, 4)
            p.setPen(QColor(225, 225, 228))
            for i, s in enumerate(lines):
                p.drawText(QPointF(16, 8 + 4 + fm.ascent() + i * line_h), s)
        if self.hud_alert:
            text = self.hud_alert
            w = min(self.width() - 16, fm.horizontalAdvance(text) + 16)
            box = QRectF(8, self.height() - line_h - 16, w, line_h + 8)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(150, 40, 40, 210))
            p.drawRoundedRect(box, 4, 4)
            p.setPen(QColor(255, 235, 235))
            p.drawText(box.adjusted(8, 0, -8, 0), Qt.AlignmentFlag.AlignVCenter,
                       fm.elidedText(text, Qt.TextElideMode.ElideRight, int(w - 16)))

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
