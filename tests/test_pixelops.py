"""The fast per-pixel paths against colour.py's reference: NumPy planes bit for bit, torch (the --device cuda
code, run here on CPU tensors) to float rounding with the luminance guarantee kept."""

from __future__ import annotations

import numpy as np
import pytest

from kinochrome.core import colour, pixelops
from kinochrome.core.lab import REC709_LUMA

CASES = [  # colourspace, max_linear (None: float output), quantise
    ("lin_rec709", None, None),
    ("sRGB", None, None),
    ("Cineon log", None, None),
    ("sRGB", 1.0, "uint8"),
    ("sRGB", 1.0, "uint16"),
    ("Cineon log", "max", "uint10"),
    ("Cineon log", "max", "uint12"),
]


def _plate(rng: np.random.Generator, colourspace: str, n: int = 70_000, edges: bool = True
           ) -> tuple[np.ndarray, np.ndarray]:
    """An encoded plate (1, n, 3) spanning black to over-white, chroma (1, n, 2) up to saturation, with
    NaN/Inf, negative and zero pixels and a NaN chroma when ``edges``. Spans two bands of 65,536 pixels."""
    y = np.concatenate([rng.random(n // 2) ** 3, rng.random(n - n // 2) * 4.0]).astype(np.float32)
    linear = np.repeat(y[:, None], 3, axis=1) * (0.6 + 0.8 * rng.random((n, 3))).astype(np.float32)
    encoded = colour.from_linear(linear, colourspace)
    if colourspace != "lin_rec709":
        encoded = np.clip(encoded, 0.0, 1.0)
    ab = (rng.normal(0, 40, (n, 2))).astype(np.float32)
    if edges:
        encoded[3] = np.nan
        encoded[4, 1] = np.inf
        encoded[5] = -0.25
        encoded[6] = 0.0
        ab[7] = np.nan
    return encoded[None], ab[None]


def _max_linear(value, colourspace: str) -> float | None:
    if value == "max":
        return float(colour.to_linear(np.ones((1, 3)), colourspace).min())
    return value


@pytest.mark.parametrize("colourspace,max_linear,quantise", CASES)
@pytest.mark.parametrize("edges", [False, True])
@pytest.mark.parametrize("gray", [False, True])   # gray: R = G = B, as black-and-white scans store it
def test_planar_recombine_is_the_reference_bit_for_bit(colourspace, max_linear, quantise, edges, gray):
    rng = np.random.default_rng(7)
    encoded, ab = _plate(rng, colourspace, edges=edges)
    if gray:
        encoded = np.ascontiguousarray(np.repeat(encoded[..., 1:2], 3, axis=-1))
        encoded[0, 70_000 - 5, 2] += np.float32(0.01)   # one pixel not gray: that band decodes each plane
    limit = _max_linear(max_linear, colourspace)
    expected = colour.recombine_chroma(encoded, ab, colourspace, limit, quantise=quantise)
    got = pixelops.recombine_planar(encoded, ab, colourspace, limit, quantise=quantise)
    assert got.shape == expected.shape and got.dtype == np.float32
    assert np.array_equal(got.view(np.uint32), expected.view(np.uint32))


def test_planar_recombine_hands_other_cases_to_the_reference():
    rng = np.random.default_rng(3)
    encoded, ab = _plate(rng, "lin_rec709", n=1000)
    for quantise in ("half",):
        expected = colour.recombine_chroma(encoded, ab, "lin_rec709", None, quantise=quantise)
        got = pixelops.recombine_planar(encoded, ab, "lin_rec709", None, quantise=quantise)
        assert np.array_equal(got.view(np.uint32), expected.view(np.uint32))
    with pytest.raises(ValueError):
        pixelops.recombine_planar(encoded, ab[:, :10], "lin_rec709", None)


@pytest.mark.parametrize("colourspace,max_linear,quantise", CASES)
def test_torch_recombine_matches_and_keeps_luminance(colourspace, max_linear, quantise):
    pixels_torch = pytest.importorskip("kinochrome.core.pixels_torch")
    rng = np.random.default_rng(11)
    encoded, ab = _plate(rng, colourspace)
    limit = _max_linear(max_linear, colourspace)
    assert pixels_torch.supported(colourspace, quantise)
    expected = colour.recombine_chroma(encoded, ab, colourspace, limit, quantise=quantise)
    got = pixels_torch.recombine_numpy(encoded, ab, colourspace, limit, quantise=quantise)
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    finite = np.isfinite(expected)
    if quantise is None:  # float rounding, amplified a little where a colour is pulled into gamut
        diff = np.abs(got[finite] - expected[finite])
        assert diff.max() < 1e-4
        assert (diff > 2e-5 * np.abs(expected[finite]) + 2e-6).mean() < 1e-3
    else:  # a code value either way where the float rounding lands on a rounding boundary
        step = 1.0 / (2 ** int(quantise.removeprefix("uint")) - 1)
        assert np.abs(got[finite] - expected[finite]).max() <= step + 1e-7
        assert (got[finite] != expected[finite]).mean() < 0.01
    # the guarantee itself: the stored colour's luminance is the plate's
    ok = np.isfinite(encoded).all(axis=-1) & np.isfinite(got).all(axis=-1)
    y_in = colour.to_linear(encoded[ok], colourspace) @ REC709_LUMA
    y_out = colour.to_linear(got[ok], colourspace) @ REC709_LUMA
    if quantise is None:
        lit = y_in > 1e-6
        np.testing.assert_allclose(y_out[lit], y_in[lit], rtol=1e-4, atol=1e-7)
    else:
        y_ref = colour.to_linear(expected[ok], colourspace) @ REC709_LUMA
        # no worse than the reference's own error, give or take one code value of green
        green_step = 0.7152 * np.abs(np.gradient(colour.to_linear(np.linspace(0, 1, 4096)[:, None]
                                                                  .repeat(3, 1), colourspace)[:, 1])).max() * 4
        assert np.abs(y_out - y_in).max() <= np.abs(y_ref - y_in).max() + green_step


def test_torch_recombine_refuses_ocio_colourspaces():
    pixels_torch = pytest.importorskip("kinochrome.core.pixels_torch")
    assert not pixels_torch.supported("ACEScg", None)
    assert not pixels_torch.supported("sRGB", "half")
    with pytest.raises(ValueError):
        pixels_torch.recombine_numpy(np.zeros((2, 2, 3), np.float32), np.zeros((2, 2, 2), np.float32), "ACEScg", None)


@pytest.mark.parametrize("fmt", ["exr", "dpx"])
def test_device_finish_on_cpu_tensors_matches_the_cpu_run(tmp_path, monkeypatch, fmt):
    """The --device cuda path (full-resolution upsampling, hint blend and recombination as torch ops, the
    frame up once and down once) run on CPU tensors: the frames it writes match the NumPy run's to float
    rounding, automatic and with a painted keyframe."""
    pixels_torch = pytest.importorskip("kinochrome.core.pixels_torch")
    from conftest import write_sequence

    from kinochrome.core import frameio, pipeline
    from kinochrome.core.colouriser import FrameColouriser
    from kinochrome.core.job import JobSettings, run_job
    from kinochrome.core.session import Keyframe

    pattern = write_sequence(tmp_path / "in", fmt, n=4, size=(96, 64), content="real")
    ref = write_sequence(tmp_path / "ref", "png", n=1, size=(96, 64), content="real", gray=False)
    ref_path = ref.replace("####", "1001")
    finishers, calls = [], []
    recombine = pixels_torch.DeviceFinisher.recombine

    def counted(self, *args, **kwargs):
        calls.append(calls[-1] + 1 if calls else 1)
        return recombine(self, *args, **kwargs)

    monkeypatch.setattr(pixels_torch.DeviceFinisher, "recombine", counted)

    class OnCpuTensors(FrameColouriser):
        def __init__(self, *args, **kwargs):
            finishers.append(pixels_torch.DeviceFinisher("cpu"))
            super().__init__(*args, finisher=finishers[-1], **kwargs)

    for label, keyframes in (("auto", []), ("key", [Keyframe(frame=1001, reference=ref_path, kind="painted")])):
        outputs = {}
        calls.clear()
        for mode in ("numpy", "torch"):
            with monkeypatch.context() as patch:
                if mode == "torch":
                    patch.setattr(pipeline, "FrameColouriser", OnCpuTensors)
                out = str(tmp_path / mode / label / f"o.####.{fmt}")
                run_job(JobSettings(input=pattern, output=out, keyframes=keyframes, working_size=64,
                                    device="cpu", mode="overwrite", confidence_aov=True))
                outputs[mode] = [frameio.read_frame(out.replace("####", str(f))).rgb for f in range(1001, 1005)]
        assert finishers and finishers[-1].device.type == "cpu"
        assert calls and calls[-1] == 4, "the frames were not recombined on the device"
        for a, b in zip(outputs["numpy"], outputs["torch"]):
            # float rounding of torch's bilinear resampling and curves; one 10-bit code value for DPX
            assert np.abs(a - b).max() <= (1.5 / 1023 if fmt == "dpx" else 2e-3), label
            assert np.abs(a - b).mean() < 2e-4, label


@pytest.mark.parametrize("colourspace", ["lin_rec709", "sRGB", "Cineon log"])
@pytest.mark.parametrize("edges", [False, True])
@pytest.mark.parametrize("gray", [False, True])
def test_compiled_lightness_is_the_reference_bit_for_bit(colourspace, edges, gray):
    rng = np.random.default_rng(5)
    encoded, _ = _plate(rng, colourspace, edges=edges)
    if gray:
        encoded = np.ascontiguousarray(np.repeat(encoded[..., 1:2], 3, axis=-1))
    expected, expected_bad = colour.lightness_and_nonfinite(encoded, colourspace)
    got, bad = pixelops.lightness_and_nonfinite(encoded, colourspace)
    assert got.shape == expected.shape == encoded.shape[:-1] and got.dtype == np.float32
    assert np.array_equal(got.view(np.uint32), expected.view(np.uint32))
    assert bad == expected_bad == (2 if edges else 0)


def test_kernels_work_where_numba_cannot_cache_them(tmp_path):
    """A read-only install run by an account without a writable home: numba finds nowhere to keep compiled
    code and refuses cache=True on import. The kernels must still load (compiled per process) and give the
    reference's values. Simulated in a fresh process by leaving numba no cache locator (as root, folder
    permissions cannot be used to make one fail)."""
    import subprocess
    import sys

    code = (
        "import numba.core.caching as c; c.CacheImpl._locator_classes = []\n"
        "import numpy as np\n"
        "from kinochrome.core import colour, pixelkernels, pixelops\n"
        "assert pixelkernels._JIT['cache'] is False\n"
        "rng = np.random.default_rng(1)\n"
        "x = rng.random((1, 500, 3)).astype(np.float32); ab = rng.normal(0, 30, (1, 500, 2)).astype(np.float32)\n"
        "m = float(colour.to_linear(np.ones((1, 3)), 'Cineon log').min())\n"
        "got = pixelops.recombine_planar(x, ab, 'Cineon log', m, quantise='uint10')\n"
        "want = colour.recombine_chroma(x, ab, 'Cineon log', m, quantise='uint10')\n"
        "assert np.array_equal(got, want)\n"
        "print('ok')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                          cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
