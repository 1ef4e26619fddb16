"""Moving through the shot: the current frame, stepping, keyframe jumps, timecode and playback."""

from __future__ import annotations

from .frames import timecode_from_frame


class PlaybackMixin:
    """The playhead: ``set_frame``, stepping, playing forwards and backwards from the frame cache."""

    def set_frame(self, frame: int, force: bool = False) -> None:
        if self.shot is None:
            return
        frame = min(self.last, max(self.first, int(frame)))
        if frame == self.frame and not force:
            return
        self.frame = frame
        self._selected_point = -1
        self.timeline.set_current(frame)
        self.frame_spin.blockSignals(True)
        self.frame_spin.setValue(frame)
        self.frame_spin.blockSignals(False)
        self._refresh_keyframes()            # list highlight, Remove Key, inspector, viewer
        self.frameChanged.emit(frame)

    def step(self, n: int) -> None:
        self.stop()
        self.set_frame(self.frame + n)

    def jump_keyframe(self, direction: int) -> None:
        keys = self.doc.keyframe_frames()
        if direction > 0:
            nxt = [k for k in keys if k > self.frame]
            target = nxt[0] if nxt else None
        else:
            prv = [k for k in keys if k < self.frame]
            target = prv[-1] if prv else None
        if target is not None:
            self.stop()
            self.set_frame(target)

    def timecode(self, frame: int) -> str:
        if self.tc_base is not None:
            return timecode_from_frame(self.tc_base + frame - self.first, self.fps)
        return timecode_from_frame(frame - self.first, self.fps)

    def _wrap(self, frame: int) -> int:
        n = self.last - self.first + 1
        return self.first + (frame - self.first) % n if n > 0 else frame

    def play(self, direction: int = 1) -> None:
        if self.shot is None:
            return
        if self._play_dir == direction:
            self._play_speed = min(4, self._play_speed * 2)     # L L: faster
        else:
            self._play_speed = 1
        self._play_dir = direction
        self.play_timer.start(max(5, round(1000 / (self.fps * self._play_speed))))
        self._refresh_view()

    def stop(self) -> None:
        self._play_dir = 0
        self._play_speed = 1
        self.play_timer.stop()

    def toggle_play(self) -> None:
        if self._play_dir:
            self.stop()
        else:
            self.play(1)

    @property
    def playing(self) -> bool:
        return self._play_dir != 0

    def _play_tick(self) -> None:
        nxt = self._wrap(self.frame + self._play_dir)
        ready = nxt in self.missing or self.loader.cached("before", nxt, self._frame_path(nxt)) is not None
        if not ready:
            self._request_before(nxt)            # stall until the cache has it
            return
        self.set_frame(nxt)
