"""Chroma from working size back to full resolution, guided by the full-resolution luminance.

The network predicts a*b* at working size (long side 256-512). Plain resizing would bleed colour across
edges at 2K/4K; instead the fast guided filter (He and Sun 2015) fits, at working size, a local linear model
``ab = A * L + B`` in every window, upsamples only the smooth coefficients ``A`` and ``B``, and applies them to
the full-resolution L*. Colour edges then follow the luminance edges of the full-resolution frame, at the cost
of two resizes.
"""

from __future__ import annotations

import cv2
import numpy as np


def _box(x: np.ndarray, radius: int) -> np.ndarray:
    return cv2.boxFilter(x, -1, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)


def guided_coefficients(lightness: np.ndarray, ab: np.ndarray, radius: int = 4,
                        eps: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """Local linear coefficients of ab on L at working size.

    lightness: (h, w) float32 L* in [0, 100]; ab: (h, w, 2) float32 a*b*.
    Returns (A, B), each (h, w, 2) float32, with ab ~= A * L + B. ``eps`` (in L* units squared) keeps
    flat areas from amplifying noise: larger = smoother colour.
    """
    guide = lightness.astype(np.float32)
    mean_l = _box(guide, radius)
    var_l = _box(guide * guide, radius) - mean_l * mean_l
    a_coef = np.empty_like(ab, dtype=np.float32)
    b_coef = np.empty_like(ab, dtype=np.float32)
    for c in range(2):
        p = ab[:, :, c].astype(np.float32)
        mean_p = _box(p, radius)
        cov = _box(guide * p, radius) - mean_l * mean_p
        a = cov / (var_l + eps)
        a_coef[:, :, c] = _box(a, radius)
        b_coef[:, :, c] = _box(mean_p - a * mean_l, radius)
    return a_coef, b_coef


def upsample_chroma(ab_small: np.ndarray, lightness_small: np.ndarray, lightness_full: np.ndarray,
                    radius: int = 4, eps: float = 4.0) -> np.ndarray:
    """a*b* at working size -> a*b* at full resolution, edges following the full-resolution L*.

    ab_small: (h, w, 2) float32; lightness_small: (h, w) float32 L* (the network's input);
    lightness_full: (H, W) float32 L*. Returns (H, W, 2) float32. When the sizes are equal this is a light
    edge-aware smoothing of ab.
    """
    height, width = lightness_full.shape[:2]
    a_coef, b_coef = guided_coefficients(lightness_small, ab_small, radius, eps)
    if a_coef.shape[:2] != (height, width):
        a_coef = cv2.resize(a_coef, (width, height), interpolation=cv2.INTER_LINEAR)
        b_coef = cv2.resize(b_coef, (width, height), interpolation=cv2.INTER_LINEAR)
    else:
        a_coef = a_coef.copy()
    # A * L + B in place, one a*b* plane at a time: broadcasting L over the last axis of (H, W, 2) makes
    # NumPy run inner loops of two elements (the same values, about 2x slower at 2K).
    lum = np.asarray(lightness_full, dtype=np.float32)
    for c in range(2):
        np.multiply(a_coef[:, :, c], lum, out=a_coef[:, :, c])
    a_coef += b_coef
    return a_coef

