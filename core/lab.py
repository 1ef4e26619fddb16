"""CIE L*a*b* (D65) from linear Rec.709 and back, for NumPy arrays and torch tensors.

Conventions used everywhere in Kinochrome:

* ``linear`` arrays are scene- or display-linear Rec.709 RGB, shape ``(..., 3)``, float32.
* ``lab`` arrays are CIE L*a*b* with L* in [0, 100] and a*, b* roughly in [-110, 110], shape ``(..., 3)``.
* L* depends only on the Rec.709 luminance Y = 0.2126 R + 0.7152 G + 0.0722 B, so keeping Y keeps L*.
* ``srgb`` values are encoded with the IEC 61966-2-1 curve, extended linearly below 0 as OCIO does, so
  encoding and decoding invert each other for every finite value (negatives and values above 1 included).

This is the one module of Lab and sRGB maths: :mod:`kinochrome.core.colour` calls these functions (its
per-pixel work, and :mod:`kinochrome.core.pixelops`'s, uses :func:`lab_to_linear_planes`, the channel-by-channel
kernel; its curves skip the selection when every value is on one side of the break). Each conversion is built
from the others; those taking colour triples check for a last axis of 3 and say what they got.
"""

from __future__ import annotations

import numpy as np

REC709_LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)

RGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375],
     [0.2126729, 0.7151522, 0.0721750],
     [0.0193339, 0.1191920, 0.9503041]], dtype=np.float64)
XYZ_TO_RGB = np.linalg.inv(RGB_TO_XYZ)
WHITE = RGB_TO_XYZ.sum(axis=1)  # D65 white of Rec.709
_EPS = 216.0 / 24389.0
_KAPPA = 24389.0 / 27.0
_XYZ_TO_RGB_F32 = [[np.float32(v) for v in row] for row in XYZ_TO_RGB]
_WHITE_F32 = [np.float32(v) for v in WHITE]


def check_triples(x: np.ndarray, name: str, what: str = "RGB") -> np.ndarray:
    """``x`` as a float32 array of shape ``(..., 3)``; ValueError naming ``name`` and the shape otherwise."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 0 or x.shape[-1] != 3:
        raise ValueError(f"{name}: expected {what} of shape (..., 3), got {tuple(x.shape)}")
    return x


def luminance(linear: np.ndarray) -> np.ndarray:
    """Rec.709 luminance Y of linear RGB ``(..., 3)`` -> ``(...)``.

    Channel by channel: a tall ``(N, 3) @ (3,)`` product is several times slower on full frames.
    """
    linear = check_triples(linear, "luminance", "linear RGB")
    w = REC709_LUMA
    return w[0] * linear[..., 0] + w[1] * linear[..., 1] + w[2] * linear[..., 2]


def _f(t: np.ndarray) -> np.ndarray:
    above = t > _EPS
    if above.all():  # the common case: no selection, and no linear segment to compute
        return np.cbrt(t)
    return np.where(above, np.cbrt(t), (_KAPPA * t + 16.0) / 116.0)


def _finv(f: np.ndarray) -> np.ndarray:
    f3 = f * f * f  # cheaper than a float power
    above = f3 > _EPS
    if above.all():
        return f3
    return np.where(above, f3, (116.0 * f - 16.0) / _KAPPA)


def y_to_lightness(y: np.ndarray) -> np.ndarray:
    """Relative luminance Y (1.0 = white) -> L* in [0, 100] (float32)."""
    return (116.0 * _f(np.asarray(y, dtype=np.float32)) - 16.0).astype(np.float32)


def lightness_to_y(lightness: np.ndarray) -> np.ndarray:
    """L* -> relative luminance Y."""
    return _finv((np.asarray(lightness, dtype=np.float32) + 16.0) / 116.0).astype(np.float32)


def linear_to_lab(linear: np.ndarray) -> np.ndarray:
    """Linear Rec.709 RGB ``(..., 3)`` -> CIE L*a*b* D65 ``(..., 3)`` float32 (above white: L* > 100)."""
    xyz = check_triples(linear, "linear_to_lab", "linear RGB") @ (RGB_TO_XYZ / WHITE[:, None]).T.astype(np.float32)
    f = _f(xyz)
    lab = np.empty_like(xyz)
    lab[..., 0] = 116.0 * f[..., 1] - 16.0
    lab[..., 1] = 500.0 * (f[..., 0] - f[..., 1])
    lab[..., 2] = 200.0 * (f[..., 1] - f[..., 2])
    return lab


def lab_to_linear(lab: np.ndarray) -> np.ndarray:
    """CIE L*a*b* D65 ``(..., 3)`` -> linear Rec.709 RGB ``(..., 3)`` float32 (may leave [0, 1])."""
    lab = check_triples(lab, "lab_to_linear", "L*a*b*")
    fy = (lab[..., 0] + 16.0) / 116.0
    return np.stack(lab_to_linear_planes(fy, lab[..., 1], lab[..., 2]), axis=-1)


def lab_to_linear_planes(fy: np.ndarray, a: np.ndarray, b: np.ndarray, y: np.ndarray | None = None
                         ) -> list[np.ndarray]:
    """The linear Rec.709 ``[R, G, B]`` planes (float32, each the shape of ``fy``) of L*a*b* given as
    ``fy = (L* + 16) / 116`` and the a*, b* planes; ``y``: the relative luminance Y when the caller has it
    (``Y = finv(fy)``, which this then need not compute). Channel by channel: on full frames several times
    faster than ``(N, 3)`` matrix products.
    """
    x = _finv(fy + a * np.float32(1 / 500.0)).astype(np.float32) * _WHITE_F32[0]
    yy = (_finv(fy) if y is None else y).astype(np.float32) * _WHITE_F32[1]
    z = _finv(fy - b * np.float32(1 / 200.0)).astype(np.float32) * _WHITE_F32[2]
    m = _XYZ_TO_RGB_F32
    return [(m[i][0] * x + m[i][1] * yy + m[i][2] * z).astype(np.float32) for i in range(3)]


def y_to_f(y: np.ndarray) -> np.ndarray:
    """Relative luminance Y -> ``fy = (L* + 16) / 116`` (float32), for :func:`lab_to_linear_planes`."""
    return _f(np.asarray(y, dtype=np.float32)).astype(np.float32)


def srgb_to_linear(srgb: np.ndarray) -> np.ndarray:
    """sRGB-encoded values (IEC 61966-2-1 curve, linear below the break, negatives included) -> linear,
    elementwise, any shape, float32. NaN stays NaN."""
    x = np.asarray(srgb, dtype=np.float32)
    out = np.asarray(x / np.float32(12.92))  # a 0-d array for a scalar, so the mask can write into it
    curve = x > 0.04045
    out[curve] = ((x[curve] + np.float32(0.055)) / np.float32(1.055)) ** np.float32(2.4)
    return out


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """Linear -> sRGB-encoded values, elementwise, any shape, float32: the inverse of :func:`srgb_to_linear`
    (negatives on the linear segment, values above 1 on the curve; nothing is clipped)."""
    x = np.asarray(linear, dtype=np.float32)
    out = np.asarray(x * np.float32(12.92))
    curve = x > 0.0031308
    out[curve] = np.float32(1.055) * x[curve] ** np.float32(1.0 / 2.4) - np.float32(0.055)
    return out


def srgb_to_lab(srgb: np.ndarray) -> np.ndarray:
    """sRGB-encoded RGB ``(..., 3)`` -> L*a*b* ``(..., 3)``."""
    return linear_to_lab(srgb_to_linear(check_triples(srgb, "srgb_to_lab", "sRGB")))


def lab_to_srgb(lab: np.ndarray) -> np.ndarray:
    """L*a*b* ``(..., 3)`` -> sRGB-encoded RGB clipped to [0, 1] (for display and 8-bit images)."""
    return np.clip(linear_to_srgb(lab_to_linear(lab)), 0.0, 1.0)
