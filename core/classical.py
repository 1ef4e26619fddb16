"""Classical colourisers: they need no trained model and are the baselines the CNN-LSTM must beat.

Each takes one colour reference (a keyframe's colour image) and gives chroma to other frames:

* ``histogram`` — luminance-conditioned chroma histogram matching. The frame's L* is first matched to the
  reference's L* histogram (exposure and contrast differ between a scan and a still); then, per L* band,
  each of a*, b* is matched to the reference's a*, b* distribution in that band. A true black-and-white
  frame has a degenerate (single-valued) chroma distribution, so matching it maps every pixel of a band to
  the band's median chroma; bands are interpolated along L* so no banding appears.
* ``reinhard`` — Reinhard et al. (2001) statistics transfer in L*a*b*: per L* band, the frame's a*, b*
  mean and standard deviation are moved to the reference's. The frame's L* is first moved to the
  reference's L* mean/std so the bands line up. For a gray frame this gives the band's mean chroma.
* ``knn`` — after Welsh et al. (2002): each pixel takes the mean a*b* of its K nearest reference pixels in a
  luminance-and-texture feature space (L*, local mean, local standard deviation, gradient magnitude at two
  scales), with the reference luminance remapped to the frame's mean/std. The reference is subsampled
  (a fixed jittered grid, deterministic); neighbours are found by brute force with torch in chunks.

All arrays are float32. ``lab`` arrays are CIE L*a*b* D65 ``(H, W, 3)`` with L* in [0, 100]; ``ab`` arrays
are ``(H, W, 2)``. Only the L* channel of a frame is used.
"""

from __future__ import annotations

import cv2
import numpy as np

from .errors import UsageError

METHODS = ("histogram", "reinhard", "knn")

#: Reference pixels kept for the knn search (a jittered grid); enough to cover the reference's textures.
KNN_REFERENCE_SAMPLES = 2048
#: Above this many frame pixels, knn queries a downscaled frame and upsamples the chroma (chroma is smooth).
KNN_MAX_QUERIES = 40_000
#: Query rows per brute-force chunk (bounds the distance matrix to rows x samples floats).
_KNN_CHUNK = 4096


# --------------------------------------------------------------------------------------------- helpers

def _check_lab(lab: np.ndarray, what: str) -> np.ndarray:
    lab = np.asarray(lab, dtype=np.float32)
    if lab.ndim != 3 or lab.shape[2] < 1 or lab.shape[0] < 2 or lab.shape[1] < 2:
        raise UsageError(f"{what}: expected an (H, W, 3) L*a*b* image, got shape {lab.shape}")
    return lab


def _finite(x: np.ndarray) -> np.ndarray:
    """NaN/Inf (possible in EXR scans) would poison statistics: treat them as 0."""
    return np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)


def match_histogram(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Monotone map of ``values`` so their distribution matches ``reference``'s (both 1-D float arrays).

    Ties in ``values`` map to the same output (the mean rank), so a constant input maps to the reference's
    median rather than being spread arbitrarily.
    """
    values = np.asarray(values, dtype=np.float32)
    reference = np.sort(np.asarray(reference, dtype=np.float32).ravel())
    if values.size == 0 or reference.size == 0:
        return values.copy()
    _, inverse, counts = np.unique(values.ravel(), return_inverse=True, return_counts=True)
    # Mid-rank quantile of each distinct value in the input distribution.
    quant = (np.cumsum(counts) - 0.5 * counts) / values.size
    ref_q = (np.arange(reference.size) + 0.5) / reference.size
    mapped = np.interp(quant, ref_q, reference).astype(np.float32)
    return mapped[inverse].reshape(values.shape)


def _band_centres(lightness: np.ndarray, bands: int) -> np.ndarray:
    """Band centres at equal-count quantiles of L*, so every band holds reference pixels."""
    q = (np.arange(bands) + 0.5) / bands
    centres = np.quantile(lightness, q).astype(np.float32)
    # Strictly increasing for np.interp; a flat reference collapses to one band.
    return np.maximum.accumulate(centres + np.arange(bands, dtype=np.float32) * 1e-3)


def _band_weights(lightness: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Soft (triangular) membership of each value in each band: ``(N, bands)`` rows summing to 1."""
    n = centres.size
    pos = np.interp(lightness.ravel(), centres, np.arange(n, dtype=np.float32))
    lo = np.clip(np.floor(pos).astype(np.int64), 0, n - 1)
    hi = np.minimum(lo + 1, n - 1)
    frac = (pos - lo).astype(np.float32)
    w = np.zeros((pos.size, n), dtype=np.float32)
    rows = np.arange(pos.size)
    w[rows, lo] += 1.0 - frac
    w[rows, hi] += frac
    return w


def _band_membership(ref_l: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """P(band | L*) estimated from the reference: ``(101, bands)`` rows for L* = 0..100 summing to 1.

    Reference pixels are assigned to their nearest band centre; a frame pixel of lightness L then belongs
    to each band in the proportion the reference's pixels of about that lightness do. So a frame with the
    reference's L* distribution gets exactly the reference's band populations (and so its mean chroma),
    and the membership changes smoothly with L* (no banding). L* with no reference pixel nearby falls back
    to interpolation between the nearest band centres.
    """
    bands = centres.size
    ref_band = _band_weights(ref_l, centres).argmax(1)
    bins = np.clip(np.rint(ref_l), 0, 100).astype(np.int64)
    counts = np.zeros((101, bands), dtype=np.float32)
    np.add.at(counts, (bins, ref_band), 1.0)
    # Smooth along L* (sigma 1.5 L*) so the membership does not follow single histogram bins.
    counts = cv2.GaussianBlur(counts, (1, 11), sigmaX=0, sigmaY=1.5, borderType=cv2.BORDER_REFLECT)
    total = counts.sum(1, keepdims=True)
    fallback = _band_weights(np.arange(101, dtype=np.float32), centres)
    weight = np.clip(total / 0.5, 0.0, 1.0)   # trust the histogram where it has pixels
    return (weight * counts / np.maximum(total, 1e-6) + (1.0 - weight) * fallback).astype(np.float32)


def _membership_of(lightness: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Rows of a ``(101, bands)`` membership table for each L* value (linear between integer L*)."""
    pos = np.clip(lightness.ravel(), 0.0, 100.0)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, 100)
    frac = (pos - lo).astype(np.float32)[:, None]
    return table[lo] * (1.0 - frac) + table[hi] * frac


# --------------------------------------------------------------------------------------------- texture features

def texture_features(lightness: np.ndarray) -> np.ndarray:
    """Luminance-and-texture features of an L* image ``(H, W)`` -> ``(H, W, 5)`` float32, all in L* units.

    Channels: L*, local mean (Gaussian sigma 2 px), local standard deviation (sigma 2 px), gradient
    magnitude at sigma 1 px and at sigma 3 px. Pixel scales are of the image given (working size).
    """
    lum = _finite(np.asarray(lightness, dtype=np.float32))
    mean = cv2.GaussianBlur(lum, (0, 0), 2.0, borderType=cv2.BORDER_REFLECT)
    sq = cv2.GaussianBlur(lum * lum, (0, 0), 2.0, borderType=cv2.BORDER_REFLECT)
    std = np.sqrt(np.maximum(sq - mean * mean, 0.0))
    grads = []
    for sigma in (1.0, 3.0):
        sm = cv2.GaussianBlur(lum, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
        gx = cv2.Sobel(sm, cv2.CV_32F, 1, 0, ksize=3) / 8.0
        gy = cv2.Sobel(sm, cv2.CV_32F, 0, 1, ksize=3) / 8.0
        # Scaled by sigma so both scales have comparable magnitude per L* step.
        grads.append(np.sqrt(gx * gx + gy * gy) * sigma)
    return np.stack([lum, mean, std, grads[0], grads[1]], axis=-1).astype(np.float32)


#: Relative weight of each texture feature in the knn distance (L* and local mean dominate colour choice).
FEATURE_WEIGHTS = np.array([1.0, 1.0, 0.7, 0.5, 0.5], dtype=np.float32)


def remap_features(features: np.ndarray, src_mean: float, src_std: float,
                   dst_mean: float, dst_std: float) -> np.ndarray:
    """Welsh et al.'s luminance remapping applied to features ``(..., 5)``: L* and local mean move
    linearly from (src_mean, src_std) to (dst_mean, dst_std); std and gradients scale by the std ratio."""
    s = dst_std / max(src_std, 1e-3)
    out = features.copy()
    out[..., 0:2] = (features[..., 0:2] - src_mean) * s + dst_mean
    out[..., 2:] = features[..., 2:] * s
    return out


def grid_sample_indices(height: int, width: int, count: int, seed: int = 0) -> np.ndarray:
    """Flat indices of about ``count`` pixels on a jittered grid (deterministic): covers the image evenly."""
    if height * width <= count:
        return np.arange(height * width)
    step = np.sqrt(height * width / count)
    ys = np.arange(0, height, step)
    xs = np.arange(0, width, step)
    rng = np.random.default_rng(seed)
    yy = (ys[:, None] + rng.random((ys.size, xs.size)) * step).astype(np.int64).clip(0, height - 1)
    xx = (xs[None, :] + rng.random((ys.size, xs.size)) * step).astype(np.int64).clip(0, width - 1)
    return np.unique((yy * width + xx).ravel())


def knn_search(queries: np.ndarray, samples: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact K nearest ``samples`` of each query row (Euclidean), brute force with torch in chunks.

    ``queries`` (N, D), ``samples`` (M, D) float32 -> (indices (N, k) int64, squared distances (N, k)),
    nearest first.
    """
    import torch  # here, not at import: `kinochrome info` and a run's start-up need no torch

    k = max(1, min(k, samples.shape[0]))
    q = torch.from_numpy(np.ascontiguousarray(queries, dtype=np.float32))
    s = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))
    s_norm = (s * s).sum(1)
    idx = np.empty((q.shape[0], k), dtype=np.int64)
    dist = np.empty((q.shape[0], k), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, q.shape[0], _KNN_CHUNK):
            qc = q[start:start + _KNN_CHUNK]
            # |q - s|^2 = |q|^2 + |s|^2 - 2 q.s; |q|^2 does not change the ranking, added back after topk.
            d = torch.addmm(s_norm[None, :], qc, s.T, alpha=-2.0)
            val, ind = torch.topk(d, k, dim=1, largest=False, sorted=True)
            idx[start:start + qc.shape[0]] = ind.numpy()
            dist[start:start + qc.shape[0]] = (val + (qc * qc).sum(1, keepdim=True)).clamp_min(0).numpy()
    return idx, dist


# --------------------------------------------------------------------------------------------- the colouriser

class ClassicalColouriser:
    """Colours frames from one colour reference with a classical method (no model).

    ``reference_lab``: the reference, L*a*b* ``(H, W, 3)`` float32 (any size; usually the working size).
    ``k``: neighbours for ``knn``. Unknown ``method`` -> :class:`UsageError`.
    """

    #: L* bands used by the statistics methods.
    REINHARD_BANDS = 5
    HISTOGRAM_BANDS = 12

    def __init__(self, method: str, reference_lab: np.ndarray, k: int = 8):
        if method not in METHODS:
            raise UsageError(f"unknown classical method {method!r}; expected one of {', '.join(METHODS)}")
        ref = _finite(_check_lab(reference_lab, "colour reference"))
        if ref.shape[2] < 3:
            raise UsageError(f"colour reference: expected 3 channels (L*a*b*), got {ref.shape[2]}")
        if k < 1:
            raise UsageError(f"knn: k must be at least 1, got {k}")
        self.method = method
        self.k = int(k)
        self._ref_l = ref[..., 0].ravel()
        self._ref_ab = ref[..., 1:3].reshape(-1, 2)
        self._ref_l_mean = float(self._ref_l.mean())
        self._ref_l_std = float(self._ref_l.std())
        # Everything that depends on the reference alone is computed once (a shot reuses one colouriser).
        if method in ("histogram", "reinhard"):
            bands = self.HISTOGRAM_BANDS if method == "histogram" else self.REINHARD_BANDS
            self._centres = _band_centres(self._ref_l, bands)
            self._membership = _band_membership(self._ref_l, self._centres)
            # Hard (nearest-centre) bands for the reference's statistics, so a band's chroma is not pulled
            # by pixels of a neighbouring band; frames interpolate between bands (soft), so no banding.
            ref_band = _band_weights(self._ref_l, self._centres).argmax(1)
            self._band_ab = [self._ref_ab[ref_band == b] for b in range(self._centres.size)]
            self._band_sorted = [np.sort(v, axis=0) for v in self._band_ab]
        if method == "knn":
            feats = texture_features(ref[..., 0]).reshape(-1, 5)
            keep = grid_sample_indices(ref.shape[0], ref.shape[1], KNN_REFERENCE_SAMPLES)
            self._knn_feats = feats[keep]
            self._knn_ab = self._ref_ab[keep]

    def colourise(self, lab: np.ndarray) -> np.ndarray:
        """Chroma for a frame: ``lab`` L*a*b* ``(H, W, 3)`` (or ``(H, W)`` L*; only L* is used unless the frame
        has chroma of its own, which ``histogram``/``reinhard`` transfer) -> a*b* ``(H, W, 2)`` float32."""
        lab = np.asarray(lab, dtype=np.float32)
        if lab.ndim == 2:
            lab = lab[..., None]
        lab = _finite(_check_lab(lab, "frame"))
        if self.method == "histogram":
            return self._histogram(lab)
        if self.method == "reinhard":
            return self._reinhard(lab)
        return self._knn(lab[..., 0])

    # -- histogram
    def _histogram(self, lab: np.ndarray) -> np.ndarray:
        h, w = lab.shape[:2]
        lum = match_histogram(lab[..., 0].ravel(), self._ref_l)
        frame_ab = lab[..., 1:3].reshape(-1, 2) if lab.shape[2] >= 3 else np.zeros((h * w, 2), np.float32)
        frame_w = _membership_of(lum, self._membership)
        frame_band = frame_w.argmax(1)
        out = np.zeros((h * w, 2), dtype=np.float32)
        for b, ref_sorted in enumerate(self._band_sorted):
            touch = frame_w[:, b] > 0
            if not touch.any() or ref_sorted.shape[0] == 0:
                continue
            sel = frame_band == b
            band_ab = np.zeros((int(touch.sum()), 2), dtype=np.float32)
            for c in range(2):
                # Pixels touching the band are matched using the ranks of the band's own pixels; each
                # contributes by its soft membership.
                src = frame_ab[touch, c]
                base = frame_ab[sel, c] if sel.any() else src
                band_ab[:, c] = _match_to(src, base, ref_sorted[:, c])
            out[touch] += band_ab * frame_w[touch, b:b + 1]
        return out.reshape(h, w, 2)

    # -- reinhard
    def _reinhard(self, lab: np.ndarray) -> np.ndarray:
        h, w = lab.shape[:2]
        lum = lab[..., 0].ravel()
        s = self._ref_l_std / max(float(lum.std()), 1e-3)
        lum = (lum - lum.mean()) * s + self._ref_l_mean
        frame_ab = lab[..., 1:3].reshape(-1, 2) if lab.shape[2] >= 3 else np.zeros((h * w, 2), np.float32)
        frame_w = _membership_of(lum, self._membership)
        out = np.zeros((h * w, 2), dtype=np.float32)
        for b, ref_ab in enumerate(self._band_ab):
            fw = frame_w[:, b:b + 1]
            if float(fw.sum()) < 1e-6 or ref_ab.shape[0] == 0:
                continue
            r_mean = ref_ab.mean(0)
            r_std = ref_ab.std(0)
            f_mean = (fw * frame_ab).sum(0) / float(fw.sum())
            f_std = np.sqrt((fw * (frame_ab - f_mean) ** 2).sum(0) / float(fw.sum()))
            # A gray frame has no chroma spread to scale: its std ~ 0, so it gets the band mean only.
            gain = np.where(f_std > 0.5, r_std / np.maximum(f_std, 1e-6), 0.0).astype(np.float32)
            out += fw * (r_mean + (frame_ab - f_mean) * gain)
        return out.reshape(h, w, 2).astype(np.float32)

    # -- knn
    def _knn(self, lightness: np.ndarray) -> np.ndarray:
        h, w = lightness.shape
        scale = min(1.0, float(np.sqrt(KNN_MAX_QUERIES / (h * w))))
        small = lightness
        if scale < 1.0:
            sw, sh = max(2, round(w * scale)), max(2, round(h * scale))
            small = cv2.resize(lightness, (sw, sh), interpolation=cv2.INTER_AREA)
        feats = texture_features(small)
        ref_feats = remap_features(self._knn_feats, self._ref_l_mean, self._ref_l_std,
                                   float(small.mean()), float(small.std()))
        idx, _ = knn_search(feats.reshape(-1, 5) * FEATURE_WEIGHTS, ref_feats * FEATURE_WEIGHTS, self.k)
        ab = self._knn_ab[idx].mean(axis=1).reshape(small.shape[0], small.shape[1], 2)
        # A light blur removes single-pixel chroma speckle from neighbour choice (chroma is low-frequency).
        ab = cv2.GaussianBlur(ab, (0, 0), 1.0, borderType=cv2.BORDER_REFLECT)
        if scale < 1.0:
            ab = cv2.resize(ab, (w, h), interpolation=cv2.INTER_LINEAR)
        return ab.astype(np.float32)


def _match_to(values: np.ndarray, base: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Histogram-match ``values`` using the ranks they would have within ``base``'s distribution, to the
    distribution of ``reference`` (sorted)."""
    if reference.size == 0:
        return np.zeros_like(values)
    base = np.sort(base)
    if base.size == 0 or base[-1] - base[0] < 0.5:
        # Degenerate (gray) distribution: every value sits at the median rank.
        return np.full_like(values, np.median(reference))
    quant = np.interp(values, base, (np.arange(base.size) + 0.5) / base.size)
    ref = reference      # sorted by the caller
    return np.interp(quant, (np.arange(ref.size) + 0.5) / ref.size, ref).astype(np.float32)


def colourise(method: str, reference_lab: np.ndarray, lab: np.ndarray, k: int = 8) -> np.ndarray:
    """One-shot helper: ``ClassicalColouriser(method, reference_lab, k).colourise(lab)``."""
    return ClassicalColouriser(method, reference_lab, k).colourise(lab)
