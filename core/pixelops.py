"""Fast full-resolution per-pixel colour work, held equal to :mod:`colour`'s reference functions.

Two implementations of the run's heaviest per-pixel step, recombining new chroma with the plate's own
luminance, for the encodings :mod:`colour` computes analytically:

* compiled kernels (:func:`recombine_planar`), what CPU runs use: per band of pixels, four numba loops
  (:mod:`kinochrome.core.pixelkernels`) do the arithmetic that NumPy spread over ~200 full-plane passes,
  with NumPy's own ``exp``/``log``/``cbrt``/sRGB curves between them. The arithmetic is the reference's,
  operation for operation, so the results are identical bit for bit (tests/test_pixelops.py); a band
  with a NaN/Inf pixel or chroma goes through the reference itself. A 2K 10-bit Cineon frame: 200 ms
  with NumPy planes, ~80 ms here (one thread).
* torch tensor ops (:mod:`kinochrome.core.pixels_torch`), for ``--device cuda``: the same arithmetic on
  the GPU, matching the reference to float rounding (torch's own ``**``, ``exp``, ``log``, cube root).

Importing it imports neither torch nor numba (the kernels load on the first frame).
"""

from __future__ import annotations

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


# --- compiled kernels: the CPU path -------------------------------------------------------------------

#: Pixels per band: a band's float32 planes stay in the CPU cache between the kernels and NumPy's calls.
NUMPY_BAND = 65536


def _kind_of(colourspace: str) -> str:
    return _colour._kind(_colour.check_colourspace(colourspace))


def planar_supported(colourspace: str, quantise: str | None) -> bool:
    """Whether :func:`recombine_planar` computes this colourspace and storage itself (otherwise it hands
    the frame to the reference)."""
    return _kind_of(colourspace) in _KINDS and (quantise in (None, "float") or str(quantise).startswith("uint"))


def recombine_planar(encoded_in: np.ndarray, ab: np.ndarray, colourspace: str, max_linear: float | None,
                     quantise: str | None = None) -> np.ndarray:
    """:func:`colour.recombine_chroma`, bit for bit, computed band by band with the compiled kernels of
    :mod:`kinochrome.core.pixelkernels` (see the module docstring). A band holding a NaN/Inf pixel or
    a*b* goes through the reference itself."""
    canonical = _colour.check_colourspace(colourspace)
    kind = _colour._kind(canonical)
    if not planar_supported(colourspace, quantise):
        return _colour.recombine_chroma(encoded_in, ab, colourspace, max_linear, quantise=quantise)
    from . import pixelkernels as K  # numba: imported (and its kernels loaded) on the first frame only

    shape = np.shape(encoded_in)
    flat_in = np.ascontiguousarray(encoded_in, dtype=np.float32).reshape(-1, 3)
    flat_ab = np.ascontiguousarray(ab, dtype=np.float32).reshape(-1, 2)
    _colour.check_ab_matches(flat_ab.shape[0], flat_in.shape[0], np.shape(ab), shape)
    lo, hi = _colour.linear_bounds(canonical, max_linear)
    code = K.KIND_CODES[kind]
    out = np.empty_like(flat_in)
    n = min(NUMPY_BAND, flat_in.shape[0])
    planes = np.empty((13, n), np.float32)
    codes = np.empty((3, n), np.int32)
    lit_plane = np.empty(n, np.bool_)
    quantised = quantise not in (None, "float")
    if quantised:
        levels = _colour._levels(quantise)
        lut = _colour._decode_lut(kind, quantise)
        values = _colour._from_codes(np.arange(int(levels) + 1), quantise)  # each code's stored value
    for start in range(0, flat_in.shape[0], NUMPY_BAND):
        band = slice(start, start + NUMPY_BAND)
        band_in, band_ab, band_out = flat_in[band], flat_ab[band], out[band]
        m = band_in.shape[0]
        r, g, b, a_star, b_star, y, yc, cr, cg, cb, rest, target, best_err = (p[:m] for p in planes)
        status = K.split(band_in, band_ab, code, r, g, b, a_star, b_star)
        if status != 2:
            with np.errstate(over="ignore", invalid="ignore"):
                lr, lg, lb = _decode_planes(r, g, b, kind, gray=status == 1)
            if K.luminance(lr, lg, lb, code, y, yc):
                status = 2
        if status == 2:  # NaN/Inf in the band: the reference handles them
            band_out[:] = _colour._recombine_flat(band_in, band_ab, canonical, lo, hi, quantise)
            continue
        lit = lit_plane[:m]
        K.chroma_on_luminance(y, yc, np.cbrt(yc), a_star, b_star, np.float32(lo), np.float32(hi),
                              bool(np.isfinite(hi)), code, cr, cg, cb, lit)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            er, eg, eb = (_encode_plane(c, kind) for c in (cr, cg, cb))
        if not quantised:
            K.interleave(er, eg, eb, band_out)
            continue
        code_r, code_g, code_b = (c[:m] for c in codes)
        K.snap_and_solve_green(er, eg, eb, code, y, lut, np.float32(levels), code_r, code_g, code_b, rest, target,
                               best_err)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            target = _encode_plane(target, kind)
        K.pick_green(code_r, code_g, code_b, rest, target, best_err, y, lit, lut, values, np.float32(levels),
                     int(levels), np.float32(lo - 1e-7), band_out)
    return out.reshape(shape)


def lightness_and_nonfinite(encoded: np.ndarray, colourspace: str) -> tuple[np.ndarray, int]:
    """:func:`colour.lightness_and_nonfinite`, bit for bit, with the compiled kernels: ``(H, W, 3)``
    encoded -> ``(L* (H, W) float32, number of NaN/Inf pixels)``. A band with a NaN/Inf value goes
    through the reference."""
    canonical = _colour.check_colourspace(colourspace)
    kind = _colour._kind(canonical)
    if kind not in _KINDS:
        return _colour.lightness_and_nonfinite(encoded, colourspace)
    from . import pixelkernels as K

    shape = np.shape(encoded)[:-1]
    flat = np.ascontiguousarray(encoded, dtype=np.float32).reshape(-1, 3)
    out = np.empty(flat.shape[0], np.float32)
    n = min(NUMPY_BAND, flat.shape[0])
    planes = np.empty((5, n), np.float32)
    no_chroma = np.zeros((n, 2), np.float32)
    code = K.KIND_CODES[kind]
    bad = 0
    for start in range(0, flat.shape[0], NUMPY_BAND):
        band = slice(start, start + NUMPY_BAND)
        band_in = flat[band]
        m = band_in.shape[0]
        r, g, b, y, yc = (p[:m] for p in planes)
        status = K.split(band_in, no_chroma[:m], code, r, g, b, y, yc)  # y, yc: scratch for the zero a*b*
        if status != 2:
            with np.errstate(over="ignore", invalid="ignore"):
                lr, lg, lb = _decode_planes(r, g, b, kind, gray=status == 1)
            if K.luminance(lr, lg, lb, code, y, yc):
                status = 2
        if status == 2:
            out[band], band_bad = _colour.lightness_flat(band_in, canonical)
            bad += band_bad
            continue
        K.lightness(yc, np.cbrt(yc), out[band])
    return out.reshape(shape), bad


def warm_up() -> None:
    """Import numba and load (or, the first time on this machine, compile) every kernel now, on a one-pixel
    frame, so that a run's first frame does not wait for it."""
    pixel, ab = np.full((1, 1, 3), 0.5, np.float32), np.zeros((1, 1, 2), np.float32)
    recombine_planar(pixel, ab, _colour.CINEON, 1.0, quantise="uint10")
    recombine_planar(pixel, ab, _colour.CINEON, None)
    lightness_and_nonfinite(pixel, _colour.CINEON)


def _decode_planes(r: np.ndarray, g: np.ndarray, b: np.ndarray, kind: str, gray: bool
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NumPy's transcendental part of decoding (Cineon: ``exp`` in place of :func:`pixelkernels.split`'s
    argument; sRGB: the whole curve). A gray band (R = G = B) is decoded once."""
    if kind == "linear":
        return r, g, b
    decode = _exp_in_place if kind == "cineon" else _colour._DECODE[kind]
    if gray:
        plane = decode(r)
        return plane, plane, plane
    return decode(r), decode(g), decode(b)


def _exp_in_place(x: np.ndarray) -> np.ndarray:
    return np.exp(x, out=x)


def _encode_plane(x: np.ndarray, kind: str) -> np.ndarray:
    """NumPy's transcendental part of encoding (Cineon: ``log`` in place of the kernel's argument)."""
    if kind == "linear":
        return x
    if kind == "cineon":  # (log(arg) - B) / K, as colour's curve computes it
        np.log(x, out=x)
        np.subtract(x, np.float32(_colour._CIN_B), out=x)
        return np.divide(x, np.float32(_colour._CIN_K), out=x)
    return _colour._ENCODE[kind](x)
