"""Old-film degradations applied to the lightness input only (the targets stay clean).

All functions take and return ``L`` stacks ``(T, H, W)`` float32 L* in [0, 100]; a sequence shares its
lens/stock parameters (vignette, gamma, grain size, scratch positions) while flicker, grain and dust
change per frame, as on a real print.
"""

from __future__ import annotations

import cv2
import numpy as np


def tone(lum: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Contrast and gamma changes of a faded or mis-developed print. ``(T, H, W)`` L* -> same."""
    gamma = float(np.exp(rng.uniform(np.log(0.7), np.log(1.4))))
    contrast = rng.uniform(0.7, 1.2)
    x = 100.0 * (np.clip(lum, 0, 100) / 100.0) ** gamma
    return (x - 50.0) * contrast + 50.0 + rng.uniform(-5, 5)


def flicker(lum: np.ndarray, rng: np.random.Generator, strength: float = 0.05) -> np.ndarray:
    """Per-frame exposure gain and offset. ``(T, H, W)`` -> same."""
    t = lum.shape[0]
    gain = 1.0 + rng.normal(0, strength, size=(t, 1, 1))
    offset = rng.normal(0, 100 * strength * 0.4, size=(t, 1, 1))
    return lum * gain + offset


def vignette(lum: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Radial light fall-off fixed for the sequence. ``(T, H, W)`` -> same."""
    _, h, w = lum.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cy, cx = h / 2 + rng.uniform(-0.1, 0.1) * h, w / 2 + rng.uniform(-0.1, 0.1) * w
    r2 = ((yy - cy) / (0.5 * max(h, w))) ** 2 + ((xx - cx) / (0.5 * max(h, w))) ** 2
    return lum * (1.0 - rng.uniform(0.1, 0.45) * np.clip(r2, 0, 2) / 2)[None]


def blur(lum: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Soft focus / generation loss, Gaussian sigma 0.4-1.5 px. ``(T, H, W)`` -> same."""
    sigma = rng.uniform(0.4, 1.5)
    return np.stack([cv2.GaussianBlur(f, (0, 0), sigma) for f in lum])


def grain(lum: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Film grain: blurred Gaussian noise, stronger in the mid-tones. ``(T, H, W)`` -> same."""
    amount = rng.uniform(1.0, 6.0)
    size = rng.uniform(0.0, 1.0)
    noise = rng.standard_normal(lum.shape).astype(np.float32)
    if size > 0.3:
        noise = np.stack([cv2.GaussianBlur(n, (0, 0), size) for n in noise]) * (1 + size)
    midtone = 0.5 + 2.0 * (lum / 100.0) * (1 - lum / 100.0)
    return lum + amount * noise * midtone


def dust_and_scratches(lum: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Dark/bright specks (new on every frame) and thin vertical scratches (persist, jitter). ``(T, H, W)``."""
    out = lum.copy()
    t, h, w = lum.shape
    scratches = [(rng.uniform(0, w), rng.choice([-1.0, 1.0]) * rng.uniform(10, 40)) for _ in range(rng.integers(0, 3))]
    for i in range(t):
        frame = out[i]
        for _ in range(rng.integers(0, 8)):
            cv2.circle(frame, (int(rng.uniform(0, w)), int(rng.uniform(0, h))), int(rng.integers(1, 4)),
                       float(rng.choice([2.0, 98.0])), -1)
        for x, value in scratches:
            xi = int(np.clip(x + rng.normal(0, 1.5), 0, w - 1))
            frame[:, xi] = np.clip(frame[:, xi] + value, 0, 100)
    return out


def degrade(lum: np.ndarray, rng: np.random.Generator, p: float = 0.5) -> np.ndarray:
    """Apply each degradation with probability ``p``. ``(T, H, W)`` float32 L* -> same, clipped to [0, 100]."""
    x = np.asarray(lum, dtype=np.float32)
    for fn in (tone, vignette, blur, flicker, grain, dust_and_scratches):
        if rng.random() < p:
            x = fn(x, rng).astype(np.float32)
    return np.clip(x, 0.0, 100.0).astype(np.float32)
