"""Shared test fixtures: tiny grayscale shots written on the fly with OpenImageIO.

Use ``make_sequence`` (a fixture whose value is :func:`write_sequence`) in any test::

    def test_something(tmp_path, make_sequence):
        pattern = make_sequence(tmp_path, fmt="dpx", n=3, bits=10)   # -> '/tmp/.../shot.####.dpx'
        shot = open_shot(pattern)

Plain helpers (import them with ``from conftest import ...``): :func:`write_sequence` (the same as the
fixture), :func:`write_image`, :func:`write_layered_exr`, :func:`write_multipart_exr`,
:func:`gradient_frame`, :func:`real_frames`, :func:`timecode_for`.

Everything is deterministic and small (64x48 by default) so that the suite stays fast on 2 cores.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

#: Where the "real" content comes from (a clip from the shared training data, converted to gray).
SHARED_CLIP = Path(__file__).resolve().parents[2] / "shared" / "data" / "train" / "clips" / "opencv_vtest_b"

#: fmt -> (extension, default bits)
FORMATS = {"exr": ("exr", 16), "dpx": ("dpx", 10), "tif": ("tif", 16), "tiff": ("tiff", 16),
           "png": ("png", 8), "jpg": ("jpg", 8), "jpeg": ("jpeg", 8)}

#: Metadata every generated frame carries, so round-trip tests can check it.
BASE_TIMECODE = (1, 0, 0, 0)  # 01:00:00:00 for the first frame, +1 frame per frame
FPS = (24, 1)


def timecode_for(index: int, fps: int = 24) -> tuple[int, int]:
    """SMPTE timecode (BCD word, user bits) of frame ``index`` (0 = first) starting at 01:00:00:00."""
    total = ((BASE_TIMECODE[0] * 60 + BASE_TIMECODE[1]) * 60 + BASE_TIMECODE[2]) * fps + BASE_TIMECODE[3] + index
    ff, total = total % fps, total // fps
    ss, total = total % 60, total // 60
    mm, hh = total % 60, total // 60

    def bcd(v: int) -> int:
        return ((v // 10) << 4) | (v % 10)

    return (bcd(hh) << 24) | (bcd(mm) << 16) | (bcd(ss) << 8) | bcd(ff), 0


def gradient_frame(size: tuple[int, int], index: int = 0) -> np.ndarray:
    """Deterministic gray test image ``(H, W)`` float32 in [0, 1]: a horizontal ramp with a vertical
    wave, shifted by ``index`` so consecutive frames differ; exact 0 and 1 appear in every frame."""
    width, height = size
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    image = 0.8 * x + 0.2 * (0.5 + 0.5 * np.sin(6.0 * y + 0.5 * index))
    image = np.clip(image, 0.0, 1.0).astype(np.float32)
    image[0, 0], image[-1, -1] = 0.0, 1.0
    return image


def real_frames(n: int, size: tuple[int, int]) -> list[np.ndarray]:
    """``n`` gray frames ``(H, W)`` float32 in [0, 1] from the shared clip, resized; skips if absent."""
    import cv2

    files = sorted(SHARED_CLIP.glob("*.jpg"))[:n] if SHARED_CLIP.is_dir() else []
    if len(files) < n:
        pytest.skip(f"needs {n} frames in {SHARED_CLIP} (../shared absent)")
    frames = []
    for f in files:
        gray = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        frames.append(gray.astype(np.float32) / 255.0)
    return frames


def _frame_spec(fmt: str, size: tuple[int, int], nchannels: int, bits: int, index: int,
                alpha: bool, colourspace: str | None) -> oiio.ImageSpec:
    width, height = size
    if fmt == "exr" or bits >= 32:
        base = "float" if bits >= 32 else "half"
    else:
        base = "uint8" if bits <= 8 else "uint16"
    spec = oiio.ImageSpec(width, height, nchannels, base)
    names = ["Y"] if nchannels - alpha == 1 else ["R", "G", "B"]
    spec.channelnames = tuple(names + (["A"] if alpha else []))
    spec.alpha_channel = len(names) if alpha else -1
    if base.startswith("uint"):
        spec.attribute("oiio:BitsPerSample", bits)
    spec.attribute("smpte:TimeCode", oiio.TypeDesc("timecode"), timecode_for(index))
    spec.attribute("FramesPerSecond", oiio.TypeDesc("rational"), FPS)
    spec.attribute("PixelAspectRatio", 1.0)
    spec.attribute("Artist", "kinochrome tests")
    spec.attribute("ImageDescription", f"test frame {index}")
    if fmt == "exr":
        spec.attribute("compression", "piz")
    if fmt == "dpx":
        # DPX keeps fps and these header strings in its own fields (no Artist field).
        spec.attribute("dpx:FrameRate", float(FPS[0]) / FPS[1])
        spec.attribute("dpx:InputDevice", "kinochrome test scanner")
        spec.attribute("Copyright", "kinochrome tests")
    if colourspace:
        spec.attribute("oiio:ColorSpace", colourspace)
    return spec


class FailingImageOutput:
    """Stands in for an ``oiio.ImageOutput`` whose write fails as OpenImageIO reports it: ``write_image`` returns
    ``write_ok``, ``has_error`` says whether an error is queued, ``geterror()`` gives ``error``; open and close
    succeed. Install with ``monkeypatch.setattr(frameio.oiio.ImageOutput, "create", staticmethod(lambda p: fake))``.
    """

    def __init__(self, error: str, write_ok: bool, has_error: bool):
        self.error, self.write_ok, self.has_error = error, write_ok, has_error

    def open(self, *args) -> bool:
        return True

    def write_image(self, pixels) -> bool:
        return self.write_ok

    def geterror(self) -> str:
        return self.error

    def close(self) -> bool:
        return True


def write_image(path: str | os.PathLike, pixels: np.ndarray, spec: oiio.ImageSpec) -> None:
    """Write ``pixels`` ``(H, W, C)`` float32 with ``spec`` via OpenImageIO; assert it worked."""
    out = oiio.ImageOutput.create(str(path))
    assert out is not None, oiio.geterror()
    assert out.open(str(path), spec), out.geterror()
    assert out.write_image(np.ascontiguousarray(pixels, dtype=np.float32)), out.geterror()
    assert out.close()


def write_layered_exr(path: str | os.PathLike, channels: list[str], size: tuple[int, int] = (64, 48),
                      pixel_type: str = "half") -> None:
    """A single-part EXR with the given channel names (e.g. ``["diffuse.R", ..., "spec.Y"]``).

    Channel ``i`` is filled with the constant ``i / 10`` so tests can tell layers apart.
    """
    width, height = size
    spec = oiio.ImageSpec(width, height, len(channels), pixel_type)
    spec.channelnames = tuple(channels)
    pixels = np.stack([np.full((height, width), i / 10, np.float32) for i in range(len(channels))], -1)
    write_image(path, pixels, spec)


def write_multipart_exr(path: str | os.PathLike, size: tuple[int, int] = (64, 48)) -> None:
    """A two-part EXR: part ``beauty`` (half R,G,B = 0.25) and part ``albedo`` (float R,G,B,A = 0.75)."""
    width, height = size
    beauty = oiio.ImageSpec(width, height, 3, "half")
    beauty.attribute("name", "beauty")
    albedo = oiio.ImageSpec(width, height, 4, "float")
    albedo.channelnames = ("R", "G", "B", "A")
    albedo.alpha_channel = 3
    albedo.attribute("name", "albedo")
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), [beauty, albedo]), out.geterror()
    assert out.write_image(np.full((height, width, 3), 0.25, np.float32))
    assert out.open(str(path), albedo, "AppendSubimage")
    assert out.write_image(np.full((height, width, 4), 0.75, np.float32))
    assert out.close()


def write_sequence(folder: str | os.PathLike, fmt: str = "exr", n: int = 5, first: int = 1001,
                   size: tuple[int, int] = (64, 48), bits: int | None = None, gray: bool = True,
                   content: str = "gradient", *, name: str = "shot", channels: int = 3, alpha: bool = False,
                   missing: tuple[int, ...] = (), padding: int = 4, colourspace: str | None = None) -> str:
    """Write a small test shot and return its pattern, e.g. ``'/tmp/x/shot.####.exr'`` (``#`` per digit).

    * ``fmt``: ``exr`` | ``dpx`` | ``tif``/``tiff`` | ``png`` | ``jpg``/``jpeg``.
    * ``n`` frames numbered ``first`` .. ``first + n - 1``; frames listed in ``missing`` are not written.
    * ``size``: (width, height).
    * ``bits``: bits per sample -- EXR: 16 = half (default), 32 = float; DPX: 8/10 (default)/12/16;
      TIFF: 8/16 (default)/32 (float); PNG: 8 (default)/16; JPEG: 8.
    * ``gray``: True = grayscale (R=G=B, or one channel with ``channels=1``); False = a tinted colour
      version of the same content (for colour references).
    * ``content``: ``"gradient"`` (synthetic ramp, see :func:`gradient_frame`) or ``"real"`` (frames of
      ../shared/data/train/clips/opencv_vtest_b converted to gray; the test is skipped if absent).
    * ``channels``: 3 (RGB) or 1 (a single ``Y`` channel); ``alpha`` adds an ``A`` channel (a ramp).
    * ``colourspace``: written as ``oiio:ColorSpace`` (for DPX ``KodakLog`` writes dpx:Transfer
      Logarithmic, ``lin_rec709`` Linear); default: DPX ``KodakLog``, others unset.

    Pixel values: the content in [0, 1] as the file's encoding (integers quantised by OIIO).
    Metadata on every frame: timecode 01:00:00:00 + index (:func:`timecode_for`), 24 fps
    (``FramesPerSecond``; DPX: ``dpx:FrameRate``), pixel aspect 1.0, Artist and ImageDescription strings
    (DPX: ImageDescription, Copyright, dpx:InputDevice), EXR compression ``piz``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt {fmt!r}: expected one of {', '.join(FORMATS)}")
    ext, default_bits = FORMATS[fmt]
    bits = default_bits if bits is None else bits
    fmt = {"tiff": "tif", "jpeg": "jpg"}.get(fmt, fmt)
    if colourspace is None and fmt == "dpx":
        colourspace = "KodakLog"
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    images = real_frames(n, size) if content == "real" else [gradient_frame(size, i) for i in range(n)]
    for index, image in enumerate(images):
        frame = first + index
        if frame in missing:
            continue
        if channels == 1:
            planes = [image]
        elif gray:
            planes = [image, image, image]
        else:
            planes = [image, image * 0.8 + 0.1 * (1 - image), image * 0.5]
        if alpha:
            planes.append(np.linspace(0.0, 1.0, size[0], dtype=np.float32)[None, :].repeat(size[1], 0))
        pixels = np.stack(planes, axis=-1)
        spec = _frame_spec(fmt, size, len(planes), bits, index, alpha, colourspace)
        write_image(folder / f"{name}.{frame:0{padding}d}.{ext}", pixels, spec)
    return str(folder / f"{name}.{'#' * padding}.{ext}")


@pytest.fixture
def make_sequence():
    """The :func:`write_sequence` function: ``make_sequence(tmp_path, fmt="dpx", n=3) -> pattern``."""
    return write_sequence
