"""Colourisation metrics: fidelity (PSNR, SSIM, ab RMSE), colourfulness, temporal stability (CDC, warp error).

Pure NumPy/OpenCV. Encodings:

* ``srgb``: sRGB-encoded RGB, float ``(H, W, 3)`` in [0, 1] (frames) or ``(T, H, W, 3)`` (clips).
* ``ab``: CIE a*b* (D65, :mod:`kinochrome.core.lab` units, about -110..110), ``(H, W, 2)`` or ``(T, H, W, 2)``.
* ``lightness``: L* in [0, 100], ``(H, W)`` or ``(T, H, W)``.
"""

from __future__ import annotations

import cv2
import numpy as np

AB_RANGE = 110.0


def psnr(pred: np.ndarray, truth: np.ndarray, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB of sRGB ``(..., 3)`` in [0, 1]; ``inf`` for identical arrays."""
    mse = float(np.mean((np.asarray(pred, np.float64) - np.asarray(truth, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(data_range ** 2 / mse)


def ssim(pred: np.ndarray, truth: np.ndarray, data_range: float = 1.0, sigma: float = 1.5) -> float:
    """Mean structural similarity (Wang et al. 2004, Gaussian window sigma 1.5) of sRGB ``(H, W, 3)`` [0, 1].

    Computed per channel and averaged; 1.0 for identical images.
    """
    x = np.asarray(pred, np.float64)
    y = np.asarray(truth, np.float64)
    if x.ndim == 2:
        x, y = x[..., None], y[..., None]
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2

    def blur(a: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(a, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)

    scores = []
    for ch in range(x.shape[-1]):
        a, b = x[..., ch], y[..., ch]
        mu_a, mu_b = blur(a), blur(b)
        var_a = blur(a * a) - mu_a ** 2
        var_b = blur(b * b) - mu_b ** 2
        cov = blur(a * b) - mu_a * mu_b
        s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
        scores.append(s.mean())
    return float(np.mean(scores))


def ab_rmse(pred_ab: np.ndarray, truth_ab: np.ndarray) -> float:
    """Root mean squared a*b* distance (Euclidean in the ab plane) of ``(..., 2)`` arrays."""
    d = np.asarray(pred_ab, np.float64) - np.asarray(truth_ab, np.float64)
    return float(np.sqrt(np.mean((d ** 2).sum(-1))))


def colourfulness(srgb: np.ndarray) -> float:
    """Hasler & Süsstrunk (2003) colourfulness of sRGB ``(H, W, 3)`` in [0, 1] (scaled to 0-255 as in the paper).

    0 for a gray image; about 30-60 for ordinary photographs.
    """
    rgb = np.asarray(srgb, np.float64) * 255.0
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def colourfulness_ratio(pred_srgb: np.ndarray, truth_srgb: np.ndarray) -> float:
    """colourfulness(pred) / colourfulness(truth) over frames ``(..., H, W, 3)``; < 1 means washed out / sepia."""
    pred = np.asarray(pred_srgb).reshape(-1, *np.shape(pred_srgb)[-3:])
    truth = np.asarray(truth_srgb).reshape(-1, *np.shape(truth_srgb)[-3:])
    p = np.mean([colourfulness(f) for f in pred])
    t = np.mean([colourfulness(f) for f in truth])
    return float(p / max(t, 1e-6))


def ab_histogram(ab: np.ndarray, bins: int = 32) -> np.ndarray:
    """Normalised 2-D histogram of a*b* ``(..., 2)`` over [-110, 110]^2 -> ``(bins, bins)`` summing to 1."""
    flat = np.asarray(ab, np.float64).reshape(-1, 2)
    hist, _, _ = np.histogram2d(flat[:, 0], flat[:, 1], bins=bins, range=[[-AB_RANGE, AB_RANGE]] * 2)
    return hist / max(hist.sum(), 1.0)


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence (base 2, in [0, 1]) of two histograms of the same shape (normalised here)."""
    p = np.asarray(p, np.float64).ravel()
    q = np.asarray(q, np.float64).ravel()
    p, q = p / max(p.sum(), 1e-12), q / max(q.sum(), 1e-12)
    m = 0.5 * (p + q)

    def kl(a: np.ndarray, b: np.ndarray) -> float:
        nz = a > 0
        return float(np.sum(a[nz] * np.log2(a[nz] / b[nz])))

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def cdc(ab_frames: np.ndarray, steps: tuple[int, ...] = (1, 2, 4), bins: int = 32) -> float:
    """Colour distribution consistency: JS divergence of ab histograms of frames t and t+k.

    ``ab_frames (T, H, W, 2)``. Averaged over t for each k in ``steps``, then over k (k >= T skipped).
    Lower is steadier; 0 for a clip whose colour distribution never changes.
    """
    hists = [ab_histogram(f, bins) for f in ab_frames]
    per_step = [np.mean([js_divergence(hists[t], hists[t + k]) for t in range(len(hists) - k)])
                for k in steps if k < len(hists)]
    return float(np.mean(per_step)) if per_step else 0.0


def _flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """DIS optical flow from uint8 gray ``a`` to ``b`` ``(H, W)`` -> ``(H, W, 2)`` with a(x) ~ b(x + flow(x))."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(a, b, None)


def _warp(img: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Sample ``img (H, W, C)`` at ``x + flow(x)`` (bilinear, border replicated)."""
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(img.astype(np.float32), gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def consistency_mask(fwd: np.ndarray, bwd: np.ndarray) -> np.ndarray:
    """Forward-backward check (Sundaram et al. 2010): ``(H, W)`` bool, True where flow is trustworthy.

    ``fwd`` t->t+1 and ``bwd`` t+1->t flows ``(H, W, 2)``; occluded pixels and motion edges fail.
    """
    bwd_at = _warp(bwd, fwd)
    total = fwd + bwd_at
    return (total ** 2).sum(-1) < 0.01 * ((fwd ** 2).sum(-1) + (bwd_at ** 2).sum(-1)) + 0.5


def flow_warp_error(lightness: np.ndarray, srgb: np.ndarray) -> float:
    """Temporal warp error (Lai et al. 2018) of a colourised clip.

    ``lightness (T, H, W)`` L* (the input luminance, which the colourisation keeps) drives DIS optical flow;
    frame t+1 of ``srgb (T, H, W, 3)`` [0, 1] is warped back onto frame t and the squared sRGB difference is
    averaged over pixels that pass the forward-backward check, then over t. 0 for perfectly stable colour.
    """
    lum = np.clip(np.asarray(lightness, np.float32) * 2.55, 0, 255).astype(np.uint8)
    errors = []
    for t in range(len(lum) - 1):
        fwd = _flow(lum[t], lum[t + 1])
        bwd = _flow(lum[t + 1], lum[t])
        mask = consistency_mask(fwd, bwd)
        if not mask.any():
            continue
        warped = _warp(np.asarray(srgb[t + 1], np.float32), fwd)
        err = ((np.asarray(srgb[t], np.float32) - warped) ** 2).sum(-1)
        errors.append(float(err[mask].mean()))
    return float(np.mean(errors)) if errors else 0.0
