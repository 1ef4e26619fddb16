"""The same questions of every colour conversion (kornia's habit): shape checks that say what came in,
shapes and dtype kept, round trips, reference values (OpenImageIO's OCIO, CIE/colour-science figures) and
out-of-range input (negatives, above white)."""

from __future__ import annotations

from functools import partial

import numpy as np
import OpenImageIO as oiio
import pytest

from kinochrome.core import colour, lab

# name -> (forward, inverse, takes triples, round-trip domain (lo, hi), atol of the round trip)
CONVERSIONS = {
    "srgb_to_linear": (lab.srgb_to_linear, lab.linear_to_srgb, False, (-0.5, 4.0), 1e-5),
    "linear_to_lab": (lab.linear_to_lab, lab.lab_to_linear, True, (-0.05, 4.0), 1e-4),
    "srgb_to_lab": (lab.srgb_to_lab, lab.lab_to_srgb, True, (0.0, 1.0), 1e-4),
    "to_linear sRGB": (partial(colour.to_linear, colourspace="sRGB"),
                       partial(colour.from_linear, colourspace="sRGB"), True, (-0.5, 4.0), 1e-5),
    "to_linear Cineon": (partial(colour.to_linear, colourspace="Cineon log"),
                         partial(colour.from_linear, colourspace="Cineon log"), True, (0.0, 1.0), 1e-5),
    "to_linear ACEScg (OCIO)": (partial(colour.to_linear, colourspace="ACEScg"),
                                partial(colour.from_linear, colourspace="ACEScg"), True, (0.0, 4.0), 1e-4),
}
NAMES = sorted(CONVERSIONS)


def samples(lo: float, hi: float, shape: tuple[int, ...] = (4, 5, 3)) -> np.ndarray:
    return np.random.default_rng(7).uniform(lo, hi, shape).astype(np.float32)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(3,), (7, 3), (4, 5, 3), (2, 4, 5, 3)])
def test_shape_and_dtype_are_kept(name, shape):
    forward, inverse, _, (lo, hi), _ = CONVERSIONS[name]
    for fn in (forward, inverse):
        out = fn(samples(lo, hi, shape))
        assert out.shape == shape and out.dtype == np.float32, (name, fn)


@pytest.mark.parametrize("name", [n for n in NAMES if CONVERSIONS[n][2]])
def test_a_wrong_shape_is_refused_saying_what_came_in(name):
    forward, inverse, *_ = CONVERSIONS[name]
    for fn in (forward, inverse):
        with pytest.raises(ValueError, match=r"shape \(\.\.\., 3\), got \(2, 4, 5\)"):
            fn(np.zeros((2, 4, 5), np.float32))


@pytest.mark.parametrize("name", NAMES)
def test_round_trip(name):
    forward, inverse, _, (lo, hi), atol = CONVERSIONS[name]
    x = samples(lo, hi)
    np.testing.assert_allclose(inverse(forward(x)), x, atol=atol, rtol=1e-5)


def test_srgb_curve_against_openimageio():
    """The analytic sRGB curve is OCIO's (through OpenImageIO), below 0 and above 1 as well (OCIO's linear
    segment is 12.9232 for a continuous curve, the standard's 12.92: 2.5e-4 apart)."""
    x = np.linspace(-0.5, 3.0, 3 * 64, dtype=np.float32).reshape(8, 8, 3)
    buf = oiio.ImageBufAlgo.colorconvert(oiio.ImageBuf(x), "sRGB Encoded Rec.709 (sRGB)", "Linear Rec.709 (sRGB)")
    ocio = buf.get_pixels(oiio.FLOAT).reshape(x.shape)
    np.testing.assert_allclose(lab.srgb_to_linear(x), ocio, rtol=3e-4, atol=1e-6)
    np.testing.assert_allclose(colour.to_linear(x, "sRGB"), ocio, rtol=3e-4, atol=1e-6)


@pytest.mark.parametrize("rgb, expected", [
    # sRGB primaries and white, D65 (colour-science: colour.XYZ_to_Lab(colour.sRGB_to_XYZ(...)))
    ((1.0, 1.0, 1.0), (100.0, 0.0, 0.0)),
    ((1.0, 0.0, 0.0), (53.2408, 80.0925, 67.2032)),
    ((0.0, 1.0, 0.0), (87.7347, -86.1827, 83.1793)),
    ((0.0, 0.0, 1.0), (32.2970, 79.1875, -107.8602)),
    ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
])
def test_lab_reference_values(rgb, expected):
    np.testing.assert_allclose(lab.linear_to_lab(np.array(rgb, np.float32)), expected, atol=2e-3)
    np.testing.assert_allclose(lab.lab_to_linear(np.array(expected, np.float32)), rgb, atol=1e-4)


def test_reference_values_of_the_curves():
    assert lab.srgb_to_linear(np.float32(0.5)) == pytest.approx(0.21404114, abs=1e-6)
    assert lab.linear_to_srgb(np.float32(0.18)) == pytest.approx(0.46135613, abs=1e-6)
    assert lab.y_to_lightness(np.float32(0.18)) == pytest.approx(49.4961, abs=1e-3)   # 18 % grey: L* 49.5
    assert lab.luminance(np.array([1.0, 1.0, 1.0], np.float32)) == pytest.approx(1.0, abs=1e-6)


def test_the_two_srgb_encoders_are_one():
    """colour's file encoding and lab's sRGB give the same values everywhere: negatives stay on the linear
    segment (OCIO's extension; -0.05 -> -0.646, not 0), values above 1 on the curve."""
    x = np.linspace(-1.0, 8.0, 3 * 301, dtype=np.float32).reshape(-1, 3)
    np.testing.assert_array_equal(colour.from_linear(x, "sRGB"), lab.linear_to_srgb(x))
    np.testing.assert_array_equal(colour.to_linear(x, "sRGB"), lab.srgb_to_linear(x))
    assert lab.linear_to_srgb(np.float32(-0.05)) == pytest.approx(-0.646, abs=1e-6)
    assert colour.to_display_srgb(np.array([-0.05, 0.5, 2.0], np.float32), "lin_rec709").tolist() == \
        pytest.approx([0.0, float(lab.linear_to_srgb(np.float32(0.5))), 1.0])


def test_out_of_range_lab():
    """Above white is L* above 100 and comes back; NaN stays NaN instead of turning into a colour."""
    bright = np.array([4.0, 4.0, 4.0], np.float32)
    assert lab.linear_to_lab(bright)[0] > 100.0
    np.testing.assert_allclose(lab.lab_to_linear(lab.linear_to_lab(bright)), bright, rtol=1e-5)
    assert np.isnan(lab.srgb_to_linear(np.array([np.nan], np.float32))).all()
    assert np.isnan(lab.linear_to_srgb(np.array([np.nan], np.float32))).all()


def test_chroma_on_luminance_keeps_the_luminance_lab_asks_for():
    """The per-pixel kernel of recombine_chroma is lab's conversion scaled to the luminance given."""
    y = np.array([0.05, 0.18, 0.5, 0.9], np.float32)
    ab = np.array([[20.0, -10.0], [-30.0, 40.0], [5.0, 5.0], [0.0, 0.0]], np.float32)
    rgb, lit = colour.chroma_on_luminance(y, ab, 0.0, np.inf)
    assert lit.all()
    np.testing.assert_allclose(lab.luminance(rgb), y, rtol=1e-5)
    expected = lab.linear_to_lab(rgb)
    np.testing.assert_allclose(expected[:, 1:], ab, atol=0.05)
