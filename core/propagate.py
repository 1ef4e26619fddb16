"""Propagation of keyframe chroma through a shot by dense optical flow, with a confidence.

Every keyframe's hints (a*b* and a confidence, at working size) travel forward and backward through the
shot, frame to frame, along dense optical flow on luminance (OpenCV DIS, preset MEDIUM, on 8-bit L*):

* each step warps chroma and confidence with ``cv2.remap`` (chroma premultiplied by confidence, so pixels
  with no hint do not bleed gray into those with one);
* the confidence is multiplied per step by the forward-backward consistency of the flow (a pixel whose
  forward and backward flows disagree is occluded or mismatched: Sundaram et al.'s test), weighed by the
  chroma error it can cause (an uncertain flow inside a region of one colour does little harm), by a
  photometric check (an occluded pixel lands on something of another brightness), and by
  ``decay ** frames`` (hints fade with distance from their keyframe); pixels warped in from outside the
  frame get none;
* a keyframe reaches at most ``reach`` frames (each pixel carries the distance to the keyframe it came
  from), and nothing crosses a scene cut (:mod:`kinochrome.core.cuts`);
* keyframes met on the way are laid *over* the carried hints (a keyframe's own hint wins where it is
  confident; the carried hint shows through where it is not, e.g. a keyframe with only a few points);
* the forward and the backward hints of a frame are fused by confidence (weighted average, weights =
  confidence; the result's confidence is the larger of the two).

Streaming and memory: :meth:`Propagator.hints_for` is called in increasing frame order. The forward
pass is a running state (one frame). The backward pass runs in blocks of ``reach`` frames: for the block
starting at frame t it starts from the farthest keyframe that can reach the block and walks back to t,
keeping the block's results (and the L* planes it read, which the forward pass then reuses). So at most
about ``reach`` frames are held, whatever the shot's length. The cut scan and :meth:`keyframes_reaching`
(:class:`kinochrome.core.reach.KeyframeReach`, which also serves the passes' reads) read a frame only for a pair of frames not judged yet, and the run's colouriser serves ``read_lightness``
from the working-size L* of the frames it has coloured (or read ahead for the backward pass), so in a run
a frame is decoded once, or twice where a backward pass reads ahead of the run.

Frame numbers are the files' numbers; distances are differences of frame numbers. Arrays are float32:
``ab (H, W, 2)`` in L*a*b* units, confidences ``(H, W)`` in [0, 1], L* planes ``(H, W)`` in [0, 100],
all at the working size.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import cv2
import numpy as np

from .errors import UsageError
from .reach import KeyframeReach
from .sequence import format_span

#: Confidence kept per frame of distance from the keyframe (0.995 ** 48 ~ 0.79): the flow checks already
#: take trust away where the flow fails; chosen on the held-out eval clips (0.98 gave lower PSNR, higher CDC).
DEFAULT_DECAY = 0.995
#: Confidence below this is treated as none (stops the pass carrying invisible hints).
MIN_CONFIDENCE = 1e-3
DIS_PRESET = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM

Hints = tuple[np.ndarray, np.ndarray]
#: Carried state: (ab (H, W, 2), confidence (H, W), distance to the source keyframe in frames (H, W)).
State = tuple[np.ndarray, np.ndarray, np.ndarray]


# --------------------------------------------------------------------------------------------- flow helpers

def to_u8(lightness: np.ndarray, like: np.ndarray | None = None) -> np.ndarray:
    """L* ``(H, W)`` -> uint8 for DIS. With ``like`` (another L* plane), first moved to ``like``'s mean and
    standard deviation: film flicker changes the exposure between frames and DIS assumes constant
    brightness."""
    lum = np.nan_to_num(np.asarray(lightness, dtype=np.float32))
    if like is not None:
        s = float(like.std()) / max(float(lum.std()), 1e-3)
        lum = (lum - float(lum.mean())) * s + float(like.mean())
    return np.clip(lum * 2.55 + 0.5, 0, 255).astype(np.uint8)


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return xs, ys


class FlowStep(NamedTuple):
    """One frame-to-frame step: where each target pixel comes from in the source, and the evidence about
    it, all ``(H, W)`` float32 at working size.

    ``map_x``/``map_y``: source coordinates (``cv2.remap`` aligns a source image to the target);
    ``excess``: forward-backward inconsistency beyond Sundaram et al.'s tolerance
    ``|w + w'|^2 <= 0.01 (|w|^2 + |w'|^2) + 0.5``, in pixels (0 = consistent); ``inside``: 1 where the
    source position lies in the frame; ``photometric``: |L* target - L* warped source| after exposure
    matching (an occluded pixel usually lands on something of another brightness).
    """

    map_x: np.ndarray
    map_y: np.ndarray
    excess: np.ndarray
    inside: np.ndarray
    photometric: np.ndarray


class FlowPair:
    """Two DIS instances and a worker thread: the two flows of a :func:`flow_step` (target -> source and
    back) are computed at the same time, OpenCV releasing the GIL (the same flows as one after the other)."""

    def __init__(self) -> None:
        self.forward = cv2.DISOpticalFlow_create(DIS_PRESET)
        self.backward = cv2.DISOpticalFlow_create(DIS_PRESET)
        self._pool: ThreadPoolExecutor | None = None

    def calc(self, t8: np.ndarray, s8: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kino-dis")
        back = self._pool.submit(self.backward.calc, s8, t8, None)
        return self.forward.calc(t8, s8, None), back.result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __del__(self) -> None:
        self.close()


def flow_step(dis: cv2.DISOpticalFlow | FlowPair, target_l: np.ndarray, source_l: np.ndarray) -> FlowStep:
    """Dense flow target -> source and back (DIS on 8-bit L*, exposure-matched) -> :class:`FlowStep`.
    ``dis``: one DIS instance (the two flows one after the other) or a :class:`FlowPair` (at once)."""
    h, w = target_l.shape
    t8 = to_u8(target_l)
    s8 = to_u8(source_l, like=target_l)
    if isinstance(dis, FlowPair):
        f_ts, f_st = dis.calc(t8, s8)
    else:
        f_ts = dis.calc(t8, s8, None)
        f_st = dis.calc(s8, t8, None)
    xs, ys = _grid(h, w)
    map_x = xs + f_ts[..., 0]
    map_y = ys + f_ts[..., 1]
    back = cv2.remap(f_st, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    err = np.sqrt(((f_ts + back) ** 2).sum(-1))
    tol = np.sqrt(0.01 * ((f_ts ** 2).sum(-1) + (back ** 2).sum(-1)) + 0.5)
    inside = ((map_x >= -0.5) & (map_x <= w - 0.5) & (map_y >= -0.5) & (map_y <= h - 0.5)).astype(np.float32)
    warped = cv2.remap(s8, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    photometric = np.abs(warped.astype(np.float32) - t8.astype(np.float32)) / 2.55
    return FlowStep(map_x, map_y, np.maximum(err - tol, 0.0).astype(np.float32), inside, photometric)


#: Chroma error (a*b* units) an inconsistent flow may cause before the step's trust falls to 1/e.
CHROMA_TOLERANCE = 4.0
#: Inconsistency (px beyond tolerance) that is an occlusion whatever the colours around.
GROSS_INCONSISTENCY = 4.0
#: Photometric difference (L*) tolerated before trust falls (grain, flicker residue).
PHOTOMETRIC_TOLERANCE = 6.0


def step_consistency(step: FlowStep, warped_ab: np.ndarray) -> np.ndarray:
    """Trust ``(H, W)`` in [0, 1] of one warp step for chroma ``warped_ab (H, W, 2)`` already warped.

    A flow error matters for colour only where the colour changes: the chroma error a pixel can get is
    about the inconsistency (px) times the local chroma gradient (a*b* per px). So inside a region of one
    colour an uncertain flow (low texture, where DIS is weakest) keeps its hints, while at colour edges it
    does not. Gross inconsistencies (occlusions) and photometric mismatches lose trust regardless; pixels
    from outside the frame get none.
    """
    gx = cv2.Sobel(warped_ab, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(warped_ab, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    gradient = np.sqrt((gx ** 2 + gy ** 2).sum(-1))
    chroma_error = step.excess * gradient
    trust = np.exp(-((chroma_error / CHROMA_TOLERANCE) ** 2))
    trust *= np.exp(-np.maximum(step.excess - GROSS_INCONSISTENCY, 0.0) / 2.0)
    trust *= np.exp(-np.maximum(step.photometric - PHOTOMETRIC_TOLERANCE, 0.0) / PHOTOMETRIC_TOLERANCE)
    return (trust * step.inside).astype(np.float32)


def warp_state(state: State, step: FlowStep, distance: int, decay: float, reach: int) -> State | None:
    """Carry a state one :class:`FlowStep`, ``distance`` frames further from its keyframes: chroma warped
    premultiplied by confidence, confidence times :func:`step_consistency` times ``decay ** distance``,
    none beyond ``reach``. Returns None when no confidence is left."""
    ab, conf, age = state
    stack = np.dstack([ab * conf[..., None], conf, age * conf])
    warped = cv2.remap(stack, step.map_x, step.map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                       borderValue=0)
    c = warped[..., 2]
    safe = np.maximum(c, 1e-6)
    new_ab = warped[..., 0:2] / safe[..., None]
    new_age = warped[..., 3] / safe + distance
    new_conf = c * step_consistency(step, new_ab) * np.float32(decay ** distance)
    new_conf[(new_age > reach + 0.5) | (new_conf < MIN_CONFIDENCE)] = 0.0
    if not new_conf.any():
        return None
    new_ab[new_conf <= 0] = 0.0
    return new_ab.astype(np.float32), new_conf.astype(np.float32), new_age.astype(np.float32)


def over(top_ab: np.ndarray, top_conf: np.ndarray, under_ab: np.ndarray, under_conf: np.ndarray,
         top_age: np.ndarray | float | None = None, under_age: np.ndarray | float | None = None
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The one confidence-weighted blend of hints: ``top`` laid over ``under``. ``conf = c_t + (1 - c_t) c_u``;
    ab (h, w, 2) -- and the age in frames, when both ages are given -- the matching weighted mix. Where the top
    is fully confident it wins exactly; the one under shows through where the top is weak. Returns
    ``(ab, conf, age or None)`` float32."""
    carried = (1.0 - top_conf) * under_conf
    conf = top_conf + carried
    safe = np.maximum(conf, 1e-6)
    ab = (top_ab * top_conf[..., None] + under_ab * carried[..., None]) / safe[..., None]
    age = None
    if top_age is not None and under_age is not None:
        age = ((top_age * top_conf + under_age * carried) / safe).astype(np.float32)
    return ab.astype(np.float32), conf.astype(np.float32), age


def lay_over(hints: Hints, state: State | None) -> State:
    """A keyframe's hints (age 0) laid :func:`over` a carried state."""
    k_ab, k_conf = hints
    k_conf = np.clip(k_conf, 0.0, 1.0).astype(np.float32)
    if state is None:
        return k_ab.astype(np.float32), k_conf, np.zeros_like(k_conf)
    ab, conf, age = over(k_ab, k_conf, state[0], state[1], 0.0, state[2])
    assert age is not None
    return ab, conf, age


def fuse(a: Hints | None, b: Hints | None, shape: tuple[int, int]) -> Hints:
    """Two hint sets fused by confidence: ab = (c_a ab_a + c_b ab_b) / (c_a + c_b), conf = max(c_a, c_b)."""
    if a is None and b is None:
        return np.zeros(shape + (2,), np.float32), np.zeros(shape, np.float32)
    if a is None or b is None:
        ab, conf = a if b is None else b  # type: ignore[misc]
        return ab.copy(), conf.copy()
    total = a[1] + b[1]
    safe = np.maximum(total, 1e-6)[..., None]
    ab = (a[0] * a[1][..., None] + b[0] * b[1][..., None]) / safe
    ab[total <= 0] = 0.0
    return ab.astype(np.float32), np.maximum(a[1], b[1]).astype(np.float32)


# --------------------------------------------------------------------------------------------- propagator

class Propagator:
    """Keyframe hints for every frame of a shot, propagated by optical flow (see the module docstring).

    ``frames``: the shot's frame numbers (sorted here); ``keyframe_hints``: frame -> ``(ab, conf)`` at
    working size; ``read_lightness(frame)`` -> L* ``(H, W)`` at working size (a file read, or the run's
    recent planes: called about twice per frame near keyframes, never held here beyond ~``reach`` frames);
    ``reach``: frames a keyframe
    may travel; ``cuts``: frame numbers that start a new scene, or None to detect them
    (:func:`kinochrome.core.cuts.is_cut`) near the keyframes. ``decay``: confidence kept per frame.

    ``span``: ``(first, last)`` frames that will be asked for (a farm chunk, a ``--frames`` range), when
    only part of ``frames`` is: the cut scan then reads only near keyframes that can reach the span, and
    the warnings cover only the span.

    The passes (forward state, backward blocks, the carry of matches) are here; the reads, the cuts and
    which keyframes reach which frames are :class:`kinochrome.core.reach.KeyframeReach`'s.

    ``warnings``: one line per stretch of frames no keyframe reaches (they fall back to automatic colour).
    Reading it the first time runs the cut scan (reads within ``reach`` of the keyframes).
    ``reads``: calls of ``read_lightness`` so far; ``held_frames`` / ``max_held_frames``: frames whose
    arrays are held now / at most so far.
    """

    def __init__(self, frames: Sequence[int], keyframe_hints: dict[int, Hints],
                 read_lightness: Callable[[int], np.ndarray], reach: int, cuts: set[int] | None = None,
                 *, decay: float = DEFAULT_DECAY, span: tuple[int, int] | None = None):
        self.frames = sorted({int(f) for f in frames})
        if not self.frames:
            raise UsageError("propagation: the shot has no frames")
        self._reach = KeyframeReach(self.frames, keyframe_hints, read_lightness, reach, cuts, span)
        self.span = self._reach.span
        self.reach = self._reach.reach
        self.decay = float(decay)
        self.block = max(1, self.reach)
        self.keyframes: dict[int, Hints] = {
            f: (np.asarray(ab, np.float32), np.asarray(conf, np.float32))
            for f, (ab, conf) in sorted(keyframe_hints.items()) if f in self._reach.index}
        if self.keyframes:
            self._reach.shape = next(iter(self.keyframes.values()))[1].shape[:2]
        self.max_held_frames = 0
        self._dis = FlowPair()
        self._reset()

    # -- bookkeeping
    def _reset(self) -> None:
        self._fwd_pos = -1                       # index of the last frame the forward pass has processed
        self._fwd_state: State | None = None
        self._fwd_l: np.ndarray | None = None    # L* of frame _fwd_li (the last readable) while alive
        self._fwd_li = -1
        self._bwd: dict[int, Hints] = {}         # frame -> backward hints, for the current block
        self._bwd_block: tuple[int, int] | None = None   # [start, end) indices of the current block
        self._reach.cache.clear()
        self._last: tuple[int, Hints] | None = None

    @property
    def reads(self) -> int:
        """Calls of ``read_lightness`` so far (the passes and the cut scan)."""
        return self._reach.reads

    @property
    def held_frames(self) -> int:
        """Frames whose arrays are held now (block results and L* planes, forward state)."""
        frames = set(self._bwd) | set(self._reach.cache)
        return len(frames) + (self._fwd_state is not None) + (self._fwd_l is not None)

    def _note_held(self) -> None:
        self.max_held_frames = max(self.max_held_frames, self.held_frames)

    # -- keyframe reach, cuts and warnings (KeyframeReach)
    def _scan(self) -> None:
        self._reach.scan()

    @property
    def warnings(self) -> list[str]:
        """Stretches of frames that no keyframe reaches, one line each (computed once), after the notes."""
        self._scan()
        return self._reach.warnings

    def keyframes_reaching(self, frame: int) -> list[int]:
        """Keyframes whose propagation reaches ``frame`` (within ``reach``, no cut between), nearest first
        (:meth:`kinochrome.core.reach.KeyframeReach.keyframes_reaching`: the frame pairs the passes have
        judged are not read again)."""
        return self._reach.keyframes_reaching(frame)

    # -- the carry of matches
    def carry(self, frame: int, hint_ab: np.ndarray, conf: np.ndarray, distance: int) -> None:
        """Lay extra hints for ``frame`` (the frame last asked for) *under* the forward pass's state, so that
        they travel on with the flow like a keyframe's: hints found on one frame (colours matched from a
        reference) then hold still on the next instead of being found afresh. ``distance``: frames from the
        keyframe they derive from (they count against ``reach`` from there). Ignored for another frame.
        """
        i = max(bisect.bisect_right(self.frames, int(frame)) - 1, 0)
        if self._fwd_pos != i or self._fwd_li != i or self.frames[i] != int(frame):
            return
        conf = np.clip(np.asarray(conf, np.float32), 0.0, 1.0)
        if self._fwd_state is None:
            state_ab, state_conf, state_age = np.zeros_like(hint_ab), np.zeros_like(conf), np.zeros_like(conf)
        else:
            state_ab, state_conf, state_age = self._fwd_state
        ab, total, age = over(state_ab, state_conf, hint_ab, conf, state_age, float(distance))
        if not total.any():
            return
        assert age is not None
        self._fwd_state = (ab, total, age)
        self._last = None

    # -- the passes
    def _step(self, state: State, target_l: np.ndarray, source_l: np.ndarray, distance: int) -> State | None:
        return warp_state(state, flow_step(self._dis, target_l, source_l), distance, self.decay, self.reach)

    def _advance_forward(self, i: int) -> None:
        lightness = self._reach.lightness
        if self._fwd_pos < i - 1:
            # Frames farther back than `reach` cannot reach frame i: skip them without reading.
            j0 = bisect.bisect_left(self.frames, self.frames[i] - self.reach) - 1
            if j0 > self._fwd_pos:
                self._fwd_pos, self._fwd_state, self._fwd_l = j0, None, None
        while self._fwd_pos < i:
            n = self._fwd_pos + 1
            if self._fwd_state is not None:
                if self._fwd_l is None:
                    self._fwd_l, self._fwd_li = lightness(n - 1), n - 1
                cur_l = lightness(n)
                if cur_l is None or self._fwd_l is None:
                    # Unreadable frame: keep the hints and step over it from the last readable frame.
                    self._fwd_pos = n
                    continue
                if self._reach.starts_scene(n, self._fwd_l, cur_l):
                    self._fwd_state = None
                else:
                    self._fwd_state = self._step(self._fwd_state, cur_l, self._fwd_l,
                                                 self.frames[n] - self.frames[self._fwd_li])
                self._fwd_l, self._fwd_li = cur_l, n
            hints = self.keyframes.get(self.frames[n])
            if hints is not None:
                self._fwd_state = lay_over(hints, self._fwd_state)
            self._fwd_pos = n
            if self._fwd_state is None or self._fwd_li != n:
                self._fwd_l = None

    def _backward_block(self, start: int) -> None:
        """Backward hints for the block of frames [start, start + block) (indices)."""
        end = min(start + self.block, len(self.frames))
        self._bwd = {}
        self._bwd_block = (start, end)
        limit = self.frames[end - 1] + self.reach
        reaching = [k for k in self._reach.key_idx if k >= start and self.frames[k] <= limit]
        if not reaching:
            return
        lightness, cache = self._reach.lightness, self._reach.cache
        state: State | None = None
        src_l: np.ndarray | None = None          # L* of the frame the state is at (once read)
        src = j = reaching[-1]
        while True:
            hints = self.keyframes.get(self.frames[j])
            if hints is not None:
                state, src_l = lay_over(hints, state), (src_l if src == j else None)
                src = j
            if j < end and state is not None:
                self._bwd[self.frames[j]] = (state[0], state[1])
            if j == start:
                break
            j -= 1
            if state is None:
                continue
            if src_l is None:
                src_l = lightness(src)
                if src_l is not None and src < end:
                    cache[self.frames[src]] = src_l
            dst_l = lightness(j)
            if dst_l is None or src_l is None:
                continue    # unreadable: carry the state over it unchanged
            if j < end:
                cache[self.frames[j]] = dst_l
            if self._reach.starts_scene(src, dst_l, src_l):
                state = None
            else:
                state = self._step(state, dst_l, src_l, self.frames[src] - self.frames[j])
            src, src_l = j, dst_l
            self._note_held()

    def _backward_at(self, i: int) -> Hints | None:
        if self._bwd_block is None or not self._bwd_block[0] <= i < self._bwd_block[1]:
            self._backward_block(i)
        return self._bwd.get(self.frames[i])

    def hints_for(self, frame: int) -> Hints:
        """Propagated hints of ``frame``: ``(ab (H, W, 2), confidence (H, W) in [0, 1])`` at working size;
        zeros where nothing reaches. Call in increasing frame order (an earlier frame restarts the passes).
        A frame not on disk (a held missing frame) gets the hints of the frame on disk before it."""
        i = bisect.bisect_right(self.frames, int(frame)) - 1
        i = max(i, 0)
        if self._last is not None and self._last[0] == i:
            return self._last[1][0].copy(), self._last[1][1].copy()
        if self._fwd_pos > i:
            self._reset()
        # The backward block first: it caches the L* planes of its frames, which the forward pass reuses.
        backward = self._backward_at(i)
        self._advance_forward(i)
        forward = None if self._fwd_state is None else (self._fwd_state[0], self._fwd_state[1])
        if self._reach.shape is None:
            lum = self._reach.lightness(i)
            self._reach.shape = lum.shape[:2] if lum is not None else (1, 1)
        result = fuse(forward, backward, self._reach.shape)
        # Nothing before frame i is needed again.
        cache = self._reach.cache
        for f in [f for f in cache if f < self.frames[i]]:
            del cache[f]
        for f in [f for f in self._bwd if f <= self.frames[i]]:
            del self._bwd[f]
        self._note_held()
        self._last = (i, result)
        return result[0].copy(), result[1].copy()


# --------------------------------------------------------------------------------------------- baseline

class FlowOnlyPropagator:
    """The baseline "optical-flow propagation alone" for ``kinochrome eval``: the latest keyframe at or before
    each frame has its chroma warped along the flow frame by frame (premultiplied by its hint mask, like
    :func:`warp_state`, so no grey bleeds in at its edges); no confidence (1 wherever more than half of a
    pixel's warped hint weight is left and it stays in the frame), no fusion, no reach limit, no cut
    detection, no network. Frames before the first keyframe get nothing.

    Warping frame by frame is the stronger of the two obvious baselines: composing the flows into one
    coordinate map and resampling the keyframe once mixes far-apart positions at motion edges, and on the
    evaluation clips it scored 1.9 dB lower and less steadily (docs/references.md).

    Same constructor and :meth:`hints_for` as :class:`Propagator`; ``reach`` and ``cuts`` are accepted and
    ignored (it is the unconstrained baseline); ``span`` limits the warnings.
    """

    def __init__(self, frames: Sequence[int], keyframe_hints: dict[int, Hints],
                 read_lightness: Callable[[int], np.ndarray], reach: int = 0, cuts: set[int] | None = None,
                 *, span: tuple[int, int] | None = None):
        self.frames = sorted({int(f) for f in frames})
        if not self.frames:
            raise UsageError("propagation: the shot has no frames")
        self._index = {f: i for i, f in enumerate(self.frames)}
        self.keyframes = {int(f): (np.asarray(ab, np.float32), np.asarray(c, np.float32))
                          for f, (ab, c) in keyframe_hints.items() if f in self._index}
        self._read = read_lightness
        self._dis = cv2.DISOpticalFlow_create(DIS_PRESET)
        self.reads = 0
        self.warnings: list[str] = []
        first_key = min(self.keyframes) if self.keyframes else None
        before = [f for f in self.frames if (first_key is None or f < first_key)
                  and (span is None or span[0] <= f <= span[1])]
        if before:
            self.warnings.append(f"{format_span(before[0], before[-1])} come before the first keyframe: "
                                 "no flow propagation" if first_key is not None else
                                 f"{format_span(before[0], before[-1])} have no keyframe: no flow propagation")
        self._reset()

    def _reset(self) -> None:
        self._pos = -1
        self._state: Hints | None = None         # (ab, mask) of the frame at _pos
        self._prev_l: np.ndarray | None = None

    def _lightness(self, f: int) -> np.ndarray:
        self.reads += 1
        return np.asarray(self._read(f), dtype=np.float32)

    def hints_for(self, frame: int) -> Hints:
        """``(ab (H, W, 2), conf (H, W))``: the latest keyframe's chroma warped along the flow, frame by frame."""
        i = max(bisect.bisect_right(self.frames, int(frame)) - 1, 0)
        if self._pos > i:
            self._reset()
        keys_upto = [self._index[k] for k in self.keyframes if self._index[k] <= i]
        if not keys_upto:
            lum = self._lightness(self.frames[i])
            return np.zeros(lum.shape + (2,), np.float32), np.zeros(lum.shape, np.float32)
        latest = max(keys_upto)
        if self._pos < latest - 1:
            self._pos, self._state, self._prev_l = latest - 1, None, None
        while self._pos < i:
            n = self._pos + 1
            f = self.frames[n]
            if f in self.keyframes:
                k_ab, k_conf = self.keyframes[f]
                mask = (k_conf > 0).astype(np.float32)
                self._state, self._prev_l = (k_ab * mask[..., None], mask), None
            elif self._state is not None:
                prev_l = self._prev_l if self._prev_l is not None else self._lightness(self.frames[n - 1])
                cur_l = self._lightness(f)
                flow = self._dis.calc(to_u8(cur_l), to_u8(prev_l, like=cur_l), None)
                xs, ys = _grid(*cur_l.shape)
                ab, mask = self._state
                warped = cv2.remap(np.dstack([ab * mask[..., None], mask]), xs + flow[..., 0], ys + flow[..., 1],
                                   cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
                weight = warped[..., 2]
                mask = (weight > 0.5).astype(np.float32)
                ab = warped[..., :2] / np.maximum(weight, 1e-6)[..., None] * mask[..., None]
                self._state, self._prev_l = (ab.astype(np.float32), mask), cur_l
            self._pos = n
        assert self._state is not None
        return self._state[0].copy(), self._state[1].copy()
