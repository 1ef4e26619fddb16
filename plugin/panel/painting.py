"""How the viewer paints: the frame before and after (alone, wiped or side by side), colour points, overlay.

``ViewerPainting`` is :class:`~kinochrome.plugin.panel.viewer.Viewer`'s ``paintEvent``; it only reads the
viewer's state (images, mode, zoom, wipe, points, overlay lines) and its geometry helpers.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPaintEvent, QPen

from . import theme


class ViewerPainting:
    """The viewer's painting, one method per layer."""

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
