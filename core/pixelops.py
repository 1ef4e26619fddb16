"""Fast full-resolution per-pixel colour work, held equal to :mod:`colour`'s reference functions.

Two implementations of the run's heaviest per-pixel step, recombining new chroma with the plate's own
luminance, for the encodings :mod:`colour` computes analytically:

* NumPy on planes (:func:`recombine_planar`), what CPU runs use: each band of
  pixels is split into contiguous R, G, B planes once (``cv2.split``) instead of reading strided columns
  for every operation, selections on mixed masks are done on the bits (:func:`select`: ``np.where`` with
  an unpredictable mask is ~15x slower than a multiply), and the all-lit / in-gamut / all-finite common
  case skips the selections it does not need. The arithmetic is the reference's, operation for
  operation, so the results are identical bit for bit (tests/test_pixelops.py); a band with a NaN/Inf
  pixel or chroma goes through the reference itself.
* torch tensor ops (:mod:`kinochrome.core.pixels_torch`), for ``--device cuda``: the same arithmetic on
  the GPU, matching the reference to float rounding (torch's own ``**``, ``exp``, ``log``, cube root).

NumPy and OpenCV only: importing it does not import torch.
"""

from __future__ import annotations

import cv2
import numpy as np

from . import colour as _colour
from . import lab as _lab

_EPS, _KAPPA = 216.0 / 24389.0, 24389.0 / 27.0          # _EPS.._M: pixels_torch's Lab constants
_WR, _WG, _WB = (float(w) for w in _lab.REC709_LUMA)
_WHITE = tuple(float(np.float32(v)) for v in getattr(_lab, "WHITE", getattr(_lab, "_WHITE", None)))
_M = tuple(tuple(float(np.float32(v)) for v in row)
           for row in getattr(_lab, "XYZ_TO_RGB", getattr(_lab, "_XYZ_TO_RGB", None)))
_TINY_Y = _colour._TINY_Y
_KINDS = ("linear", "srgb", "cineon")


# --- NumPy on planes: the CPU path ------------------------------------------------------------------------

#: Pixels per band of the NumPy path: a band's float32 planes stay in the CPU cache.
NUMPY_BAND = 65536


def select(mask: np.ndarray, a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
    """``np.where(mask, a, b)`` for float32 (or int32) values, exactly, by bit operations: branch-free, so
    a mask that changes from pixel to pixel costs what a uniform one does."""
    dtype = np.result_type(np.float32 if np.ndim(a) == 0 else a, np.float32 if np.ndim(b) == 0 else b)
    bits = mask.astype(np.uint32)
    np.negative(bits, out=bits)  # all ones where mask, zeros elsewhere
    # A scalar side stays a scalar (its bit pattern): broadcasting it to a contiguous plane first cost ~5x
    # the whole selection (a strided copy from a zero stride).
    a_bits = _bits_of(a, dtype, mask.shape)
    b_bits = _bits_of(b, dtype, mask.shape)
    # b ^ ((a ^ b) & bits): a where the bits are set, b elsewhere, in three passes over one new plane
    out = np.bitwise_and(np.bitwise_xor(a_bits, b_bits), bits, out=bits)
    np.bitwise_xor(out, b_bits, out=out)
    return out.view(dtype)


def _bits_of(x: np.ndarray | float, dtype: np.dtype, shape: tuple) -> np.ndarray | np.uint32:
    """The 32-bit patterns of ``x`` as ``dtype``: a ``np.uint32`` for a scalar, else a contiguous plane."""
    if np.ndim(x) == 0:
        return np.asarray(x, dtype=dtype).reshape(()).view(np.uint32)[()]
    return np.ascontiguousarray(np.broadcast_to(x, shape), dtype=dtype).view(np.uint32)


def _kind_of(colourspace: str) -> str:
    return _colour._kind(_colour.check_colourspace(colourspace))


def planar_supported(colourspace: str, quantise: str | None) -> bool:
    """Whether :func:`recombine_planar` computes this colourspace and storage itself (otherwise it hands
    the frame to the reference)."""
    return _kind_of(colourspace) in _KINDS and (quantise in (None, "float") or str(quantise).startswith("uint"))


def _decode_plane(x: np.ndarray, kind: str) -> np.ndarray:
    if kind == "linear":
        return x
    return _colour._DECODE[kind](x)


def _encode_plane(x: np.ndarray, kind: str) -> np.ndarray:
    if kind == "linear":
        return x
    return _colour._ENCODE[kind](x)


def _planes(band: np.ndarray, channels: int) -> list[np.ndarray]:
    """``(N, C)`` contiguous float32 -> C contiguous ``(N,)`` planes."""
    return [p.reshape(-1) for p in cv2.split(band.reshape(-1, 1, channels))]


def recombine_planar(encoded_in: np.ndarray, ab: np.ndarray, colourspace: str, max_linear: float | None,
                     quantise: str | None = None) -> np.ndarray:
    """:func:`colour.recombine_chroma`, bit for bit, computed on planes (see the module docstring)."""
    canonical = _colour.check_colourspace(colourspace)
    kind = _colour._kind(canonical)
    if not planar_supported(colourspace, quantise):
        return _colour.recombine_chroma(encoded_in, ab, colourspace, max_linear, quantise=quantise)
    shape = np.shape(encoded_in)
    flat_in = np.ascontiguousarray(encoded_in, dtype=np.float32).reshape(-1, 3)
    flat_ab = np.ascontiguousarray(ab, dtype=np.float32).reshape(-1, 2)
    _colour.check_ab_matches(flat_ab.shape[0], flat_in.shape[0], np.shape(ab), shape)
    lo, hi = _colour.linear_bounds(canonical, max_linear)
    out = np.empty_like(flat_in)
    for start in range(0, flat_in.shape[0], NUMPY_BAND):
        band = slice(start, start + NUMPY_BAND)
        planes = _recombine_band_planar(flat_in[band], flat_ab[band], kind, lo, hi, quantise)
        if planes is None:  # NaN/Inf in the band: the reference handles them
            out[band] = _colour._recombine_flat(flat_in[band], flat_ab[band], canonical, lo, hi, quantise)
        else:
            out[band] = cv2.merge(planes).reshape(-1, 3)
    return out.reshape(shape)


def _recombine_band_planar(band_in: np.ndarray, band_ab: np.ndarray, kind: str, lo: float, hi: float,
                           quantise: str | None) -> list[np.ndarray] | None:
    """One band of :func:`recombine_planar` -> the encoded R, G, B planes, or None when the band holds a
    NaN/Inf pixel (or a*b*) that the reference's pass-through handles."""
    r, g, b = _planes(band_in, 3)
    a_star, b_star = _planes(band_ab, 2)
    with np.errstate(over="ignore", invalid="ignore"):
        if not (np.isfinite(r + g + b).all() and np.isfinite(a_star + b_star).all()):
            return None
        if kind != "linear" and np.array_equal(r, g) and np.array_equal(r, b):
            # a black-and-white scan stores R = G = B: decode the plane once (the same values)
            lr = lg = lb = _decode_plane(r, kind)
        else:
            lr, lg, lb = (_decode_plane(p, kind) for p in (r, g, b))
        if not np.isfinite(lr + lg + lb).all():
            return None
    y = _WR * lr + _WG * lg + _WB * lb
    colour, lit = _chroma_on_luminance_planar(y, a_star, b_star, lo, hi)
    encoded = [_encode_plane(c, kind) for c in colour]
    if quantise not in (None, "float"):
        floor = select(lit, np.float32(lo - 1e-7), np.float32(-np.inf))
        encoded = _fix_per_channel_planar(encoded, y, kind, quantise, floor)
    return encoded


def _chroma_on_luminance_planar(y: np.ndarray, a_star: np.ndarray, b_star: np.ndarray, lo: float, hi: float
                                ) -> tuple[list[np.ndarray], np.ndarray]:
    """:func:`colour.chroma_on_luminance` on planes: the same operations, selections skipped where the mask
    is uniform (all lit, nothing out of [lo, hi])."""
    yc = np.clip(y, 0.0, 1.0)
    rgb = _lab.lab_to_linear_planes(_lab.y_to_f(yc), a_star, b_star, y=yc)  # finv(f(Y)) is Y itself
    colour_y = np.float32(_WR) * rgb[0] + np.float32(_WG) * rgb[1] + np.float32(_WB) * rgb[2]
    lit = (y > _TINY_Y) & (colour_y > _TINY_Y)
    all_lit = bool(lit.all())
    with np.errstate(divide="ignore", invalid="ignore"):
        if all_lit:
            scale = y / colour_y
            rgb = [c * scale for c in rgb]
        else:
            scale = select(lit, y / select(lit, colour_y, np.float32(1.0)), np.float32(0.0))
            rgb = [select(lit, c * scale, y) for c in rgb]
        top = np.maximum(np.maximum(rgb[0], rgb[1]), rgb[2])
        bottom = np.minimum(np.minimum(rgb[0], rgb[1]), rgb[2])
        over = top > hi if np.isfinite(hi) else None
        under = bottom < lo
        fits = not under.any() and (over is None or not over.any())
        if not fits:
            s = np.ones_like(y)
            if over is not None:
                s = select(over, (hi - y) / (top - y), s)
            s = np.minimum(s, select(under, (lo - y) / (bottom - y), np.float32(1.0)))
            s = np.minimum(np.fmax(s, np.float32(0.0)), np.float32(1.0))  # = clip(nan_to_num(s, nan=0), 0, 1)
            if not all_lit:
                s = select(lit, s, np.float32(1.0))
    out = []
    for c in rgb:
        channel = y + (c - y) if fits else y + s * (c - y)
        clipped = np.clip(channel, lo, hi)
        out.append(clipped if all_lit else select(lit, clipped, channel))
    return out, lit


def _fix_per_channel_planar(encoded: list[np.ndarray], y: np.ndarray, kind: str, quantise: str,
                            lo: np.ndarray) -> list[np.ndarray]:
    """:func:`colour._fix_per_channel` on planes (integer storage): snap to code values, re-pick green."""
    levels = _colour._levels(quantise)
    lut = _colour._decode_lut(kind, quantise)
    codes = [np.round(np.clip(e, 0.0, 1.0) * levels).astype(np.int32) for e in encoded]
    linear = [lut.take(c) for c in codes]
    rest = _WR * linear[0] + _WB * linear[2]
    target = (y - rest) / _WG
    target = _encode_plane(target, kind)
    best, best_err = codes[1], np.abs(_WG * linear[1] + rest - y)
    down = np.floor(np.minimum(np.fmax(target, np.float32(0.0)), np.float32(1.0)) * levels).astype(np.int32)
    for candidate in (down, np.minimum(down + 1, int(levels))):
        green = lut.take(candidate)
        with np.errstate(invalid="ignore"):
            err = np.abs(_WG * green + rest - y)
            allowed = green >= lo
            if not allowed.all():
                err = select(allowed, err, np.float32(np.inf))
            better = err < best_err
        # the smaller error (equal values where they tie: the same number), the code that gave it
        best, best_err = select(better, candidate, best), np.minimum(best_err, err)
    codes[1] = best
    return [c.astype(np.float32) / np.float32(levels) for c in codes]
