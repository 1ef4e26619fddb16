"""core/colour.py: colourspace names, guessing, conversions, and the luminance guarantee (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import write_sequence
from hypothesis import given, settings
from hypothesis import strategies as st

from kinochrome.core import colour
from kinochrome.core.colour import (
    CINEON,
    check_colourspace,
    count_nonfinite,
    encoded_max_linear,
    from_linear,
    guess_colourspace,
    recombine_chroma,
    storage_type,
    to_display_srgb,
    to_linear,
)
from kinochrome.core.errors import ColourspaceError
from kinochrome.core.frameio import read_frame
from kinochrome.core.lab import REC709_LUMA, linear_to_lab

LIN, SRGB = check_colourspace("lin_rec709"), check_colourspace("sRGB")
LEVELS = {"uint8": 255, "uint10": 1023, "uint12": 4095, "uint16": 65535}


# --- names --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, canonical", [
    ("lin_rec709", "Linear Rec.709 (sRGB)"), ("linear", "Linear Rec.709 (sRGB)"),
    ("sRGB", "sRGB Encoded Rec.709 (sRGB)"), ("srgb_tx", "sRGB Encoded Rec.709 (sRGB)"),
    ("ACEScg", "ACEScg"), ("KodakLog", CINEON), ("cineon", CINEON), ("Cineon log", CINEON),
])
def test_check_colourspace(name, canonical):
    assert check_colourspace(name) == canonical


def test_scene_linear_is_not_rec709():
    """The built-in config's scene_linear role is ACEScg; we never use it for linear Rec.709."""
    assert check_colourspace("scene_linear") == "ACEScg" != LIN


def test_unknown_colourspace_lists_close_matches():
    with pytest.raises(ColourspaceError, match=r"^unknown colourspace 'lin_rec'; close matches: .*lin_rec709"):
        check_colourspace("lin_rec")
    with pytest.raises(ColourspaceError, match=r"^unknown colourspace 'zzzz'"):
        check_colourspace("zzzz")


USER_CONFIG = """ocio_profile_version: 2
roles:
  default: lin_rec709
  scene_linear: lin_rec709
file_rules:
  - !<Rule> {name: Default, colorspace: default}
displays:
  sRGB:
    - !<View> {name: Raw, colorspace: lin_rec709}
colorspaces:
  - !<ColorSpace>
    name: lin_rec709
    aliases: [linear]
  - !<ColorSpace>
    name: studio_gamma2
    from_scene_reference: !<ExponentTransform> {value: 2.0, direction: inverse}
"""


@pytest.fixture
def user_ocio(tmp_path, monkeypatch):
    """A user's $OCIO config with lin_rec709 and one custom space; the cached config is reset around it."""
    path = tmp_path / "config.ocio"
    path.write_text(USER_CONFIG)
    # OpenImageIO builds its process-wide default config at first use; make that happen with the
    # built-in config now, so this test cannot leak the user config into later tests.
    to_linear(np.zeros((1, 1, 3), np.float32), "ACEScct")
    monkeypatch.setenv("OCIO", str(path))
    colour.reset_config()
    yield path
    monkeypatch.delenv("OCIO")
    colour.reset_config()


def test_user_ocio_config(user_ocio):
    assert check_colourspace("studio_gamma2") == "studio_gamma2"
    assert check_colourspace("linear") == "lin_rec709"
    assert to_linear(np.full((1, 1, 3), 0.5, np.float32), "studio_gamma2")[0, 0, 0] == pytest.approx(0.25, abs=1e-4)
    # Ours even when the config lacks them:
    assert check_colourspace("sRGB") == "sRGB" and check_colourspace("KodakLog") == CINEON
    with pytest.raises(ColourspaceError, match="close matches: studio_gamma2"):
        check_colourspace("studio_gamma")
    grey = np.full((2, 2, 3), 0.6, np.float32)
    out = recombine_chroma(grey, np.full((2, 2, 2), 20.0, np.float32), "studio_gamma2", 1.0, "uint10")
    assert np.abs(np.round(_desaturate(out, "studio_gamma2") * 1023) - np.round(0.6 * 1023)).max() <= 1


# --- conversions --------------------------------------------------------------------------------------

@pytest.mark.parametrize("cs", ["lin_rec709", "sRGB", "Cineon log", "ACEScct", "Gamma 2.2 Encoded Rec.709"])
def test_to_and_from_linear_invert(cs):
    x = np.linspace(0.0, 1.0, 64 * 3, dtype=np.float32).reshape(8, 8, 3)
    np.testing.assert_allclose(from_linear(to_linear(x, cs), cs), x, atol=5e-5)


def test_reference_values():
    assert to_linear(np.full((1, 1, 3), 0.5), "sRGB")[0, 0, 0] == pytest.approx(0.214041, abs=1e-6)
    cineon = to_linear(np.array([[[685, 95, 1023]]]) / 1023, CINEON)[0, 0]
    assert cineon[0] == pytest.approx(1.0) and cineon[1] == pytest.approx(0.0, abs=1e-7)
    assert cineon[2] == pytest.approx(13.52, abs=0.01)


def test_srgb_matches_ocio_builtin():
    x = np.linspace(0.0, 1.0, 300, dtype=np.float32).reshape(10, 10, 3)
    ocio = colour._ocio(x, SRGB, LIN)
    np.testing.assert_allclose(to_linear(x, "sRGB"), ocio, atol=5e-5)


def test_to_display_srgb_clips():
    out = to_display_srgb(np.array([[[-1.0, 0.5, 4.0], [np.nan, np.inf, 0.0]]], np.float32), "lin_rec709")
    assert out.min() >= 0 and out.max() <= 1 and np.isfinite(out).all()
    assert out[0, 0, 1] == pytest.approx(0.7354, abs=1e-3)


# --- guessing -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt, bits, cs, expected", [
    ("exr", 16, None, LIN), ("exr", 32, None, LIN), ("exr", 16, "ACEScg", "ACEScg"),
    ("dpx", 10, None, CINEON), ("dpx", 10, "lin_rec709", LIN),
    ("png", 8, None, SRGB), ("png", 16, None, SRGB), ("jpg", 8, None, SRGB), ("tif", 16, None, SRGB),
    ("tif", 32, None, LIN),
])
def test_guess_colourspace(tmp_path, fmt, bits, cs, expected):
    frame = read_frame(write_sequence(tmp_path, fmt, n=1, bits=bits, colourspace=cs).replace("####", "1001"))
    assert guess_colourspace(frame) == expected


@pytest.mark.parametrize("primaries, expected", [
    ((0.7347, 0.2653, 0.0, 1.0, 0.0001, -0.077, 0.32168, 0.33767), "ACES2065-1"),
    ((0.713, 0.293, 0.165, 0.830, 0.128, 0.044, 0.32168, 0.33767), "ACEScg"),
    ((0.64, 0.33, 0.30, 0.60, 0.15, 0.06, 0.3127, 0.3290), LIN),
    ((0.1, 0.1, 0.2, 0.2, 0.3, 0.3, 0.31, 0.33), LIN),                 # unknown primaries: the default
])
def test_guess_exr_from_its_stated_primaries(tmp_path, primaries, expected):
    import OpenImageIO as oiio

    frame = read_frame(write_sequence(tmp_path, "exr", n=1).replace("####", "1001"))
    frame.spec.attribute("chromaticities", oiio.TypeDesc("float[8]"), primaries)
    assert guess_colourspace(frame) == check_colourspace(expected)


def test_guess_dpx_video_transfer(tmp_path):
    frame = read_frame(write_sequence(tmp_path, "dpx", n=1).replace("####", "1001"))
    frame.spec.attribute("dpx:Transfer", "ITU-R 709-4")
    assert guess_colourspace(frame) == check_colourspace("g24_rec709")


def test_guess_dpx_printing_density(tmp_path):
    frame = read_frame(write_sequence(tmp_path, "dpx", n=1).replace("####", "1001"))
    frame.spec.attribute("dpx:Transfer", "Printing density")
    frame.spec.erase_attribute("oiio:ColorSpace")
    assert guess_colourspace(frame) == CINEON


def test_encoded_max_linear_and_storage(tmp_path):
    dpx = read_frame(write_sequence(tmp_path / "d", "dpx", n=1, bits=10).replace("####", "1001"))
    exr = read_frame(write_sequence(tmp_path / "e", "exr", n=1).replace("####", "1001"))
    assert encoded_max_linear(dpx, CINEON) == pytest.approx(13.52, abs=0.01)
    assert encoded_max_linear(dpx, LIN) == pytest.approx(1.0)
    assert encoded_max_linear(exr, LIN) is None
    assert encoded_max_linear(exr, LIN, bit_depth="uint16") == pytest.approx(1.0)
    assert (storage_type(dpx), storage_type(exr), storage_type(exr, "float")) == ("uint10", "half", "float")


# --- the luminance guarantee --------------------------------------------------------------------------

def _desaturate(encoded: np.ndarray, cs: str) -> np.ndarray:
    """R=G=B=from_linear(Y) with Y the Rec.709 luminance of the linear pixels; returns the gray channel."""
    y = to_linear(encoded, cs).astype(np.float64) @ REC709_LUMA.astype(np.float64)
    return from_linear(np.repeat(y[..., None], 3, -1), cs)[..., 0]


def _store(encoded: np.ndarray, quantise: str) -> np.ndarray:
    if quantise == "half":
        return encoded.astype(np.float16).astype(np.float32)
    if quantise == "float":
        return encoded.astype(np.float32)
    levels = LEVELS[quantise]
    return (np.round(np.clip(encoded, 0, 1) * levels) / levels).astype(np.float32)


def _max_linear(cs: str, quantise: str) -> float | None:
    if quantise in ("half", "float"):
        return None
    return float(to_linear(np.ones((1, 1, 3)), cs).min())


SPACES = ["lin_rec709", "sRGB", "Cineon log"]
DEPTHS = ["uint8", "uint10", "uint16", "half", "float"]


@settings(max_examples=60, deadline=None, derandomize=True)
@given(cs=st.sampled_from(SPACES), quantise=st.sampled_from(DEPTHS), seed=st.integers(0, 2**31 - 1),
       chroma=st.floats(0.0, 128.0))
def test_luminance_guarantee(cs, quantise, seed, chroma):
    rng = np.random.default_rng(seed)
    if quantise in LEVELS:
        levels = LEVELS[quantise]
        grey = rng.integers(0, levels + 1, size=(8, 16)) / levels
    else:
        top = 8.0 if cs == "lin_rec709" else 1.0  # scene-linear highlights above 1
        grey = _store(rng.random((8, 16)) * top, quantise)
    encoded_in = np.repeat(grey[..., None], 3, -1).astype(np.float32)
    ab = (rng.uniform(-1, 1, (8, 16, 2)) * chroma).astype(np.float32)

    out = _store(recombine_chroma(encoded_in, ab, cs, _max_linear(cs, quantise), quantise), quantise)
    back = _desaturate(out, cs)
    if quantise in LEVELS:
        levels = LEVELS[quantise]
        assert np.abs(np.round(np.clip(back, 0, 1) * levels) - np.round(grey * levels)).max() <= 1
        assert out.min() >= 0 and out.max() <= 1
    else:
        np.testing.assert_allclose(back, grey, rtol=1e-3, atol=1e-6)
        # No negative channels, except grey pixels that were below linear 0 already (Cineon < code 95).
        floor = np.minimum(to_linear(encoded_in, cs)[..., :1], 0.0)
        assert (to_linear(out, cs) >= floor - 1e-4).all()  # half steps near code 95 of Cineon


def test_colour_is_actually_applied():
    grey = np.full((4, 4, 3), 0.5, np.float32)
    ab = np.zeros((4, 4, 2), np.float32)
    ab[..., 0] = 40.0
    out = recombine_chroma(grey, ab, "sRGB", 1.0, "uint8")
    assert out[0, 0, 0] > out[0, 0, 1]  # reddish
    lab = linear_to_lab(to_linear(out, "sRGB"))
    assert lab[0, 0, 1] == pytest.approx(40.0, abs=6.0)


def test_zero_chroma_gives_input_back():
    grey = np.repeat((np.arange(1024) / 1023).reshape(32, 32, 1), 3, -1).astype(np.float32)
    out = recombine_chroma(grey, np.zeros((32, 32, 2), np.float32), CINEON, 13.52, "uint10")
    np.testing.assert_array_equal(np.round(out * 1023), np.round(grey * 1023))


def test_values_above_one_keep_luminance():
    grey = np.repeat(np.array([[1.0, 2.5, 10.0, 100.0]], np.float32)[..., None], 3, -1)
    ab = np.full((1, 4, 2), 30.0, np.float32)
    out = recombine_chroma(grey, ab, "lin_rec709", None, "float")
    np.testing.assert_allclose(out @ REC709_LUMA, grey[..., 0], rtol=1e-5)
    assert (out >= 0).all() and not np.allclose(out[..., 0], out[..., 2])


def test_integer_output_stays_in_range():
    grey = np.full((2, 2, 3), 0.98, np.float32)
    ab = np.full((2, 2, 2), 100.0, np.float32)
    out = recombine_chroma(grey, ab, "sRGB", 1.0)
    assert out.max() <= 1.0 + 1e-6 and out.min() >= -1e-6


def test_black_and_negative_stay_grey():
    grey = np.repeat(np.array([[0.0, -0.2, 1e-12]], np.float32)[..., None], 3, -1)
    out = recombine_chroma(grey, np.full((1, 3, 2), 50.0, np.float32), "lin_rec709", None)
    np.testing.assert_array_equal(out[..., 0], out[..., 1])
    np.testing.assert_allclose(out[..., 0], grey[..., 0], rtol=1e-6)


def test_nan_and_inf_pass_through():
    grey = np.full((2, 3, 3), 0.4, np.float32)
    grey[0, 0] = [np.nan, np.nan, np.nan]
    grey[0, 1] = [np.inf, np.inf, np.inf]
    grey[1, 0, 1] = -np.inf
    ab = np.full((2, 3, 2), 20.0, np.float32)
    out = recombine_chroma(grey, ab, "lin_rec709", None, "half")
    assert count_nonfinite(grey) == 3 == count_nonfinite(out)
    np.testing.assert_array_equal(out[0, :2], grey[0, :2])
    np.testing.assert_array_equal(out[1, 0], grey[1, 0])
    assert np.isfinite(out[1, 1:]).all() and out[1, 1, 0] != out[1, 1, 2]


def test_ocio_colourspace_recombine():
    grey = np.repeat(np.linspace(0.1, 0.9, 16, dtype=np.float32).reshape(4, 4, 1), 3, -1)
    ab = np.full((4, 4, 2), 25.0, np.float32)
    out = recombine_chroma(grey, ab, "ACEScct", None, "float")
    np.testing.assert_allclose(_desaturate(out, "ACEScct"), grey[..., 0], rtol=1e-3)


@pytest.mark.parametrize("cs, max_linear, quantise", [("lin_rec709", None, "half"), ("sRGB", 1.0, "uint8"),
                                                      ("ACEScct", None, "float")])
def test_bands_give_the_whole_frame_result(monkeypatch, cs, max_linear, quantise):
    # 300x250 pixels cross the 65,536-pixel bands; NaN/Inf sit in the first and the last band.
    rng = np.random.default_rng(7)
    grey = np.repeat(rng.uniform(0.0, 1.0, (250, 300, 1)).astype(np.float32), 3, axis=2)
    grey[3, 5] = np.nan
    grey[240, 290, 1] = np.inf
    ab = rng.uniform(-40, 40, (250, 300, 2)).astype(np.float32)
    banded = colour.recombine_chroma(grey, ab, cs, max_linear, quantise)
    lightness, bad = colour.lightness_and_nonfinite(grey, cs)
    monkeypatch.setattr(colour, "BAND_PIXELS", 10**9)
    whole = colour.recombine_chroma(grey, ab, cs, max_linear, quantise)
    assert colour.BAND_PIXELS > grey.shape[0] * grey.shape[1] > 65536
    np.testing.assert_array_equal(banded, whole)
    whole_l, whole_bad = colour.lightness_and_nonfinite(grey, cs)
    np.testing.assert_array_equal(lightness, whole_l)
    assert bad == whole_bad == count_nonfinite(grey) == 2
