"""Keyframe editing: keyframes, their colour references and kinds, colour points, brush colour, the inspector."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QColorDialog, QFileDialog

from kinochrome.core.session import ColourPoint

from .document import (
    AddKeyframe,
    AddPoint,
    DeletePoint,
    RemoveKeyframe,
    ReplacePoint,
    SetKeyframeField,
    moved,
)
from .frames import DisplayImage
from .inspector import IMAGE_SUFFIXES, hex_colour


class KeyframeEditingMixin:
    """Undoable keyframe edits (``add_keyframe``, ``set_reference``, ``add_point``, ...) and the inspector."""

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

    def _on_reference_loaded(self, path: str) -> None:
        """A reference image loaded: assign it to the keyframe that asked for it (``set_reference``)."""
        self._failed_refs.discard(path)
        frame = self._pending_reference.pop(path, None)
        if frame is not None and self.doc.keyframe(frame) is not None:
            self.doc.undo.push(SetKeyframeField(self.doc, frame, "reference", self.doc.stored_path(path),
                                                f"Set reference of {frame}"))
            self.referenceLoaded.emit(path)
            self.status(f"Reference {os.path.basename(path)} set on keyframe {frame}")
            if self.message_bar.isVisible() and self.message_bar.label.text().startswith("Reference not set"):
                self.message_bar.hide()                  # that problem is solved now
        self._refresh_inspector()

    def _on_reference_failed(self, path: str, text: str) -> None:
        """A reference image failed to load: it is not assigned, and the message bar says why."""
        self._failed_refs.add(path)
        frame = self._pending_reference.pop(path, None)
        if frame is not None:
            self.show_message("error", f"Reference not set: cannot load {path}: {text}")
        self._refresh_inspector(error=text)

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

    def _points_tool(self, on: bool) -> None:
        self.viewer.points_tool = on
        if on:
            self.tabs.setCurrentWidget(self.inspector)
            if self.viewer.mode == "after":
                self.viewer.set_mode("before")
        self.status("Points tool: click to add a colour point, drag to move, right-click to delete" if on
                    else "Points tool off")

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
