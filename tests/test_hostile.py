"""Issue 16: hostile and careless inputs. Each test builds its hostile file itself and checks the run ends with a
one-line error naming the file, frame or value (and the limit), a non-zero exit, no traceback and nothing harmed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest
from conftest import FailingImageOutput, write_image, write_sequence

from kinochrome.core import frameio
from kinochrome.core.cli import main
from kinochrome.core.errors import OutputError

ROOT = Path(__file__).resolve().parents[1]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """``kinochrome ARGV`` in this process -> (exit code, stdout, stderr); any traceback fails the test."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("kinochrome: error:")]
    assert len(lines) == 1, err
    return lines[0]


def digest(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------------------------ 1, 14: full disks
_WRITE_UNDER_LIMIT = textwrap.dedent("""
    import os, resource, signal, sys
    sys.path.insert(0, {tests!r})
    from conftest import write_image, write_sequence
    from kinochrome.core import frameio
    from kinochrome.core.errors import OutputError
    fmt, folder, free = sys.argv[1], sys.argv[2], sys.argv[3]
    src = frameio.read_frame(write_sequence(os.path.join(folder, "in"), fmt, n=1, size=(256, 170),
                                            bits=16 if fmt in ("png", "tif") else None).replace("####", "1001"))
    if free != "real":
        frameio.free_bytes = lambda folder: int(free)   # what a full disk would report
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)       # writes past the limit fail with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))
    try:
        frameio.write_frame(os.path.join(folder, "out", "o.1001." + fmt), src, src.rgb)
    except OutputError as exc:
        print("ERROR", exc)
        sys.exit(1)
    print("OK")
""")


@pytest.mark.parametrize("fmt", ["png", "exr", "dpx", "tif", "jpg"])
def test_failed_write_of_every_format_is_an_error_and_leaves_nothing(tmp_path, fmt):
    """Case 1 and 14: a write cut short (here by a 2 kB file size limit) fails the frame in every format, with
    one message naming the frame, and no file (final or temp) is left. PNG reported success before."""
    script = _WRITE_UNDER_LIMIT.format(tests=str(ROOT / "tests"))
    (tmp_path / "out").mkdir()
    proc = subprocess.run([sys.executable, "-c", script, fmt, str(tmp_path), "1000"],
                          check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"ERROR disk full writing {tmp_path}/out/o.1001.{fmt} (1000 bytes free)" in proc.stdout
    assert ".kino.tmp" not in proc.stdout
    assert os.listdir(tmp_path / "out") == []


def test_oiio_queued_png_write_error_fails_the_frame(tmp_path, monkeypatch):
    """Case 1 in process: OpenImageIO's PNG writer returns True from write_image and close after a short write
    and only queues the error; that error must fail the frame."""
    src = frameio.read_frame(write_sequence(tmp_path / "in", "png", n=1).replace("####", "1001"))

    short = FailingImageOutput("Write error at position 16569, could only write 3911/8192 bytes", write_ok=True,
                               has_error=True)
    monkeypatch.setattr(frameio.oiio.ImageOutput, "create", staticmethod(lambda path: short))
    with pytest.raises(OutputError, match=r"o\.1001\.png: cannot write \(Write error at position"):
        frameio.write_frame(str(tmp_path / "o.1001.png"), src, src.rgb)
    assert sorted(os.listdir(tmp_path)) == ["in"]


def test_jpeg_is_not_started_without_room(tmp_path, monkeypatch):
    """Case 14: libjpeg ends the process on a short write, so a JPEG that may not fit is refused beforehand."""
    src = frameio.read_frame(write_sequence(tmp_path / "in", "jpg", n=1).replace("####", "1001"))
    monkeypatch.setattr(frameio, "free_bytes", lambda folder: 5000)
    with pytest.raises(OutputError, match=r"^disk full writing .*o\.1001\.jpg \(5000 bytes free\)"):
        frameio.write_frame(str(tmp_path / "o.1001.jpg"), src, src.rgb)
    assert sorted(os.listdir(tmp_path)) == ["in"]


def _mount_tiny(path: Path) -> bool:
    path.mkdir()
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(path)],
                          check=False, capture_output=True).returncode == 0


@pytest.mark.parametrize("fmt", ["png"])
def test_real_full_disk(tmp_path, fmt):
    """Cases 1 and 14 on a real 1 MB tmpfs (root only): the run fails at the frame that does not fit, says
    'disk full writing FRAME (N bytes free)' once, and every frame under a final name reads back whole.
    (The same ran for EXR, DPX, TIFF and JPEG by hand; the formats are covered by the size-limit test above.)"""
    tiny = tmp_path / "tiny"
    if not _mount_tiny(tiny):
        pytest.skip("needs root to mount a 1 MB tmpfs")
    try:
        pattern = write_sequence(tmp_path / "in", fmt, n=12, size=(256, 170), bits=16 if fmt == "png" else None)
        if fmt == "jpg":  # JPEGs are small: fill the disk first
            (tiny / "fill").write_bytes(b"\0" * 1000_000)
        proc = subprocess.run([sys.executable, "-m", "kinochrome.core.cli", "colorize", pattern,
                               "-o", str(tiny / f"o.####.{fmt}"), "--quiet", "--method", "model",
                               "--working-size", "64"], check=False, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 1, proc.stderr
        assert "Traceback" not in proc.stderr
        assert f"kinochrome: error: disk full writing {tiny}/o." in proc.stderr and "bytes free)" in proc.stderr
        names = os.listdir(tiny)
        assert not [n for n in names if ".kino.tmp" in n]
        for name in names:
            if name.startswith("o."):
                inp = oiio.ImageInput.open(str(tiny / name))
                assert inp is not None and inp.read_image(oiio.FLOAT) is not None and not inp.has_error, name
                inp.close()
    finally:
        subprocess.run(["umount", str(tiny)], check=False, capture_output=True)


class _OutputLosingItsEnd:
    """An ``oiio.ImageOutput`` that fails as OpenImageIO's does when the disk fills during the final flush of its
    buffered file (it ignores ``fclose``'s result): the file is written whole, then loses its last ``lost`` bytes,
    and open, write_image and close all return True with no error queued."""

    create = staticmethod(oiio.ImageOutput.create)

    def __init__(self, lost: int):
        self.lost, self.has_error = lost, False

    def open(self, path, spec) -> bool:
        self.path, self.spec = path, spec
        return True

    def write_image(self, pixels) -> bool:
        self.pixels = pixels
        return True

    def geterror(self) -> str:
        return ""

    def close(self) -> bool:
        out = self.create(self.path)
        assert out.open(self.path, self.spec) and out.write_image(self.pixels) and out.close()
        data = Path(self.path).read_bytes()
        Path(self.path).write_bytes(data[:-self.lost] if self.lost > 0 else data[:-data_tail(data, -self.lost)])
        return True


def data_tail(data: bytes, page: int) -> int:
    """How many bytes a failed final flush loses: those after the last full ``page``."""
    return len(data) % page or page


@pytest.mark.parametrize("fmt, lost", [("png", -4096), ("png", 1), ("exr", -4096), ("exr", 1), ("dpx", -4096),
                                       ("dpx", 1), ("jpg", 1)])
def test_frame_that_lost_its_end_unreported_is_not_renamed(tmp_path, monkeypatch, fmt, lost):
    """Case 1 and 14, the flaky real-disk failure made deterministic: the disk filled during the writer's last
    flush (the other writer thread took the space), OpenImageIO reported success, and the cut-off o.1008.png was
    renamed to its final name. Now the frame's end is checked before the rename (negative ``lost``: everything
    after the last 4 kB page, as a failed flush loses; 1: the last byte, which a PNG reader still accepts)."""
    src = frameio.read_frame(write_sequence(tmp_path / "in", fmt, n=1, size=(256, 170),
                                            bits=16 if fmt == "png" else None).replace("####", "1001"))
    losing = _OutputLosingItsEnd(lost)
    monkeypatch.setattr(frameio.oiio.ImageOutput, "create", staticmethod(lambda path: losing))
    with pytest.raises(OutputError, match=rf"o\.1001\.{fmt}: cannot write \(written incomplete: "):
        frameio.write_frame(str(tmp_path / f"o.1001.{fmt}"), src, src.rgb)
    assert sorted(os.listdir(tmp_path)) == ["in"]


@pytest.mark.parametrize("fmt", ["png", "exr", "dpx"])
def test_real_disk_full_at_the_last_flush(tmp_path, fmt):
    """The same on a real tmpfs (root only): the disk is filled to leave room for every full page of the frame
    but not its last partial one, so only the writer's final flush fails. It was renamed cut short; now it is
    'disk full' and nothing is left under the frame's name."""
    tiny = tmp_path / "tiny"
    if not _mount_tiny(tiny):
        pytest.skip("needs root to mount a 1 MB tmpfs")
    try:
        src = frameio.read_frame(write_sequence(tmp_path / "in", fmt, n=1, size=(256, 170),
                                                bits=16 if fmt == "png" else None).replace("####", "1001"))
        frameio.write_frame(str(tmp_path / f"whole.{fmt}"), src, src.rgb)
        size = (tmp_path / f"whole.{fmt}").stat().st_size
        page = os.statvfs(tiny).f_frsize
        assert size > page and size % page, (size, page)
        (tiny / "fill").write_bytes(b"\0" * (frameio.free_bytes(str(tiny)) - size // page * page))
        assert frameio.free_bytes(str(tiny)) == size // page * page
        with pytest.raises(OutputError, match=rf"^disk full writing {tiny}/o\.1001\.{fmt} \("):
            frameio.write_frame(str(tiny / f"o.1001.{fmt}"), src, src.rgb)
        assert os.listdir(tiny) == ["fill"]
    finally:
        subprocess.run(["umount", str(tiny)], check=False, capture_output=True)


# ------------------------------------------------------------------------------------ shared set-ups
@pytest.fixture
def shot(tmp_path):
    """A 64x48 half EXR shot, frames 1001-1004, and a colour reference PNG of the same size."""
    pattern = write_sequence(tmp_path / "exr", "exr", n=4)
    ref = write_sequence(tmp_path / "ref", "png", n=1, gray=False, name="paint").replace("####", "1001")
    return pattern, ref


def colorize(capsys, *argv: str) -> tuple[int, str, str]:
    return run_cli(capsys, "colorize", *argv, "--quiet", "--working-size", "64")


# ------------------------------------------------------------------------------------ 2: outputs over reads
def test_overwrite_never_replaces_the_reference(capsys, tmp_path, shot):
    """Case 2: the reference named like an output frame is refused, even with --overwrite."""
    pattern, _ = shot
    paint = tmp_path / "paint.1001.exr"
    write_sequence(tmp_path / "p", "exr", n=1, gray=False, name="paint")
    os.replace(tmp_path / "p" / "paint.1001.exr", paint)
    before = paint.read_bytes()
    code, _, err = colorize(capsys, pattern, "--ref", f"1001={paint}", "-o", str(tmp_path / "paint.####.exr"),
                            "--overwrite")
    assert code == 1
    assert f"paint.1001.exr: the output would replace the colour reference of keyframe 1001 ({paint})" \
        in error_line(err)
    assert paint.read_bytes() == before
    assert not list(tmp_path.glob("paint.100[2-4].exr"))


def test_session_reference_and_session_file_are_never_outputs(capsys, tmp_path, shot):
    """Case 2 through a session: a relative reference beside the shot, and the session file itself."""
    pattern, ref = shot
    folder = Path(pattern).parent
    os.replace(ref, folder / "ref.1001.png")
    session = folder / "shot.kinochrome.json"
    session.write_text(json.dumps({"kinochrome_session": 1, "shot": {"path": "shot.####.exr"},
                                   "keyframes": [{"frame": 1001, "reference": "ref.1001.png"}]}))
    before = digest(folder)
    code, _, err = colorize(capsys, "--session", str(session), "-o", str(folder / "ref.####.png"), "--overwrite")
    assert code == 1 and "would replace the colour reference of keyframe 1001" in error_line(err)
    code, _, err = colorize(capsys, "--session", str(session), "-o", str(folder / "shot.kinochrome.json"),
                            "--frames", "1001", "--overwrite")
    assert code == 1 and "would replace the session file" in error_line(err)
    assert digest(folder) == before


# ------------------------------------------------------------------------------------ 3: one writer
def test_second_writer_is_refused_and_its_temp_file_kept(capsys, tmp_path, shot):
    """Case 3: a live run's lock (this very process) refuses a second --resume or --overwrite run on an
    overlapping range, and the first run's temp file is not deleted as stale."""
    pattern, _ = shot
    out = tmp_path / "out"
    out.mkdir()
    from kinochrome.core.outputs import OutputLock

    lock = OutputLock(str(out / "o.####.exr"), 1001, 1004)
    lock.acquire()
    in_flight = out / ".o.1002.kino.tmpabcd.exr"
    in_flight.write_bytes(b"half a frame")
    try:
        for mode in ("--resume", "--overwrite"):
            code, _, err = colorize(capsys, pattern, "-o", str(out / "o.####.exr"), "--frames", "1002-1003", mode)
            assert code == 1
            line = error_line(err)
            assert "frames 1002-1003 are being written by another run" in line and f"PID {os.getpid()}" in line
            assert in_flight.exists()
        # a disjoint range (another farm chunk) is not blocked
        lock2 = OutputLock(str(out / "o.####.exr"), 1005, 1010)
        lock2.acquire()
        lock2.release()
    finally:
        lock.release()
    assert not list(out.glob("*.kino.lock"))


def test_stale_lock_is_taken_over(capsys, tmp_path, shot):
    """Case 3: the lock of a process that is gone does not block the next run, and the run removes its own."""
    pattern, _ = shot
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True).stdout.strip()
    import socket

    (out / ".o.####.exr.1001-1004.kino.lock").write_text(json.dumps({"pid": int(dead), "host": socket.gethostname()}))
    code, _, err = colorize(capsys, pattern, "-o", str(out / "o.####.exr"), "--method", "model")
    assert code == 0, err
    assert sorted(os.listdir(out)) == [f"o.{f}.exr" for f in range(1001, 1005)]


# ------------------------------------------------------------------------------------ 4: resume over hardlinks
def test_resume_redoes_outputs_that_are_links_to_inputs(capsys, tmp_path, shot):
    """Case 4: output frames hardlinked to the inputs hold the uncoloured picture: --resume writes them and the
    inputs keep their bytes."""
    pattern, _ = shot
    folder = Path(pattern).parent
    out = tmp_path / "out"
    out.mkdir()
    for f in range(1001, 1005):
        os.link(folder / f"shot.{f}.exr", out / f"o.{f}.exr")
    before = digest(folder)
    code, out_text, err = colorize(capsys, pattern, "-o", str(out / "o.####.exr"), "--resume", "--json")
    assert code == 0, err
    finished = json.loads(out_text.splitlines()[-1])
    assert finished["event"] == "finished" and finished["summary"]["written"] == 4, finished
    assert digest(folder) == before
    for f in range(1001, 1005):
        assert not os.path.samefile(out / f"o.{f}.exr", folder / f"shot.{f}.exr")
        rgb = frameio.read_frame(str(out / f"o.{f}.exr")).rgb
        assert np.abs(rgb[..., 0] - rgb[..., 2]).max() > 0.001  # coloured, not the grey input


# ------------------------------------------------------------------------------------ 5: non-picture channels
def _exr(path: Path, channels: tuple[str, ...], size=(32, 24)) -> None:
    spec = oiio.ImageSpec(size[0], size[1], len(channels), "half")
    spec.channelnames = channels
    spec.alpha_channel = channels.index("A") if "A" in channels else -1
    write_image(path, np.random.default_rng(0).random((size[1], size[0], len(channels)), np.float32), spec)


@pytest.mark.parametrize("channels", [("Z",), ("A",), ("depth.Z",), ("N.X", "N.Y", "N.Z")])
def test_exr_without_a_picture_is_refused(capsys, tmp_path, channels):
    """Case 5: a depth map, a lone alpha or a normals layer is not a grey picture: refused with the layers."""
    _exr(tmp_path / "d.1001.exr", channels)
    code, _, err = colorize(capsys, str(tmp_path / "d.1001.exr"), "-o", str(tmp_path / "o.1001.exr"))
    assert code == 1
    assert "d.1001.exr: no picture (no R,G,B or Y channels; pick a layer with --layer); layers present:" \
        in error_line(err)
    assert not (tmp_path / "o.1001.exr").exists()


def test_multipart_exr_reads_its_rgba_part(tmp_path):
    """Case 5: a multi-part EXR whose first part is 'depth' is read from its 'rgba' part."""
    path = str(tmp_path / "m.1001.exr")
    depth = oiio.ImageSpec(32, 24, 1, "float")
    depth.channelnames = ("Z",)
    depth.attribute("name", "depth")
    rgba = oiio.ImageSpec(32, 24, 4, "half")
    rgba.channelnames = ("R", "G", "B", "A")
    rgba.attribute("name", "rgba")
    out = oiio.ImageOutput.create(path)
    assert out.open(path, (depth, rgba))
    out.write_image(np.full((24, 32, 1), 50.0, np.float32))
    out.open(path, rgba, "AppendSubimage")
    out.write_image(np.full((24, 32, 4), 0.25, np.float32))
    out.close()
    frame = frameio.read_frame(path)
    assert frame.subimage == 1 and frame.channels == ("R", "G", "B", "A")
    assert np.allclose(frame.rgb, 0.25)


# ------------------------------------------------------------------------------------ 6, 13: broken weights
def _broken_model(tmp_path: Path, how: str) -> Path:
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    src = ROOT / "core" / "models" / "kino-small.safetensors"
    path = tmp_path / f"{how}.safetensors"
    if how == "nan":
        state = load_file(str(src))
        name = next(k for k, v in state.items() if v.is_floating_point() and v.numel() > 100)
        state[name].view(-1)[::7] = float("nan")
        with safe_open(str(src), framework="pt") as fh:
            meta = fh.metadata()
        save_file(state, str(path), metadata=meta)
    elif how == "nested":
        header = ("[" * 100_000 + "]" * 100_000).encode()
        path.write_bytes(len(header).to_bytes(8, "little") + header)
    else:
        path.write_text("root:x:0:0:root:/root:/bin/bash\n")
    return path


def test_nan_weights_are_refused_at_load(capsys, tmp_path, shot):
    """Case 6: NaN weights passed the container checks and coloured nothing; now named at load."""
    pattern, _ = shot
    model = _broken_model(tmp_path, "nan")
    code, _, err = colorize(capsys, pattern, "-o", str(tmp_path / "o.####.exr"), "--model", str(model))
    assert code == 1
    assert f"{model}: damaged weights:" in error_line(err) and "NaN or infinite values" in err
    assert not list(tmp_path.glob("o.*"))


@pytest.mark.parametrize("how", ["nan", "passwd", "nested"])
def test_farm_planning_checks_the_model(capsys, tmp_path, shot, how):
    """Case 13 (and 12 for the nested header): farm openjd loads the model as colorize would, so a bad one is
    refused once at submission instead of by every task."""
    from kinochrome.plugin.cli import main as plugin_main

    pattern, _ = shot
    model = _broken_model(tmp_path, how)
    code = plugin_main(["farm", "openjd", pattern, "--chunk", "2", "--model", str(model),
                        "-o", str(tmp_path / "job")])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert str(model) in error_line(err)
    assert not (tmp_path / "job").exists()


def test_nested_safetensors_header_is_listed_as_broken(capsys, tmp_path, monkeypatch):
    """Case 12: a header nested 100,000 deep was a RecursionError in `kinochrome models`."""
    _broken_model(tmp_path, "nested")
    monkeypatch.setenv("KINOCHROME_MODELS", str(tmp_path))
    code, out, _ = run_cli(capsys, "models")
    assert code == 0
    assert "nested" in out and "BROKEN" in out and "not a flat tensor table" in out


# ------------------------------------------------------------------------------------ 7, 8: silent mistakes
@pytest.mark.parametrize("depth", ["uint8", "uint10", "uint16"])
def test_integer_bit_depth_for_exr_is_refused(capsys, tmp_path, shot, depth):
    """Case 7: EXR has no integer depths; the writer clipped at 1.0 and wrote half. Refused before writing."""
    pattern, _ = shot
    code, _, err = colorize(capsys, pattern, "-o", str(tmp_path / "o.####.exr"), "--out-bit-depth", depth)
    assert code == 1
    assert f"--out-bit-depth {depth}: .exr output holds only half, float" in error_line(err)
    assert not list(tmp_path.glob("o.*"))


def test_missing_hold_says_what_it_does(capsys, tmp_path):
    """Case 8: frames before the first on disk cannot hold a previous frame; the warning said they did."""
    pattern = write_sequence(tmp_path / "in", "exr", n=3)
    code, out, _ = colorize(capsys, pattern, "-o", str(tmp_path / "o.####.exr"), "--frames", "990-1003",
                            "--missing", "hold", "--json")
    assert code == 0
    events = [json.loads(line) for line in out.splitlines()]
    warnings = [e["message"] for e in events if e["event"] == "warning"]
    assert any("missing frames 990-1000 come before the first frame on disk (1001): nothing to hold, not written"
               in w for w in warnings), warnings
    assert not any("hold the previous frame" in w for w in warnings)
    assert sorted(os.listdir(tmp_path)) == ["in", "o.1001.exr", "o.1002.exr", "o.1003.exr"]


# ------------------------------------------------------------------------------------ 9: decompression bombs
class _CountingInput:
    """Wraps an ImageInput to count pixel reads (a bomb must be refused from its header)."""

    reads = 0

    def __init__(self, inp):
        self._inp = inp

    def read_image(self, *args):
        _CountingInput.reads += 1
        return self._inp.read_image(*args)

    def __getattr__(self, name):
        return getattr(self._inp, name)


def test_oversized_frame_mid_shot_is_refused_from_its_header(capsys, tmp_path, monkeypatch):
    """Case 9: a frame of another size mid-shot was decoded whole first (a 2.4 MB 24000x16000 EXR reached 9.3 GB);
    here a 400x300 frame in a 64x48 shot is refused as a resolution change without reading its pixels."""
    pattern = write_sequence(tmp_path / "in", "exr", n=4)
    big = tmp_path / "big"
    write_sequence(big, "exr", n=1, size=(400, 300), first=1003)
    os.replace(big / "shot.1003.exr", tmp_path / "in" / "shot.1003.exr")
    opened = frameio._open_input

    def counting(path):
        inp = opened(path)
        return _CountingInput(inp) if path.endswith("1003.exr") else inp

    monkeypatch.setattr(frameio, "_open_input", counting)
    _CountingInput.reads = 0
    code, _, err = colorize(capsys, pattern, "-o", str(tmp_path / "o.####.exr"))
    assert code == 1
    assert "shot.1003.exr: 400x300 differs from the shot's 64x48 (resolution changes mid-shot)" in error_line(err)
    assert _CountingInput.reads == 0


def test_reference_over_the_pixel_limit_is_refused(capsys, tmp_path, shot, monkeypatch):
    """Case 9: a reference is checked against the pixel limit (here lowered to 100,000) before decoding, and the
    message names the limit and how to raise it."""
    pattern, _ = shot
    big = write_sequence(tmp_path / "big", "png", n=1, size=(480, 360), gray=False, name="paint")
    monkeypatch.setenv("KINOCHROME_MAX_PIXELS", "100000")
    code, _, err = colorize(capsys, pattern, "--ref", f"1001={big.replace('####', '1001')}",
                            "-o", str(tmp_path / "o.####.exr"))
    assert code == 1
    line = error_line(err)
    assert "paint.1001.png: 480x360 is 0 megapixels, over the limit of 0.1 (set KINOCHROME_MAX_PIXELS to raise it)" \
        in line
    assert not list(tmp_path.glob("o.*"))


# ------------------------------------------------------------------------------------ 10: absurd frame ranges
@pytest.mark.parametrize("frames", ["1001-1000000000000", "1001-100000000"])
def test_huge_frame_range_is_refused_at_once(capsys, tmp_path, shot, frames):
    """Case 10: a mistyped range was built frame by frame (a hang, or a MemoryError with --missing skip)."""
    import time

    pattern, _ = shot
    started = time.monotonic()
    for argv in (("colorize", pattern, "-o", str(tmp_path / "o.####.exr"), "--frames", frames, "--missing", "skip"),
                 ("info", pattern, "--frames", frames)):
        code, _, err = run_cli(capsys, *argv)
        assert code == 1
        first, last = frames.split("-")
        assert (f"frames {frames} are {int(last) - int(first) + 1} frames, over the limit of 1000000 "
                "(set KINOCHROME_MAX_FRAMES to raise it); on disk: 1001-1004") in error_line(err)
    assert time.monotonic() - started < 10


def test_absurd_frame_numbers_are_usage_errors(capsys, tmp_path, shot):
    pattern, _ = shot
    code, _, err = run_cli(capsys, "info", pattern, "--frames", "1-" + "9" * 5000)
    assert code == 2 and "--frames: expected A-B (frame numbers of up to 15 digits)" in error_line(err)
    assert len(error_line(err)) < 200


# ------------------------------------------------------------------------------------ 11: session values
def _session(folder: Path, text: str) -> Path:
    path = folder / "s.kinochrome.json"
    path.write_text(text)
    return path


def _point_session(radius: str) -> str:
    return ('{"kinochrome_session": 1, "shot": {"path": "exr/shot.####.exr"}, "keyframes": [{"frame": 1001, '
            '"points": [{"x": 10, "y": 10, "colour": [1, 0, 0], "radius": ' + radius + '}]}]}')


@pytest.mark.parametrize("radius", ["NaN", "Infinity", "-Infinity", "1e300", "1" + "0" * 400])
def test_session_radius_must_be_finite_and_bounded(capsys, tmp_path, shot, radius):
    """Case 11: NaN was a ValueError, Infinity an OverflowError and 1e300 a cv2.error, at colorize and on every
    farm task; now the session is refused when loaded, naming the field."""
    from kinochrome.plugin.cli import main as plugin_main

    session = _session(tmp_path, _point_session(radius))
    for argv in (["colorize", "--session", str(session), "-o", str(tmp_path / "o.####.exr"), "--quiet"],
                 ["farm", "openjd", str(session), "--chunk", "2", "-o", str(tmp_path / "job")]):
        code = plugin_main(argv)
        err = capsys.readouterr().err
        assert code == 1 and "Traceback" not in err
        assert "s.kinochrome.json: keyframes[0].points[0].radius: expected a" in error_line(err)
    assert not (tmp_path / "job").exists() and not list(tmp_path.glob("o.*"))


@pytest.mark.parametrize("case", ["version", "deep", "zero", "fifo", "folder", "big"])
def test_session_files_that_are_not_sessions(capsys, tmp_path, case):
    """Case 11: a 5,000-digit version, JSON nested 200,000 deep, a link to /dev/zero (read until memory ran out),
    a FIFO (blocked forever), a folder and a 20 MB file are each one line, at once."""
    path = tmp_path / "s.kinochrome.json"
    if case == "version":
        path.write_text('{"kinochrome_session": ' + "9" * 5000 + "}")
    elif case == "deep":
        path.write_text("[" * 200_000 + "]" * 200_000)
    elif case == "zero":
        path.symlink_to("/dev/zero")
    elif case == "fifo":
        os.mkfifo(path)
    elif case == "folder":
        path.mkdir()
    else:
        path.write_text('{"kinochrome_session": 1, "_notes": "' + "x" * 20_000_000 + '"}')
    for argv in (("info", str(path)), ("colorize", "--session", str(path))):
        code, _, err = run_cli(capsys, *argv)
        assert code == 1
        line = error_line(err)
        assert "s.kinochrome.json" in line and len(line) < 300


# ------------------------------------------------------------------------------------ 12: more tracebacks
def test_reference_symlink_loop_is_named(capsys, tmp_path, shot):
    pattern, _ = shot
    loop = tmp_path / "loop.png"
    loop.symlink_to(loop)
    code, _, err = colorize(capsys, pattern, "--ref", f"1001={loop}", "-o", str(tmp_path / "o.####.exr"))
    assert code == 1 and "loop.png" in error_line(err)


@pytest.mark.parametrize("threads", ["100000", "0", "-1"])
def test_absurd_thread_counts_are_usage_errors(capsys, tmp_path, shot, threads):
    """Case 12: --threads 100000 was a RuntimeError from OpenImageIO, then a segfault."""
    pattern, _ = shot
    code, _, err = colorize(capsys, pattern, "-o", str(tmp_path / "o.####.exr"), "--threads", threads)
    assert code == 2 and "--threads: expected 1..1024 threads, got" in error_line(err)


# ------------------------------------------------------------------------------------ 15: folders, SIGTERM
def test_folder_named_like_a_frame_is_not_a_frame(capsys, tmp_path):
    """Case 15: `info` counted the folder as on disk while colorize called it 'file not found'."""
    pattern = write_sequence(tmp_path / "in", "exr", n=4, missing=(1003,))
    (tmp_path / "in" / "shot.1003.exr").mkdir()
    code, out, _ = run_cli(capsys, "info", pattern, "--json")
    info = json.loads(out)
    assert code == 0 and info["missing"] == [1003] and info["count"] == 3
    code, _, err = colorize(capsys, pattern, "-o", str(tmp_path / "o.####.exr"))
    assert code == 1 and "missing frames 1003 (use --missing hold or --missing skip to go on)" in error_line(err)


def test_sigterm_is_handled_like_ctrl_c(tmp_path):
    """Case 15: SIGTERM finishes (or abandons) the frame in flight, leaves no temp file and exits 143."""
    pattern = write_sequence(tmp_path / "in", "exr", n=40, size=(96, 64))
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "kinochrome.core.cli", "colorize", pattern, "-o",
                             str(out / "o.####.exr"), "--json", "--working-size", "64"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if json.loads(line).get("event") == "frame":
            proc.send_signal(signal.SIGTERM)
            break
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr
    assert "Traceback" not in stderr
    assert '"event": "cancelled"' in stdout
    names = os.listdir(out)
    assert names and len(names) < 40
    assert not [n for n in names if ".kino." in n]
    for name in names:
        frameio.read_frame(str(out / name))  # every frame under a final name is whole


def test_weights_that_overflow_to_nan_are_caught_on_the_first_frame(capsys, tmp_path, shot):
    """Case 6, second half: finite weights whose products overflow (every conv scaled by 1e20) pass the load
    check but colour nothing; the network's first output is checked, so the run stops before writing."""
    import torch

    from kinochrome.core.model import build_tiny_model
    from kinochrome.core.model.weights import load_network, save_model

    net, card = load_network(build_tiny_model(tmp_path / "m"))
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith(".weight") and p.dim() == 4:
                p.mul_(1e20)
    model = save_model(net, tmp_path / "overflow.safetensors", card)
    pattern, _ = shot
    code, _, err = colorize(capsys, pattern, "-o", str(tmp_path / "o.####.exr"), "--model", str(model))
    assert code == 1 and "Traceback" not in err
    assert "not finite" in error_line(err) and "frame" in error_line(err)
    assert not list(tmp_path.glob("o.*"))
