"""Training data: colour photos and clips held in memory, sequence sampling with camera motion, hints.

Encodings: images are held as sRGB ``uint8 (H, W, 3)`` in RGB order; samples are CIE L*a*b* from
:mod:`kinochrome.core.lab`. A batch is ``x (N, T, 4, S, S)`` float32 (``L*/100, a_hint/110, b_hint/110,
mask``, as :mod:`.network` expects) and ``ab (N, T, 2, S, S)`` float32 a*b* targets.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..errors import TrainingDataError
from ..lab import srgb_to_lab
from .bins import histogram
from .degrade import degrade

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"}
#: Mean chroma (a*b* magnitude) below which an image counts as grayscale / near-gray.
MIN_CHROMA = 6.0


def read_rgb(path: Path, long_side: int | None = None) -> np.ndarray | None:
    """Read an image as sRGB uint8 ``(H, W, 3)`` RGB, optionally downscaled to ``long_side``; None if unreadable."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        return None
    if long_side and max(bgr.shape[:2]) > long_side:
        s = long_side / max(bgr.shape[:2])
        bgr = cv2.resize(bgr, (round(bgr.shape[1] * s), round(bgr.shape[0] * s)), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(bgr[..., ::-1])


def mean_chroma(rgb: np.ndarray) -> float:
    """Mean a*b* magnitude of a uint8 sRGB image ``(H, W, 3)`` on a 64 px thumbnail (gray images ~0)."""
    s = 64 / max(rgb.shape[:2])
    thumb = cv2.resize(rgb, (max(1, round(rgb.shape[1] * s)), max(1, round(rgb.shape[0] * s))),
                       interpolation=cv2.INTER_AREA) if s < 1 else rgb
    lab = srgb_to_lab(thumb.astype(np.float32) / 255.0)
    return float(np.hypot(lab[..., 1], lab[..., 2]).mean())


def is_colour(rgb: np.ndarray) -> bool:
    """True for images with enough chroma to teach colour (rejects grayscale, sepia-ish near-gray)."""
    return rgb.ndim == 3 and mean_chroma(rgb) >= MIN_CHROMA


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def photo_group(path: Path) -> str:
    """The source picture a photo file comes from: crops of one wallpaper (``NAME_crop3``, ``NAME_full``) are
    one group, so a held-out picture never has a crop of itself in training."""
    return re.sub(r"_(crop\d+|full)$", "", Path(path).stem)


def heldout_photos(folder: Path, count: int) -> list[Path]:
    """About ``count`` photos of ``folder`` that training never sees: whole groups (:func:`photo_group`),
    picked in the order of a hash of the group name, so the choice is stable, spread over every source and
    independent of the files' order. Sorted paths."""
    if count <= 0:
        return []
    groups: dict[str, list[Path]] = {}
    for p in _images_in(Path(folder)):
        groups.setdefault(photo_group(p), []).append(p)
    chosen: list[Path] = []
    for name in sorted(groups, key=lambda g: hashlib.sha1(g.encode()).hexdigest()):
        if len(chosen) >= count:
            break
        chosen.extend(groups[name])
    return sorted(chosen)


def load_photos(folder: Path, long_side: int = 384, exclude: list[Path] | None = None) -> list[np.ndarray]:
    """All usable colour photos of ``folder`` (less ``exclude``) as uint8 RGB; TrainingDataError naming the
    folder if none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise TrainingDataError(f"{folder}: training folder does not exist")
    skip = {Path(p).name for p in exclude or []}
    photos = [im for im in (read_rgb(p, long_side) for p in _images_in(folder) if p.name not in skip)
              if im is not None and is_colour(im)]
    if not photos:
        raise TrainingDataError(f"{folder}: no usable colour images (empty, unreadable or grayscale only)")
    return photos


def load_clips(folder: Path, names: list[str] | None = None, exclude: list[str] | None = None,
               long_side: int = 384, require_colour: bool = True) -> dict[str, list[np.ndarray]]:
    """Clips ``folder/<name>/*.jpg`` as lists of uint8 RGB frames.

    ``names`` selects clips (None = all), ``exclude`` drops some (the validation split). A clip is rejected as
    gray when its middle frame is (unless ``require_colour`` is False, as for a fixed validation split); TrainingDataError naming the folder when nothing usable is left.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise TrainingDataError(f"{folder}: clips folder does not exist")
    absent = [n for n in (names or []) if not (folder / n).is_dir()]
    if absent:
        raise TrainingDataError(f"{folder}: no clip named {', '.join(absent)}")
    clips: dict[str, list[np.ndarray]] = {}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        if (names is not None and sub.name not in names) or (exclude and sub.name in exclude):
            continue
        frames = [im for im in (read_rgb(p, long_side) for p in _images_in(sub)) if im is not None]
        if len(frames) >= 2 and (not require_colour or is_colour(frames[len(frames) // 2])):
            clips[sub.name] = frames
    if not clips:
        raise TrainingDataError(f"{folder}: no usable colour clips (need folders of >= 2 colour frames)")
    return clips


def ab_histogram(images: list[np.ndarray], grid: float = 10.0) -> np.ndarray:
    """a*b* lattice counts over thumbnails of uint8 RGB ``images`` -> ``(G*G,)`` (see :mod:`.bins`)."""
    total = None
    for im in images:
        s = 96 / max(im.shape[:2])
        thumb = cv2.resize(im, (max(1, round(im.shape[1] * s)), max(1, round(im.shape[0] * s))),
                           interpolation=cv2.INTER_AREA)
        counts = histogram(srgb_to_lab(thumb.astype(np.float32) / 255.0)[..., 1:], grid)
        total = counts if total is None else total + counts
    return total


# ----------------------------------------------------------------------------------------- sampling

def _affine(centre: np.ndarray, zoom: float, angle: float, size: int) -> np.ndarray:
    """2x3 matrix mapping source pixels to a ``size``-square crop around ``centre`` at ``zoom``, ``angle`` deg."""
    m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, zoom)
    m[:, 2] += np.array([size / 2 - centre[0], size / 2 - centre[1]])
    return m


def _smooth(t: np.ndarray) -> np.ndarray:
    return t * t * (3 - 2 * t)


def camera_path(shape: tuple[int, int], size: int, length: int, rng: np.random.Generator,
                moving: bool) -> list[np.ndarray]:
    """Smooth random pan/zoom/rotation: ``length`` 2x3 matrices for a ``size`` crop of an ``(H, W)`` image."""
    h, w = shape
    # zoom < 1 shows more context; never so little that the crop leaves the image
    zoom0 = max(rng.uniform(0.55, 1.0), size / min(h, w))
    half = size / (2 * zoom0)
    lo = np.array([min(half, w / 2), min(half, h / 2)])
    hi = np.array([max(w - half, w / 2), max(h - half, h / 2)])
    c0 = rng.uniform(lo, hi)
    if not moving:
        m = _affine(c0, zoom0, 0.0, size)
        return [m] * length
    c1 = np.clip(c0 + rng.normal(0, 12, 2) * length / 4, lo, hi)
    z1 = zoom0 * float(np.exp(rng.normal(0, 0.06)))
    a0, a1 = rng.normal(0, 2), rng.normal(0, 2)
    ts = _smooth(np.linspace(0, 1, length))
    return [_affine(c0 + (c1 - c0) * t, zoom0 + (z1 - zoom0) * t, a0 + (a1 - a0) * t, size) for t in ts]


@dataclass
class HintSettings:
    """Mix of hint kinds a training sequence gets (probabilities; the rest is 'no hints')."""

    p_points: float = 0.35
    p_keyframe_first: float = 0.2   # a whole-frame reference on frame 0 only: the LSTM must carry it
    p_keyframe_all: float = 0.15    # a propagated keyframe on every frame: shifted, mask < 1


def sample_hints(ab: np.ndarray, rng: np.random.Generator, cfg: HintSettings) -> tuple[np.ndarray, np.ndarray]:
    """Hints from the ground truth ``ab (T, H, W, 2)`` -> ``(hint_ab (T, H, W, 2), mask (T, H, W))``."""
    t, h, w, _ = ab.shape
    hint = np.zeros_like(ab)
    mask = np.zeros((t, h, w), np.float32)
    u = rng.random()
    if u < cfg.p_points:
        for i in range(t):
            if i > 0 and rng.random() < 0.5:
                continue  # points on some frames only, like an artist's sparse keys
            for _ in range(int(rng.geometric(0.125))):
                r = int(rng.integers(0, 3))
                y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
                ys, xs = slice(max(0, y - r), y + r + 1), slice(max(0, x - r), x + r + 1)
                hint[i, ys, xs] = ab[i, ys, xs].reshape(-1, 2).mean(0)
                mask[i, ys, xs] = 1.0
    elif u < cfg.p_points + cfg.p_keyframe_first + cfg.p_keyframe_all:
        every = u >= cfg.p_points + cfg.p_keyframe_first
        frames = range(t) if every else [0]
        for i in frames:
            dx, dy = rng.normal(0, 2.0 if every else 0.0, 2)
            m = np.float32([[1, 0, dx], [0, 1, dy]])
            hint[i] = cv2.warpAffine(ab[i], m, (w, h), borderMode=cv2.BORDER_REFLECT_101)
            conf = rng.uniform(0.4, 1.0) if every else 1.0
            mask[i] = conf
            if every and rng.random() < 0.5:
                # holes where propagation failed (occlusions)
                holes = (cv2.resize(rng.random((4, 4)).astype(np.float32), (w, h)) < 0.3)
                mask[i][holes] = 0.0
                hint[i][holes] = 0.0
    return hint, mask


@dataclass
class SequenceSampler:
    """Draws batches of training sequences from in-memory photos and clips.

    ``p_clip`` is the share of sequences cut from real clips; the rest are stills with synthetic camera
    motion. ``crop`` is the square side in pixels, ``length`` the frames per sequence.
    """

    photos: list[np.ndarray]
    clips: dict[str, list[np.ndarray]]
    crop: int = 128
    length: int = 5
    p_clip: float = 0.5
    p_degrade: float = 0.5
    hints: HintSettings = field(default_factory=HintSettings)

    def sequence_rgb(self, rng: np.random.Generator) -> np.ndarray:
        """One sequence of sRGB frames ``(T, S, S, 3)`` float32 in [0, 1]."""
        use_clip = self.clips and (not self.photos or rng.random() < self.p_clip)
        if use_clip:
            names = sorted(self.clips)
            frames = self.clips[names[int(rng.integers(len(names)))]]
            stride = int(rng.integers(1, 3)) if len(frames) >= 2 * self.length else 1
            span = (self.length - 1) * stride
            start = int(rng.integers(0, max(1, len(frames) - span)))
            src = [frames[min(start + i * stride, len(frames) - 1)] for i in range(self.length)]
            path = camera_path(src[0].shape[:2], self.crop, self.length, rng, moving=rng.random() < 0.3)
        else:
            img = self.photos[int(rng.integers(len(self.photos)))]
            src = [img] * self.length
            path = camera_path(img.shape[:2], self.crop, self.length, rng, moving=True)
        out = np.stack([cv2.warpAffine(s, m, (self.crop, self.crop), flags=cv2.INTER_LINEAR,
                                       borderMode=cv2.BORDER_REFLECT_101) for s, m in zip(src, path)])
        if rng.random() < 0.5:
            out = out[:, :, ::-1]
        return out.astype(np.float32) / 255.0

    def sample(self, rng: np.random.Generator, degrade_input: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """One sequence -> ``(x (T, 4, S, S), ab (T, 2, S, S))`` (see module docstring)."""
        lab = srgb_to_lab(self.sequence_rgb(rng))
        lum, ab = lab[..., 0], lab[..., 1:]
        if degrade_input:
            lum = degrade(lum, rng, self.p_degrade)
        hint, mask = sample_hints(ab, rng, self.hints)
        x = np.concatenate([lum[:, None] / 100.0, np.moveaxis(hint, -1, 1) / 110.0, mask[:, None]], axis=1)
        return x.astype(np.float32), np.moveaxis(ab, -1, 1).astype(np.float32)

    def batch(self, rng: np.random.Generator, size: int, degrade_input: bool = True
              ) -> tuple[np.ndarray, np.ndarray]:
        """``size`` sequences -> ``(x (N, T, 4, S, S), ab (N, T, 2, S, S))``."""
        pairs = [self.sample(rng, degrade_input) for _ in range(size)]
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
