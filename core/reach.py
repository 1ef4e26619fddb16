"""Which frames each keyframe of a shot reaches: the L* reads of propagation, scene cuts near the keyframes,
and the warnings for frames no keyframe reaches.

A keyframe reaches at most ``reach`` frames either way and never across a scene cut
(:func:`kinochrome.core.cuts.is_cut`). :class:`KeyframeReach` owns what the propagation passes
(:class:`kinochrome.core.propagate.Propagator`) and the cut scan both read: ``lightness(index)`` (with the
L* planes the backward pass keeps in ``cache``), the frames that could not be read, and the cut answers per
pair of frames. The scan (:meth:`KeyframeReach.scan`) and :meth:`KeyframeReach.keyframes_reaching` read a
frame only for a pair of frames not judged yet, so after the passes they usually read nothing.

Indices are positions in the sorted ``frames``; frame numbers are the files' numbers; L* planes are
``(H, W)`` float32 in [0, 100] at the working size.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from .cuts import is_cut
from .errors import KinochromeError
from .sequence import format_span


class KeyframeReach:
    """The frames each keyframe reaches (bounded by ``reach`` and by cuts), and the reads that tell.

    ``frames``: the shot's frame numbers, sorted; ``keyframes``: keyframe frame numbers (those not among
    ``frames`` are ignored with a note); ``read_lightness(frame)`` -> L* ``(H, W)``; ``cuts``: frame numbers
    that start a new scene, or None to detect them near the keyframes; ``span``: ``(first, last)`` frames
    that will be asked for (the scan and the warnings then cover only what can reach them).

    ``reads``: calls of ``read_lightness`` so far; ``cache``: frame -> L* planes the passes keep (read
    first); ``shape``: the working size ``(H, W)`` once known.
    """

    def __init__(self, frames: Sequence[int], keyframes: Iterable[int], read_lightness: Callable[[int], np.ndarray],
                 reach: int, cuts: set[int] | None = None, span: tuple[int, int] | None = None):
        self.frames = list(frames)
        self.index = {f: i for i, f in enumerate(self.frames)}
        self.reach = max(0, int(reach))
        self.span = (int(span[0]), int(span[1])) if span is not None else None
        self._read = read_lightness
        self._notes: list[str] = []
        self.keyframes: list[int] = []
        for f in sorted(keyframes):
            if f not in self.index:
                self._notes.append(f"keyframe {f} is not among the shot's frames on disk; ignored")
                continue
            self.keyframes.append(f)
        self.key_idx = sorted(self.index[f] for f in self.keyframes)
        self.shape: tuple[int, int] | None = None
        self.cuts_given = cuts is not None
        self._cut: dict[int, bool] = {}            # frame -> starts a new scene (known pairs only)
        if cuts is not None:
            self._cut = {f: True for f in cuts}
        self.scanned = False
        self._unreadable: set[int] = set()
        self._readable_idx: set[int] = set()     # indices of frames read without error
        self._warnings: list[str] | None = None
        self.reads = 0
        self.cache: dict[int, np.ndarray] = {}

    # -- reads and cuts
    def lightness(self, index: int) -> np.ndarray | None:
        """L* of frame ``index`` (cached planes first), or None when the frame cannot be read: the passes
        then skip it, carrying the hints from the last readable frame over it."""
        f = self.frames[index]
        cached = self.cache.get(f)
        if cached is not None:
            return cached
        if f in self._unreadable:
            return None
        self.reads += 1
        try:
            lum = np.asarray(self._read(f), dtype=np.float32)
        except KinochromeError as exc:
            # The pipeline reports (or skips, --on-error skip) the frame itself; here it only breaks the
            # chain of flows, so propagation steps over it rather than failing the whole shot.
            self._unreadable.add(f)
            self._note(f"frame {f}: cannot be read for propagation ({exc}); skipped")
            return None
        self._readable_idx.add(index)
        if self.shape is None:
            self.shape = lum.shape[:2]
        return lum

    def _note(self, message: str) -> None:
        self._notes.append(message)
        if self._warnings is not None:
            self._warnings.append(message)

    def starts_scene(self, later: int, earlier_l: np.ndarray, later_l: np.ndarray) -> bool:
        """Whether frame ``later`` starts a new scene after the readable frame before it (its L* and
        ``earlier_l``'s). Known answers (given cuts, the scan) are reused."""
        f = self.frames[later]
        if self.cuts_given or f in self._cut:
            return self._cut.get(f, False)
        self._cut[f] = is_cut(earlier_l, later_l)
        return self._cut[f]

    # -- cuts near keyframes
    def scan(self) -> None:
        """Detect cuts within reach of each keyframe (reading those frames, two held at a time; pairs the
        passes or :meth:`keyframes_reaching` already judged are not read again)."""
        if self.scanned:
            return
        self.scanned = True
        if self.cuts_given:
            return
        for k in self.key_idx:
            if self.span is not None and not (
                    self.span[0] - self.reach <= self.frames[k] <= self.span[1] + self.reach):
                continue    # cannot reach the frames asked for
            key_l = None if k in self._readable_idx else self.lightness(k)
            if key_l is None and k not in self._readable_idx:
                continue    # an unreadable keyframe: no scan from it
            for step in (1, -1):
                key_l = self._walk(k, step, key_l=key_l)

    def _walk(self, k: int, step: int, stop: int | None = None, key_l: np.ndarray | None = None
              ) -> np.ndarray | None:
        """The cut scan from keyframe index ``k`` one way (``step`` +1 or -1), within reach, up to the first
        cut or (given) index ``stop``: the pairs of readable frames met are judged (:meth:`starts_scene`).
        A frame is read only where its pair is not judged yet, so walking again, or after the passes, costs
        no decoding; the pairs judged are those the whole scan would judge. ``key_l``: the keyframe's L*
        if at hand; returns it if read here (for the walk the other way)."""
        if key_l is None and k not in self._readable_idx:
            key_l = self.lightness(k)
            if key_l is None:
                return None     # an unreadable keyframe: no scan from it
        prev_i, prev_l = k, key_l       # prev_l is read only when a pair needs it
        j = k + step
        while 0 <= j < len(self.frames) and abs(self.frames[j] - self.frames[k]) <= self.reach:
            if self.frames[j] not in self._unreadable:
                later = j if step == 1 else prev_i
                if self.frames[later] in self._cut and j in self._readable_idx:
                    if self._cut[self.frames[later]]:
                        return key_l
                    prev_i, prev_l = j, None
                else:
                    cur_l = self.lightness(j)
                    if cur_l is not None:
                        if prev_l is None:
                            prev_l = self.lightness(prev_i)
                            if prev_i == k:
                                key_l = prev_l
                        pair = (prev_l, cur_l) if step == 1 else (cur_l, prev_l)
                        if prev_l is not None and self.starts_scene(later, *pair):
                            return key_l
                        prev_i, prev_l = j, cur_l
            if j == stop:
                return key_l
            j += step
        return key_l

    # -- coverage and warnings
    def coverage(self) -> list[tuple[int, int]]:
        """[lo, hi] index intervals each keyframe reaches (bounded by reach and by the cuts known)."""
        out = []
        n = len(self.frames)
        for k in self.key_idx:
            fk = self.frames[k]
            hi = k
            while hi + 1 < n and self.frames[hi + 1] - fk <= self.reach and not self._cut.get(self.frames[hi + 1]):
                hi += 1
            lo = k
            while lo - 1 >= 0 and fk - self.frames[lo - 1] <= self.reach and not self._cut.get(self.frames[lo]):
                lo -= 1
            out.append((lo, hi))
        return out

    def keyframes_reaching(self, frame: int) -> list[int]:
        """Keyframes whose propagation reaches ``frame`` (within ``reach``, no cut between), nearest first.

        Judges only the frame pairs between ``frame`` and the keyframes within reach of it (frames the passes
        have read for it already, so a run asking frame by frame decodes nothing more for this); the
        answer is the one the whole cut scan (:attr:`warnings`) gives."""
        i = max(bisect.bisect_right(self.frames, int(frame)) - 1, 0)
        if not self.scanned and not self.cuts_given:
            for k in self.key_idx:
                if abs(self.frames[k] - self.frames[i]) <= self.reach and k != i:
                    self._walk(k, 1 if k < i else -1, stop=i)
        reaching = [self.frames[k] for k, (lo, hi) in zip(self.key_idx, self.coverage()) if lo <= i <= hi]
        return sorted(reaching, key=lambda f: (abs(f - int(frame)), f))

    @property
    def warnings(self) -> list[str]:
        """Notes (ignored keyframes, unreadable frames) and the stretches of frames that no keyframe reaches,
        one line each (the stretches computed once, after the scan)."""
        if self._warnings is None:
            self.scan()
            self._warnings = list(self._notes) + self._uncovered_warnings()
        return list(self._warnings)

    def _uncovered_warnings(self) -> list[str]:
        n = len(self.frames)
        covered = np.zeros(n, bool)
        starts_at_cut = {}
        for lo, hi in self.coverage():
            covered[lo:hi + 1] = True
            starts_at_cut[lo] = lo > 0 and self._cut.get(self.frames[lo], False)
        if self.span is not None:
            # Frames outside the span are nobody's concern here: count them as covered.
            numbers = np.asarray(self.frames)
            covered |= (numbers < self.span[0]) | (numbers > self.span[1])
        out = []
        i = 0
        while i < n:
            if covered[i]:
                i += 1
                continue
            j = i
            while j + 1 < n and not covered[j + 1]:
                j += 1
            out.append(self._uncovered_line(i, j, starts_at_cut))
            i = j + 1
        return out

    def _uncovered_line(self, i: int, j: int, starts_at_cut: dict[int, bool]) -> str:
        """The warning for frames ``i..j`` (indices) that no keyframe reaches."""
        n = len(self.frames)
        first, last = self.frames[i], self.frames[j]
        span = format_span(first, last)
        if not self.keyframes:
            return f"{span} have no keyframe: automatic colour"
        after_cut = i > 0 and self._cut.get(first, False)
        before_cut = j + 1 < n and starts_at_cut.get(j + 1, False)
        if not (after_cut or before_cut or i == 0 or j == n - 1):
            return f"{span} are more than {self.reach} frames from a keyframe: automatic colour"
        where = []
        if after_cut:
            where.append(f"after a cut at {first}")
        if before_cut:
            where.append(f"before a cut at {self.frames[j + 1]}")
        detail = f" ({', '.join(where)})" if where else ""
        if (after_cut or i == 0) and (before_cut or j == n - 1):
            return f"{span}{detail} have no keyframe: automatic colour"
        return f"{span}{detail} are more than {self.reach} frames from a keyframe: automatic colour"
