"""Keyframe references: loading, kinds, hints, validation, composition (tiny images)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from kinochrome.core.errors import ColourReferenceError, KinochromeError
from kinochrome.core.lab import lab_to_srgb, srgb_to_lab
from kinochrome.core.references import (
    compose_ab,
    compose_premultiplied,
    exemplar_hints,
    fill_from_reference,
    keyframe_hints,
    load_reference,
    painted_hints,
    point_hints,
    reference_kind,
    validate_keyframes,
)
from kinochrome.core.session import ColourPoint, Keyframe, Stroke

W, H = 64, 48


def colour_scene(w: int = W, h: int = H, seed: int = 0) -> np.ndarray:
    """A colourful L*a*b* test picture (H, W, 3): smooth blobs of texture, chroma tied to position."""
    rng = np.random.default_rng(seed)
    lum = cv2.GaussianBlur(rng.uniform(0, 100, (h, w)).astype(np.float32), (0, 0), 2.0)
    lum = (lum - lum.min()) / (np.ptp(lum) + 1e-6) * 70 + 15
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = 40 * np.sin(xx / w * np.pi * 2)
    b = 40 * np.cos(yy / h * np.pi * 1.5)
    return np.dstack([lum, a, b]).astype(np.float32)


def write_png(path, lab: np.ndarray, bits: int = 8) -> str:
    srgb = lab_to_srgb(lab)
    scale = 255 if bits == 8 else 65535
    cv2.imwrite(str(path), np.round(srgb[..., ::-1] * scale).astype(np.uint8 if bits == 8 else np.uint16))
    return str(path)


# --------------------------------------------------------------------------------------------- loading

def test_same_aspect_is_resampled(tmp_path):
    lab = colour_scene(128, 96)
    path = write_png(tmp_path / "ref.png", lab)
    out = load_reference(path, (W, H))
    assert out.shape == (H, W, 3) and out.dtype == np.float32
    small = cv2.resize(lab, (W, H), interpolation=cv2.INTER_AREA)
    assert np.abs(out[..., 0] - small[..., 0]).mean() < 2.0
    assert np.abs(out[..., 1:] - small[..., 1:]).mean() < 4.0


def test_sixteen_bit_png(tmp_path):
    lab = srgb_to_lab(lab_to_srgb(colour_scene()))          # in gamut, so the file holds it exactly
    out = load_reference(write_png(tmp_path / "ref16.png", lab, bits=16), (W, H))
    assert np.abs(out - lab).max() < 0.1


def test_other_aspect_is_an_error_naming_the_file(tmp_path):
    path = write_png(tmp_path / "ref.png", colour_scene(64, 48))   # 1.33
    with pytest.raises(ColourReferenceError,
                       match=r"keyframe 1012: ref\.png: aspect 1\.33 differs from the shot's 1\.78; use --fit"):
        load_reference(path, (192, 108), frame=1012)


def test_fit_centre_crops(tmp_path):
    lab = colour_scene(64, 48)
    lab[:, :, 1:] = 0.0
    lab[6:42, :, 1] = 50.0       # a red band in the middle 36 rows: what a 16:9 crop keeps
    lab[:, :, 1][:6] = -50.0     # green top/bottom rows: cropped away
    lab[:, :, 1][42:] = -50.0
    path = write_png(tmp_path / "ref.png", lab)
    out = load_reference(path, (64, 36), fit=True)
    assert out.shape == (36, 64, 3)
    assert out[2:-2, :, 1].min() > 30.0


def test_grayscale_reference_is_an_error(tmp_path):
    lab = colour_scene()
    lab[..., 1:] = 0.0
    path = write_png(tmp_path / "ref.png", lab)
    with pytest.raises(ColourReferenceError, match=r"ref\.png: reference is grayscale; it has no colour to give"):
        load_reference(path, (W, H))


def test_gray_picture_with_one_coloured_object_is_colour(tmp_path):
    lab = colour_scene()
    lab[..., 1:] = 0.0
    lab[5:15, 5:15, 1] = 60.0          # 3% of the picture: mean chroma < 2, but clearly coloured
    assert load_reference(write_png(tmp_path / "flag.png", lab), (W, H)).shape == (H, W, 3)


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(ColourReferenceError, match=r"keyframe 1001: nothere\.png: colour reference not found"):
        load_reference(str(tmp_path / "nothere.png"), (W, H), frame=1001)


def test_unreadable_file_is_an_error(tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"not a png")
    with pytest.raises(ColourReferenceError, match=r"broken\.png: cannot read"):
        load_reference(str(path), (W, H))


def test_exr_reference_is_linear(tmp_path):
    import OpenImageIO as oiio

    from kinochrome.core.lab import lab_to_linear

    lab = colour_scene()
    linear = lab_to_linear(lab)
    path = str(tmp_path / "ref.exr")
    out = oiio.ImageOutput.create(path)
    out.open(path, oiio.ImageSpec(W, H, 3, oiio.HALF))
    out.write_image(linear)
    out.close()
    got = load_reference(path, (W, H))
    assert np.abs(got - lab).max() < 1.0


# --------------------------------------------------------------------------------------------- kinds and hints

def test_reference_kind():
    frame = colour_scene()
    gray = frame.copy()
    gray[..., 1:] = 0
    painted = colour_scene()
    assert reference_kind(painted, gray) == "painted"
    # A painted reference at another resolution is still the same picture.
    big = cv2.resize(painted, (W * 2, H * 2), interpolation=cv2.INTER_LINEAR)
    assert reference_kind(big, gray) == "painted"
    other = colour_scene(seed=7)
    assert reference_kind(other, gray) == "exemplar"
    assert reference_kind(other, gray, "painted") == "painted"
    with pytest.raises(ColourReferenceError, match="reference kind 'bogus'"):
        reference_kind(other, gray, "bogus")


def test_painted_hints_trust_where_lightness_agrees():
    ref = colour_scene()
    frame = ref.copy()
    frame[..., 1:] = 0
    frame[10:20, 10:20, 0] = 95.0     # the scan differs here: the painting cannot be trusted there
    ab, mask = painted_hints(ref, frame)
    np.testing.assert_array_equal(ab, ref[..., 1:])
    assert mask[30:, 30:].min() == 1.0
    assert mask[13:17, 13:17].max() < 0.2


def region_scene(layout: str, seed: int) -> np.ndarray:
    """Three regions told apart by lightness and texture, one colour each, in two layouts."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((H, W), np.int64)
    if layout == "columns":
        labels[:, W // 3: 2 * W // 3] = 1
        labels[:, 2 * W // 3:] = 2
    else:
        labels[: H // 3] = 2
        labels[2 * H // 3:] = 1
    checker = ((np.indices((H, W)).sum(0) // 2) % 2) * 2 - 1
    lum = np.where(labels == 0, 30.0, 70.0) + np.where(labels == 1, 12.0 * checker, 0.0)
    lum = lum + rng.normal(0, 0.3, (H, W))
    ab = np.array([(50.0, 30.0), (10.0, -50.0), (-40.0, 40.0)], np.float32)[labels]
    return np.dstack([lum, ab]).astype(np.float32)


def test_exemplar_hints_steer_towards_the_exemplar():
    # The exemplar has the same contents as the frame in other places: colours must follow the content.
    ref = region_scene("columns", 0)
    frame = region_scene("rows", 1)
    truth = frame[..., 1:].copy()
    frame[..., 1:] = 0
    ab, conf = exemplar_hints(ref, frame)
    assert ab.shape == (H, W, 2) and conf.shape == (H, W)
    assert 0.0 <= conf.min() and conf.max() <= 1.0
    hinted = conf > 0
    assert 0.05 < hinted.mean() < 0.9            # sparse-ish
    err_hint = np.sqrt(((ab[hinted] - truth[hinted]) ** 2).mean())
    err_gray = np.sqrt((truth[hinted] ** 2).mean())
    assert err_hint < 0.6 * err_gray


def test_exemplar_hints_with_locality_prefer_matches_near_the_pixel():
    # Two objects of the same texture in other colours (two shirts): texture alone cannot tell them apart,
    # position can, when the reference is a painted frame of the same shot.
    rng = np.random.default_rng(3)
    lum = 50.0 + rng.normal(0, 4.0, (H, W)).astype(np.float32)
    ab = np.zeros((H, W, 2), np.float32)
    ab[:, : W // 2] = (40.0, 20.0)
    ab[:, W // 2:] = (-30.0, -30.0)
    ref = np.dstack([lum, ab])
    frame = np.dstack([np.roll(lum, 3, axis=1), np.zeros((H, W, 2), np.float32)])   # the camera moved 3 px
    left, right = (slice(None), slice(4, W // 2 - 8)), (slice(None), slice(W // 2 + 8, W - 4))

    def error(out_ab, conf, region):
        kept = conf[region] > 0
        return np.sqrt(((out_ab[region][kept] - ab[region][kept]) ** 2).sum(-1).mean()) if kept.any() else 99.0

    _, plain_conf = exemplar_hints(ref, frame)
    near_ab, near_conf = exemplar_hints(ref, frame, locality=0.3)
    # without position every match is ambiguous (the K neighbours disagree) and is dropped
    assert (plain_conf[left] > 0).mean() < 0.1 and (plain_conf[right] > 0).mean() < 0.1
    # with it, each object gets its own colour
    assert (near_conf[left] > 0).mean() > 0.3 and (near_conf[right] > 0).mean() > 0.3
    assert error(near_ab, near_conf, left) < 5 and error(near_ab, near_conf, right) < 5


def test_exemplar_hints_accept_network_features():
    ref = colour_scene(seed=0)
    frame = ref[:, ::-1].copy()
    rng = np.random.default_rng(0)
    fr = rng.normal(size=(H // 4, W // 4, 16)).astype(np.float32)
    ff = fr[:, ::-1].copy()
    ab, conf = exemplar_hints(ref, frame, fr, ff)
    assert ab.shape == (H, W, 2) and np.isfinite(ab).all() and conf.max() > 0


def test_point_hints_disks_and_strokes():
    points = [ColourPoint(x=20, y=20, colour=(1.0, 0.0, 0.0), radius=8)]
    strokes = [Stroke(points=[(0, 80), (120, 80)], colour=(0.0, 0.0, 1.0), radius=2)]
    ab, mask = point_hints(points, strokes, (W, H), 0.5)      # full frame 128x96
    red = srgb_to_lab(np.array([[1.0, 0.0, 0.0]], np.float32))[0, 1:]
    np.testing.assert_allclose(ab[10, 10], red, atol=1e-3)
    assert mask[10, 10] == 1.0 and mask[10, 16] == 0.0
    assert mask[40, 5:55].min() == 1.0                         # the stroke at y = 80 / 2
    assert ab[40, 30, 1] < -50                                 # blue: strongly negative b*


def test_tiny_point_is_one_pixel():
    _, mask = point_hints([ColourPoint(x=10, y=10, colour=(0, 1, 0), radius=0.5)], [], (W, H), 0.25)
    assert mask.sum() == 1 and mask[2, 2] == 1.0                # (10, 10) at a quarter of the size


def test_point_outside_is_an_error_naming_the_keyframe():
    with pytest.raises(ColourReferenceError,
                       match=r"keyframe 1012: point \(2100, 40\) is outside the 1920x1080 frame"):
        point_hints([ColourPoint(x=2100, y=40, colour=(1, 0, 0))], [], (384, 216), 0.2, frame=1012)


def test_keyframe_hints_points_override_reference():
    ref = colour_scene()
    frame = ref.copy()
    frame[..., 1:] = 0
    k = Keyframe(frame=1001, reference="ref.png", kind="auto",
                 points=[ColourPoint(x=64, y=48, colour=(0.0, 0.0, 1.0), radius=4)])
    ab, mask = keyframe_hints(k, frame, ref, (W * 2, H * 2))
    blue = srgb_to_lab(np.array([[0.0, 0.0, 1.0]], np.float32))[0, 1:]
    np.testing.assert_allclose(ab[24, 32], blue, atol=1e-3)
    np.testing.assert_allclose(ab[5, 5], ref[5, 5, 1:], atol=1e-4)    # painted elsewhere
    assert mask[5, 5] == 1.0


def test_keyframe_hints_points_only():
    k = Keyframe(frame=1001, points=[ColourPoint(x=10, y=10, colour=(1, 0, 0), radius=2)])
    ab, mask = keyframe_hints(k, colour_scene(), None, (W, H))
    assert 0 < mask.sum() < 30 and ab.shape == (H, W, 2)


# --------------------------------------------------------------------------------------------- validation

def test_keyframe_outside_range_is_an_error(tmp_path):
    with pytest.raises(ColourReferenceError, match=r"keyframe 1200 is outside the shot's range 1001-1100"):
        validate_keyframes([Keyframe(frame=1200)], 1001, 1100, (1920, 1080))


def test_validate_point_outside(tmp_path):
    k = Keyframe(frame=1012, points=[ColourPoint(x=2100, y=40, colour=(1, 0, 0))])
    with pytest.raises(ColourReferenceError, match=r"keyframe 1012: point \(2100, 40\) is outside the 1920x1080"):
        validate_keyframes([k], 1001, 1100, (1920, 1080))
    k = Keyframe(frame=1012, strokes=[Stroke(points=[(10, 10), (10, 1080)], colour=(1, 0, 0))])
    with pytest.raises(ColourReferenceError, match=r"keyframe 1012: stroke point \(10, 1080\) is outside"):
        validate_keyframes([k], 1001, 1100, (1920, 1080))


def test_validate_missing_reference(tmp_path):
    k = Keyframe(frame=1010, reference="refs/gone.png")
    with pytest.raises(ColourReferenceError, match=r"keyframe 1010: gone\.png: colour reference not found"):
        validate_keyframes([k], 1001, 1100, (1920, 1080), base_dir=tmp_path)
    (tmp_path / "refs").mkdir()
    write_png(tmp_path / "refs" / "gone.png", colour_scene())
    validate_keyframes([k], 1001, 1100, (1920, 1080), base_dir=tmp_path)


def test_errors_are_kinochrome_errors_with_one_line():
    with pytest.raises(KinochromeError) as info:
        validate_keyframes([Keyframe(frame=1)], 1001, 1100, (1920, 1080))
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------------------------- compose

def test_compose_painted_keyframe_gives_reference_chroma():
    ref = colour_scene()
    frame = ref.copy()
    frame[..., 1:] = 0
    hint_ab, mask = painted_hints(ref, frame)
    net = np.random.default_rng(0).normal(0, 30, (H, W, 2)).astype(np.float32)
    out = compose_ab(net, hint_ab, mask, 1.0)
    rmse = float(np.sqrt(((out - ref[..., 1:]) ** 2).mean()))
    assert rmse < 1.0


@pytest.mark.parametrize("strength", [1.0, 0.6, 0.0])
def test_premultiplied_hints_blend_as_compose_ab_does(strength):
    rng = np.random.default_rng(3)
    net = (20 * rng.standard_normal((H, W, 2))).astype(np.float32)
    hint = (40 * rng.standard_normal((H, W, 2))).astype(np.float32)
    conf = np.clip(rng.random((H, W)) * 1.5 - 0.25, 0, 1).astype(np.float32)   # zeros, ones and between
    out = compose_premultiplied(net, hint * conf[..., None], conf, strength)
    np.testing.assert_allclose(out, compose_ab(net, hint, conf, strength), atol=1e-4)
    with pytest.raises(ValueError, match="outside"):
        compose_premultiplied(net, hint, conf, 1.5)   # a weight above 1 needs compose_ab's clip


def test_compose_blend():
    net = np.full((H, W, 2), 10.0, np.float32)
    hint = np.full((H, W, 2), 30.0, np.float32)
    conf = np.zeros((H, W), np.float32)
    conf[:, W // 2:] = 1.0
    out = compose_ab(net, hint, conf, 1.0)
    assert out[0, 0, 0] == 10.0 and out[0, -1, 0] == 30.0
    np.testing.assert_allclose(compose_ab(net, hint, conf, 0.5)[0, -1], 20.0)
    np.testing.assert_allclose(compose_ab(net, hint, conf, 0.0), net)
    # Working-size hints are resampled to the network's (full) size.
    out = compose_ab(np.zeros((96, 128, 2), np.float32), hint, np.ones((H, W), np.float32), 1.0)
    assert out.shape == (96, 128, 2)
    np.testing.assert_allclose(out, 30.0, atol=1e-4)


def test_fill_from_reference_fills_weak_hints_and_keeps_confident_ones():
    ref = region_scene("columns", 0)
    frame = region_scene("rows", 1)
    truth = frame[..., 1:]
    hint_ab = np.zeros((H, W, 2), np.float32)
    conf = np.zeros((H, W), np.float32)
    hint_ab[:, : W // 2] = (5.0, 5.0)                 # confident propagated hints on the left half only
    conf[:, : W // 2] = 1.0
    ab, merged = fill_from_reference(hint_ab, conf, ref, frame[..., 0])
    assert np.array_equal(ab[:, : W // 2], hint_ab[:, : W // 2])      # a confident hint wins exactly
    assert np.array_equal(merged[:, : W // 2], conf[:, : W // 2])
    right = (slice(None), slice(W // 2, None))
    filled = merged[right] > 0
    assert 0.05 < filled.mean() and merged.max() <= 1.0
    err = np.sqrt(((ab[right][filled] - truth[right][filled]) ** 2).sum(-1).mean())
    assert err < 0.5 * np.sqrt((truth[right][filled] ** 2).sum(-1).mean())   # the reference's colours


def test_fill_from_reference_leaves_well_hinted_frames_alone():
    ref = region_scene("columns", 0)
    frame = region_scene("rows", 1)
    hint_ab = np.full((H, W, 2), 3.0, np.float32)
    conf = np.full((H, W), 0.5, np.float32)            # weak nowhere (weak is under 0.5)
    ab, merged = fill_from_reference(hint_ab, conf, ref, frame[..., 0])
    assert ab is hint_ab and merged is conf


def test_fill_from_reference_fills_a_small_gap_too():
    # A small object the flow lost (here 2 rows, ~3% of the frame) is as much the artist's colour as a big one.
    ref = region_scene("columns", 0)
    frame = region_scene("rows", 1)
    hint_ab = np.full((H, W, 2), 3.0, np.float32)
    conf = np.ones((H, W), np.float32)
    conf[10:12] = 0.0
    ab, merged = fill_from_reference(hint_ab, conf, ref, frame[..., 0])
    assert (conf < 0.5).mean() < 0.05
    assert merged[10:12].max() > 0.25                  # the gap got matched colours
    assert np.array_equal(ab[conf == 1.0], hint_ab[conf == 1.0])
