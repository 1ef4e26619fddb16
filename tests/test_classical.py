"""Classical colourisers on synthetic images with a known colour per region (tiny, fast)."""

from __future__ import annotations

import numpy as np
import pytest

from kinochrome.core.classical import (
    METHODS,
    ClassicalColouriser,
    knn_search,
    match_histogram,
    texture_features,
)
from kinochrome.core.errors import UsageError

H, W = 48, 64
# Three regions: dark smooth red, bright textured blue, bright smooth green. L* alone separates the dark
# one; only texture separates the two bright ones.
RED, BLUE, GREEN = (50.0, 30.0), (10.0, -50.0), (-40.0, 40.0)


def scene(layout: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(lab (H, W, 3) with the true chroma, region labels (H, W)) for a layout of the three regions."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((H, W), np.int64)
    if layout == "columns":
        labels[:, W // 3: 2 * W // 3] = 1
        labels[:, 2 * W // 3:] = 2
    else:  # rows, in another order
        labels[: H // 3] = 2
        labels[H // 3: 2 * H // 3] = 0
        labels[2 * H // 3:] = 1
    lum = np.where(labels == 0, 30.0, 70.0)
    checker = ((np.indices((H, W)).sum(0) // 2) % 2) * 2 - 1   # 2-px checker: strong texture
    lum = lum + np.where(labels == 1, 12.0 * checker, 0.0) + rng.normal(0, 0.3, (H, W))
    ab = np.array([RED, BLUE, GREEN], np.float32)[labels]
    return np.dstack([lum, ab]).astype(np.float32), labels


def rmse(x: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None) -> float:
    d = (x - y) ** 2
    if mask is not None:
        d = d[mask]
    return float(np.sqrt(d.mean()))


@pytest.fixture(scope="module")
def pair():
    ref, _ = scene("columns", 0)
    frame, labels = scene("rows", 1)
    gray = frame.copy()
    gray[..., 1:] = 0.0
    return ref, gray, frame[..., 1:], labels


@pytest.mark.parametrize("method", METHODS)
def test_closer_to_truth_than_gray(method, pair):
    ref, gray, truth, labels = pair
    ab = ClassicalColouriser(method, ref).colourise(gray)
    assert ab.shape == (H, W, 2) and ab.dtype == np.float32
    assert np.isfinite(ab).all()
    assert rmse(ab, truth) < 0.7 * rmse(np.zeros_like(truth), truth)
    # The dark region is told apart by L* alone: every method gets it nearly right.
    dark = labels == 0
    assert rmse(ab, truth, dark) < 8.0


def test_knn_tells_textures_apart(pair):
    ref, gray, truth, labels = pair
    ab = ClassicalColouriser("knn", ref, k=8).colourise(gray)
    inner = np.zeros_like(labels, bool)
    inner[3:-3, 3:-3] = True      # region borders mix neighbours' colours, by design of the blur
    for region in (1, 2):
        sel = (labels == region) & inner
        sel &= np.roll(labels, 3, 0) == region
        sel &= np.roll(labels, -3, 0) == region
        assert rmse(ab, truth, sel) < 15.0, region


def test_reinhard_matches_reference_mean(pair):
    ref = pair[0]
    own = ref.copy()
    own[..., 1:] = 0.0
    ab = ClassicalColouriser("reinhard", ref).colourise(own)
    np.testing.assert_allclose(ab.reshape(-1, 2).mean(0), ref[..., 1:].reshape(-1, 2).mean(0), atol=1.5)


def test_reinhard_transfers_spread_of_a_coloured_frame(pair):
    ref = pair[0]
    frame = ref.copy()
    frame[..., 1:] = frame[..., 1:] * 0.2 + 5.0   # faded, shifted colour
    ab = ClassicalColouriser("reinhard", ref).colourise(frame)
    assert ab.std() > 0.5 * ref[..., 1:].std()


def test_histogram_on_own_luminance_reproduces_band_colours(pair):
    ref = pair[0]
    own = ref.copy()
    own[..., 1:] = 0.0
    ab = ClassicalColouriser("histogram", ref).colourise(own)
    dark = ref[..., 0] < 50
    np.testing.assert_allclose(ab[dark].mean(0), RED, atol=3.0)


def test_l_only_input_accepted(pair):
    ref, gray, _, _ = pair
    for method in METHODS:
        ab = ClassicalColouriser(method, ref).colourise(gray[..., 0])
        assert ab.shape == (H, W, 2)


def test_different_frame_size(pair):
    ref, gray, _, _ = pair
    small = gray[::2, ::2]
    for method in METHODS:
        assert ClassicalColouriser(method, ref).colourise(small).shape == (H // 2, W // 2, 2)


def test_unknown_method_is_usage_error(pair):
    with pytest.raises(UsageError, match="unknown classical method 'deoldify'"):
        ClassicalColouriser("deoldify", pair[0])


def test_bad_shapes_are_usage_errors(pair):
    with pytest.raises(UsageError, match=r"colour reference: expected an \(H, W, 3\)"):
        ClassicalColouriser("knn", np.zeros((4,), np.float32))
    with pytest.raises(UsageError, match="k must be at least 1"):
        ClassicalColouriser("knn", pair[0], k=0)


def test_nan_pixels_do_not_poison(pair):
    ref, gray, _, _ = pair
    ref = ref.copy()
    ref[0, 0] = np.nan
    gray = gray.copy()
    gray[5, 5, 0] = np.inf
    for method in METHODS:
        assert np.isfinite(ClassicalColouriser(method, ref).colourise(gray)).all()


def test_match_histogram_maps_distribution():
    rng = np.random.default_rng(3)
    src = rng.normal(0, 1, 1000).astype(np.float32)
    ref = rng.uniform(10, 20, 1000).astype(np.float32)
    out = match_histogram(src, ref)
    assert np.all(np.diff(out[np.argsort(src)]) >= 0)       # monotone
    np.testing.assert_allclose(np.percentile(out, [10, 50, 90]), np.percentile(ref, [10, 50, 90]), atol=0.3)


def test_knn_search_is_exact():
    rng = np.random.default_rng(4)
    q = rng.random((300, 5)).astype(np.float32)
    s = rng.random((200, 5)).astype(np.float32)
    idx, dist = knn_search(q, s, 3)
    brute = ((q[:, None] - s[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(idx, np.argsort(brute, 1)[:, :3])
    np.testing.assert_allclose(dist, np.sort(brute, 1)[:, :3], atol=1e-4)


def test_texture_features_shape_and_flat_image():
    f = texture_features(np.full((H, W), 40.0, np.float32))
    assert f.shape == (H, W, 5)
    np.testing.assert_allclose(f[..., 0:2], 40.0, atol=1e-3)
    np.testing.assert_allclose(f[..., 2:], 0.0, atol=1e-2)
