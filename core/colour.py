"""Colourspaces (OCIO via OpenImageIO's ColorConfig) and the luminance guarantee.

Encodings: "encoded" = a file's own values as float32 (integers normalised to 0..1); "linear" = linear
Rec.709 (scene-referred, may exceed 1); arrays are ``(H, W, 3)`` float32 unless stated.

The active config is the user's ``$OCIO``, else OpenImageIO's built-in one (OCIO's ACES studio config).
In the built-in config ``scene_linear`` means ACEScg, so we always name linear Rec.709 explicitly
(``lin_rec709``). Three encodings are computed here analytically (float32) instead of through OCIO:

* linear Rec.709 (identity),
* sRGB (IEC 61966-2-1 piecewise curve, extended linearly below 0 as OCIO does; :mod:`kinochrome.core.lab`'s
  ``srgb_to_linear`` / ``linear_to_srgb``, the one sRGB curve of the project) -- OCIO's CPU path
  uses a fast ``pow`` whose round trip drifts by ~2e-5, more than one 16-bit code value, and the
  luminance guarantee is stated in code values;
* Cineon log (Kodak printing density: ref white 685, ref black 95, 0.002 density/code, gamma 0.6),
  which the built-in config does not have. Names: ``Cineon log`` and aliases ``cineon``, ``KodakLog``,
  ``log``, ``lg10``, ``printing_density``. A user config that defines one of these names wins.

Every other name of the config goes through ``ImageBufAlgo.colorconvert``.
"""

from __future__ import annotations

import difflib
from functools import lru_cache

import numpy as np
import OpenImageIO as oiio

from . import lab as _lab
from .errors import ColourspaceError
from .lab import REC709_LUMA

LINEAR_REC709 = "lin_rec709"
SRGB = "sRGB"
CINEON = "Cineon log"
CINEON_ALIASES = ("Cineon log", "cineon", "KodakLog", "log", "lg10", "printing_density", "cineon_log")

# Cineon (Kodak) constants, code values out of 1023.
_CIN_WHITE, _CIN_BLACK, _CIN_DENSITY, _CIN_GAMMA = 685.0, 95.0, 0.002, 0.6
_CIN_OFFSET = 10.0 ** ((_CIN_BLACK - _CIN_WHITE) * _CIN_DENSITY / _CIN_GAMMA)

#: Resolved names of the built-in config that we compute analytically.
_BUILTIN_LINEAR = "Linear Rec.709 (sRGB)"
_BUILTIN_SRGB = "sRGB Encoded Rec.709 (sRGB)"

BAND_PIXELS = 65536  # pixels per band of full-frame per-pixel work: a band's float32 planes fit in L2 cache
_TINY_Y = 1e-8  # luminance below this is treated as black: no chroma


@lru_cache(maxsize=1)
def _config() -> oiio.ColorConfig:
    # One config per process; $OCIO is read by OpenImageIO itself. Tests that change $OCIO call
    # reset_config().
    return oiio.ColorConfig()


def reset_config() -> None:
    """Forget the cached ColorConfig (after ``$OCIO`` changed)."""
    _config.cache_clear()
    check_colourspace.cache_clear()
    _linear_name.cache_clear()


def _config_names() -> list[str]:
    cfg = _config()
    names = list(cfg.getColorSpaceNames())
    for name in list(names):
        names.extend(cfg.getAliases(name))
    names.extend(cfg.getRoles())
    return names


def _kind(canonical: str) -> str:
    """'linear' | 'srgb' | 'cineon' | 'ocio' for a canonical name."""
    if canonical == CINEON:
        return "cineon"
    if canonical == _BUILTIN_LINEAR or canonical == LINEAR_REC709:
        return "linear"
    if canonical == _BUILTIN_SRGB or canonical == SRGB:
        return "srgb"
    return "ocio"


#: Names we can always compute, even when the active config lacks them -> canonical fallback name.
_FALLBACKS = {**{a.lower(): CINEON for a in CINEON_ALIASES},
              **{a: SRGB for a in ("srgb", "srgb_tx", "srgb_texture")},
              **{a: LINEAR_REC709 for a in ("lin_rec709", "linear", "lin_srgb")}}


def _from_config(name: str) -> str | None:
    """``name`` (any case; name, alias, role or an OpenImageIO shorthand) -> the config's name, or None."""
    cfg = _config()
    known = _config_names()
    if name.lower() in _FALLBACKS and _FALLBACKS[name.lower()] == CINEON and name not in known:
        return None  # 'log' & co. mean Cineon unless the user's config defines them itself
    for candidate in [name] + [n for n in known if n.lower() == name.lower() and n != name]:
        # resolve() also knows OpenImageIO's shorthands (sRGB, linear, lin_srgb, srgb_tx, ...).
        resolved = cfg.resolve(candidate)
        if resolved and cfg.getColorSpaceIndex(resolved) >= 0:
            return str(resolved)
    return None


@lru_cache(maxsize=128)
def check_colourspace(name: str) -> str:
    """A colourspace name or alias -> its canonical name in the active config.

    Cineon log (and sRGB / linear Rec.709 when the config lacks them) are ours: ``'Cineon log'``,
    ``'sRGB'``, ``'lin_rec709'``. ColourspaceError ``"unknown colourspace 'lin_rec'; close matches:
    lin_rec709, ..."`` otherwise.
    """
    found = _from_config(name)
    if found:
        return found
    if name.lower() in _FALLBACKS:
        return _FALLBACKS[name.lower()]
    candidates = sorted(set(_config_names()) | set(CINEON_ALIASES) | {SRGB, LINEAR_REC709})
    close = difflib.get_close_matches(name, candidates, n=5, cutoff=0.5)
    close += [c for c in candidates if name.lower() in c.lower() and c not in close][: 5 - len(close)]
    hint = f"; close matches: {', '.join(close)}" if close else "; see `kinochrome info` or your OCIO config"
    raise ColourspaceError(f"unknown colourspace {name!r}{hint}")


@lru_cache(maxsize=1)
def _linear_name() -> str:
    """The config's linear Rec.709 name, for OCIO conversions."""
    found = _from_config(LINEAR_REC709)
    if found is None:
        raise ColourspaceError("the OCIO config has no linear Rec.709 colourspace ('lin_rec709')")
    return found


# --- analytic curves (float32 in and out; numpy 2 keeps Python constants float32) -------------------

_LN10 = float(np.log(10.0))
_CIN_K = _LN10 * _CIN_DENSITY / _CIN_GAMMA * 1023.0  # d(ln power)/d(code in 0..1)
_CIN_B = -_LN10 * _CIN_WHITE * _CIN_DENSITY / _CIN_GAMMA


def _cineon_decode(x: np.ndarray) -> np.ndarray:
    return (np.exp(x * _CIN_K + _CIN_B) - _CIN_OFFSET) / (1.0 - _CIN_OFFSET)


def _cineon_encode(y: np.ndarray) -> np.ndarray:
    # Below code 0 the curve has no inverse: clamp the argument of the log.
    arg = np.maximum(y * (1.0 - _CIN_OFFSET) + _CIN_OFFSET, 1e-12)
    return (np.log(arg) - _CIN_B) / _CIN_K


_DECODE = {"srgb": _lab.srgb_to_linear, "cineon": _cineon_decode}
_ENCODE = {"srgb": _lab.linear_to_srgb, "cineon": _cineon_encode}


_IBA_DEFAULT: list[str] = []  # the config ImageBufAlgo's default was built from (fixed at first use)


def _config_argument() -> str:
    """The ``colorconfig`` argument for ImageBufAlgo.colorconvert.

    ImageBufAlgo's default config is built once per process at its first use and ignores a later
    $OCIO (and reset_config()). Naming the config fixes that but rebuilds it on every call (~40 ms),
    so name it only when the active config is not the one the default was built from.
    """
    name = str(_config().configname())
    if not _IBA_DEFAULT:
        _IBA_DEFAULT.append(name)
    return "" if name == _IBA_DEFAULT[0] else name


def _ocio(rgb: np.ndarray, source: str, target: str) -> np.ndarray:
    shape = rgb.shape
    flat = np.ascontiguousarray(rgb.reshape(-1, 1, 3) if rgb.ndim != 3 else rgb, dtype=np.float32)
    config = _config_argument()
    if config:
        result = oiio.ImageBufAlgo.colorconvert(oiio.ImageBuf(flat), source, target, False, "", "", config)
    else:  # the overload without colorconfig: an empty name would still rebuild a config per call
        result = oiio.ImageBufAlgo.colorconvert(oiio.ImageBuf(flat), source, target, False)
    if result.has_error:
        raise ColourspaceError(f"cannot convert {source!r} to {target!r}: {result.geterror()}")
    return np.asarray(result.get_pixels(oiio.FLOAT), dtype=np.float32).reshape(shape)


def _convert(values: np.ndarray, canonical: str, decode: bool) -> np.ndarray:
    """Encoded <-> linear Rec.709 for a canonical name; float32 copy, any shape ``(..., 3)``."""
    x = np.array(_lab.check_triples(values, "colour conversion"), dtype=np.float32)  # a copy, never a view
    kind = _kind(canonical)
    if kind == "linear":
        return x
    if kind in _DECODE:
        return (_DECODE if decode else _ENCODE)[kind](x)
    source, target = (canonical, _linear_name()) if decode else (_linear_name(), canonical)
    return _ocio(x, source, target)


def to_linear(rgb: np.ndarray, colourspace: str) -> np.ndarray:
    """Encoded RGB ``(..., 3)`` in ``colourspace`` -> linear Rec.709 ``(..., 3)`` float32."""
    return _convert(rgb, check_colourspace(colourspace), decode=True)


def from_linear(linear: np.ndarray, colourspace: str) -> np.ndarray:
    """Linear Rec.709 ``(..., 3)`` -> encoded RGB ``(..., 3)`` float32 in ``colourspace``."""
    return _convert(linear, check_colourspace(colourspace), decode=False)


def to_display_srgb(rgb: np.ndarray, colourspace: str) -> np.ndarray:
    """Encoded RGB ``(..., 3)`` -> sRGB display encoding clipped to [0, 1] ``(..., 3)`` float32 (for viewing)."""
    linear = np.nan_to_num(to_linear(rgb, colourspace), nan=0.0, posinf=1.0, neginf=0.0)
    return np.clip(_lab.linear_to_srgb(linear), 0.0, 1.0)


# --- guessing ----------------------------------------------------------------------------------------

def _known(name: str) -> str | None:
    if not name:
        return None
    try:
        return check_colourspace(name)
    except ColourspaceError:
        return None


#: EXR ``chromaticities`` (Rx Ry Gx Gy Bx By Wx Wy) of linear colourspaces -> their name in the config. A plate
#: that states its primaries is read in them, not assumed Rec.709 (an ACES2065-1 plate read as Rec.709 had
#: its luminance moved by 29% on average when judged in its own primaries).
PRIMARIES: tuple[tuple[tuple[float, ...], str], ...] = (
    ((0.64, 0.33, 0.30, 0.60, 0.15, 0.06, 0.3127, 0.3290), "Linear Rec.709 (sRGB)"),
    ((0.7347, 0.2653, 0.0, 1.0, 0.0001, -0.077, 0.32168, 0.33767), "ACES2065-1"),
    ((0.713, 0.293, 0.165, 0.830, 0.128, 0.044, 0.32168, 0.33767), "ACEScg"),
    ((0.708, 0.292, 0.170, 0.797, 0.131, 0.046, 0.3127, 0.3290), "Linear Rec.2020"),
    ((0.680, 0.320, 0.265, 0.690, 0.150, 0.060, 0.3127, 0.3290), "Linear P3-D65"),
)


def colourspace_of_primaries(spec) -> str | None:
    """The linear colourspace whose primaries an EXR's ``chromaticities`` attribute states (within 0.005),
    when the config knows it; None without the attribute or for primaries not in :data:`PRIMARIES`."""
    value = spec.getattribute("chromaticities")
    if not isinstance(value, tuple) or len(value) != 8:
        return None
    for primaries, name in PRIMARIES:
        if all(abs(float(a) - b) < 0.005 for a, b in zip(value, primaries)):
            return _known(name)
    return None


def guess_colourspace(frame) -> str:
    """The input colourspace for ``--colorspace auto`` of a :class:`~kinochrome.core.frameio.Frame`.

    DPX: Cineon log when ``dpx:Transfer`` says printing density/logarithmic, linear Rec.709 when it says
    linear, gamma 2.4 Rec.709 (BT.1886) for a video transfer (ITU-R 709/601), else ``oiio:ColorSpace``
    or sRGB. Other files: ``oiio:ColorSpace`` when set and known; float pixels (EXR, float TIFF) -> the
    linear colourspace of the stated ``chromaticities`` (ACES2065-1, ACEScg, Rec.2020, P3-D65), else linear
    Rec.709; integer PNG/JPEG/TIFF -> sRGB.
    """
    spec = frame.spec
    stated = spec.get_string_attribute("oiio:ColorSpace", "")
    if frame.file_format == "dpx":
        transfer = spec.get_string_attribute("dpx:Transfer", "").lower()
        if "printing density" in transfer or "log" in transfer:
            return CINEON
        if transfer == "linear":
            return check_colourspace(LINEAR_REC709)
        if transfer.startswith(("itu-r 709", "itu-r 601", "smpte 274", "smpte 240")):
            # Video transfer: decode as BT.1886 (gamma 2.4) when the config has it.
            return _known("g24_rec709") or check_colourspace(SRGB)
        return _known(stated) or check_colourspace(SRGB)
    known = _known(stated)
    if known:
        return known
    if frame.is_float:
        return colourspace_of_primaries(spec) or check_colourspace(LINEAR_REC709)
    return check_colourspace(SRGB)


def encoded_max_linear(frame, colourspace: str, bit_depth: str | None = None) -> float | None:
    """Linear value of the largest code value (1.0 encoded) for integer formats; None for half/float.

    ``bit_depth`` is the output's (``write_frame``'s argument) when it differs from the input's.
    """
    if storage_type(frame, bit_depth) in ("half", "float", None):
        return None
    return float(to_linear(np.ones((1, 1, 3)), colourspace).min())


def storage_type(frame, bit_depth: str | None = None) -> str | None:
    """What the output pixels are stored as: 'uint8' | 'uint10' | 'uint12' | 'uint16' | 'half' | 'float'.

    Pass it as ``quantise`` to :func:`recombine_chroma` so that the guarantee holds after the write.
    """
    if bit_depth is not None:
        return bit_depth
    if frame.is_float:
        return "half" if frame.pixel_type == "half" else "float"
    return f"uint{frame.bits}"


def _nonfinite_rows(rgb: np.ndarray) -> np.ndarray:
    """``(N, 3)`` -> ``(N,)`` True where any channel is NaN/Inf (a sum is cheaper than an axis reduce)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return ~np.isfinite(rgb[:, 0] + rgb[:, 1] + rgb[:, 2])


def count_nonfinite(rgb: np.ndarray) -> int:
    """Number of pixels of ``(..., C)`` with a NaN or Inf in any channel."""
    return int((~np.isfinite(np.asarray(rgb))).any(axis=-1).sum())


def lightness_and_nonfinite(encoded: np.ndarray, colourspace: str) -> tuple[np.ndarray, int]:
    """Encoded RGB ``(H, W, 3)`` -> ``(L* (H, W) float32 in [0, 100], number of NaN/Inf pixels)``.

    L* of the linear Rec.709 luminance, highlights above white clipped to 100 and NaN/Inf to 0 (for the
    network; outputs keep the original values). A pixel counts as NaN/Inf when its luminance is, i.e. when
    any channel is (luminance weights are positive). Computed in bands, like :func:`recombine_chroma`.
    """
    canonical = check_colourspace(colourspace)
    shape = np.shape(encoded)[:-1]
    flat = np.asarray(encoded, dtype=np.float32).reshape(-1, 3)
    out = np.empty(flat.shape[0], np.float32)
    bad = 0
    for start in range(0, flat.shape[0], BAND_PIXELS):
        band = slice(start, start + BAND_PIXELS)
        out[band], band_bad = lightness_flat(flat[band], canonical)
        bad += band_bad
    return out.reshape(shape), bad


def lightness_flat(flat: np.ndarray, canonical: str) -> tuple[np.ndarray, int]:
    """:func:`lightness_and_nonfinite` of ``(N, 3)`` encoded pixels in a canonical colourspace -> ``(N,)``."""
    with np.errstate(over="ignore", invalid="ignore"):
        y = _luminance(_convert(flat, canonical, decode=True))
    finite = np.isfinite(y)
    bad = 0
    if not finite.all():
        bad = int((~finite).sum())
        y = np.nan_to_num(y, nan=0.0, posinf=1.0, neginf=0.0)
    return _lab.y_to_lightness(np.clip(y, 0.0, 1.0)), bad


# --- the luminance guarantee -------------------------------------------------------------------------

_LUMA = REC709_LUMA.astype(np.float32)
_WR, _WG, _WB = (float(w) for w in REC709_LUMA)


def _toward_grey(colour: np.ndarray, y: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Move ``colour`` ``(N, 3)`` toward ``(y, y, y)`` just enough to fit [lo, hi]; keeps luminance.

    out = y + s * (colour - y) with the largest s in [0, 1]. The binding channels are the largest (for
    hi) and the smallest (for lo). Where y itself is outside [lo, hi] the result is grey (s = 0).
    """
    r, g, b = colour[:, 0], colour[:, 1], colour[:, 2]
    top, bottom = np.maximum(np.maximum(r, g), b), np.minimum(np.minimum(r, g), b)
    with np.errstate(divide="ignore", invalid="ignore"):
        s_hi = np.where(top > hi, (hi - y) / (top - y), 1.0)
        s_lo = np.where(bottom < lo, (lo - y) / (bottom - y), 1.0)
    s = np.clip(np.minimum(s_hi, s_lo), 0.0, 1.0).astype(np.float32)
    out = y[:, None] + s[:, None] * (colour - y[:, None])
    # The clip only removes float rounding left by the pull toward grey.
    return np.clip(out, lo, hi, out=out)


def _levels(quantise: str) -> float:
    return float(2 ** int(quantise.removeprefix("uint")) - 1)


def _snap(encoded: np.ndarray, quantise: str) -> np.ndarray:
    """Round encoded values to what ``quantise`` can store (integers clipped to 0..1)."""
    if quantise == "half":
        return encoded.astype(np.float16).astype(np.float32)
    levels = _levels(quantise)
    return np.round(np.clip(encoded, 0.0, 1.0) * levels) / levels


def _codes(encoded: np.ndarray, quantise: str) -> np.ndarray:
    """Encoded floats -> storage indices: integer code values, or float16 bit patterns for half."""
    if quantise == "half":
        return encoded.astype(np.float16).view(np.uint16).astype(np.int32)
    return np.round(np.clip(encoded, 0.0, 1.0) * _levels(quantise)).astype(np.int32)


def _from_codes(codes: np.ndarray, quantise: str) -> np.ndarray:
    """Storage indices -> encoded float32 values (inverse of :func:`_codes`)."""
    if quantise == "half":
        return codes.astype(np.uint16).view(np.float16).astype(np.float32)
    return codes.astype(np.float32) / np.float32(_levels(quantise))


@lru_cache(maxsize=32)
def _decode_lut(kind: str, quantise: str) -> np.ndarray:
    """Linear value of every storage index of ``quantise`` (per-channel encodings only)."""
    if quantise == "half":
        values = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.float16).astype(np.float32)
    else:
        values = np.arange(int(_levels(quantise)) + 1, dtype=np.float32) / _levels(quantise)
    with np.errstate(all="ignore"):
        return _DECODE[kind](values) if kind in _DECODE else values


def _candidates(target: np.ndarray, quantise: str) -> list[np.ndarray]:
    """Storage indices bracketing the exact encoded ``target`` ``(N,)`` (and the nearest, for half)."""
    if quantise == "half":
        g = np.nan_to_num(target).astype(np.float16)
        near = [g, np.nextafter(g, np.float16(-np.inf)), np.nextafter(g, np.float16(np.inf))]
        return [n.view(np.uint16).astype(np.int32) for n in near]
    levels = _levels(quantise)
    down = np.floor(np.clip(np.nan_to_num(target), 0.0, 1.0) * levels).astype(np.int32)
    return [down, np.minimum(down + 1, int(levels))]


def _fix_per_channel(encoded: np.ndarray, y: np.ndarray, canonical: str, quantise: str,
                     lo: np.ndarray) -> np.ndarray:
    """Per-channel encodings: quantise, then solve green for the exact luminance and keep the storable
    value whose luminance is closest (a table lookup per storable value keeps it cheap).

    Candidates whose linear green would fall below ``lo`` ``(N,)`` are not taken (no negative channels).
    """
    kind = _kind(canonical)
    lut = _decode_lut(kind, quantise)
    codes = _codes(encoded, quantise)
    linear = lut[codes]
    rest = _WR * linear[:, 0] + _WB * linear[:, 2]
    target = (y - rest) / _WG
    target = _ENCODE[kind](target) if kind in _ENCODE else target
    best, best_err = codes[:, 1], np.abs(_WG * linear[:, 1] + rest - y)
    for candidate in _candidates(target, quantise):
        green = lut[candidate]
        with np.errstate(invalid="ignore"):
            err = np.where(green >= lo, np.abs(_WG * green + rest - y), np.inf)
            better = err < best_err
        best, best_err = np.where(better, candidate, best), np.where(better, err, best_err)
    codes[:, 1] = best
    return _from_codes(codes, quantise)


def _fix_search(q: np.ndarray, y: np.ndarray, canonical: str, quantise: str, lo: np.ndarray) -> np.ndarray:
    """Any encoding (OCIO): try green one and two storable steps either way, keep the closest luminance."""
    best, best_err = q, np.abs(_convert(q, canonical, decode=True) @ _LUMA - y)
    for k in (-1, 1, -2, 2):
        trial = q.copy()
        if quantise == "half":
            g = q[:, 1].astype(np.float16)
            for _ in range(abs(k)):
                g = np.nextafter(g, np.float16(np.inf if k > 0 else -np.inf))
            trial[:, 1] = g.astype(np.float32)
        else:
            trial[:, 1] = np.clip(q[:, 1] + k / _levels(quantise), 0.0, 1.0)
        trial_linear = _convert(trial, canonical, decode=True)
        err = np.where(trial_linear.min(axis=1) >= lo, np.abs(trial_linear @ _LUMA - y), np.inf)
        better = err < best_err
        best, best_err = np.where(better[:, None], trial, best), np.where(better, err, best_err)
    return best


def _store_with_luminance(encoded: np.ndarray, y: np.ndarray, canonical: str, quantise: str,
                          lo: np.ndarray) -> np.ndarray:
    """Snap ``encoded`` ``(N, 3)`` to ``quantise`` and re-pick green so the STORED luminance is closest to y."""
    if _kind(canonical) == "ocio":
        return _fix_search(_snap(encoded, quantise), y, canonical, quantise, lo)
    return _fix_per_channel(encoded, y, canonical, quantise, lo)


def _luminance(linear: np.ndarray) -> np.ndarray:
    """Rec.709 Y of ``(N, 3)`` linear, channel by channel (a tall (N, 3) @ (3,) product is far slower)."""
    return _WR * linear[:, 0] + _WG * linear[:, 1] + _WB * linear[:, 2]


def chroma_on_luminance(y: np.ndarray, ab: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Linear Rec.709 colours with luminance exactly ``y`` and chroma ``ab``, fitted into [lo, hi].

    y: ``(N,)`` float32 linear luminance (may exceed 1); ab: ``(N, 2)`` float32 a*b*.
    Returns ``(colour (N, 3) float32 linear, lit (N,) bool)``. The colour is L*(clip(y, 0, 1)) with the
    given a*b* converted to linear (CIE L*a*b* D65, as core/lab.py), scaled so its luminance is y, then
    pulled toward grey ``(y, y, y)`` just enough to fit ``[lo, hi]`` (``out = y + s (c - y)`` keeps y).
    Pixels with y <= 0 (not ``lit``) come back grey. Written channel by channel in float32: on full frames
    this is several times faster than ``(N, 3)`` matrix products.
    """
    y = np.ascontiguousarray(y, dtype=np.float32)
    yc = np.clip(y, 0.0, 1.0)
    rgb = _lab.lab_to_linear_planes(_lab.y_to_f(yc), ab[:, 0], ab[:, 1], y=yc)  # finv(f(Y)) is Y itself
    colour_y = np.float32(_WR) * rgb[0] + np.float32(_WG) * rgb[1] + np.float32(_WB) * rgb[2]
    lit = (y > _TINY_Y) & (colour_y > _TINY_Y)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(lit, y / np.where(lit, colour_y, 1.0), 0.0).astype(np.float32)
        rgb = [np.where(lit, c * scale, y) for c in rgb]
        top = np.maximum(np.maximum(rgb[0], rgb[1]), rgb[2])
        bottom = np.minimum(np.minimum(rgb[0], rgb[1]), rgb[2])
        s = np.ones_like(y)
        if np.isfinite(hi):
            s = np.where(top > hi, (hi - y) / (top - y), s)
        s = np.minimum(s, np.where(bottom < lo, (lo - y) / (bottom - y), 1.0))
    s = np.where(lit, np.clip(np.nan_to_num(s, nan=0.0), 0.0, 1.0), 1.0).astype(np.float32)
    out = np.empty((y.shape[0], 3), np.float32)
    for i in range(3):
        channel = y + s * (rgb[i] - y)
        # The clip only removes float rounding left by the pull toward grey (lit pixels only: unlit stay y).
        out[:, i] = np.where(lit, np.clip(channel, lo, hi), channel)
    return out, lit


def recombine_chroma(encoded_in: np.ndarray, ab: np.ndarray, colourspace: str, max_linear: float | None,
                     quantise: str | None = None) -> np.ndarray:
    """New chroma on the ORIGINAL luminance: ``(H, W, 3)`` encoded in, ``(H, W, 2)`` a*b* -> ``(H, W, 3)`` encoded.

    Y_in = Rec.709 luminance of ``to_linear(encoded_in)``. The colour is L*(clip(Y_in, 0, 1)) with the new
    a*b*, converted to linear, scaled so its luminance is exactly Y_in, then pulled toward grey
    ``(Y_in, Y_in, Y_in)`` just enough to fit ``[0, max_linear]`` (``[0, inf)`` when None, for float
    formats): ``out = Y + s * (c - Y)`` keeps Y. Y_in <= 0 -> grey. Values above 1.0 keep their
    luminance. NaN/Inf input pixels are returned unchanged (count them with :func:`count_nonfinite`).

    ``quantise`` ('uint8' | 'uint10' | 'uint12' | 'uint16' | 'half' | 'float', see :func:`storage_type`)
    snaps the result to what the file will store and re-picks green so the STORED pixel keeps the
    luminance: desaturating the written frame (R=G=B=from_linear(Y)) then gives a grey input back
    within one code value (integers) or 1e-3 relative (half/float). Without it the result is
    unquantised and rounding on write may cost one more code value.
    """
    canonical = check_colourspace(colourspace)
    shape = np.shape(encoded_in)
    flat_in = np.asarray(encoded_in, dtype=np.float32).reshape(-1, 3)
    flat_ab = np.asarray(ab, dtype=np.float32).reshape(-1, 2)
    check_ab_matches(flat_ab.shape[0], flat_in.shape[0], np.shape(ab), shape)
    lo, hi = linear_bounds(canonical, max_linear)
    out = np.empty_like(flat_in)
    # Every step is per pixel, so bands give the same result as the whole frame; a band's temporaries stay in
    # the CPU cache instead of a dozen frame-sized arrays going through main memory (about 2x faster at 2K).
    for start in range(0, flat_in.shape[0], BAND_PIXELS):
        band = slice(start, start + BAND_PIXELS)
        out[band] = _recombine_flat(flat_in[band], flat_ab[band], canonical, lo, hi, quantise)
    return out.reshape(shape)


def check_ab_matches(ab_pixels: int, pixels: int, ab_shape: tuple, shape: tuple) -> None:
    """ValueError unless the a*b* hold one pair per pixel of the image (shapes as given, for the message)."""
    if ab_pixels != pixels:
        raise ValueError(f"ab {tuple(ab_shape)} does not match the image {tuple(shape)}")


def linear_bounds(canonical: str, max_linear: float | None) -> tuple[float, float]:
    """``(lo, hi)``: the linear range a recombined colour is fitted into for storage ``max_linear`` (None:
    float storage, ``[0, inf)``). Integer encodings whose code 0 is above linear 0 cannot store less."""
    if max_linear is None:
        return 0.0, np.inf
    return max(0.0, float(_convert(np.zeros((1, 3)), canonical, decode=True).max())), float(max_linear)


def _recombine_flat(flat_in: np.ndarray, flat_ab: np.ndarray, canonical: str, lo: float, hi: float,
                    quantise: str | None) -> np.ndarray:
    """:func:`recombine_chroma` on ``(N, 3)`` pixels and ``(N, 2)`` a*b*, colours fitted into linear [lo, hi]."""
    if not np.isfinite(flat_ab).all():
        flat_ab = np.nan_to_num(flat_ab)
    bad = _nonfinite_rows(flat_in)
    source = np.where(bad[:, None], 0.0, flat_in) if bad.any() else flat_in
    linear = _convert(source, canonical, decode=True)
    bad_linear = _nonfinite_rows(linear)
    if bad_linear.any():  # e.g. Inf after decoding a huge value: passes through as well
        bad |= bad_linear
        linear[bad] = 0.0
    y = _luminance(linear)
    colour, lit = chroma_on_luminance(y, flat_ab, lo, hi)

    encoded = _convert(colour, canonical, decode=False)
    if quantise not in (None, "float"):
        # Grey or sub-black pixels (not lit) may sit below lo; only lit ones are held to it.
        floor = np.where(lit, lo - 1e-7, -np.inf).astype(np.float32)
        encoded = _store_with_luminance(encoded, y, canonical, quantise, floor)
    if bad.any():
        encoded[bad] = flat_in[bad]
    return encoded
