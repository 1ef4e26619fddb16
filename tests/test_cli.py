"""The colorize CLI end to end: formats, the luminance guarantee on real runs, bad input, interrupt and resume.

Runs in-process through ``kinochrome.plugin.cli.main`` (fast) except where a signal must hit a real process.
Classical methods need no model; model runs use a tiny random model.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from kinochrome.core import frameio, sequence
from kinochrome.core.colour import from_linear, guess_colourspace, to_linear
from kinochrome.core.lab import REC709_LUMA, linear_to_lab
from kinochrome.plugin.cli import main

BIN = Path(sys.executable).parent


def run_cli(*args: str) -> int:
    return main([str(a) for a in args])


def read(path: str) -> frameio.Frame:
    return frameio.read_frame(path)


def chroma(frame: frameio.Frame) -> float:
    """Mean |a*b*| of a frame (0 for grey)."""
    lab = linear_to_lab(np.clip(to_linear(frame.rgb, guess_colourspace(frame)), 0, None))
    return float(np.abs(lab[..., 1:]).mean())


@pytest.fixture
def reference(tmp_path, make_sequence):
    """A colour PNG reference of the same content and aspect as the 64x48 test shots (frame 1001)."""
    pattern = make_sequence(tmp_path / "ref", fmt="png", n=1, gray=False, name="ref")
    return sequence.frame_path(pattern, 1001)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    from kinochrome.core.model import build_tiny_model

    return str(build_tiny_model(tmp_path_factory.mktemp("model")))


@pytest.mark.parametrize("fmt,bits", [("exr", 16), ("exr", 32), ("dpx", 10), ("dpx", 16), ("tif", 16),
                                      ("png", 8)])
def test_colorize_keeps_format_and_luminance(tmp_path, make_sequence, reference, fmt, bits):
    pattern = make_sequence(tmp_path / "in", fmt=fmt, bits=bits, n=3)
    out = str(tmp_path / "out" / f"shot.####.{pattern.rsplit('.', 1)[1]}")
    assert run_cli("colorize", pattern, "-o", out, "--method", "reinhard", "--ref", f"1001={reference}",
                   "--quiet") == 0
    for f in (1001, 1002, 1003):
        src, dst = read(sequence.frame_path(pattern, f)), read(sequence.frame_path(out, f))
        assert dst.pixel_type == src.pixel_type and dst.bits == src.bits
        assert dst.rgb.shape == src.rgb.shape
        assert chroma(dst) > 1.0, "no colour was added"
        # Desaturating the output (its linear Rec.709 luminance, back to the encoding) gives the input back.
        cs = guess_colourspace(src)
        y_out = to_linear(dst.rgb, cs) @ REC709_LUMA
        desaturated = from_linear(np.repeat(y_out[..., None], 3, axis=2), cs)
        if src.is_float:
            tol = 1e-3 * np.maximum(np.abs(src.rgb), 1e-2)
        else:
            tol = 1.0 / (2 ** src.bits - 1) + 1e-6
        assert np.all(np.abs(desaturated - src.rgb) <= tol)
        # Metadata carried.
        assert dst.spec.get_string_attribute("Artist") == src.spec.get_string_attribute("Artist")


def test_info_json_on_dpx(tmp_path, make_sequence, capsys):
    pattern = make_sequence(tmp_path, fmt="dpx", n=4, missing=(1002,))
    assert run_cli("info", pattern, "--json") == 0
    info = json.loads(capsys.readouterr().out)
    assert info["missing"] == [1002]


@pytest.mark.parametrize("method", ["histogram", "knn"])
def test_other_classical_methods(tmp_path, make_sequence, reference, method):
    pattern = make_sequence(tmp_path / "in", fmt="exr", n=2)
    out = str(tmp_path / "out" / "shot.####.exr")
    assert run_cli("colorize", pattern, "-o", out, "--method", method, "--ref", f"1001={reference}",
                   "--quiet") == 0
    assert chroma(read(sequence.frame_path(out, 1002))) > 1.0


def test_json_events(tmp_path, make_sequence, reference, capsys):
    pattern = make_sequence(tmp_path / "in", n=3)
    out = str(tmp_path / "out" / "shot.####.exr")
    assert run_cli("colorize", pattern, "-o", out, "--method", "reinhard", "--ref", f"1001={reference}",
                   "--json") == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "finished"
    assert [e["frame"] for e in events if e["event"] == "frame"] == [1001, 1002, 1003]


def test_premultiplied_exr_is_coloured_on_the_straight_colour(tmp_path, make_sequence, reference):
    # the same grey surface, opaque and behind an alpha ramp: once un-premultiplied, both get the same colour
    pattern = make_sequence(tmp_path / "in", n=1)
    h, w = read(sequence.frame_path(pattern, 1001)).rgb.shape[:2]
    ramp = np.tile(np.linspace(0.1, 1.0, w, dtype=np.float32), (h, 1))[..., None]
    results = {}
    for name, alpha in (("opaque", np.ones_like(ramp)), ("ramp", ramp)):
        spec = oiio.ImageSpec(w, h, 4, "float")
        spec.channelnames = ("R", "G", "B", "A")
        spec.alpha_channel = 3
        stored = np.concatenate([np.full((h, w, 3), 0.18, np.float32) * alpha, alpha], axis=-1)
        shot = tmp_path / name / "shot.1001.exr"
        shot.parent.mkdir()
        buf = oiio.ImageBuf(spec)
        buf.set_pixels(oiio.ROI(), stored)
        assert buf.write(str(shot))
        out = str(tmp_path / f"{name}_out" / "shot.####.exr")
        assert run_cli("colorize", str(shot), "-o", out, "--method", "reinhard", "--ref", f"1001={reference}",
                       "--quiet") == 0
        result = read(sequence.frame_path(out, 1001))
        np.testing.assert_array_equal(result.alpha, alpha)
        np.testing.assert_allclose(result.rgb @ REC709_LUMA, stored[..., :3] @ REC709_LUMA, rtol=1e-5, atol=1e-7)
        results[name] = linear_to_lab(result.rgb / result.alpha)[..., 1:]
    assert np.abs(results["opaque"]).mean() > 1.0
    assert np.abs(results["ramp"] - results["opaque"]).max() < 1.0       # soft edges not over-saturated


def test_lossy_formats_are_warned_about(tmp_path, make_sequence, reference, capsys):
    pattern = make_sequence(tmp_path / "in", n=2)
    for f in (1001, 1002):                                  # the same frames, DWAA-compressed
        path = sequence.frame_path(pattern, f)
        frame = read(path)
        spec = oiio.ImageSpec(frame.spec)
        spec.attribute("compression", "dwaa")
        buf = oiio.ImageBuf(spec)
        buf.set_pixels(oiio.ROI(), frame.rgb)
        assert buf.write(path)
    out = str(tmp_path / "out" / "shot.####.exr")
    assert run_cli("colorize", pattern, "-o", out, "--method", "reinhard", "--ref", f"1001={reference}",
                   "--json") == 0
    warnings = [e["message"] for e in map(json.loads, capsys.readouterr().out.splitlines()) if e["event"] == "warning"]
    assert any("DWAA compression is lossy" in w and "ZIP" in w for w in warnings)
    assert read(sequence.frame_path(out, 1001)).spec.get_string_attribute("compression") == "zip"
    jpg = str(tmp_path / "jpg" / "shot.####.jpg")
    assert run_cli("colorize", pattern, "-o", jpg, "--method", "reinhard", "--ref", f"1001={reference}",
                   "--json") == 0
    warnings = [e["message"] for e in map(json.loads, capsys.readouterr().out.splitlines()) if e["event"] == "warning"]
    assert any("JPEG is lossy" in w for w in warnings)


# ---------------------------------------------------------------- bad input: one line, non-zero, nothing lost
def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert err, "no error message"
    return err[-1]


def test_missing_frames_error_then_hold_and_skip(tmp_path, make_sequence, reference, capsys):
    pattern = make_sequence(tmp_path / "in", n=5, missing=(1003,))
    out = str(tmp_path / "out" / "shot.####.exr")
    base = ["colorize", pattern, "-o", out, "--method", "reinhard", "--ref", f"1001={reference}", "--quiet"]
    assert run_cli(*base) == 1
    assert "missing frames 1003 " in _error_line(capsys)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
    assert run_cli(*base, "--missing", "skip") == 0
    assert not os.path.exists(sequence.frame_path(out, 1003))
    assert run_cli(*base, "--missing", "hold", "--overwrite") == 0
    assert os.path.exists(sequence.frame_path(out, 1003))


def test_corrupt_frame_error_and_skip(tmp_path, make_sequence, reference, capsys):
    pattern = make_sequence(tmp_path / "in", n=4)
    bad = sequence.frame_path(pattern, 1003)
    data = Path(bad).read_bytes()
    Path(bad).write_bytes(data[: len(data) // 3])
    out = str(tmp_path / "out" / "shot.####.exr")
    base = ["colorize", pattern, "-o", out, "--method", "reinhard", "--ref", f"1001={reference}", "--quiet"]
    assert run_cli(*base) == 1
    line = _error_line(capsys)
    assert "shot.1003.exr" in line
    assert run_cli(*base, "--on-error", "skip", "--resume") == 1  # finishes, reports the failure
    err = capsys.readouterr().err
    assert "failed 1003: " in err
    assert os.path.exists(sequence.frame_path(out, 1004))
    assert Path(bad).read_bytes() == data[: len(data) // 3], "the source was touched"


def test_skipped_frame_events_stay_in_frame_order(tmp_path, make_sequence, reference):
    """The next frame is prepared while this one is coloured: a frame that fails to read is reported after the
    frames before it, and the run goes on."""
    from kinochrome.core.job import JobSettings, run_job
    from kinochrome.core.session import Keyframe

    pattern = make_sequence(tmp_path / "in", n=5)
    bad = sequence.frame_path(pattern, 1003)
    Path(bad).write_bytes(Path(bad).read_bytes()[:200])
    events = []
    settings = JobSettings(input=pattern, output=str(tmp_path / "out" / "shot.####.exr"), method="reinhard",
                           keyframes=[Keyframe(frame=1001, reference=reference)], on_error="skip")
    run_job(settings, events.append)
    frames = [(e.frame, e.status) for e in events if e.kind == "frame"]
    assert frames == [(1001, "done"), (1002, "done"), (1003, "failed"), (1004, "done"), (1005, "done")]


def test_resolution_change_mid_shot(tmp_path, make_sequence, reference, capsys):
    pattern = make_sequence(tmp_path / "in", n=3)
    make_sequence(tmp_path / "other", n=3, size=(32, 24))
    os.replace(tmp_path / "other" / "shot.1002.exr", tmp_path / "in" / "shot.1002.exr")
    out = str(tmp_path / "out" / "shot.####.exr")
    assert run_cli("colorize", pattern, "-o", out, "--method", "reinhard", "--ref", f"1001={reference}",
                   "--quiet") == 1
    assert "shot.1002.exr" in _error_line(capsys)


def test_path_matching_nothing(tmp_path, capsys):
    assert run_cli("colorize", str(tmp_path / "nothing.####.exr"), "-o", str(tmp_path / "o.####.exr")) == 1
    assert "nothing.####.exr" in _error_line(capsys)


def test_frame_range_with_nothing_on_disk_says_where_the_shot_is(tmp_path, make_sequence, capsys):
    pattern = make_sequence(tmp_path / "in", n=3)
    out = str(tmp_path / "o" / "s.####.exr")
    assert run_cli("colorize", pattern, "-o", out, "--frames", "2000-2010", "--method", "model") == 1
    line = _error_line(capsys)
    assert "no frames on disk in 2000-2010 (on disk: 1001-1003)" in line and "--missing" not in line


def test_the_same_frame_given_two_references_is_refused(tmp_path, make_sequence, reference, capsys):
    pattern = make_sequence(tmp_path / "in", n=2)
    out = tmp_path / "o"
    assert run_cli("colorize", pattern, "-o", out / "s.####.exr", "--ref", f"1001={reference}",
                   "--ref", "1001=other.png") == 2
    assert "frame 1001 is given twice" in _error_line(capsys)
    assert not out.exists()


def test_output_folder_not_writable(tmp_path, make_sequence, reference, capsys):
    pattern = make_sequence(tmp_path / "in", n=2)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert run_cli("colorize", pattern, "-o", str(blocker / "out.####.exr"), "--method", "reinhard",
                   "--ref", f"1001={reference}") == 1
    assert "file" in _error_line(capsys)


def test_output_without_frame_token(tmp_path, make_sequence, reference, capsys):
    pattern = make_sequence(tmp_path / "in", n=2)
    assert run_cli("colorize", pattern, "-o", str(tmp_path / "out.exr"), "--method", "reinhard",
                   "--ref", f"1001={reference}") != 0
    assert "out.exr" in _error_line(capsys)


def test_output_equal_to_input(tmp_path, make_sequence, reference, capsys):
    pattern = make_sequence(tmp_path / "in", n=2)
    before = Path(sequence.frame_path(pattern, 1001)).read_bytes()
    assert run_cli("colorize", pattern, "-o", pattern, "--method", "reinhard", "--ref", f"1001={reference}",
                   "--overwrite") != 0
    assert "shot" in _error_line(capsys)
    assert Path(sequence.frame_path(pattern, 1001)).read_bytes() == before


def test_grayscale_reference(tmp_path, make_sequence, capsys):
    pattern = make_sequence(tmp_path / "in", n=2)
    gray_ref = sequence.frame_path(make_sequence(tmp_path / "g", fmt="png", n=1, name="gref"), 1001)
    assert run_cli("colorize", pattern, "-o", str(tmp_path / "o" / "s.####.exr"), "--method", "reinhard",
                   "--ref", f"1001={gray_ref}") == 1
    line = _error_line(capsys)
    assert "gref.1001.png" in line and "gray" in line.lower()
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").glob("*.exr"))


def test_reference_of_another_aspect(tmp_path, make_sequence, capsys):
    pattern = make_sequence(tmp_path / "in", n=2)
    odd = sequence.frame_path(make_sequence(tmp_path / "r", fmt="png", n=1, gray=False, name="odd",
                                            size=(48, 48)), 1001)
    out = str(tmp_path / "o" / "s.####.exr")
    assert run_cli("colorize", pattern, "-o", out, "--method", "reinhard", "--ref", f"1001={odd}") == 1
    assert "odd.1001.png" in _error_line(capsys)
    assert run_cli("colorize", pattern, "-o", out, "--method", "reinhard", "--ref", f"1001={odd}", "--fit",
                   "--quiet") == 0


def test_unknown_colourspace(tmp_path, make_sequence, reference, capsys):
    pattern = make_sequence(tmp_path / "in", n=2)
    assert run_cli("colorize", pattern, "-o", str(tmp_path / "o" / "s.####.exr"), "--method", "reinhard",
                   "--ref", f"1001={reference}", "--colorspace", "lin_rec7O9") == 1
    assert "lin_rec7O9" in _error_line(capsys)


def test_full_disk_removes_temp_files(tmp_path, make_sequence, reference, capsys, monkeypatch):
    import errno

    pattern = make_sequence(tmp_path / "in", n=3)
    out_dir = tmp_path / "o"
    real_write = frameio._oiio_write

    def full(path, spec, pixels):
        Path(path).write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(frameio, "_oiio_write", full)
    assert run_cli("colorize", pattern, "-o", str(out_dir / "s.####.exr"), "--method", "reinhard",
                   "--ref", f"1001={reference}") == 1
    line = _error_line(capsys)
    assert "disk full" in line.lower() and "s.1001.exr" in line
    assert list(out_dir.iterdir()) == [], "temp or partial files were left behind"
    monkeypatch.setattr(frameio, "_oiio_write", real_write)


def test_bad_device_threads_and_preroll(tmp_path, make_sequence, reference, capsys):
    pattern = make_sequence(tmp_path / "in", n=3)
    out = str(tmp_path / "o" / "s.####.exr")
    base = ["colorize", pattern, "-o", out, "--method", "reinhard", "--ref", f"1001={reference}"]
    assert run_cli(*base, "--device", "tpu") == 2
    assert "tpu" in _error_line(capsys)
    assert run_cli(*base, "--threads", "0") == 2
    assert "--threads" in _error_line(capsys)
    assert run_cli(*base, "--frames", "1002-1003", "--preroll", "5", "--json") == 0
    events = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert any(e["event"] == "warning" and "preroll" in e["message"] for e in events)
    assert not os.path.exists(sequence.frame_path(out, 1001)), "a preroll frame was written"


def test_existing_output_needs_overwrite_or_resume(tmp_path, make_sequence, reference, capsys):
    pattern = make_sequence(tmp_path / "in", n=2)
    out = str(tmp_path / "o" / "s.####.exr")
    base = ["colorize", pattern, "-o", out, "--method", "reinhard", "--ref", f"1001={reference}", "--quiet"]
    assert run_cli(*base) == 0
    assert run_cli(*base) == 1
    assert "--overwrite" in _error_line(capsys)
    assert run_cli(*base, "--resume") == 0


def test_model_method_with_tiny_model(tmp_path, make_sequence, reference, tiny_model):
    pattern = make_sequence(tmp_path / "in", fmt="dpx", n=3)
    out = str(tmp_path / "o" / "s.####.dpx")
    assert run_cli("colorize", pattern, "-o", out, "--model", tiny_model, "--quiet") == 0
    assert run_cli("colorize", pattern, "-o", str(tmp_path / "o2" / "s.####.dpx"), "--model", tiny_model,
                   "--ref", f"1001={reference}", "--quiet") == 0
    keyed = read(sequence.frame_path(str(tmp_path / "o2" / "s.####.dpx"), 1001))
    assert chroma(keyed) > 1.0


# ---------------------------------------------------------------- interrupt and resume in a real process
def _start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "kinochrome"), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _wait_frames(proc: subprocess.Popen, count: int) -> None:
    seen = 0
    deadline = time.monotonic() + 120
    while seen < count and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if json.loads(line).get("event") == "frame":
            seen += 1
    assert seen >= count, "the run ended before it could be interrupted"


def _slow_shot(tmp_path, make_sequence):
    return make_sequence(tmp_path / "in", n=16, size=(320, 240))


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupt_then_resume_matches_whole_run(tmp_path, make_sequence, reference, sig):
    pattern = _slow_shot(tmp_path, make_sequence)
    ref = sequence.frame_path(make_sequence(tmp_path / "r", fmt="png", n=1, gray=False, name="ref",
                                            size=(320, 240)), 1001)
    common = ["--method", "knn", "--ref", f"1001={ref}"]
    whole = str(tmp_path / "whole" / "s.####.exr")
    assert run_cli("colorize", pattern, "-o", whole, *common, "--quiet") == 0

    out = str(tmp_path / "o" / "s.####.exr")
    proc = _start(["colorize", pattern, "-o", out, *common, "--json"])
    _wait_frames(proc, 3)
    proc.send_signal(sig)
    code = proc.wait(60)
    assert code == (130 if sig == signal.SIGINT else -signal.SIGKILL)
    done = sorted(Path(out).parent.glob("s.*.exr"))
    assert 3 <= len(done) < 16
    for path in done:  # every frame under its final name is complete
        assert frameio.check_output_frame(str(path), read(sequence.frame_path(pattern, 1001)))
    assert run_cli("colorize", pattern, "-o", out, *common, "--resume", "--quiet") == 0
    leftovers = [p.name for p in Path(out).parent.iterdir() if not p.name.startswith("s.")]
    assert leftovers == [], f"partial files left behind: {leftovers}"
    for f in range(1001, 1017):
        a = read(sequence.frame_path(out, f)).rgb
        b = read(sequence.frame_path(whole, f)).rgb
        assert np.allclose(a, b, atol=2e-3), f"frame {f} differs from the uninterrupted run"


def test_nan_and_inf_pixels_reported_and_passed_through(tmp_path, make_sequence, reference, capsys):
    pattern = make_sequence(tmp_path / "in", n=2, bits=32)
    path = sequence.frame_path(pattern, 1002)
    frame = read(path)
    pixels = frame.rgb.copy()
    pixels[5, 7] = np.nan
    pixels[9, 3] = np.inf
    spec = oiio.ImageSpec(frame.spec)
    buf = oiio.ImageBuf(spec)
    buf.set_pixels(oiio.ROI(), pixels)
    assert buf.write(path)
    out = str(tmp_path / "o" / "s.####.exr")
    assert run_cli("colorize", pattern, "-o", out, "--method", "reinhard", "--ref", f"1001={reference}",
                   "--json") == 0
    events = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert any(e["event"] == "warning" and "2 NaN/Inf" in e["message"] and "shot.1002.exr" in e["message"]
               for e in events)
    result = read(sequence.frame_path(out, 1002)).rgb
    assert np.isnan(result[5, 7]).all() and np.isinf(result[9, 3]).all()


def test_reference_for_a_shot_whose_working_size_rounds(tmp_path, make_sequence):
    """340x260 (1.31) rounds to a working size of another aspect; the reference is checked at full size."""
    pattern = make_sequence(tmp_path / "in", n=2, size=(340, 260))
    ref = sequence.frame_path(make_sequence(tmp_path / "r", fmt="png", n=1, gray=False, name="ref",
                                            size=(340, 260)), 1001)
    assert run_cli("colorize", pattern, "-o", str(tmp_path / "o" / "s.####.exr"), "--method", "reinhard",
                   "--ref", f"1001={ref}", "--working-size", "96", "--quiet") == 0


def test_sheet_never_writes_over_a_source_frame(tmp_path, make_sequence, capsys):
    pattern = make_sequence(tmp_path / "in", fmt="png", n=3)
    source = sequence.frame_path(pattern, 1002)
    before = Path(source).read_bytes()
    assert run_cli("sheet", pattern, "-o", source) == 1
    line = _error_line(capsys)
    assert "output is a frame of" in line and source in line
    assert Path(source).read_bytes() == before
    exr = make_sequence(tmp_path / "exr", n=2)
    assert run_cli("sheet", exr, "-o", sequence.frame_path(exr, 1001)) == 2     # not a .png name
    assert "ending in .png" in _error_line(capsys)
    assert run_cli("sheet", pattern, "-o", tmp_path / "sheet.png") == 0
    assert (tmp_path / "sheet.png").stat().st_size > 0


def test_sheet_labels_tell_apart_sequences_that_share_a_name():
    from kinochrome.core.contact import distinct_names

    assert distinct_names(["/a/auto/j.####.exr", "/a/keyed/j.####.exr"]) == ["auto/j.####.exr",
                                                                             "keyed/j.####.exr"]
    assert distinct_names(["/in/shot.####.exr", "/out/kino.####.exr"]) == ["shot.####.exr", "kino.####.exr"]
    assert distinct_names(["x/s.####.exr", "x/s.####.exr"]) == ["x/s.####.exr", "x/s.####.exr"]   # the same twice
