"""Frame reading for viewing: a small thread pool and an LRU cache of display-ready images.

Frames are read, put through the display transform (``core.colour.to_display_srgb``) and turned into 8-bit
``QImage``s in pool threads; the UI thread only receives finished images. Results come back through a queued
signal, so the cache is only touched on the UI thread.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot
from PySide6.QtGui import QImage

DEFAULT_CACHE_BYTES = 768 * 1024 * 1024


@dataclass
class FrameInfo:
    """What the viewer shows about a frame besides its pixels."""

    width: int
    height: int
    colourspace: str = ""
    timecode: str | None = None
    fps: float | None = None


@dataclass
class DisplayImage:
    """A display-ready frame: ``image`` is 8-bit sRGB; ``pixels`` the same as a (H, W, 3) uint8 array."""

    image: QImage
    info: FrameInfo
    pixels: np.ndarray | None = field(default=None, repr=False)

    @property
    def nbytes(self) -> int:
        return self.image.sizeInBytes() + (self.pixels.nbytes if self.pixels is not None else 0)


def decode_timecode(value: Any) -> str | None:
    """``smpte:TimeCode`` as OpenImageIO returns it (BCD ints, or a string) -> ``HH:MM:SS:FF``."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    try:
        word = int(value[0] if isinstance(value, (tuple, list)) else value)
    except (TypeError, ValueError, IndexError):
        return None

    def bcd(byte: int) -> int:
        return (byte >> 4) * 10 + (byte & 0x0F)

    hh, mm, ss, ff = (bcd((word >> 24) & 0x3F), bcd((word >> 16) & 0x7F), bcd((word >> 8) & 0x7F),
                      bcd(word & 0x3F))
    sep = ";" if word & 0x40 else ":"
    return f"{hh:02d}:{mm:02d}:{ss:02d}{sep}{ff:02d}"


def frame_fps(spec: Any) -> float | None:
    try:
        value = spec.getattribute("FramesPerSecond")
    except Exception:   # noqa: BLE001 - OIIO raises various types for absent/odd attributes
        return None
    if value is None:
        return None
    if isinstance(value, (tuple, list)) and len(value) == 2 and value[1]:
        return float(value[0]) / float(value[1])
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def frame_timecode(spec: Any) -> str | None:
    try:
        return decode_timecode(spec.getattribute("smpte:TimeCode"))
    except Exception:   # noqa: BLE001
        return None


def timecode_from_frame(frame: int, fps: float) -> str:
    """A timecode counted from frame 0 at ``fps`` (used when the file carries none)."""
    base = max(1, round(fps))
    ff = frame % base
    s = frame // base
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}:{ff:02d}"


def to_qimage(display: np.ndarray) -> tuple[QImage, np.ndarray]:
    """Display sRGB floats (H, W, 3) in 0..1 -> (8-bit QImage owning its pixels, the uint8 array)."""
    u8 = np.ascontiguousarray((np.clip(display[..., :3], 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8))
    h, w = u8.shape[:2]
    image = QImage(u8.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    return image, u8


def guess_colourspace(frame: Any) -> str:
    """The colourspace ``core.colour`` guesses for a :class:`~kinochrome.core.frameio.Frame`."""
    from kinochrome.core import colour

    return colour.guess_colourspace(frame)


def load_display(path: str, colourspace: str = "auto", keep_pixels: bool = False) -> DisplayImage:
    """Read a frame or image file and put it through the display transform (runs in a pool thread)."""
    from kinochrome.core.colour import to_display_srgb
    from kinochrome.core.frameio import read_frame

    frame = read_frame(path)
    cs = colourspace if colourspace and colourspace != "auto" else guess_colourspace(frame)
    rgb = frame.rgb
    if rgb.ndim == 2:
        rgb = rgb[..., None]
    if rgb.shape[2] == 1:
        rgb = np.repeat(rgb, 3, axis=2)
    image, u8 = to_qimage(to_display_srgb(rgb, cs))
    info = FrameInfo(width=image.width(), height=image.height(), colourspace=cs,
                     timecode=frame_timecode(frame.spec), fps=frame_fps(frame.spec))
    return DisplayImage(image=image, info=info, pixels=u8 if keep_pixels else None)


def load_reference_display(path: str, colourspace: str = "auto", keep_pixels: bool = True) -> DisplayImage:
    """:func:`load_display` for a colour reference, refused (ColourReferenceError, the run's message) when it
    is grayscale: caught when the artist picks it, not at the next preview or run."""
    from kinochrome.core.errors import ColourReferenceError
    from kinochrome.core.lab import srgb_to_lab
    from kinochrome.core.references import is_grayscale

    shown = load_display(path, colourspace, keep_pixels=True)
    assert shown.pixels is not None
    if is_grayscale(srgb_to_lab(shown.pixels[::2, ::2].astype(np.float32) / 255.0)):
        raise ColourReferenceError(f"{os.path.basename(path)}: reference is grayscale; it has no colour to give")
    return shown


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], None]):
        super().__init__()
        self.fn = fn
        self.setAutoDelete(True)

    def run(self) -> None:
        self.fn()


def submit(pool: QThreadPool, fn: Callable[[], None]) -> None:
    """Run ``fn`` in ``pool`` (no Qt objects created per task besides the runnable)."""
    pool.start(_Task(fn))


class FrameLoader(QObject):
    """Loads display images in a thread pool and keeps an LRU cache of them.

    Keys are ``(kind, key)``: kind ``before`` (shot frame), ``after`` (run output), ``reference``. ``loaded``
    and ``failed`` fire on the UI thread.
    """

    loaded = Signal(str, object, object)     # kind, key, DisplayImage
    failed = Signal(str, object, str)        # kind, key, message
    _finished = Signal(int, str, object, object, object)   # generation, kind, key, path, DisplayImage | str

    def __init__(self, parent: QObject | None = None, threads: int = 2,
                 budget_bytes: int = DEFAULT_CACHE_BYTES):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self.budget = budget_bytes
        self._cache: OrderedDict[tuple[str, Any], tuple[str, DisplayImage]] = OrderedDict()
        self._bytes = 0
        self._pending: set[tuple[str, Any, str]] = set()
        self._failed: dict[tuple[str, Any], str] = {}        # (kind, key) -> path that failed to load
        self._generation = 0
        self._finished.connect(self._on_finished)

    def clear(self) -> None:
        """Forget everything (new shot); results of reads in flight are dropped."""
        self._generation += 1
        self._cache.clear()
        self._pending.clear()
        self._failed.clear()
        self._bytes = 0

    def cached(self, kind: str, key: Any, path: str | None = None) -> DisplayImage | None:
        hit = self._cache.get((kind, key))
        if hit is None or (path is not None and hit[0] != path):
            return None
        self._cache.move_to_end((kind, key))
        return hit[1]

    def invalidate(self, kind: str, key: Any) -> None:
        """Forget the cached image and any failure for ``(kind, key)``: the next request reads again."""
        self._failed.pop((kind, key), None)
        hit = self._cache.pop((kind, key), None)
        if hit is not None:
            self._bytes -= hit[1].nbytes

    def is_pending(self, kind: str, key: Any) -> bool:
        return any(p[0] == kind and p[1] == key for p in self._pending)

    def request(self, kind: str, key: Any, path: str, colourspace: str = "auto",
                keep_pixels: bool = False) -> DisplayImage | None:
        """The cached image, or None after queueing a read (``loaded``/``failed`` follow). A read that failed
        is not retried until :meth:`invalidate`."""
        hit = self.cached(kind, key, path)
        if hit is not None:
            return hit
        token = (kind, key, path)
        if token in self._pending or self._failed.get((kind, key)) == path:
            return None
        self._pending.add(token)
        generation = self._generation

        def work() -> None:
            try:
                load = load_reference_display if kind == "reference" else load_display
                result: DisplayImage | str = load(path, colourspace, keep_pixels)
            except Exception as exc:   # noqa: BLE001 - every failure becomes a message in the UI
                result = str(exc) or exc.__class__.__name__
            self._finished.emit(generation, kind, key, path, result)

        submit(self.pool, work)
        return None

    @Slot(int, str, object, object, object)
    def _on_finished(self, generation: int, kind: str, key: Any, path: str, result: Any) -> None:
        if generation != self._generation:
            return
        self._pending.discard((kind, key, path))
        if isinstance(result, str):
            self._failed[(kind, key)] = path
            self.failed.emit(kind, key, result)
            return
        self.invalidate(kind, key)
        self._cache[(kind, key)] = (path, result)
        self._bytes += result.nbytes
        while self._bytes > self.budget and len(self._cache) > 1:
            _, (_, old) = self._cache.popitem(last=False)
            self._bytes -= old.nbytes
        self.loaded.emit(kind, key, result)

    def wait(self, msecs: int = 5000) -> bool:
        return self.pool.waitForDone(msecs)
