"""Keyframe colour references -> colour hints for the network and the propagation.

Three kinds of reference (issue 4):

* **painted** — a coloured version of the keyframe itself (the artist painted that frame). Its chroma is
  taken as is (:func:`painted_hints`), trusted where its lightness agrees with the frame's, and on the
  keyframe itself it wins exactly (:func:`compose_ab`).
* **exemplar** — a colour still of similar content that is not the same frame. Colours are transferred by
  matching luminance-and-texture features (and optionally the network's features) and kept as sparse-ish
  hints where the match is confident (:func:`exemplar_hints`).
* **points and strokes** — colours the artist picked for regions (:func:`point_hints`); they override the
  other two.

Encodings and sizes: ``lab`` arrays are CIE L*a*b* D65 ``(H, W, 3)`` float32, L* in [0, 100]; ``ab`` arrays
``(H, W, 2)``; masks/confidences ``(H, W)`` in [0, 1]. "Working" size is the size the network runs at;
"full" size is the shot's own. Sizes given as tuples are ``(width, height)``. Colour points and strokes
are in full-resolution pixel coordinates (origin top-left) and sRGB-encoded colours in [0, 1].

Every user error is a :class:`ColourReferenceError` whose one-line message names the file or keyframe.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .classical import (
    FEATURE_WEIGHTS,
    grid_sample_indices,
    knn_search,
    remap_features,
    texture_features,
)
from .errors import ColourReferenceError, KinochromeError
from .lab import linear_to_lab, srgb_to_lab, srgb_to_linear
from .propagate import over
from .session import resolve_path

#: Aspect ratios closer than this (relative) count as the same: the reference is just resampled.
ASPECT_TOLERANCE = 0.01
#: Mean chroma (|ab|, L*a*b* units) below which a reference is grayscale: it has no colour to give ...
GRAYSCALE_CHROMA = 2.0
#: ... unless a few percent of it are clearly coloured (a gray still with a red flag still has colour).
GRAYSCALE_PEAK_CHROMA = 10.0
#: L* correlation with the frame above which an ``auto`` reference is the painted keyframe itself.
PAINTED_CORRELATION = 0.9
#: Painted reference trust: full where |L*ref - L*frame| <= LOW, none from HIGH on (after exposure fit).
PAINTED_DL_LOW, PAINTED_DL_HIGH = 6.0, 15.0
#: Exemplar matching: reference samples searched, neighbours per query, grid step of the hints (working px).
EXEMPLAR_SAMPLES = 4096
EXEMPLAR_K = 8
EXEMPLAR_STEP = 4
#: Exemplar hints below this confidence are dropped (a wrong colour hint is worse than none).
EXEMPLAR_MIN_CONFIDENCE = 0.25
#: Weight of the matches that fill gaps in propagated hints (see fill_from_reference).
REFERENCE_FILL = 1.0
#: Weight (L* units per working pixel) of position in matching a painted keyframe of the same shot: its
#: content is still near where it was, so a match 30 px away costs as much as 9 L* of texture difference.
#: On the held-out clips 0.3 gave +0.7 dB (the pool +2.9 dB) over no position (0.1: +0.4, 1.0: +0.7).
MATCH_LOCALITY = 0.3
#: Weight of the (L2-normalised) network features against the texture features (which are in L* units).
NETWORK_FEATURE_WEIGHT = 20.0

_FLOAT_EXTS = (".exr", ".hdr", ".sxr", ".mxr")


# --------------------------------------------------------------------------------------------- loading

def _label(path: str, frame: int | None) -> str:
    name = Path(path).name
    return f"keyframe {frame}: {name}" if frame is not None else name


def resolve_reference(path: str, base_dir: str | os.PathLike[str] | None = None) -> str:
    """A reference path made absolute against ``base_dir`` (the session's folder) when relative."""
    if base_dir is not None:
        return resolve_path(path, base_dir) or path
    return path


def _read_linear(path: str, label: str) -> np.ndarray:
    """Linear Rec.709 RGB ``(H, W, 3)`` float32 of an image file (alpha dropped).

    Reads through :mod:`kinochrome.core.frameio` and converts with the colourspace
    :func:`kinochrome.core.colour.guess_colourspace` picks (8/16-bit PNG/JPEG/TIFF: sRGB; EXR: linear;
    DPX: its transfer). Without those modules, falls back to ``cv2.imread`` (integer files as sRGB,
    float files as linear).
    """
    try:
        from . import colour, frameio
    except ImportError:  # pragma: no cover - only before frameio/colour exist
        return _read_linear_cv2(path, label)
    try:
        frame = frameio.read_frame(path)
        cs = colour.guess_colourspace(frame)
        linear = colour.to_linear(frame.rgb, cs)
    except KinochromeError as exc:
        raise ColourReferenceError(f"{label}: cannot read the colour reference ({exc})") from None
    return np.asarray(linear, dtype=np.float32)


def _read_linear_cv2(path: str, label: str) -> np.ndarray:
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED | cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
    if img is None:
        raise ColourReferenceError(f"{label}: cannot read the colour reference")
    if img.ndim == 2:
        img = img[..., None]
    img = img[..., :3][..., ::-1] if img.shape[2] >= 3 else np.repeat(img[..., :1], 3, axis=2)
    if img.dtype == np.uint8:
        return srgb_to_linear(img.astype(np.float32) / 255.0)
    if img.dtype == np.uint16:
        return srgb_to_linear(img.astype(np.float32) / 65535.0)
    rgb = img.astype(np.float32)
    return rgb if path.lower().endswith(_FLOAT_EXTS) else srgb_to_linear(rgb)


def mean_chroma(lab: np.ndarray) -> float:
    """Mean |ab| (L*a*b* chroma) of an image ``(H, W, 3)``."""
    return float(np.hypot(lab[..., 1], lab[..., 2]).mean())


def is_grayscale(lab: np.ndarray) -> bool:
    """True when an L*a*b* image has no colour to give: mean chroma below 2 and its 98th percentile below
    10 (so a mostly gray picture with one coloured object still counts as colour)."""
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    return float(chroma.mean()) < GRAYSCALE_CHROMA and float(np.percentile(chroma, 98)) < GRAYSCALE_PEAK_CHROMA


def _centre_crop(img: np.ndarray, aspect: float) -> np.ndarray:
    """The largest centred window of ``img`` with width/height = ``aspect``."""
    h, w = img.shape[:2]
    if w / h > aspect:
        cw = max(1, round(h * aspect))
        x0 = (w - cw) // 2
        return img[:, x0:x0 + cw]
    ch = max(1, round(w / aspect))
    y0 = (h - ch) // 2
    return img[y0:y0 + ch]


def resize_image(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resample ``(H, W, C)`` or ``(H, W)`` float32 to ``size = (width, height)`` (area when shrinking)."""
    if (img.shape[1], img.shape[0]) == tuple(size):
        return img
    shrink = size[0] < img.shape[1] or size[1] < img.shape[0]
    out = cv2.resize(img, tuple(int(v) for v in size),
                     interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return out.reshape(size[1], size[0], *img.shape[2:]).astype(np.float32)


def load_reference(path: str, frame_size: tuple[int, int], fit: bool = False,
                   frame: int | None = None) -> np.ndarray:
    """A keyframe's colour reference as L*a*b* ``(H, W, 3)`` float32 at ``frame_size = (width, height)``.

    Resampled (in linear light) when its aspect ratio matches the shot's within 1%. Another aspect ratio is
    an error unless ``fit``: then it is centre-cropped to the shot's aspect ratio first. Errors
    (:class:`ColourReferenceError`, naming the file and, when given, the keyframe ``frame``): the file is
    missing or unreadable, another aspect ratio without ``fit``, a grayscale reference (mean |ab| < 2,
    see :func:`is_grayscale`).
    """
    if not path:
        raise ColourReferenceError(f"keyframe {frame}: no colour reference file given")
    label = _label(path, frame)
    if not os.path.isfile(path):
        raise ColourReferenceError(f"{label}: colour reference not found ({path})")
    linear = np.nan_to_num(_read_linear(path, label), nan=0.0, posinf=0.0, neginf=0.0)
    width, height = int(frame_size[0]), int(frame_size[1])
    ref_aspect = linear.shape[1] / linear.shape[0]
    shot_aspect = width / height
    if abs(ref_aspect / shot_aspect - 1.0) > ASPECT_TOLERANCE:
        if not fit:
            raise ColourReferenceError(f"{label}: aspect {ref_aspect:.2f} differs from the shot's "
                                       f"{shot_aspect:.2f}; use --fit to crop")
        linear = _centre_crop(linear, shot_aspect)
    lab = linear_to_lab(resize_image(np.ascontiguousarray(linear), (width, height)))
    if is_grayscale(lab):
        raise ColourReferenceError(f"{label}: reference is grayscale; it has no colour to give")
    return lab.astype(np.float32)


# --------------------------------------------------------------------------------------------- kinds

def lightness_correlation(ref_lab: np.ndarray, frame_lab: np.ndarray) -> float:
    """Pearson correlation of the two L* planes (the reference resampled to the frame's size, both lightly
    blurred so resampling differences do not count). 0 when either is flat."""
    h, w = frame_lab.shape[:2]
    a = cv2.GaussianBlur(resize_image(np.ascontiguousarray(ref_lab[..., 0]), (w, h)), (0, 0), 1.0)
    b = cv2.GaussianBlur(np.ascontiguousarray(frame_lab[..., 0], dtype=np.float32), (0, 0), 1.0)
    a = a - a.mean()
    b = b - b.mean()
    denom = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denom) if denom > 1e-6 else 0.0


def reference_kind(ref_lab: np.ndarray, frame_lab: np.ndarray, declared: str = "auto") -> str:
    """``'painted'`` or ``'exemplar'``: the declared kind, or for ``auto`` painted when the reference's L*
    matches the frame's (correlation > 0.9 after resampling), else exemplar."""
    if declared in ("painted", "exemplar"):
        return declared
    if declared != "auto":
        raise ColourReferenceError(f"reference kind {declared!r}: expected auto, painted or exemplar")
    return "painted" if lightness_correlation(ref_lab, frame_lab) > PAINTED_CORRELATION else "exemplar"


# --------------------------------------------------------------------------------------------- hints

def painted_hints(ref_lab: np.ndarray, frame_lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hints from a painted keyframe: ``(ab (H, W, 2), mask (H, W))`` at the frame's size.

    ab is the reference's chroma. The mask is 1 where the reference is trustworthy: where its L*, after a
    least-squares exposure fit (grading/gamma differences between the painting and the scan), is within
    6 L* of the frame's, falling to 0 at 15 L* (the painter changed the picture there: a retouch, a
    different crop edge).
    """
    h, w = frame_lab.shape[:2]
    ref = resize_image(np.ascontiguousarray(ref_lab, dtype=np.float32), (w, h))
    ab = np.ascontiguousarray(ref[..., 1:3])
    lr = ref[..., 0].ravel().astype(np.float64)
    lf = np.asarray(frame_lab[..., 0], dtype=np.float64).ravel()
    design = np.stack([lr, np.ones_like(lr)], axis=1)
    (gain, offset), *_ = np.linalg.lstsq(design, lf, rcond=None)
    diff = np.abs(ref[..., 0] * gain + offset - frame_lab[..., 0]).astype(np.float32)
    # A 1-px blur: resampling puts edges a fraction of a pixel apart; that is not a change of picture.
    diff = cv2.GaussianBlur(diff, (0, 0), 1.0)
    mask = np.clip((PAINTED_DL_HIGH - diff) / (PAINTED_DL_HIGH - PAINTED_DL_LOW), 0.0, 1.0)
    return ab.astype(np.float32), mask.astype(np.float32)


def _network_features_at(features: np.ndarray, size: tuple[int, int], ys: np.ndarray,
                         xs: np.ndarray) -> np.ndarray:
    """The network's features ``(h, w, C)`` (any resolution, for an image of ``size = (width, height)``) at
    pixel rows ``ys`` / columns ``xs`` of that image -> ``(N, C)``, L2-normalised and weighted.

    Looked up in the feature map's own grid (nearest cell) rather than resampled to full size: the
    features are coarse anyway and a full-size C-channel map would cost far more than the search."""
    f = np.asarray(features, dtype=np.float32)
    fh, fw = f.shape[:2]
    fy = np.clip(((ys + 0.5) * fh / size[1]).astype(np.int64), 0, fh - 1)
    fx = np.clip(((xs + 0.5) * fw / size[0]).astype(np.int64), 0, fw - 1)
    v = f[fy, fx]
    v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-6)
    return v * NETWORK_FEATURE_WEIGHT


def exemplar_hints(ref_lab: np.ndarray, frame_lab: np.ndarray, features_ref: np.ndarray | None = None,
                   features_frame: np.ndarray | None = None, where: np.ndarray | None = None,
                   locality: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Hints from an exemplar (a colour still of similar content, not this frame): ``(ab (H, W, 2),
    confidence (H, W))`` at the frame's size.

    Each frame pixel on a grid (every 4 working px) looks for its K = 8 nearest reference pixels in the
    luminance-and-texture feature space of :func:`kinochrome.core.classical.texture_features` (reference
    luminance remapped to the frame's mean/std), extended by the network's features when given
    (``features_ref``/``features_frame``, ``(h, w, C)`` each, any resolution). The hint is the neighbours'
    mean ab. Confidence is the match quality: high when the nearest neighbour is close compared with the
    typical match distance, and when the K neighbours agree on the colour (an ambiguous match — same
    texture, different colours in the reference — is the analogue of a failed ratio test). Hints below
    0.25 confidence are dropped; each kept one covers a 3x3 block, like the artist's small colour points
    the network was trained on. ``where (H, W)`` bool: match only grid pixels where it is True (the
    search is the cost). ``locality`` > 0 (L* units per pixel; reference of the frame's size only) adds
    the position to the features, so a pixel prefers matches near where it is.
    """
    h, w = frame_lab.shape[:2]
    rh, rw = ref_lab.shape[:2]
    ref_l = np.ascontiguousarray(ref_lab[..., 0], dtype=np.float32)
    frame_l = np.ascontiguousarray(frame_lab[..., 0], dtype=np.float32)
    ref_feats = texture_features(ref_l)
    frame_feats = texture_features(frame_l)
    ref_feats = remap_features(ref_feats, float(ref_l.mean()), float(ref_l.std()),
                               float(frame_l.mean()), float(frame_l.std())) * FEATURE_WEIGHTS
    frame_feats = frame_feats * FEATURE_WEIGHTS
    keep = grid_sample_indices(rh, rw, EXEMPLAR_SAMPLES, seed=1)
    samples = ref_feats.reshape(rh * rw, -1)[keep]
    sample_ab = np.asarray(ref_lab[..., 1:3], dtype=np.float32).reshape(-1, 2)[keep]

    off = EXEMPLAR_STEP // 2
    ys, xs = np.mgrid[off:h:EXEMPLAR_STEP, off:w:EXEMPLAR_STEP]
    if where is not None:
        chosen = np.asarray(where, bool)[ys, xs]
        ys, xs = ys[chosen], xs[chosen]
    hint_ab = np.zeros((h, w, 2), np.float32)
    mask = np.zeros((h, w), np.float32)
    if ys.size == 0:
        return hint_ab, mask
    queries = frame_feats[ys.ravel(), xs.ravel()]
    if features_ref is not None and features_frame is not None:
        samples = np.concatenate(
            [samples, _network_features_at(features_ref, (rw, rh), keep // rw, keep % rw)], axis=1)
        queries = np.concatenate(
            [queries, _network_features_at(features_frame, (w, h), ys.ravel(), xs.ravel())], axis=1)
    if locality > 0 and (rh, rw) == (h, w):
        samples = np.concatenate([samples, np.stack([keep // rw, keep % rw], 1).astype(np.float32) * locality], 1)
        queries = np.concatenate([queries, np.stack([ys.ravel(), xs.ravel()], 1).astype(np.float32) * locality], 1)
    idx, dist = knn_search(queries, samples, EXEMPLAR_K)
    nb_ab = sample_ab[idx]                                    # (N, K, 2)
    ab = nb_ab.mean(axis=1)
    spread = np.sqrt(((nb_ab - ab[:, None]) ** 2).sum(-1).mean(1))
    typical = float(np.median(dist[:, 0])) + 1e-3
    conf = np.exp(-dist[:, 0] / (4.0 * typical)) * np.exp(-((spread / 12.0) ** 2))
    conf = np.where(conf >= EXEMPLAR_MIN_CONFIDENCE, conf, 0.0).astype(np.float32)

    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            yy = np.clip(ys.ravel() + dy, 0, h - 1)
            xx = np.clip(xs.ravel() + dx, 0, w - 1)
            hint_ab[yy, xx] = ab
            mask[yy, xx] = conf
    hint_ab[mask <= 0] = 0.0
    return hint_ab, mask


def _point_label(frame: int | None) -> str:
    return f"keyframe {frame}: " if frame is not None else ""


def check_point(x: float, y: float, full_size: tuple[int, int], frame: int | None = None,
                what: str = "point") -> None:
    """ColourReferenceError when (x, y) lies outside the ``full_size = (width, height)`` frame."""
    width, height = full_size
    if not (0 <= x < width and 0 <= y < height):
        raise ColourReferenceError(f"{_point_label(frame)}{what} ({x:g}, {y:g}) is outside the "
                                   f"{width}x{height} frame")


def point_hints(points: Iterable[Any], strokes: Iterable[Any], size: tuple[int, int], scale: float,
                frame: int | None = None, full_size: tuple[int, int] | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Colour points and strokes -> ``(ab (H, W, 2), mask (H, W))`` at ``size = (width, height)``.

    Points (``.x, .y, .colour, .radius``) and strokes (``.points [(x, y)], .colour, .radius``) are in
    full-resolution pixels; ``scale`` = working / full size. Each becomes a filled disk (a thick polyline
    for strokes) of the colour's a*b* with mask 1; a disk is at least one pixel. Later ones paint over
    earlier ones. A point outside the frame (``full_size``, default ``size / scale``) is a
    ColourReferenceError naming ``frame``.
    """
    width, height = int(size[0]), int(size[1])
    if full_size is None:
        full_size = (round(width / scale), round(height / scale))
    canvas = np.zeros((height, width, 3), np.float32)   # a*, b*, mask
    for p in points:
        check_point(p.x, p.y, full_size, frame)
        a, b = _colour_ab(p.colour)
        centre = (_px(p.x * scale), _px(p.y * scale))
        radius = max(0, _px(p.radius * scale))
        cv2.circle(canvas, centre, radius, (a, b, 1.0), thickness=-1, lineType=cv2.LINE_8)
    for s in strokes:
        for x, y in s.points:
            check_point(x, y, full_size, frame, what="stroke point")
        a, b = _colour_ab(s.colour)
        pts = [(_px(x * scale), _px(y * scale)) for x, y in s.points]
        radius = max(0, _px(s.radius * scale))
        for p0, p1 in itertools.pairwise(pts):
            cv2.line(canvas, p0, p1, (a, b, 1.0), thickness=max(1, 2 * radius + 1), lineType=cv2.LINE_8)
        for p0 in pts:
            cv2.circle(canvas, p0, radius, (a, b, 1.0), thickness=-1, lineType=cv2.LINE_8)
    return np.ascontiguousarray(canvas[..., :2]), np.ascontiguousarray(canvas[..., 2])


def _px(value: float) -> int:
    """Nearest integer pixel (OpenCV drawing wants ints)."""
    return int(np.rint(value))


def _colour_ab(colour: Sequence[float]) -> tuple[float, float]:
    lab = srgb_to_lab(np.asarray(colour, dtype=np.float32).reshape(1, 3))[0]
    return float(lab[1]), float(lab[2])


def keyframe_hints(keyframe: Any, frame_lab_working: np.ndarray, ref_lab_working: np.ndarray | None,
                   full_size: tuple[int, int], model_features: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """All of a keyframe's hints at working size: ``(ab (H, W, 2), mask (H, W))``.

    ``keyframe``: a :class:`kinochrome.core.session.Keyframe` (``frame``, ``kind``, ``points``,
    ``strokes``); ``frame_lab_working``: the keyframe's frame (L*a*b*, only L* used); ``ref_lab_working``:
    its loaded reference at the same size or None; ``full_size``: the shot's ``(width, height)``;
    ``model_features``: ``(features_ref, features_frame)`` from the network, used for exemplars.
    The reference gives painted or exemplar hints (kind from :func:`reference_kind`); points and strokes
    then override them (mask 1).
    """
    h, w = frame_lab_working.shape[:2]
    ab = np.zeros((h, w, 2), np.float32)
    mask = np.zeros((h, w), np.float32)
    if ref_lab_working is not None:
        kind = reference_kind(ref_lab_working, frame_lab_working, getattr(keyframe, "kind", "auto"))
        if kind == "painted":
            ab, mask = painted_hints(ref_lab_working, frame_lab_working)
        else:
            fr, ff = model_features if model_features is not None else (None, None)
            ab, mask = exemplar_hints(ref_lab_working, frame_lab_working, fr, ff)
    points = list(getattr(keyframe, "points", []) or [])
    strokes = list(getattr(keyframe, "strokes", []) or [])
    if points or strokes:
        p_ab, p_mask = point_hints(points, strokes, (w, h), w / float(full_size[0]),
                                   frame=keyframe.frame, full_size=full_size)
        sel = p_mask > 0
        ab[sel] = p_ab[sel]
        mask[sel] = 1.0
    return ab, mask


def validate_keyframes(keyframes: Iterable[Any], shot_first: int, shot_last: int,
                       full_size: tuple[int, int], base_dir: str | os.PathLike[str] | None = None) -> None:
    """Check keyframes before any frame is written; ColourReferenceError naming the keyframe for a keyframe
    outside ``shot_first..shot_last``, a point or stroke outside the ``full_size = (width, height)`` frame,
    or a reference file that does not exist (relative paths against ``base_dir``)."""
    for k in keyframes:
        if not shot_first <= k.frame <= shot_last:
            raise ColourReferenceError(f"keyframe {k.frame} is outside the shot's range "
                                       f"{shot_first}-{shot_last}")
        for p in getattr(k, "points", []) or []:
            check_point(p.x, p.y, full_size, k.frame)
            if p.radius <= 0:
                raise ColourReferenceError(f"keyframe {k.frame}: point ({p.x:g}, {p.y:g}) has radius "
                                           f"{p.radius:g}; expected a positive radius")
        for s in getattr(k, "strokes", []) or []:
            for x, y in s.points:
                check_point(x, y, full_size, k.frame, what="stroke point")
        if k.reference:
            path = resolve_reference(k.reference, base_dir)
            if not os.path.isfile(path):
                raise ColourReferenceError(f"keyframe {k.frame}: {Path(path).name}: colour reference not "
                                           f"found ({path})")


def reference_matches(conf: np.ndarray, ref_lab: np.ndarray, lightness: np.ndarray,
                      weight: float = REFERENCE_FILL, locality: float = 0.0,
                      features: tuple[np.ndarray, np.ndarray] | None = None
                      ) -> tuple[np.ndarray, np.ndarray] | None:
    """Colours for the gaps of propagated hints, matched from a keyframe's reference; None if no gaps.

    Wherever the frame is weakly hinted (``conf (h, w)`` < 0.5), however small the gap, the reference
    ``ref_lab (h, w, 3)`` is matched to the frame's L* ``lightness (h, w)`` as an exemplar
    (:func:`exemplar_hints`, searched only near the weak hints) -> ``(ab (h, w, 2), confidence * weight)``.
    ``locality``: weight of position in the match (:data:`MATCH_LOCALITY` for a painted keyframe of this
    shot, 0 for an exemplar, whose layout is another picture's). ``features``: the network's features of
    the reference and of the frame (``Colouriser.features``), matched as well: for an exemplar, whose layout
    is another picture's, they let a sky find the sky by what it is rather than by its texture alone.
    """
    # Small gaps matter too: a red coat a few pixels wide that the flow loses is a small share of the frame
    # but the colour a viewer follows (matching every gap instead of gaps over 5% of the frame: held-out
    # clips +0.07 dB, CDC 1.94 -> 1.90, opencv_vtest_b CDC 0.47 -> 0.25; about 12 ms a frame at 384 px).
    if not (conf < 0.5).any():
        return None
    frame_lab = np.dstack([lightness, np.zeros_like(lightness), np.zeros_like(lightness)])
    # a match is searched only where it can matter: near weak hints (3x3 blocks reach 1 px further)
    weak = cv2.dilate((conf < 0.9).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    fr, ff = features if features is not None else (None, None)
    match_ab, match_conf = exemplar_hints(ref_lab, frame_lab, fr, ff, where=weak, locality=locality)
    return match_ab, (match_conf * np.float32(weight)).astype(np.float32)


def lay_under(hint_ab: np.ndarray, conf: np.ndarray, under_ab: np.ndarray, under_conf: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """Hints ``(ab, conf)`` laid over weaker ones (:func:`kinochrome.core.propagate.over`)."""
    ab, total, _ = over(hint_ab, conf, under_ab, under_conf)
    return ab, total


def fill_from_reference(hint_ab: np.ndarray, conf: np.ndarray, ref_lab: np.ndarray, lightness: np.ndarray,
                        weight: float = REFERENCE_FILL, locality: float = 0.0
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Propagated hints with their gaps filled by matching a keyframe's reference as an exemplar.

    Optical flow loses what it cannot follow (water, smoke, regions the camera reveals); there the network
    would fall back to its automatic guess, which neither matches the artist's colours nor holds still from
    frame to frame. So the matches of :func:`reference_matches` are laid under the propagated hints
    (:func:`lay_under`): confident propagated hints win, the matches fill in where they are weak.

    ``hint_ab (h, w, 2)``, ``conf (h, w)``: propagated hints; ``ref_lab (h, w, 3)``: the reference at
    working size; ``lightness (h, w)``: this frame's L*. Returns ``(ab, conf)`` of the same shapes
    (the inputs themselves when the frame is well hinted).
    """
    matches = reference_matches(conf, ref_lab, lightness, weight, locality)
    if matches is None:
        return hint_ab, conf
    return lay_under(hint_ab, conf, *matches)


def compose_premultiplied(net_ab: np.ndarray, weighted_hint: np.ndarray, conf: np.ndarray, strength: float
                          ) -> np.ndarray:
    """:func:`compose_ab` for hints already multiplied by their confidence, all ``(H, W[, 2])`` float32 at one
    size, ``0 <= strength <= 1`` -> ``(H, W, 2)``.

    With ``hint = weighted / conf`` and ``w = strength * conf`` (no clip needed: both are at most 1) the blend
    ``w * hint + (1 - w) * net`` is ``strength * weighted + (1 - strength * conf) * net``: the same values up
    to float rounding, without dividing by the confidence or forming the weights (a keyframed 2K frame
    spent ~70 ms of CPU in the blend).
    """
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength {strength} outside [0, 1]: use compose_ab")
    rest = np.multiply(conf, np.float32(-strength), dtype=np.float32)
    rest += np.float32(1.0)
    out = np.empty(np.shape(net_ab), np.float32)
    for c in range(2):
        plane = out[:, :, c]
        np.multiply(rest, net_ab[:, :, c], out=plane)
        plane += np.float32(strength) * weighted_hint[:, :, c] if strength != 1.0 else weighted_hint[:, :, c]
    return out


def compose_ab(net_ab: np.ndarray, hint_ab: np.ndarray, hint_conf: np.ndarray, strength: float) -> np.ndarray:
    """The final chroma: ``(H, W, 2)`` float32 at the size of ``net_ab`` (full resolution in the pipeline).

    Blend: ``w = clip(strength * conf, 0, 1)``; ``ab = w * hint + (1 - w) * net``. So with strength 1, the
    hint's chroma wins exactly where it is fully confident (a painted keyframe comes out with the
    reference's chroma), the network's where there is no hint, and a mix in between; strength 0 ignores
    the hints. ``hint_ab``/``hint_conf`` of another size (working size) are resampled bilinearly first;
    pass full-resolution hints where exactness matters (the painted keyframe).
    """
    net_ab = np.asarray(net_ab, dtype=np.float32)
    h, w = net_ab.shape[:2]
    hint_ab = resize_image(np.asarray(hint_ab, dtype=np.float32), (w, h))
    conf = resize_image(np.asarray(hint_conf, dtype=np.float32), (w, h))
    weight = np.clip(float(strength) * conf, 0.0, 1.0)
    rest = 1.0 - weight
    out = np.empty((h, w, 2), np.float32)
    for c in range(2):  # plane by plane: (H, W, 2) * (H, W, 1) broadcasts in inner loops of two elements
        out[:, :, c] = weight * hint_ab[:, :, c] + rest * net_ab[:, :, c]
    return out
