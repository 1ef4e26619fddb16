"""Scene-cut detection on luminance, robust to film flicker.

A cut is where the picture changes to another scene between two consecutive frames; keyframe chroma must
not be propagated across it. Frames are compared at a small size (32 px high) after each is normalised to
zero mean and unit standard deviation of its L*, so a global exposure change (flicker, a fade, a grade)
does not count: what counts is that the *pattern* changed (low spatial correlation), helped by a change
of the normalised luminance histogram (the tonal layout). Camera motion of a few percent of the frame
per frame keeps the correlation of the blurred small images high.

Arrays: L* planes ``(H, W)`` float32 in [0, 100], any (working) size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import cv2
import numpy as np

#: Spatial correlation of the normalised small images below which two frames are a cut.
CUT_CORRELATION = 0.3
#: Below this correlation, a cut also when the normalised histograms differ by more than CUT_HISTOGRAM.
CUT_CORRELATION_WEAK = 0.6
CUT_HISTOGRAM = 0.35
#: Frames with an L* standard deviation below this are flat (black frames, fades): compared by mean only.
FLAT_STD = 1.0
_SMALL_HEIGHT = 32
_BINS = 24


def _small(lightness: np.ndarray) -> np.ndarray:
    lum = np.nan_to_num(np.asarray(lightness, dtype=np.float32))
    h, w = lum.shape[:2]
    sh = min(h, _SMALL_HEIGHT)
    sw = max(1, round(w * sh / h))
    small = cv2.resize(lum, (sw, sh), interpolation=cv2.INTER_AREA) if (sw, sh) != (w, h) else lum
    # A blur of ~1 small pixel: motion of a pixel or two should not decorrelate.
    return cv2.GaussianBlur(small, (0, 0), 1.0, borderType=cv2.BORDER_REFLECT)


def cut_scores(prev_l: np.ndarray, cur_l: np.ndarray) -> tuple[float, float]:
    """(spatial correlation, histogram distance) of two L* frames after exposure normalisation.

    Correlation in [-1, 1] (1 = same pattern); histogram distance in [0, 1] (half the L1 distance of the
    normalised luminance histograms; 0 = same tonal distribution).
    """
    a, b = _small(prev_l), _small(cur_l)
    if a.shape != b.shape:
        b = cv2.resize(b, (a.shape[1], a.shape[0]), interpolation=cv2.INTER_AREA)
    sa, sb = float(a.std()), float(b.std())
    if sa < FLAT_STD or sb < FLAT_STD:
        # Flat frames carry no pattern: same when both flat at a similar level.
        same = sa < FLAT_STD and sb < FLAT_STD and abs(float(a.mean()) - float(b.mean())) < 10.0
        return (1.0, 0.0) if same else (0.0, 1.0)
    na = (a - a.mean()) / sa
    nb = (b - b.mean()) / sb
    corr = float((na * nb).mean())
    ha, _ = np.histogram(np.clip(na, -3, 3), bins=_BINS, range=(-3, 3))
    hb, _ = np.histogram(np.clip(nb, -3, 3), bins=_BINS, range=(-3, 3))
    hist = 0.5 * float(np.abs(ha / ha.sum() - hb / hb.sum()).sum())
    return corr, hist


def is_cut(prev_l: np.ndarray, cur_l: np.ndarray) -> bool:
    """True when ``cur_l`` starts a new scene after ``prev_l`` (both L* ``(H, W)``)."""
    corr, hist = cut_scores(prev_l, cur_l)
    return corr < CUT_CORRELATION or (corr < CUT_CORRELATION_WEAK and hist > CUT_HISTOGRAM)


def detect_cuts(frames: Iterable[int], read_lightness: Callable[[int], np.ndarray]) -> set[int]:
    """Frame numbers that start a new scene (never the first frame). Reads each frame once and holds two."""
    cuts: set[int] = set()
    prev: np.ndarray | None = None
    for f in frames:
        cur = read_lightness(f)
        if prev is not None and is_cut(prev, cur):
            cuts.add(f)
        prev = cur
    return cuts
