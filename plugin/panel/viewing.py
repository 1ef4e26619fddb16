"""What the viewer shows: the frame before and after (preview or result), its overlay, the view modes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Slot

from . import theme
from .frames import DisplayImage
from .viewer import PointMark

PREFETCH = 8                                    # frames read ahead of the playhead while playing


class ViewingMixin:
    """Puts the current frame's pictures and overlay in the viewer and takes in frames the loader read."""

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
            self._on_reference_loaded(key)
            return
        if key == self.frame:
            if kind == "before" and image.info.timecode:
                self.tc_label.setText(image.info.timecode)
            self._refresh_view()

    @Slot(str, object, str)
    def _on_load_failed(self, kind: str, key: Any, text: str) -> None:
        if kind == "reference":
            self._on_reference_failed(key, text)
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

    def _refresh_points(self) -> None:
        kf = self.doc.keyframe(self.frame)
        marks = [PointMark(p.x, p.y, p.colour, p.radius) for p in kf.points] if kf else []
        self.viewer.set_points(marks, self._selected_point)
