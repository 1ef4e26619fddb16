"""Optical-flow propagation of keyframe hints, scene cuts, and the flow-only baseline (tiny, fast)."""

from __future__ import annotations

import itertools

import cv2
import numpy as np

from kinochrome.core.cuts import detect_cuts, is_cut
from kinochrome.core.errors import FrameReadError
from kinochrome.core.propagate import FlowOnlyPropagator, Propagator

H, W = 48, 64
SPEED = 2             # px per frame: the camera pans, the picture moves left
FIRST = 1001


def canvas(seed: int, width: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """A textured L* canvas (H, width) and its true a*b* (H, width, 2), smooth but not constant."""
    rng = np.random.default_rng(seed)
    lum = cv2.GaussianBlur(rng.uniform(0, 1, (H, width)).astype(np.float32), (0, 0), 2.0)
    lum = (lum - lum.min()) / (np.ptp(lum) + 1e-6) * 60 + 20
    xs = np.arange(width, dtype=np.float32)[None, :].repeat(H, 0)
    ys = np.arange(H, dtype=np.float32)[:, None].repeat(width, 1)
    ab = np.dstack([40 * np.sin(xs / 17.0) + 0.5 * (lum - 50), 30 * np.cos(ys / 9.0 + xs / 29.0)])
    return lum, ab.astype(np.float32)


class Shot:
    """Frames FIRST.. of a pan over a canvas; optionally a cut to another canvas at ``cut``.
    Counts reads, like the pipeline's file reads."""

    def __init__(self, count: int = 20, cut: int | None = None):
        self.count = count
        self.cut = cut
        self.a = canvas(0)
        self.b = canvas(99)
        self.reads = 0
        self.frames = list(range(FIRST, FIRST + count))

    def _crop(self, frame: int) -> tuple[np.ndarray, np.ndarray]:
        lum, ab = self.b if self.cut is not None and frame >= self.cut else self.a
        x = SPEED * (frame - FIRST)
        return lum[:, x:x + W], ab[:, x:x + W]

    def lightness(self, frame: int) -> np.ndarray:
        self.reads += 1
        return self._crop(frame)[0].copy()

    def truth(self, frame: int) -> np.ndarray:
        return self._crop(frame)[1]

    def key(self, frame: int, delta: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        ab = self.truth(frame).copy()
        ab[..., 0] += delta
        return ab, np.ones((H, W), np.float32)


def rmse(x, y, mask=None) -> float:
    d = ((x - y) ** 2).sum(-1)
    return float(np.sqrt(d[mask].mean() if mask is not None else d.mean()))


def run(prop, frames):
    return {f: prop.hints_for(f) for f in frames}


def test_propagated_chroma_follows_the_motion():
    shot = Shot()
    prop = Propagator(shot.frames, {FIRST: shot.key(FIRST)}, shot.lightness, reach=48)
    out = run(prop, shot.frames)
    ab, conf = out[FIRST + 10]
    truth = shot.truth(FIRST + 10)
    assert ab.shape == (H, W, 2) and conf.shape == (H, W)
    assert conf.min() >= 0.0 and conf.max() <= 1.0
    seen = conf > 0.2
    # The right 20 px entered the frame after the keyframe: nothing reaches them.
    assert conf[:, -16:].max() < 0.05
    assert seen[:, :36].mean() > 0.9
    assert rmse(ab, truth, seen) < 0.25 * rmse(np.zeros_like(truth), truth, seen)
    # The keyframe itself returns its hints exactly.
    np.testing.assert_allclose(out[FIRST][0], shot.truth(FIRST), atol=1e-4)
    np.testing.assert_allclose(out[FIRST][1], 1.0)


def test_flicker_does_not_break_propagation():
    shot = Shot()

    def flickering(frame: int) -> np.ndarray:
        gain = 1.0 + 0.15 * (-1) ** frame          # +-15% exposure, frame to frame
        return np.clip(shot.lightness(frame) * gain, 0, 100)

    prop = Propagator(shot.frames, {FIRST: shot.key(FIRST)}, flickering, reach=48)
    assert prop.warnings == [], prop.warnings      # no cut detected
    ab, conf = run(prop, shot.frames)[FIRST + 10]
    seen = conf > 0.2
    assert seen[:, :36].mean() > 0.9
    truth = shot.truth(FIRST + 10)
    assert rmse(ab, truth, seen) < 0.25 * rmse(0 * truth, truth, seen)


def test_confidence_decays_with_distance():
    shot = Shot()
    prop = Propagator(shot.frames, {FIRST: shot.key(FIRST)}, shot.lightness, reach=48)
    out = run(prop, shot.frames)
    centre = np.s_[8:-8, 4:24]     # content present in all frames 0..10
    means = [float(out[FIRST + d][1][centre].mean()) for d in (0, 1, 3, 6, 10)]
    assert all(a > b for a, b in itertools.pairwise(means)), means
    assert means[-1] > 0.5


def test_stops_at_a_cut_and_warns():
    shot = Shot(count=20, cut=FIRST + 12)
    prop = Propagator(shot.frames, {FIRST: shot.key(FIRST)}, shot.lightness, reach=48)
    assert prop.warnings == [(f"frames {FIRST + 12}-{FIRST + 19} (after a cut at {FIRST + 12}) have no keyframe: "
                             "automatic colour")]
    out = run(prop, shot.frames)
    assert out[FIRST + 11][1].max() > 0.5
    for f in range(FIRST + 12, FIRST + 20):
        assert out[f][1].max() == 0.0
        assert not out[f][0].any()


def test_backward_stops_at_a_cut():
    shot = Shot(count=20, cut=FIRST + 8)
    prop = Propagator(shot.frames, {FIRST + 15: shot.key(FIRST + 15)}, shot.lightness, reach=48)
    out = run(prop, shot.frames)
    assert out[FIRST + 8][1].max() > 0.5
    assert out[FIRST + 7][1].max() == 0.0
    assert prop.warnings == [(f"frames {FIRST}-{FIRST + 7} (before a cut at {FIRST + 8}) have no keyframe: "
                             "automatic colour")]


def test_reach_limits_propagation_and_is_reported():
    shot = Shot()
    prop = Propagator(shot.frames, {FIRST: shot.key(FIRST)}, shot.lightness, reach=5)
    out = run(prop, shot.frames)
    assert out[FIRST + 5][1].max() > 0.5
    assert out[FIRST + 6][1].max() == 0.0
    assert prop.warnings == [(f"frames {FIRST + 6}-{FIRST + 19} are more than 5 frames from a keyframe: "
                             "automatic colour")]


def test_two_keyframes_fused():
    shot = Shot()
    keys = {FIRST: shot.key(FIRST), FIRST + 10: shot.key(FIRST + 10, delta=20.0)}
    prop = Propagator(shot.frames, keys, shot.lightness, reach=48)
    out = run(prop, shot.frames)
    mid_ab, mid_conf = out[FIRST + 5]
    region = np.s_[8:-8, 8:40]
    shift = float((mid_ab[region][..., 0] - shot.truth(FIRST + 5)[region][..., 0]).mean())
    assert 4.0 < shift < 16.0, shift                     # between the two keyframes' choices
    # The second keyframe also fills what the first cannot see (content entering from the right).
    single = Propagator(shot.frames, {FIRST: shot.key(FIRST)}, Shot().lightness, reach=48)
    single_conf = run(single, shot.frames)[FIRST + 5][1]
    assert (mid_conf > 0.2).mean() > (single_conf > 0.2).mean() + 0.1
    # On a keyframe, its own hint wins.
    np.testing.assert_allclose(out[FIRST + 10][0], keys[FIRST + 10][0], atol=1e-3)
    assert prop.warnings == []


def test_memory_and_reads_are_bounded_by_reach():
    reach = 6
    shot = Shot(count=60)
    keys = {FIRST: shot.key(FIRST), FIRST + 30: shot.key(FIRST + 30), FIRST + 33: shot.key(FIRST + 33)}
    # Pan 2 px/frame over 60 frames needs a wider canvas.
    shot.a = canvas(0, width=W + SPEED * 60)
    keys = {f: shot.key(f) for f in keys}
    prop = Propagator(shot.frames, keys, shot.lightness, reach=reach)
    assert prop.warnings                               # the cut scan reads near keyframes only
    for f in shot.frames:
        prop.hints_for(f)
        assert prop.held_frames <= reach + 3
    assert prop.max_held_frames <= reach + 3
    assert shot.reads == prop.reads
    assert shot.reads <= 4 * len(shot.frames)


def test_span_limits_the_scan_and_the_warnings():
    shot = Shot(count=60)
    shot.a = canvas(0, width=W + SPEED * 60)
    keys = {FIRST: shot.key(FIRST), FIRST + 50: shot.key(FIRST + 50)}
    prop = Propagator(shot.frames, keys, shot.lightness, reach=5, span=(FIRST + 20, FIRST + 30))
    assert prop.warnings == [(f"frames {FIRST + 20}-{FIRST + 30} are more than 5 frames from a keyframe: "
                             "automatic colour")]
    assert shot.reads == 0                       # no keyframe can reach the span: nothing to scan
    prop = Propagator(shot.frames, keys, shot.lightness, reach=5, span=(FIRST + 40, FIRST + 59))
    assert prop.warnings == [(f"frames {FIRST + 40}-{FIRST + 44} are more than 5 frames from a keyframe: "
                             "automatic colour"), (f"frames {FIRST + 56}-{FIRST + 59} are more than 5 frames "
                             "from a keyframe: automatic colour")]
    assert 0 < shot.reads <= 11


def test_given_cuts_need_no_detection():
    shot = Shot(count=20, cut=FIRST + 12)
    prop = Propagator(shot.frames, {FIRST: shot.key(FIRST)}, shot.lightness, reach=48, cuts={FIRST + 12})
    assert shot.reads == 0 and len(prop.warnings) == 1 and shot.reads == 0
    out = run(prop, shot.frames)
    assert out[FIRST + 12][1].max() == 0.0


def test_resume_mid_shot_and_held_missing_frame():
    shot = Shot()
    full = run(Propagator(shot.frames, {FIRST: shot.key(FIRST)}, shot.lightness, reach=48), shot.frames)
    frames = [f for f in shot.frames if f != FIRST + 6]           # frame 1007 missing on disk
    prop = Propagator(frames, {FIRST: shot.key(FIRST)}, Shot().lightness, reach=48)
    ab, conf = prop.hints_for(FIRST + 9)                           # resume: first call mid-shot
    assert rmse(ab, shot.truth(FIRST + 9), conf > 0.2) < 0.3 * rmse(0 * ab, shot.truth(FIRST + 9), conf > 0.2)
    held = prop.hints_for(FIRST + 10)
    np.testing.assert_array_equal(prop.hints_for(FIRST + 10)[0], held[0])   # same frame twice: same answer
    # An earlier frame restarts the passes and still answers correctly.
    _ab5, conf5 = prop.hints_for(FIRST + 5)
    assert np.abs(conf5 - full[FIRST + 5][1]).max() < 1e-5
    # A missing frame gets the hints of the frame on disk before it (held frame).
    np.testing.assert_array_equal(prop.hints_for(FIRST + 6)[1], conf5)


def test_keyframe_not_on_disk_is_reported():
    shot = Shot()
    prop = Propagator(shot.frames, {FIRST + 100: shot.key(FIRST)}, shot.lightness, reach=4)
    assert f"keyframe {FIRST + 100} is not among the shot's frames on disk; ignored" in prop.warnings
    assert prop.hints_for(FIRST)[1].max() == 0.0


def test_partial_keyframe_hints_lay_over_carried_ones():
    shot = Shot()
    points_ab = np.zeros((H, W, 2), np.float32)
    points_conf = np.zeros((H, W), np.float32)
    points_ab[20:24, 10:14] = (70.0, 0.0)
    points_conf[20:24, 10:14] = 1.0
    prop = Propagator(shot.frames, {FIRST: shot.key(FIRST), FIRST + 3: (points_ab, points_conf)},
                      shot.lightness, reach=48)
    out = run(prop, shot.frames[:5])
    ab, conf = out[FIRST + 3]
    np.testing.assert_allclose(ab[21, 11], (70.0, 0.0), atol=1e-3)   # the point wins on its keyframe
    assert conf[5:40, 30:40].min() > 0.5                              # carried hints elsewhere


def test_unreadable_frame_is_stepped_over():
    shot = Shot()
    bad = FIRST + 4

    def read(frame: int) -> np.ndarray:
        if frame == bad:
            raise FrameReadError(f"shot.{frame}.exr: truncated or corrupt")
        return shot.lightness(frame)

    keys = {FIRST: shot.key(FIRST), FIRST + 12: shot.key(FIRST + 12)}
    prop = Propagator(shot.frames, keys, read, reach=48)
    assert any(w.startswith(f"frame {bad}: cannot be read for propagation (shot.{bad}.exr: truncated")
               for w in prop.warnings)
    out = run(prop, shot.frames)
    ab, conf = out[FIRST + 8]
    seen = conf > 0.2
    assert seen.mean() > 0.8
    assert rmse(ab, shot.truth(FIRST + 8), seen) < 0.3 * rmse(0 * ab, shot.truth(FIRST + 8), seen)


# --------------------------------------------------------------------------------------------- baseline

def test_flow_only_baseline():
    shot = Shot()
    prop = FlowOnlyPropagator(shot.frames, {FIRST: shot.key(FIRST)}, shot.lightness, reach=48)
    ab, conf = prop.hints_for(FIRST + 10)
    assert set(np.unique(conf)) <= {0.0, 1.0}
    assert conf[:, :36].mean() > 0.95 and conf[:, -10:].max() == 0.0
    truth = shot.truth(FIRST + 10)
    seen = conf > 0
    assert rmse(ab, truth, seen) < 0.25 * rmse(0 * truth, truth, seen)
    assert prop.warnings == []
    late = FlowOnlyPropagator(shot.frames, {FIRST + 5: shot.key(FIRST + 5)}, shot.lightness)
    assert late.hints_for(FIRST)[1].max() == 0.0
    assert late.warnings == [f"frames {FIRST}-{FIRST + 4} come before the first keyframe: no flow propagation"]


# --------------------------------------------------------------------------------------------- cuts

def test_is_cut():
    shot = Shot()
    a, b = shot.lightness(FIRST), shot.lightness(FIRST + 1)
    assert not is_cut(a, b)                                  # motion
    assert not is_cut(a, np.clip(a * 1.3 - 5, 0, 100))       # flicker / exposure change
    assert is_cut(a, canvas(5)[0][:, :W])                    # another scene
    assert not is_cut(np.zeros((H, W)), np.zeros((H, W)))    # two black frames
    assert is_cut(np.zeros((H, W)), a)                       # black to picture


def test_detect_cuts():
    shot = Shot(count=16, cut=FIRST + 9)
    assert detect_cuts(shot.frames, shot.lightness) == {FIRST + 9}
    assert shot.reads == 16


def test_keyframes_reaching_respects_reach_and_cuts():
    shot = Shot(count=20, cut=FIRST + 12)
    keys = {FIRST: shot.key(FIRST), FIRST + 6: shot.key(FIRST + 6), FIRST + 15: shot.key(FIRST + 15)}
    prop = Propagator(shot.frames, keys, shot.lightness, reach=3)
    assert prop.keyframes_reaching(FIRST + 3) == [FIRST, FIRST + 6]       # equally near: earlier first
    assert prop.keyframes_reaching(FIRST + 4) == [FIRST + 6]              # FIRST is 4 > reach away
    assert prop.keyframes_reaching(FIRST + 10) == []                      # 4 after FIRST + 6, before the cut
    assert prop.keyframes_reaching(FIRST + 12) == [FIRST + 15]            # the cut's first frame
    assert prop.keyframes_reaching(FIRST + 11) == []                      # FIRST + 15 cannot cross the cut


def test_carried_hints_travel_on_with_the_flow():
    shot = Shot(count=8)
    key_ab, key_conf = shot.key(FIRST)
    key_conf[:, W // 2:] = 0.0                       # the keyframe colours the left half only
    key_ab[:, W // 2:] = 0.0
    prop = Propagator(shot.frames, {FIRST: (key_ab, key_conf)}, shot.lightness, reach=48)
    run(prop, [FIRST, FIRST + 1])
    before = prop.hints_for(FIRST + 1)[1][:, W // 2 + 4: W - 8].mean()
    extra_ab = np.full((H, W, 2), (20.0, -10.0), np.float32)
    prop.carry(FIRST + 5, extra_ab, np.ones((H, W), np.float32), distance=5)      # not the current frame
    prop.carry(FIRST + 1, extra_ab, np.ones((H, W), np.float32), distance=1)
    ab, conf = prop.hints_for(FIRST + 2)
    right = (slice(None), slice(W // 2 + 4, W - 8))
    assert before < 0.1 and conf[right].mean() > 0.8            # the carried hints arrived one frame on
    assert np.allclose(ab[right], (20.0, -10.0), atol=0.5)
    left = (slice(None), slice(4, W // 2 - 8))
    assert rmse(ab[left], shot.truth(FIRST + 2)[left]) < 3.0    # the keyframe's own hints still win there


def test_keyframes_reaching_frame_by_frame_reads_nothing_more_and_agrees_with_the_scan():
    """A run asks keyframes_reaching frame by frame after hints_for: the pairs it needs are judged from the
    frames the passes read (no read of its own), its answers are the whole cut scan's, and the scan at the
    end (the warnings) reads nothing more either; with an unreadable frame and a cut in the shot."""
    bad = FIRST + 5
    for cut in (None, FIRST + 12):
        shot = Shot(count=30, cut=cut)

        def read(frame: int, shot=shot) -> np.ndarray:
            if frame == bad:
                raise FrameReadError(f"shot.{frame}.exr: truncated or corrupt")
            return shot.lightness(frame)

        keys = {FIRST: shot.key(FIRST), FIRST + 9: shot.key(FIRST + 9), FIRST + 20: shot.key(FIRST + 20)}
        scanned = Propagator(shot.frames, keys, read, reach=6)
        warnings = scanned.warnings
        expected = {f: scanned.keyframes_reaching(f) for f in shot.frames}
        lazy = Propagator(shot.frames, keys, read, reach=6)
        got = {}
        for f in shot.frames:
            lazy.hints_for(f)
            before = lazy.reads
            got[f] = lazy.keyframes_reaching(f)
            assert lazy.reads == before, f
        assert got == expected
        before = lazy.reads
        assert lazy.warnings == warnings
        assert lazy.reads == before
