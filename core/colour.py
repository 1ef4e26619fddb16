"""Colourspaces (OCIO via OpenImageIO's ColorConfig) and the luminance guarantee.

Encodings: "encoded" = a file's own values as float32 (integers normalised to 0..1); "linear" = linear
Rec.709 (scene-referred, may exceed 1); arrays are ``(H, W, 3)`` float32 unless stated.

The active config is the user's ``$OCIO``, else OpenImageIO's built-in one (OCIO's ACES studio config).
In the built-in config ``scene_linear`` means ACEScg, so we always name linear Rec.709 explicitly
(``lin_rec709``). Three encodings are computed here analytically in float64 instead of through OCIO:

* linear Rec.709 (identity),
* sRGB (IEC 61966-2-1 piecewise curve, extended linearly below 0 as OCIO does) -- OCIO's CPU path
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

from .errors import ColourspaceError
from .lab import REC709_LUMA, lab_to_linear, y_to_lightness

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


@lru_cache(maxsize=128)
def check_colourspace(name: str) -> str:
    """A colourspace name or alias -> its canonical name in the active config (or ``'Cineon log'``).

    ColourspaceError ``"unknown colourspace 'lin_rec'; close matches: lin_rec709, ..."`` otherwise.
    """
    cfg = _config()
    known = set(_config_names())
    # resolve() also knows OpenImageIO's own shorthands (sRGB, linear, lin_srgb, srgb_tx, ...).
    resolved = cfg.resolve(name)
    ours = name.lower() in {a.lower() for a in CINEON_ALIASES} and name not in known
    if not ours and resolved and cfg.getColorSpaceIndex(resolved) >= 0:
        return str(resolved)
    lowered = {n.lower(): n for n in known}
    if name.lower() in lowered:  # OCIO names are case-insensitive
        return check_colourspace(lowered[name.lower()])
    if name.lower() in {a.lower() for a in CINEON_ALIASES}:
        return CINEON
    if name.lower() in ("lin_rec709", "linear") and not known:
        return LINEAR_REC709
    candidates = sorted(known | set(CINEON_ALIASES) | {LINEAR_REC709, SRGB, "linear", "srgb_tx"})
    close = difflib.get_close_matches(name, candidates, n=5, cutoff=0.5)
    close += [c for c in candidates if name.lower() in c.lower() and c not in close][: 5 - len(close)]
    hint = f"; close matches: {', '.join(close)}" if close else "; see `kinochrome info` or your OCIO config"
    raise ColourspaceError(f"unknown colourspace {name!r}{hint}")


def _linear_name() -> str:
    try:
        return check_colourspace(LINEAR_REC709)
    except ColourspaceError as exc:  # pragma: no cover - a user config without linear Rec.709
        raise ColourspaceError("the OCIO config has no linear Rec.709 colourspace ('lin_rec709')") from exc


# --- analytic curves (float64 in, float64 out) ---------------------------------------------------------

def _srgb_decode(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.04045, x / 12.92, ((np.maximum(x, 0.04045) + 0.055) / 1.055) ** 2.4)


def _srgb_encode(y: np.ndarray) -> np.ndarray:
    return np.where(y <= 0.0031308, y * 12.92, 1.055 * np.maximum(y, 0.0031308) ** (1.0 / 2.4) - 0.055)


def _cineon_decode(x: np.ndarray) -> np.ndarray:
    power = 10.0 ** ((x * 1023.0 - _CIN_WHITE) * _CIN_DENSITY / _CIN_GAMMA)
    return (power - _CIN_OFFSET) / (1.0 - _CIN_OFFSET)


def _cineon_encode(y: np.ndarray) -> np.ndarray:
    # Below code 0 the curve has no inverse: clamp the argument of log10.
    arg = np.maximum(y * (1.0 - _CIN_OFFSET) + _CIN_OFFSET, 1e-12)
    return (_CIN_WHITE + np.log10(arg) * _CIN_GAMMA / _CIN_DENSITY) / 1023.0


def _ocio(rgb: np.ndarray, source: str, target: str) -> np.ndarray:
    shape = rgb.shape
    flat = np.ascontiguousarray(rgb.reshape(-1, 1, 3) if rgb.ndim != 3 else rgb, dtype=np.float32)
    result = oiio.ImageBufAlgo.colorconvert(oiio.ImageBuf(flat), source, target)
    if result.has_error:
        raise ColourspaceError(f"cannot convert {source!r} to {target!r}: {result.geterror()}")
    return np.asarray(result.get_pixels(oiio.FLOAT), dtype=np.float32).reshape(shape)


def _to_linear64(rgb: np.ndarray, colourspace: str) -> np.ndarray:
    canonical = check_colourspace(colourspace)
    kind = _kind(canonical)
    x = np.asarray(rgb, dtype=np.float64)
    if kind == "linear":
        return x.copy()
    if kind == "srgb":
        return _srgb_decode(x)
    if kind == "cineon":
        return _cineon_decode(x)
    return _ocio(x, canonical, _linear_name()).astype(np.float64)


def _from_linear64(linear: np.ndarray, colourspace: str) -> np.ndarray:
    canonical = check_colourspace(colourspace)
    kind = _kind(canonical)
    y = np.asarray(linear, dtype=np.float64)
    if kind == "linear":
        return y.copy()
    if kind == "srgb":
        return _srgb_encode(y)
    if kind == "cineon":
        return _cineon_encode(y)
    return _ocio(y, _linear_name(), canonical).astype(np.float64)


def to_linear(rgb: np.ndarray, colourspace: str) -> np.ndarray:
    """Encoded RGB ``(..., 3)`` in ``colourspace`` -> linear Rec.709 ``(..., 3)`` float32."""
    return _to_linear64(rgb, colourspace).astype(np.float32)


def from_linear(linear: np.ndarray, colourspace: str) -> np.ndarray:
    """Linear Rec.709 ``(..., 3)`` -> encoded RGB ``(..., 3)`` float32 in ``colourspace``."""
    return _from_linear64(linear, colourspace).astype(np.float32)


def to_display_srgb(rgb: np.ndarray, colourspace: str) -> np.ndarray:
    """Encoded RGB ``(..., 3)`` -> sRGB display encoding clipped to [0, 1] ``(..., 3)`` float32 (for viewing)."""
    linear = np.nan_to_num(_to_linear64(rgb, colourspace), nan=0.0, posinf=1.0, neginf=0.0)
    return np.clip(_srgb_encode(linear), 0.0, 1.0).astype(np.float32)


# --- guessing ----------------------------------------------------------------------------------------

def _known(name: str) -> str | None:
    if not name:
        return None
    try:
        return check_colourspace(name)
    except ColourspaceError:
        return None


def guess_colourspace(frame) -> str:
    """The input colourspace for ``--colorspace auto`` of a :class:`~kinochrome.core.frameio.Frame`.

    DPX: Cineon log when ``dpx:Transfer`` says printing density/logarithmic, linear Rec.709 when it says
    linear, else ``oiio:ColorSpace`` or sRGB. Other files: ``oiio:ColorSpace`` when set and known;
    float pixels (EXR, float TIFF) -> linear Rec.709; integer PNG/JPEG/TIFF -> sRGB.
    """
    spec = frame.spec
    stated = spec.get_string_attribute("oiio:ColorSpace", "")
    if frame.file_format == "dpx":
        transfer = spec.get_string_attribute("dpx:Transfer", "").lower()
        if "printing density" in transfer or "log" in transfer:
            return CINEON
        if transfer == "linear":
            return check_colourspace(LINEAR_REC709)
        return _known(stated) or check_colourspace(SRGB)
    known = _known(stated)
    if known:
        return known
    if frame.is_float:
        return check_colourspace(LINEAR_REC709)
    return check_colourspace(SRGB)


def encoded_max_linear(frame, colourspace: str, bit_depth: str | None = None) -> float | None:
    """Linear value of the largest code value (1.0 encoded) for integer formats; None for half/float.

    ``bit_depth`` is the output's (``write_frame``'s argument) when it differs from the input's.
    """
    if storage_type(frame, bit_depth) in ("half", "float", None):
        return None
    return float(_to_linear64(np.ones((1, 1, 3)), colourspace).min())


def storage_type(frame, bit_depth: str | None = None) -> str | None:
    """What the output pixels are stored as: 'uint8' | 'uint10' | 'uint12' | 'uint16' | 'half' | 'float'.

    Pass it as ``quantise`` to :func:`recombine_chroma` so that the guarantee holds after the write.
    """
    if bit_depth is not None:
        return bit_depth
    if frame.is_float:
        return "half" if frame.pixel_type == "half" else "float"
    return f"uint{frame.bits}"


def count_nonfinite(rgb: np.ndarray) -> int:
    """Number of pixels of ``(..., C)`` with a NaN or Inf in any channel."""
    return int((~np.isfinite(np.asarray(rgb))).any(axis=-1).sum())


# --- the luminance guarantee -------------------------------------------------------------------------

def _toward_grey(colour: np.ndarray, y: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Move ``colour`` ``(N, 3)`` toward ``(y, y, y)`` just enough to fit [lo, hi]; keeps luminance.

    out = y + s * (colour - y) with the largest s in [0, 1]; needs lo <= y <= hi.
    """
    yy = y[:, None]
    delta = colour - yy
    with np.errstate(divide="ignore", invalid="ignore"):
        s_hi = np.where(colour > hi, (hi - yy) / delta, 1.0)
        s_lo = np.where(colour < lo, (lo - yy) / delta, 1.0)
    s = np.clip(np.minimum(s_hi, s_lo).min(axis=1), 0.0, 1.0)
    return yy + s[:, None] * delta


def _snap(encoded: np.ndarray, quantise: str | None) -> np.ndarray:
    """Round encoded values to what ``quantise`` can store (integers clipped to 0..1)."""
    if quantise is None or quantise == "float":
        return encoded
    if quantise == "half":
        return encoded.astype(np.float16).astype(np.float64)
    levels = float(2 ** int(quantise.removeprefix("uint")) - 1)
    return np.round(np.clip(encoded, 0.0, 1.0) * levels) / levels


def _green_steps(green: np.ndarray, quantise: str, k: int) -> np.ndarray:
    """``green`` moved by ``k`` storable steps (code values, or half ulps)."""
    if quantise == "half":
        g = green.astype(np.float16)
        toward = np.float16(np.inf if k > 0 else -np.inf)
        for _ in range(abs(k)):
            g = np.nextafter(g, toward)
        return g.astype(np.float64)
    levels = float(2 ** int(quantise.removeprefix("uint")) - 1)
    return np.clip(green + k / levels, 0.0, 1.0)


def _fix_luminance(encoded: np.ndarray, y: np.ndarray, colourspace: str, quantise: str) -> np.ndarray:
    """After snapping ``encoded`` ``(N, 3)``, nudge green (the heaviest luminance weight) by up to two
    storable steps so that the stored pixel's luminance is the closest to ``y`` ``(N,)``."""
    best = encoded
    best_err = np.abs(_to_linear64(encoded, colourspace) @ REC709_LUMA.astype(np.float64) - y)
    for k in (-1, 1, -2, 2):
        trial = encoded.copy()
        trial[:, 1] = _green_steps(encoded[:, 1], quantise, k)
        err = np.abs(_to_linear64(trial, colourspace) @ REC709_LUMA.astype(np.float64) - y)
        better = err < best_err
        best = np.where(better[:, None], trial, best)
        best_err = np.where(better, err, best_err)
    return best


def recombine_chroma(encoded_in: np.ndarray, ab: np.ndarray, colourspace: str, max_linear: float | None,
                     quantise: str | None = None) -> np.ndarray:
    """New chroma on the ORIGINAL luminance: ``(H, W, 3)`` encoded in, ``(H, W, 2)`` a*b* -> ``(H, W, 3)`` encoded.

    Y_in = Rec.709 luminance of ``to_linear(encoded_in)``. The colour is L*(clip(Y_in, 0, 1)) with the new
    a*b*, converted to linear, scaled so its luminance is exactly Y_in, then pulled toward grey
    ``(Y_in, Y_in, Y_in)`` just enough to fit ``[0, max_linear]`` (``[0, inf)`` when None, for float
    formats): ``out = Y + s * (c - Y)`` keeps Y. Y_in <= 0 -> grey. Values above 1.0 keep their
    luminance. NaN/Inf input pixels are returned unchanged (count them with :func:`count_nonfinite`).

    ``quantise`` ('uint8' | 'uint10' | 'uint12' | 'uint16' | 'half' | 'float', see :func:`storage_type`)
    snaps the result to what the file will store and nudges green so the STORED pixel keeps the
    luminance: desaturating the written frame (R=G=B=from_linear(Y)) then gives a grey input back
    within one code value (integers) or 1e-3 relative (half/float).
    """
    encoded_in = np.asarray(encoded_in)
    shape = encoded_in.shape
    flat_in = encoded_in.reshape(-1, 3).astype(np.float64)
    flat_ab = np.nan_to_num(np.asarray(ab, dtype=np.float64).reshape(-1, 2))
    finite = np.isfinite(flat_in).all(axis=1)
    linear = _to_linear64(flat_in[finite], colourspace)
    finite_lin = np.isfinite(linear).all(axis=1)
    y = linear @ REC709_LUMA.astype(np.float64)

    lightness = y_to_lightness(np.clip(y, 0.0, 1.0)).astype(np.float64)
    lab = np.concatenate([lightness[:, None], flat_ab[finite]], axis=1)
    colour = lab_to_linear(lab).astype(np.float64)
    colour_y = colour @ REC709_LUMA.astype(np.float64)
    lit = (y > _TINY_Y) & (colour_y > _TINY_Y) & finite_lin
    scale = np.where(lit, y / np.where(lit, colour_y, 1.0), 0.0)
    colour = np.where(lit[:, None], colour * scale[:, None], y[:, None])

    hi = np.inf if max_linear is None else float(max_linear)
    lo = 0.0
    if max_linear is not None:
        # Integer encodings whose code 0 is above linear 0 cannot store less.
        lo = max(0.0, float(_to_linear64(np.zeros((1, 3)), colourspace).max()))
    inside = lit & (y >= lo) & (y <= hi)
    # The clip only removes float rounding (~1e-16) left by the pull toward grey.
    colour[inside] = np.clip(_toward_grey(colour[inside], y[inside], lo, hi), lo, hi)
    colour[lit & ~inside] = y[lit & ~inside, None]

    encoded = _from_linear64(colour, colourspace)
    if quantise not in (None, "float"):
        encoded = _snap(encoded, quantise)
        encoded[lit] = _fix_luminance(encoded[lit], y[lit], colourspace, quantise)
    # Non-finite linear values (e.g. Inf after decoding) pass through too.
    encoded[~finite_lin] = flat_in[finite][~finite_lin]

    out = flat_in.copy()
    out[finite] = encoded
    return out.reshape(shape).astype(np.float32)
