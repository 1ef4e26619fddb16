"""Metrics of core/metrics.py on synthetic arrays with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from kinochrome.core.metrics import (
    ab_histogram,
    ab_rmse,
    cdc,
    colourfulness,
    colourfulness_ratio,
    flow_warp_error,
    js_divergence,
    psnr,
    ssim,
)


def _texture(h: int = 96, w: int = 128, seed: int = 0) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), 2.0) * 4 - 1.5


def test_psnr_known_value():
    a = np.zeros((8, 8, 3))
    assert psnr(a, a) == float("inf")
    assert psnr(a + 0.1, a) == pytest.approx(20.0)


def test_ssim_identity_and_noise():
    rng = np.random.default_rng(0)
    img = np.clip(np.stack([_texture(seed=i) for i in range(3)], -1) * 0.3 + 0.5, 0, 1)
    assert ssim(img, img) == pytest.approx(1.0)
    noisy = np.clip(img + rng.normal(0, 0.1, img.shape), 0, 1)
    assert 0.0 < ssim(noisy, img) < 0.9
    assert ssim(np.clip(img + rng.normal(0, 0.02, img.shape), 0, 1), img) > ssim(noisy, img)


def test_ab_rmse():
    a = np.zeros((4, 4, 2))
    b = np.zeros((4, 4, 2))
    b[..., 0], b[..., 1] = 3.0, 4.0
    assert ab_rmse(a, b) == pytest.approx(5.0)


def test_colourfulness():
    gray = np.full((16, 16, 3), 0.5)
    assert colourfulness(gray) == pytest.approx(0.0)
    red = np.zeros((16, 16, 3))
    red[..., 0] = 1.0
    assert colourfulness(red) > 50
    half = 0.5 * red + 0.5 * gray
    assert 0 < colourfulness_ratio(half, red) < 1
    assert colourfulness_ratio(red, red) == pytest.approx(1.0)


def test_js_divergence_bounds():
    p = np.array([1.0, 0.0])
    q = np.array([0.0, 1.0])
    assert js_divergence(p, p) == pytest.approx(0.0)
    assert js_divergence(p, q) == pytest.approx(1.0)
    assert ab_histogram(np.zeros((5, 5, 2))).sum() == pytest.approx(1.0)


def test_cdc_steady_vs_flickering():
    rng = np.random.default_rng(1)
    base = rng.normal(0, 20, (32, 32, 2))
    steady = np.stack([base] * 6)
    flicker = np.stack([base + (30 if t % 2 else -30) for t in range(6)])
    assert cdc(steady) == pytest.approx(0.0)
    assert cdc(flicker) > 0.3


def test_warp_error_moving_texture():
    # a textured scene panning 3 px per frame; colour that moves with the scene is stable
    scene = _texture(96, 160)
    frames = [scene[:, 3 * t:3 * t + 128] for t in range(4)]
    lum = np.stack([np.clip(f * 20 + 50, 0, 100) for f in frames]).astype(np.float32)
    colour = np.stack([np.stack([f * 0.2 + 0.5, 0.5 - f * 0.2, np.full_like(f, 0.3)], -1) for f in frames])
    stable = flow_warp_error(lum, np.clip(colour, 0, 1))
    flickering = colour.copy()
    flickering[1::2, ..., 0] += 0.3
    unstable = flow_warp_error(lum, np.clip(flickering, 0, 1))
    assert stable < 0.005
    assert unstable > 10 * stable and unstable > 0.02
