"""The timeline scrubber: per-frame status colours, keyframe markers, the run range and the playhead."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from . import theme


class Timeline(QWidget):
    """Frames ``first..last``; click or drag to scrub. Status per frame: see :data:`theme.STATUS_COLOURS`."""

    frameRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("kinoTimeline")
        self.setMinimumHeight(46)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMouseTracking(True)
        self.first, self.last = 1, 1
        self.current = 1
        self.status: dict[int, str] = {}
        self.messages: dict[int, str] = {}
        self.keyframes: list[int] = []
        self.range: tuple[int, int] | None = None
        self.enabled_shot = False

    def sizeHint(self) -> QSize:
        return QSize(600, 50)

    def set_shot(self, first: int, last: int) -> None:
        self.first, self.last = first, max(first, last)
        self.current = first
        self.status.clear()
        self.messages.clear()
        self.enabled_shot = True
        self.update()

    def clear_shot(self) -> None:
        self.enabled_shot = False
        self.status.clear()
        self.update()

    def set_current(self, frame: int) -> None:
        self.current = frame
        self.update()

    def set_status(self, frame: int, status: str, message: str | None = None) -> None:
        self.status[frame] = status
        if message:
            self.messages[frame] = message
        else:
            self.messages.pop(frame, None)
        self.update()

    def set_keyframes(self, frames: list[int]) -> None:
        self.keyframes = list(frames)
        self.update()

    def set_range(self, frames: tuple[int, int] | None) -> None:
        self.range = frames
        self.update()

    # -- geometry ----------------------------------------------------------------------------------------------
    def _track(self) -> QRectF:
        return QRectF(8, 16, max(1, self.width() - 16), self.height() - 24)

    def _x(self, frame: float) -> float:
        t = self._track()
        n = self.last - self.first + 1
        return t.x() + (frame - self.first) / n * t.width()

    def frame_at(self, x: float) -> int:
        t = self._track()
        n = self.last - self.first + 1
        f = self.first + int((x - t.x()) / max(1.0, t.width()) * n)
        return min(self.last, max(self.first, f))

    # -- painting ----------------------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), theme.BASE)
        t = self._track()
        if not self.enabled_shot:
            p.fillRect(t, theme.STATUS_COLOURS["none"].darker(130))
            return
        n = self.last - self.first + 1
        fw = t.width() / n
        # status cells
        for i in range(n):
            f = self.first + i
            colour = theme.STATUS_COLOURS.get(self.status.get(f, "none"), theme.STATUS_COLOURS["none"])
            x0 = t.x() + i * fw
            p.fillRect(QRectF(x0, t.y() + 6, max(1.0, fw - (1 if fw > 4 else 0)), t.height() - 6), colour)
        # run range
        if self.range:
            a, b = self._x(self.range[0]), self._x(self.range[1] + 1)
            p.fillRect(QRectF(a, t.y(), b - a, 4), QColor(86, 140, 230))
        # ticks and frame labels
        p.setPen(theme.DIM_TEXT)
        f = p.font()
        f.setPointSizeF(max(6.5, f.pointSizeF() * 0.8))
        p.setFont(f)
        step = self._label_step(fw)
        start = self.first - (self.first % step) + (step if self.first % step else 0)
        for fr in range(start, self.last + 1, step):
            x = self._x(fr + 0.5)
            p.drawText(QRectF(x - 30, 0, 60, 14), Qt.AlignmentFlag.AlignCenter, str(fr))
        # keyframe markers
        p.setPen(QPen(QColor(0, 0, 0, 200), 1))
        p.setBrush(theme.KEYFRAME)
        for k in self.keyframes:
            if self.first <= k <= self.last:
                x, y = self._x(k + 0.5), t.y() + 6 + (t.height() - 6) / 2
                s = 5.5
                p.drawPolygon(QPolygonF([QPointF(x, y - s), QPointF(x + s, y), QPointF(x, y + s),
                                         QPointF(x - s, y)]))
        # playhead
        x0, x1 = self._x(self.current), self._x(self.current + 1)
        p.setPen(QPen(theme.ACCENT, 2))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(QRectF(x0, t.y() + 5, max(2.0, x1 - x0), t.height() - 5))
        p.fillRect(QRectF((x0 + x1) / 2 - 1, 12, 2, 6), theme.ACCENT)

    @staticmethod
    def _label_step(fw: float) -> int:
        for step in (1, 2, 5, 10, 20, 25, 50, 100, 250, 500, 1000):
            if step * fw >= 40:
                return step
        return 5000

    # -- interaction -------------------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self.enabled_shot and event.button() == Qt.MouseButton.LeftButton:
            self.frameRequested.emit(self.frame_at(event.position().x()))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if not self.enabled_shot:
            return
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.frameRequested.emit(self.frame_at(event.position().x()))
            return
        f = self.frame_at(event.position().x())
        status = theme.STATUS_LABELS.get(self.status.get(f, "none"), "")
        text = f"{f}: {status}"
        if f in self.keyframes:
            text += " · keyframe"
        if f in self.messages:
            text += f"\n{self.messages[f]}"
        QToolTip.showText(event.globalPosition().toPoint(), text, self)
