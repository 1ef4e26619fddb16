"""Issue 16: hostile and careless inputs. Each test builds its hostile file itself and checks the run ends with a
one-line error naming the file, frame or value (and the limit), a non-zero exit, no traceback and nothing harmed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import OpenImageIO as oiio
import pytest
from conftest import write_sequence

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
    from conftest import write_sequence
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

    class ShortWrite:
        has_error = True

        def open(self, *args):
            return True

        def write_image(self, pixels):
            return True

        def geterror(self):
            return "Write error at position 16569, could only write 3911/8192 bytes"

        def close(self):
            return True

    monkeypatch.setattr(frameio.oiio.ImageOutput, "create", staticmethod(lambda path: ShortWrite()))
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


@pytest.mark.parametrize("fmt", ["png", "exr", "jpg"])
def test_real_full_disk(tmp_path, fmt):
    """Cases 1 and 14 on a real 1 MB tmpfs (root only): the run fails at the frame that does not fit, says
    'disk full writing FRAME (N bytes free)' once, and every frame under a final name reads back whole."""
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
