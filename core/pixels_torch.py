"""Per-pixel colour work as torch tensor ops, for ``--device cuda``: :mod:`kinochrome.core.colour`'s reference
arithmetic on the GPU (or on CPU tensors, where the tests check it).

Only the encodings :mod:`colour` computes analytically (linear Rec.709, sRGB, Cineon log) and the storage
types the run re-picks code values for (unsigned integers, or none) are here (:func:`supported`); OCIO
colourspaces and half-float re-picking stay on the NumPy path. Flat arrays: pixels ``(N, 3)`` encoded or
linear RGB, a*b* ``(N, 2)``, luminance ``(N,)``, float32 tensors on one device. Results match the NumPy
reference to float rounding (torch's ``**``, ``exp``, ``log`` and cube root are a few ulps apart); the
luminance guarantee is the same construction (``out = Y + s (c - Y)``, then green re-picked for integer
storage) and holds as exactly.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

from . import colour as _colour
from .pixelops import _EPS, _KAPPA, _KINDS, _M, _TINY_Y, _WB, _WG, _WHITE, _WR

#: Pixels per band on the CPU (tests, fallbacks); a GPU takes whole frames.
BAND_PIXELS = 1 << 18


def supported(colourspace: str, quantise: str | None) -> bool:
    """Whether :func:`recombine` handles this colourspace and storage (else use :func:`colour.recombine_chroma`)."""
    kind = _colour._kind(_colour.check_colourspace(colourspace))
    return kind in _KINDS and (quantise in (None, "float") or str(quantise).startswith("uint"))


# --- transfer curves (the same as colour._srgb_* / colour._cineon_*) --------------------------------------

def decode(x: torch.Tensor, kind: str) -> torch.Tensor:
    """Encoded -> linear Rec.709 for ``kind`` ('linear' | 'srgb' | 'cineon'); a new tensor."""
    if kind == "linear":
        return x.clone()
    if kind == "srgb":
        return torch.where(x > 0.04045, ((x + 0.055) / 1.055) ** 2.4, x / 12.92)
    return (torch.exp(x * _colour._CIN_K + _colour._CIN_B) - _colour._CIN_OFFSET) / (1.0 - _colour._CIN_OFFSET)


def encode(y: torch.Tensor, kind: str) -> torch.Tensor:
    """Linear Rec.709 -> encoded for ``kind``; a new tensor."""
    if kind == "linear":
        return y.clone()
    if kind == "srgb":
        return torch.where(y > 0.0031308, 1.055 * y ** (1.0 / 2.4) - 0.055, y * 12.92)
    arg = torch.clamp(y * (1.0 - _colour._CIN_OFFSET) + _colour._CIN_OFFSET, min=1e-12)
    return (torch.log(arg) - _colour._CIN_B) / _colour._CIN_K


def luminance(linear: torch.Tensor) -> torch.Tensor:
    """Rec.709 Y of ``(N, 3)`` linear."""
    return _WR * linear[:, 0] + _WG * linear[:, 1] + _WB * linear[:, 2]


def lightness(y: torch.Tensor) -> torch.Tensor:
    """Relative luminance (1.0 = white) -> L* (the same as lab.y_to_lightness)."""
    return 116.0 * _f(y) - 16.0


def _f(t: torch.Tensor) -> torch.Tensor:
    # cube root of a positive value (t > eps): pow keeps it in float32 on every device
    return torch.where(t > _EPS, torch.pow(torch.clamp(t, min=_EPS), 1.0 / 3.0), (_KAPPA * t + 16.0) / 116.0)


def _finv(f: torch.Tensor) -> torch.Tensor:
    f3 = f * f * f
    return torch.where(f3 > _EPS, f3, (116.0 * f - 16.0) / _KAPPA)


def lightness_and_nonfinite(encoded: torch.Tensor, kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``(N, 3)`` encoded -> ``(L* (N,) in [0, 100], number of NaN/Inf pixels)``, as
    :func:`colour.lightness_and_nonfinite` (highlights clipped to 100, NaN/Inf to L* 0)."""
    y = luminance(decode(encoded, kind))
    finite = torch.isfinite(y)
    bad = (~finite).sum()
    y = torch.nan_to_num(y, nan=0.0, posinf=1.0, neginf=0.0)
    return lightness(torch.clamp(y, 0.0, 1.0)), bad


# --- the luminance guarantee ------------------------------------------------------------------------------

def chroma_on_luminance(y: torch.Tensor, ab: torch.Tensor, lo: float, hi: float
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """Linear colours ``(N, 3)`` of luminance exactly ``y`` ``(N,)`` and chroma ``ab`` ``(N, 2)`` fitted into
    [lo, hi], and ``lit`` ``(N,)`` bool: :func:`colour.chroma_on_luminance` step for step."""
    yc = torch.clamp(y, 0.0, 1.0)
    fy = _f(yc)
    x = _finv(fy + ab[:, 0] * (1 / 500.0)) * _WHITE[0]
    yy = yc * _WHITE[1]
    z = _finv(fy - ab[:, 1] * (1 / 200.0)) * _WHITE[2]
    rgb = [_M[i][0] * x + _M[i][1] * yy + _M[i][2] * z for i in range(3)]
    colour_y = _WR * rgb[0] + _WG * rgb[1] + _WB * rgb[2]
    lit = (y > _TINY_Y) & (colour_y > _TINY_Y)
    scale = torch.where(lit, y / torch.where(lit, colour_y, torch.ones_like(colour_y)), torch.zeros_like(y))
    rgb = [torch.where(lit, c * scale, y) for c in rgb]
    top = torch.maximum(torch.maximum(rgb[0], rgb[1]), rgb[2])
    bottom = torch.minimum(torch.minimum(rgb[0], rgb[1]), rgb[2])
    one = torch.ones_like(y)
    s = one
    if math.isfinite(hi):
        s = torch.where(top > hi, (hi - y) / (top - y), s)
    s = torch.minimum(s, torch.where(bottom < lo, (lo - y) / (bottom - y), one))
    s = torch.where(lit, torch.clamp(torch.nan_to_num(s, nan=0.0), 0.0, 1.0), one)
    out = torch.empty((y.shape[0], 3), dtype=torch.float32, device=y.device)
    for i in range(3):
        channel = y + s * (rgb[i] - y)
        out[:, i] = torch.where(lit, torch.clamp(channel, lo, hi), channel)
    return out, lit


@lru_cache(maxsize=32)
def _lut(kind: str, quantise: str, device: str) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(_colour._decode_lut(kind, quantise))).to(device)


def _fix_per_channel(encoded: torch.Tensor, y: torch.Tensor, kind: str, quantise: str, lo: torch.Tensor
                     ) -> torch.Tensor:
    """Integer storage: snap to code values, then re-pick green for the stored luminance closest to ``y``
    (:func:`colour._fix_per_channel`)."""
    levels = float(2 ** int(quantise.removeprefix("uint")) - 1)
    lut = _lut(kind, quantise, str(encoded.device))
    codes = torch.round(torch.clamp(encoded, 0.0, 1.0) * levels).long()
    linear = lut[codes]
    rest = _WR * linear[:, 0] + _WB * linear[:, 2]
    target = (y - rest) / _WG
    target = encode(target, kind) if kind != "linear" else target
    best, best_err = codes[:, 1], torch.abs(_WG * linear[:, 1] + rest - y)
    down = torch.floor(torch.clamp(torch.nan_to_num(target), 0.0, 1.0) * levels).long()
    inf = torch.full_like(best_err, math.inf)
    for candidate in (down, torch.clamp(down + 1, max=int(levels))):
        green = lut[candidate]
        err = torch.where(green >= lo, torch.abs(_WG * green + rest - y), inf)
        better = err < best_err
        best, best_err = torch.where(better, candidate, best), torch.where(better, err, best_err)
    codes[:, 1] = best
    return codes.to(torch.float32) / levels


def _recombine_band(flat_in: torch.Tensor, flat_ab: torch.Tensor, kind: str, lo: float, hi: float,
                    quantise: str | None) -> torch.Tensor:
    """:func:`colour._recombine_flat` for ``(N, 3)`` pixels and ``(N, 2)`` a*b* tensors."""
    flat_ab = torch.nan_to_num(flat_ab)  # finite values pass unchanged
    with torch.no_grad():
        bad = ~torch.isfinite(flat_in[:, 0] + flat_in[:, 1] + flat_in[:, 2])
        any_bad = bool(bad.any())
        source = torch.where(bad[:, None], torch.zeros_like(flat_in), flat_in) if any_bad else flat_in
        linear = decode(source, kind)
        bad_linear = ~torch.isfinite(linear[:, 0] + linear[:, 1] + linear[:, 2])
        if bool(bad_linear.any()):
            bad = bad | bad_linear
            any_bad = True
            linear[bad] = 0.0
        y = luminance(linear)
        colour, lit = chroma_on_luminance(y, flat_ab, lo, hi)
        encoded = encode(colour, kind)
        if quantise not in (None, "float"):
            floor = torch.where(lit, torch.tensor(np.float32(lo - 1e-7), device=y.device),
                                torch.tensor(-math.inf, device=y.device))
            encoded = _fix_per_channel(encoded, y, kind, quantise, floor)
        if any_bad:
            encoded[bad] = flat_in[bad]
        return encoded


def recombine(encoded_in: torch.Tensor, ab: torch.Tensor, colourspace: str, max_linear: float | None,
              quantise: str | None = None, out: torch.Tensor | None = None) -> torch.Tensor:
    """:func:`colour.recombine_chroma` for tensors: ``(H, W, 3)`` encoded in, ``(H, W, 2)`` a*b* ->
    ``(H, W, 3)`` encoded, on their device. Only where :func:`supported`."""
    canonical = _colour.check_colourspace(colourspace)
    kind = _colour._kind(canonical)
    if kind not in _KINDS:
        raise ValueError(f"pixelops.recombine: {canonical!r} is not computed here (use colour.recombine_chroma)")
    shape = encoded_in.shape
    flat_in = encoded_in.reshape(-1, 3)
    flat_ab = ab.reshape(-1, 2)
    _colour.check_ab_matches(flat_ab.shape[0], flat_in.shape[0], ab.shape, shape)
    lo, hi = _colour.linear_bounds(canonical, max_linear)
    result = out.reshape(-1, 3) if out is not None else torch.empty_like(flat_in)
    band = flat_in.shape[0] if flat_in.device.type != "cpu" else BAND_PIXELS
    for start in range(0, flat_in.shape[0], band):
        part = slice(start, start + band)
        result[part] = _recombine_band(flat_in[part], flat_ab[part], kind, lo, hi, quantise)
    return result.reshape(shape)


def recombine_numpy(encoded_in: np.ndarray, ab: np.ndarray, colourspace: str, max_linear: float | None,
                    quantise: str | None = None) -> np.ndarray:
    """:func:`recombine` on NumPy ``(H, W, 3)`` / ``(H, W, 2)`` float32 arrays (CPU, no copies in or out)."""
    rgb = torch.from_numpy(np.ascontiguousarray(encoded_in, dtype=np.float32))
    chroma = torch.from_numpy(np.ascontiguousarray(ab, dtype=np.float32))
    out = np.empty(rgb.shape, np.float32)
    recombine(rgb, chroma, colourspace, max_linear, quantise, out=torch.from_numpy(out))
    return out




# --- the full-resolution finish of a frame on the device (--device cuda) ----------------------------------

def _resize(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``(C, h, w)`` -> ``(C, height, width)``, bilinear with half-pixel centres (OpenCV's INTER_LINEAR)."""
    if tuple(x.shape[-2:]) == (height, width):
        return x
    return torch.nn.functional.interpolate(x[None], size=(height, width), mode="bilinear",
                                           align_corners=False)[0]


class DeviceFinisher:
    """The full-resolution steps of :meth:`FrameColouriser.colourise` on a torch device: the guided
    upsampler's coefficients (computed at working size on the CPU, :func:`upsample.guided_coefficients`)
    resampled and applied to the full-resolution L*, and the keyframe hints blended in
    (:func:`references.compose_ab`), giving a*b* ``(H, W, 2)`` as a tensor on the device, which
    :func:`recombine` then uses with the frame (uploaded once) so that only the finished frame comes back.
    The same arithmetic as the NumPy path; bilinear resampling is torch's (float rounding apart).
    """

    def __init__(self, device: torch.device | str):
        self.device = torch.device(device)

    def _to(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).to(self.device, non_blocking=True)

    def upsample(self, a_coef: np.ndarray, b_coef: np.ndarray, lightness_full: np.ndarray | torch.Tensor
                 ) -> torch.Tensor:
        """``A * L + B`` at full resolution: coefficients ``(h, w, 2)`` -> a*b* ``(2, H, W)`` on the device."""
        lum = lightness_full if isinstance(lightness_full, torch.Tensor) else self._to(lightness_full)
        height, width = lum.shape
        coef = _resize(self._to(np.concatenate([a_coef, b_coef], axis=2)).permute(2, 0, 1), height, width)
        return coef[:2] * lum + coef[2:]

    def compose(self, ab: torch.Tensor, hint_ab: np.ndarray | torch.Tensor, conf: np.ndarray | torch.Tensor,
                strength: float, premultiplied: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Blend hints into ``ab`` ``(2, H, W)``: ``hint_ab`` ``(h, w, 2)`` and ``conf`` ``(h, w)`` at working
        size (resampled premultiplied by confidence, as the CPU path) or already full size
        (``premultiplied=False``: the painted keyframe). -> ``(ab (2, H, W), confidence (H, W))``."""
        height, width = ab.shape[-2:]
        c = conf if isinstance(conf, torch.Tensor) else self._to(conf)
        h = hint_ab if isinstance(hint_ab, torch.Tensor) else self._to(hint_ab)
        h = h.permute(2, 0, 1)
        if premultiplied:
            # as the CPU path (references.compose_premultiplied): strength * weighted + (1 - strength * conf) * net
            conf_full = torch.clamp(_resize(c[None], height, width)[0], 0.0, 1.0)
            weighted = _resize(h * c[None], height, width)
            return float(strength) * weighted + (1.0 - float(strength) * conf_full) * ab, conf_full
        weight = torch.clamp(float(strength) * c, 0.0, 1.0)
        return weight * h + (1.0 - weight) * ab, c

    def recombine(self, frame_rgb: np.ndarray, ab: torch.Tensor, colourspace: str, max_linear: float | None,
                  quantise: str | None = None) -> np.ndarray:
        """The frame ``(H, W, 3)`` (uploaded here, once) with a*b* ``(2, H, W)`` -> the encoded result,
        downloaded once. Only where :func:`supported`."""
        rgb = self._to(frame_rgb)
        out = recombine(rgb, ab.permute(1, 2, 0).contiguous(), colourspace, max_linear, quantise)
        return out.cpu().numpy()
