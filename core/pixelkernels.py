"""Compiled per-pixel kernels of the recombination (numba), for :mod:`kinochrome.core.pixelops`.

Each kernel is one loop over a band of pixels doing the arithmetic that NumPy spread over dozens of
full-plane passes (each a trip through memory, each with its own temporary). The transcendental functions
(``exp``, ``log``, ``cbrt``, the sRGB powers) stay NumPy's own vectorised calls between the kernels, so the
values are the reference's (:func:`kinochrome.core.colour.recombine_chroma`) bit for bit: the kernels use
float32 constants exactly where NumPy 2 casts Python scalars to float32, no fused multiply-add and no
reassociation (``fastmath`` off), and NumPy's NaN rules for ``minimum``, ``maximum``, ``fmax`` and ``clip``.

Compiled on first use (``cache=True`` keeps the machine code beside this file, or in numba's user cache
where that is not writable); ``nogil``: the run's writer threads recombine two frames at once.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from . import colour as _colour
from . import lab as _lab

F = np.float32
LINEAR, SRGB, CINEON = 0, 1, 2
KIND_CODES = {"linear": LINEAR, "srgb": SRGB, "cineon": CINEON}

_WR, _WG, _WB = (F(w) for w in _lab.REC709_LUMA)
_EPS, _KAPPA = F(216.0 / 24389.0), F(24389.0 / 27.0)
_W0, _W1, _W2 = (F(v) for v in _lab._WHITE_F32)
(_M00, _M01, _M02), (_M10, _M11, _M12), (_M20, _M21, _M22) = ((F(v) for v in row) for row in _lab._XYZ_TO_RGB_F32)
_TINY = F(_colour._TINY_Y)
_C500, _C200 = F(1 / 500.0), F(1 / 200.0)
_F116, _F16, _ONE, _ZERO = F(116.0), F(16.0), F(1.0), F(0.0)
# Cineon: decode (exp(x K + B) - off) / (1 - off); encode (log(max(y (1 - off) + off, 1e-12)) - B) / K
_CK, _CB, _COFF = F(_colour._CIN_K), F(_colour._CIN_B), F(_colour._CIN_OFFSET)
_C1MOFF, _CMIN = F(1.0 - _colour._CIN_OFFSET), F(1e-12)
_INF = F(np.inf)



def _probe() -> int:
    return 0


def _can_cache() -> bool:
    """Whether numba can keep compiled kernels on disk for this file. It refuses ``cache=True`` (a RuntimeError
    when the function is decorated, i.e. on import) where neither this package's folder nor the user's cache
    folder is writable: a read-only shared install run by a farm account without a home. There the kernels
    are compiled in each process instead (~2 s), and ``NUMBA_CACHE_DIR`` can name a writable folder."""
    try:
        numba.njit(cache=True)(_probe)
    except RuntimeError:
        return False
    return True


_JIT = {"nogil": True, "cache": _can_cache(), "error_model": "numpy", "fastmath": False}


@numba.njit(**_JIT)
def _minimum(a, b):
    """``np.minimum``: NaN where either is NaN."""
    return a if (a < b or math.isnan(a)) else b


@numba.njit(**_JIT)
def _maximum(a, b):
    """``np.maximum``: NaN where either is NaN."""
    return a if (a > b or math.isnan(a)) else b


@numba.njit(**_JIT)
def _fmax(a, b):
    """``np.fmax``: the other value where one is NaN."""
    if math.isnan(a):
        return b
    if math.isnan(b):
        return a
    return max(b, a)  # a where a > b, else b


@numba.njit(**_JIT)
def _finv(f):
    f3 = f * f * f
    return f3 if f3 > _EPS else (_F116 * f - _F16) / _KAPPA


@numba.njit(**_JIT)
def split(band, ab, kind, r, g, b, a_star, b_star):
    """``(N, 3)`` encoded and ``(N, 2)`` a*b* -> planes: R, G, B (for Cineon already ``x K + B``, the
    argument of its decoding ``exp``) and a*, b*. Returns 2 when any value is NaN/Inf (the band goes to
    the reference), 1 when every pixel is gray (R = G = B: decode one plane), else 0."""
    gray = True
    bad = False
    for i in range(band.shape[0]):
        x, y, z = band[i, 0], band[i, 1], band[i, 2]
        p, q = ab[i, 0], ab[i, 1]
        s = (x + y + z) + (p + q)
        if s - s != 0:
            bad = True
        if x != y or x != z:
            gray = False
        if kind == CINEON:
            x, y, z = x * _CK + _CB, y * _CK + _CB, z * _CK + _CB
        r[i] = x
        g[i] = y
        b[i] = z
        a_star[i] = p
        b_star[i] = q
    return 2 if bad else (1 if gray else 0)


@numba.njit(**_JIT)
def luminance(lr, lg, lb, kind, y, y_clipped):
    """Decoded planes (for Cineon the ``exp`` of :func:`split`'s planes) -> Rec.709 Y and Y clipped to
    [0, 1]; returns True when a decoded value is NaN/Inf."""
    bad = False
    for i in range(lr.shape[0]):
        vr, vg, vb = lr[i], lg[i], lb[i]
        if kind == CINEON:
            vr = (vr - _COFF) / _C1MOFF
            vg = (vg - _COFF) / _C1MOFF
            vb = (vb - _COFF) / _C1MOFF
        s = vr + vg + vb
        if s - s != 0:
            bad = True
        v = _WR * vr + _WG * vg + _WB * vb
        y[i] = v
        y_clipped[i] = _minimum(_maximum(v, _ZERO), _ONE)
    return bad


@numba.njit(**_JIT)
def chroma_on_luminance(y, y_clipped, cube_root, a_star, b_star, lo, hi, hi_finite, kind, out_r, out_g, out_b,
                        lit_out):
    """:func:`colour.chroma_on_luminance` per pixel (``cube_root``: ``np.cbrt(y_clipped)``): the linear
    colour of L*(Y) with the new a*b*, scaled to luminance Y, pulled toward grey into [lo, hi]. For Cineon
    the planes hold the argument of the encoding's ``log`` instead; ``lit_out``: the pixel carries chroma."""
    for i in range(y.shape[0]):
        yv = y[i]
        t = y_clipped[i]
        fy = cube_root[i] if t > _EPS else (_KAPPA * t + _F16) / _F116
        x = _finv(fy + a_star[i] * _C500) * _W0
        yy = t * _W1
        z = _finv(fy - b_star[i] * _C200) * _W2
        cr = _M00 * x + _M01 * yy + _M02 * z
        cg = _M10 * x + _M11 * yy + _M12 * z
        cb = _M20 * x + _M21 * yy + _M22 * z
        colour_y = _WR * cr + _WG * cg + _WB * cb
        lit = yv > _TINY and colour_y > _TINY
        if lit:
            scale = yv / colour_y
            cr, cg, cb = cr * scale, cg * scale, cb * scale
        else:
            cr = cg = cb = yv
        s = _ONE
        if lit:
            top = _maximum(_maximum(cr, cg), cb)
            bottom = _minimum(_minimum(cr, cg), cb)
            if hi_finite and top > hi:
                s = (hi - yv) / (top - yv)
            if bottom < lo:
                s = _minimum(s, (lo - yv) / (bottom - yv))
            s = _minimum(_fmax(s, _ZERO), _ONE)
        cr, cg, cb = yv + s * (cr - yv), yv + s * (cg - yv), yv + s * (cb - yv)
        if lit:  # np.clip(channel, lo, hi)
            cr = _minimum(_maximum(cr, lo), hi)
            cg = _minimum(_maximum(cg, lo), hi)
            cb = _minimum(_maximum(cb, lo), hi)
        if kind == CINEON:
            cr = _maximum(cr * _C1MOFF + _COFF, _CMIN)
            cg = _maximum(cg * _C1MOFF + _COFF, _CMIN)
            cb = _maximum(cb * _C1MOFF + _COFF, _CMIN)
        out_r[i] = cr
        out_g[i] = cg
        out_b[i] = cb
        lit_out[i] = lit


@numba.njit(**_JIT)
def interleave(er, eg, eb, out):
    """Encoded planes -> ``(N, 3)`` float output."""
    for i in range(er.shape[0]):
        out[i, 0] = er[i]
        out[i, 1] = eg[i]
        out[i, 2] = eb[i]


@numba.njit(**_JIT)
def snap_and_solve_green(er, eg, eb, kind, y, lut, levels, code_r, code_g, code_b, rest, target, best_err):
    """Snap each encoded channel to its code value, then the linear green that would give the exact
    luminance (``target``; for Cineon the argument of its encoding's ``log``), what red and blue
    contribute (``rest``) and the luminance error of the snapped green (``best_err``)."""
    for i in range(y.shape[0]):
        c0 = np.int32(np.rint(_minimum(_maximum(er[i], _ZERO), _ONE) * levels))
        c1 = np.int32(np.rint(_minimum(_maximum(eg[i], _ZERO), _ONE) * levels))
        c2 = np.int32(np.rint(_minimum(_maximum(eb[i], _ZERO), _ONE) * levels))
        code_r[i] = c0
        code_g[i] = c1
        code_b[i] = c2
        r = _WR * lut[c0] + _WB * lut[c2]
        rest[i] = r
        green = (y[i] - r) / _WG
        if kind == CINEON:
            green = _maximum(green * _C1MOFF + _COFF, _CMIN)
        target[i] = green
        best_err[i] = abs(_WG * lut[c1] + r - y[i])


@numba.njit(**_JIT)
def pick_green(code_r, code_g, code_b, rest, target, best_err, y, lit, lut, values, levels, top_code, lo_lit, out):
    """Of the snapped green and the two codes bracketing the exact one (``target``, encoded), keep the
    code whose stored pixel's luminance is nearest Y (ties: the earlier); a lit pixel's green may not fall
    below ``lo_lit``. Writes ``(N, 3)`` stored values, ``values[code]`` (= code / levels)."""
    for i in range(y.shape[0]):
        down = np.int32(np.floor(_minimum(_fmax(target[i], _ZERO), _ONE) * levels))
        best = code_g[i]
        err_best = best_err[i]
        r = rest[i]
        yv = y[i]
        floor = lo_lit if lit[i] else -_INF
        for k in range(2):
            c = down if k == 0 else min(down + 1, top_code)
            green = lut[c]
            err = abs(_WG * green + r - yv)
            if not green >= floor:
                err = _INF
            if err < err_best:
                best = c
            err_best = _minimum(err_best, err)
        out[i, 0] = values[code_r[i]]
        out[i, 1] = values[best]
        out[i, 2] = values[code_b[i]]


@numba.njit(**_JIT)
def lightness(y_clipped, cube_root, out):
    """L* = 116 f(Y) - 16 of Y clipped to [0, 1] (``cube_root``: ``np.cbrt(y_clipped)``)."""
    for i in range(y_clipped.shape[0]):
        t = y_clipped[i]
        fy = cube_root[i] if t > _EPS else (_KAPPA * t + _F16) / _F116
        out[i] = _F116 * fy - _F16


@numba.njit(**_JIT)
def snap_to_codes(values, levels, table, out):
    """``(N, c)`` float32 -> ``out`` ``(N, c)``: ``table[rint(min(fmax(x, 0), 1) * levels)]``, the code value's
    stored value (NaN -> code 0), as :func:`kinochrome.core.frameio._snap_to_bits` snaps."""
    for i in range(values.shape[0]):
        for k in range(values.shape[1]):
            code = np.int32(np.rint(_minimum(_fmax(values[i, k], _ZERO), _ONE) * levels))
            out[i, k] = table[code]
