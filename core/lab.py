"""CIE L*a*b* (D65) from linear Rec.709 and back, for NumPy arrays and torch tensors.

Conventions used everywhere in Kinochrome:

* ``linear`` arrays are scene- or display-linear Rec.709 RGB, shape ``(..., 3)``, float32.
* ``lab`` arrays are CIE L*a*b* with L* in [0, 100] and a*, b* roughly in [-110, 110], shape ``(..., 3)``.
* L* depends only on the Rec.709 luminance Y = 0.2126 R + 0.7152 G + 0.0722 B, so keeping Y keeps L*.
"""

from __future__ import annotations

import numpy as np

REC709_LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)

_RGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375],
     [0.2126729, 0.7151522, 0.0721750],
     [0.0193339, 0.1191920, 0.9503041]], dtype=np.float64)
_XYZ_TO_RGB = np.linalg.inv(_RGB_TO_XYZ)
_WHITE = _RGB_TO_XYZ.sum(axis=1)  # D65 white of Rec.709
_EPS = 216.0 / 24389.0
_KAPPA = 24389.0 / 27.0


def luminance(linear: np.ndarray) -> np.ndarray:
    """Rec.709 luminance Y of linear RGB ``(..., 3)`` -> ``(...)``.

    Channel by channel: a tall ``(N, 3) @ (3,)`` product is several times slower on full frames.
    """
    w = REC709_LUMA
    return w[0] * linear[..., 0] + w[1] * linear[..., 1] + w[2] * linear[..., 2]


def _f(t: np.ndarray) -> np.ndarray:
    return np.where(t > _EPS, np.cbrt(t), (_KAPPA * t + 16.0) / 116.0)


def _finv(f: np.ndarray) -> np.ndarray:
    f3 = f * f * f  # cheaper than a float power
    return np.where(f3 > _EPS, f3, (116.0 * f - 16.0) / _KAPPA)


def y_to_lightness(y: np.ndarray) -> np.ndarray:
    """Relative luminance Y (1.0 = white) -> L* in [0, 100] (float32)."""
    return (116.0 * _f(np.asarray(y, dtype=np.float32)) - 16.0).astype(np.float32)


def lightness_to_y(lightness: np.ndarray) -> np.ndarray:
    """L* -> relative luminance Y."""
    return _finv((np.asarray(lightness, dtype=np.float32) + 16.0) / 116.0).astype(np.float32)


def linear_to_lab(linear: np.ndarray) -> np.ndarray:
    """Linear Rec.709 RGB ``(..., 3)`` -> CIE L*a*b* D65 ``(..., 3)`` float32."""
    xyz = np.asarray(linear, dtype=np.float32) @ (_RGB_TO_XYZ / _WHITE[:, None]).T.astype(np.float32)
    f = _f(xyz)
    lab = np.empty_like(xyz)
    lab[..., 0] = 116.0 * f[..., 1] - 16.0
    lab[..., 1] = 500.0 * (f[..., 0] - f[..., 1])
    lab[..., 2] = 200.0 * (f[..., 1] - f[..., 2])
    return lab


def lab_to_linear(lab: np.ndarray) -> np.ndarray:
    """CIE L*a*b* D65 ``(..., 3)`` -> linear Rec.709 RGB ``(..., 3)`` float32 (may leave [0, 1])."""
    lab = np.asarray(lab, dtype=np.float32)
    fy = (lab[..., 0] + 16.0) / 116.0
    fx = fy + lab[..., 1] / 500.0
    fz = fy - lab[..., 2] / 200.0
    xyz = np.stack([_finv(fx), _finv(fy), _finv(fz)], axis=-1) * _WHITE.astype(np.float32)
    return (xyz @ _XYZ_TO_RGB.T.astype(np.float32)).astype(np.float32)


def srgb_to_linear(srgb: np.ndarray) -> np.ndarray:
    """sRGB-encoded values (IEC 61966-2-1 curve) -> linear, elementwise."""
    s = np.asarray(srgb, dtype=np.float32)
    return np.where(s <= 0.04045, s / 12.92, ((np.maximum(s, 0.04045) + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """Linear -> sRGB-encoded values, elementwise (negative values clamp to 0)."""
    x = np.maximum(np.asarray(linear, dtype=np.float32), 0.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * np.power(x, 1 / 2.4) - 0.055).astype(np.float32)


def srgb_to_lab(srgb: np.ndarray) -> np.ndarray:
    """sRGB-encoded RGB in [0, 1] ``(..., 3)`` -> L*a*b* ``(..., 3)``."""
    return linear_to_lab(srgb_to_linear(srgb))


def lab_to_srgb(lab: np.ndarray) -> np.ndarray:
    """L*a*b* -> sRGB-encoded RGB clipped to [0, 1]."""
    return np.clip(linear_to_srgb(lab_to_linear(lab)), 0.0, 1.0)
