"""The flow-guided temporal filter: steadier chroma on moving content, no memory across cuts, off at 0."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from kinochrome.core.temporal import TemporalFilter


def texture(seed: int, size=(96, 64)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.random((size[1], size[0])).astype(np.float32), (0, 0), 2) * 80 + 10


def test_filter_reduces_flicker_on_moving_content():
    base = texture(0, (128, 64))
    truth_ab = np.zeros((64, 96, 2), np.float32) + (20.0, -10.0)
    rng = np.random.default_rng(1)
    raw, filtered = [], []
    f = TemporalFilter(0.6)
    for t in range(8):
        lightness = np.ascontiguousarray(base[:, 2 * t:2 * t + 96])
        noisy = truth_ab + rng.normal(0, 4, truth_ab.shape).astype(np.float32)  # per-frame prediction wobble
        raw.append(noisy)
        filtered.append(f(lightness, noisy))
    err_raw = np.mean([np.abs(a - truth_ab).mean() for a in raw[3:]])
    err_filtered = np.mean([np.abs(a - truth_ab).mean() for a in filtered[3:]])
    assert err_filtered < 0.8 * err_raw


def test_cut_resets_and_zero_is_off():
    f = TemporalFilter(0.9)
    a, b = texture(0), texture(7)
    first = np.full((64, 96, 2), 30.0, np.float32)
    second = np.full((64, 96, 2), -30.0, np.float32)
    f(a, first)
    out = f(b, second)  # a different scene: nothing may be carried over
    assert np.allclose(out, second, atol=1e-3)
    off = TemporalFilter(0.0)
    off(a, first)
    assert np.array_equal(off(a, second), second)


def test_bad_strength():
    with pytest.raises(ValueError):
        TemporalFilter(1.0)
