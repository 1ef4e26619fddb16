"""The right-hand column: keyframe list, keyframe inspector (reference, colour points) and run settings."""

from __future__ import annotations

import os

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QIcon,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kinochrome.core.session import METHODS, REFERENCE_KINDS, ColourPoint, Keyframe

from . import theme

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".exr", ".dpx", ".bmp", ".webp")


def hex_colour(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(min(1.0, max(0.0, c)) * 255):02x}" for c in rgb)


def swatch_icon(rgb: tuple[float, float, float], size: int = 14) -> QIcon:
    pm = QPixmap(size, size)
    pm.fill(QColor.fromRgbF(*rgb))
    return QIcon(pm)


def section(text: str) -> QLabel:
    label = QLabel(text.upper())
    label.setObjectName("kinoSectionTitle")
    return label


class KeyframeList(QListWidget):
    """One row per keyframe: frame number, reference file name and point count."""

    frameActivated = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("kinoKeyframeList")
        self.setIconSize(QSize(14, 14))
        self.itemClicked.connect(self._clicked)
        self.itemActivated.connect(self._clicked)

    def _clicked(self, item: QListWidgetItem) -> None:
        self.frameActivated.emit(int(item.data(Qt.ItemDataRole.UserRole)))

    def set_keyframes(self, keyframes: list[Keyframe], current: int | None) -> None:
        self.blockSignals(True)
        self.clear()
        for k in keyframes:
            ref = os.path.basename(k.reference) if k.reference else "no reference"
            pts = f"{len(k.points)} point{'s' if len(k.points) != 1 else ''}"
            item = QListWidgetItem(f"◆ {k.frame}    {ref} · {pts}")
            item.setData(Qt.ItemDataRole.UserRole, k.frame)
            item.setForeground(theme.KEYFRAME if k.frame == current else theme.TEXT)
            self.addItem(item)
            if k.frame == current:
                item.setSelected(True)
                self.setCurrentItem(item)
        self.blockSignals(False)


class ReferenceView(QWidget):
    """Shows the keyframe's colour reference; click samples a colour, drop assigns a new reference file."""

    colourSampled = Signal(object)        # (r, g, b) display sRGB 0..1
    fileDropped = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setMinimumHeight(120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.image: QImage | None = None
        self.text = "No reference — drop an image here or use Choose…"
        self.error = False
        self.marker: QPointF | None = None
        self.setCursor(Qt.CursorShape.CrossCursor)

    def sizeHint(self) -> QSize:
        return QSize(260, 150)

    def set_image(self, image: QImage | None, text: str = "", error: bool = False) -> None:
        self.image, self.text, self.error = image, text, error
        self.update()

    def _image_rect(self) -> QRectF:
        if self.image is None:
            return QRectF()
        r = QRectF(self.rect()).adjusted(2, 2, -2, -2)
        s = min(r.width() / self.image.width(), r.height() / self.image.height())
        w, h = self.image.width() * s, self.image.height() * s
        return QRectF(r.center().x() - w / 2, r.center().y() - h / 2, w, h)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(22, 22, 24))
        if self.image is None:
            p.setPen(QColor(230, 120, 120) if self.error else theme.DIM_TEXT)
            p.drawText(QRectF(self.rect()).adjusted(8, 8, -8, -8),
                       Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.text)
            return
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.drawImage(self._image_rect(), self.image)
        if self.marker is not None:
            r = self._image_rect()
            c = QPointF(r.x() + self.marker.x() * r.width(), r.y() + self.marker.y() * r.height())
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            p.setPen(QPen(QColor(0, 0, 0), 3))
            p.drawEllipse(c, 5, 5)
            p.setPen(QPen(QColor(255, 255, 255), 1.5))
            p.drawEllipse(c, 5, 5)

    def sample(self, u: float, v: float, radius: int = 2) -> tuple[float, float, float] | None:
        """Mean display colour around normalised position (u, v) of the reference."""
        if self.image is None:
            return None
        w, h = self.image.width(), self.image.height()
        cx, cy = int(min(w - 1, max(0, u * w))), int(min(h - 1, max(0, v * h)))
        acc = [0.0, 0.0, 0.0]
        n = 0
        for y in range(max(0, cy - radius), min(h, cy + radius + 1)):
            for x in range(max(0, cx - radius), min(w, cx + radius + 1)):
                c = self.image.pixelColor(x, y)
                acc[0] += c.redF()
                acc[1] += c.greenF()
                acc[2] += c.blueF()
                n += 1
        return (acc[0] / n, acc[1] / n, acc[2] / n)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        r = self._image_rect()
        if self.image is None or not r.contains(event.position()):
            return
        u = (event.position().x() - r.x()) / r.width()
        v = (event.position().y() - r.y()) / r.height()
        self.marker = QPointF(u, v)
        self.update()
        colour = self.sample(u, v)
        if colour is not None:
            self.colourSampled.emit(colour)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            self.fileDropped.emit(urls[0].toLocalFile())
            event.acceptProposedAction()


class KeyframeInspector(QWidget):
    """Edits the keyframe at the current frame. Emits requests; the panel turns them into undoable edits."""

    setReferenceRequested = Signal()
    clearReferenceRequested = Signal()
    referenceDropped = Signal(str)
    kindChanged = Signal(str)
    brushColourRequested = Signal()
    deletePointRequested = Signal(int)
    pointSelected = Signal(int)
    pointColourRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.setSpacing(4)
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: bold; font-size: 11pt;")
        lay.addWidget(self.title)

        lay.addWidget(section("Colour reference"))
        self.reference = ReferenceView()
        lay.addWidget(self.reference, 3)
        self.ref_label = QLabel()
        self.ref_label.setStyleSheet("color: #8c8c94;")
        self.ref_label.setWordWrap(True)
        lay.addWidget(self.ref_label)
        row = QHBoxLayout()
        self.set_ref = QPushButton("Choose…")
        self.clear_ref = QPushButton("Clear")
        self.kind = QComboBox()
        self.kind.addItems(list(REFERENCE_KINDS))
        self.kind.setToolTip("painted: the keyframe itself, coloured · exemplar: a similar colour still · "
                             "auto: decided from its content")
        row.addWidget(self.set_ref)
        row.addWidget(self.clear_ref)
        row.addStretch(1)
        row.addWidget(QLabel("Kind"))
        row.addWidget(self.kind)
        lay.addLayout(row)

        lay.addWidget(section("Colour points"))
        row = QHBoxLayout()
        self.brush = QToolButton()
        self.brush.setToolTip("Colour for new points (click to pick; click the reference to sample)")
        self.brush.setFixedSize(QSize(36, 22))
        self.source = QComboBox()
        self.source.addItems(["Sample reference at point", "Brush colour"])
        self.source.setToolTip("Where a new point's colour comes from")
        row.addWidget(QLabel("Brush"))
        row.addWidget(self.brush)
        row.addWidget(self.source, 1)
        lay.addLayout(row)
        self.points = QTreeWidget()
        self.points.setHeaderLabels(["#", "x", "y", "colour"])
        self.points.setRootIsDecorated(False)
        self.points.setIndentation(0)
        header = self.points.header()
        for col in range(3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.points.setMinimumHeight(70)
        lay.addWidget(self.points, 2)
        row = QHBoxLayout()
        self.hint = QLabel("Points tool (C): click the viewer to add · drag to move · right-click to delete")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #8c8c94;")
        self.delete_point = QPushButton("Delete point")
        row.addWidget(self.hint, 1)
        row.addWidget(self.delete_point)
        lay.addLayout(row)

        self.set_ref.clicked.connect(self.setReferenceRequested)
        self.clear_ref.clicked.connect(self.clearReferenceRequested)
        self.reference.fileDropped.connect(self.referenceDropped)
        self.kind.activated.connect(lambda _i: self.kindChanged.emit(self.kind.currentText()))
        self.brush.clicked.connect(self.brushColourRequested)
        self.delete_point.clicked.connect(self._delete_selected)
        self.points.itemSelectionChanged.connect(self._selection)
        self.points.itemDoubleClicked.connect(
            lambda item, _c: self.pointColourRequested.emit(self.points.indexOfTopLevelItem(item)))
        self.set_brush((0.80, 0.45, 0.30))
        self.set_keyframe(None, None)

    def set_brush(self, rgb: tuple[float, float, float]) -> None:
        self.brush_colour = rgb
        self.brush.setStyleSheet(f"background: {hex_colour(rgb)}; border: 1px solid #111; border-radius: 3px;")

    def selected_point(self) -> int:
        items = self.points.selectedItems()
        return self.points.indexOfTopLevelItem(items[0]) if items else -1

    def _selection(self) -> None:
        self.pointSelected.emit(self.selected_point())

    def _delete_selected(self) -> None:
        i = self.selected_point()
        if i >= 0:
            self.deletePointRequested.emit(i)

    def set_keyframe(self, keyframe: Keyframe | None, frame: int | None, selected: int = -1) -> None:
        has = keyframe is not None
        for w in (self.set_ref, self.clear_ref, self.kind, self.points, self.delete_point, self.reference,
                  self.source, self.brush):
            w.setEnabled(has)
        if frame is None:
            self.title.setText("No shot")
        elif keyframe is None:
            self.title.setText(f"Frame {frame} — not a keyframe")
        else:
            self.title.setText(f"◆ Keyframe {frame}")
        self.points.blockSignals(True)
        self.points.clear()
        if keyframe is not None:
            self.kind.setCurrentText(keyframe.kind)
            for i, pt in enumerate(keyframe.points):
                self.points.addTopLevelItem(self._point_item(i, pt))
            if 0 <= selected < len(keyframe.points):
                self.points.topLevelItem(selected).setSelected(True)
            self.clear_ref.setEnabled(keyframe.reference is not None)
            self.ref_label.setText(keyframe.reference or "")
        else:
            self.ref_label.setText("Add a keyframe here (Ctrl+K) to give it colour." if frame is not None else "")
            self.reference.set_image(None, "No keyframe on this frame" if frame is not None else "No shot open")
        self.points.blockSignals(False)

    @staticmethod
    def _point_item(i: int, pt: ColourPoint) -> QTreeWidgetItem:
        item = QTreeWidgetItem([str(i + 1), f"{pt.x:.0f}", f"{pt.y:.0f}", hex_colour(pt.colour)])
        item.setIcon(3, swatch_icon(pt.colour))
        return item


class SettingsForm(QWidget):
    """Run settings stored in the session: method, model, working size, reference strength, reach."""

    fieldChanged = Signal(str, object)      # session field name, value

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        form = QFormLayout(self)
        form.setContentsMargins(8, 8, 8, 8)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.method = QComboBox()
        self.method.addItems(list(METHODS))
        self.model = QLineEdit()
        self.model.setPlaceholderText("default model")
        self.working_size = QSpinBox()
        self.working_size.setRange(64, 4096)
        self.working_size.setSingleStep(32)
        self.working_size.setSuffix(" px")
        self.ref_strength = QDoubleSpinBox()
        self.ref_strength.setRange(0.0, 1.0)
        self.ref_strength.setSingleStep(0.05)
        self.reach = QSpinBox()
        self.reach.setRange(0, 100000)
        self.reach.setSuffix(" frames")
        self.colourspace = QComboBox()
        self.colourspace.setEditable(True)
        self.colourspace.addItems(["auto", "lin_rec709", "ACEScg", "sRGB", "Cineon log"])
        self.colourspace.setToolTip("The shot's encoding (auto: guessed from the files); any name of the OCIO "
                                    "config")
        self.output = QLineEdit()
        self.output.setPlaceholderText("beside the shot, with _kino")
        form.addRow("Method", self.method)
        form.addRow("Model", self.model)
        form.addRow("Working size", self.working_size)
        form.addRow("Reference strength", self.ref_strength)
        form.addRow("Reach", self.reach)
        form.addRow("Colourspace", self.colourspace)
        form.addRow("Output", self.output)
        self.method.activated.connect(lambda _i: self.fieldChanged.emit("method", self.method.currentText()))
        self.model.editingFinished.connect(
            lambda: self.fieldChanged.emit("model", self.model.text().strip() or None))
        self.working_size.editingFinished.connect(
            lambda: self.fieldChanged.emit("working_size", self.working_size.value()))
        self.ref_strength.editingFinished.connect(
            lambda: self.fieldChanged.emit("ref_strength", self.ref_strength.value()))
        self.reach.editingFinished.connect(lambda: self.fieldChanged.emit("reach", self.reach.value()))
        self.colourspace.activated.connect(
            lambda _i: self.fieldChanged.emit("colourspace", self.colourspace.currentText().strip() or "auto"))
        self.output.editingFinished.connect(
            lambda: self.fieldChanged.emit("output", self.output.text().strip() or None))

    def load(self, session) -> None:
        widgets = (self.method, self.model, self.working_size, self.ref_strength, self.reach, self.colourspace,
                   self.output)
        for w in widgets:
            w.blockSignals(True)
        self.method.setCurrentText(session.method)
        self.model.setText(session.model or "")
        self.working_size.setValue(session.working_size)
        self.ref_strength.setValue(session.ref_strength)
        self.reach.setValue(session.reach)
        self.colourspace.setCurrentText(session.colourspace)
        self.output.setText(session.output or "")
        for w in widgets:
            w.blockSignals(False)
