"""``kinochrome info``: what a shot is, from the sequence on disk and the first frame's header.

:func:`shot_info` returns a JSON-ready dict (the ``--json`` output); :func:`format_info` renders it as
a two-column table for people. Only headers are read, so it is quick on long 4K shots.
"""

from __future__ import annotations

import os

from . import colour, frameio, sequence
from .errors import FrameReadError


def compact_frames(frames: tuple[int, ...] | list[int]) -> str:
    """Frame numbers -> a compact list, ``(1003, 1005, 1006, 1007)`` -> ``'1003,1005-1007'`` (all of them)."""
    return sequence.format_frames(frames, limit=None, sep=",")


def _timecode(spec) -> str | None:
    """'hh:mm:ss:ff' from ``smpte:TimeCode`` (BCD, ';' when drop-frame) or ``dpx:TimeCode``."""
    value = spec.getattribute("smpte:TimeCode")
    if value is not None:
        word = int(value[0])

        def bcd(shift: int, mask: int) -> int:
            v = (word >> shift) & mask
            return (v >> 4) * 10 + (v & 0xF)

        sep = ";" if word & (1 << 30) else ":"
        return f"{bcd(24, 0x3F):02d}:{bcd(16, 0x7F):02d}:{bcd(8, 0x7F):02d}{sep}{bcd(0, 0x3F):02d}"
    text = spec.get_string_attribute("dpx:TimeCode", "")
    return text or None


def _fps(spec) -> float | None:
    value = spec.getattribute("FramesPerSecond")
    if isinstance(value, tuple) and len(value) == 2 and value[1]:
        return round(value[0] / value[1], 3)
    for key in ("dpx:FrameRate", "dpx:TemporalFrameRate"):
        rate = spec.getattribute(key)
        if isinstance(rate, (int, float)) and rate > 0:
            return round(float(rate), 3)
    return None


def _sizes_on_disk(shot: sequence.Shot) -> dict[int, int]:
    """Bytes of each frame file (unreadable ones left out)."""
    sizes = {}
    for f in shot.frames:
        try:
            sizes[f] = os.path.getsize(shot.path(f))
        except OSError:
            pass
    return sizes


def human_size(n: int) -> str:
    """Bytes -> '1.2 MB' (decimal units, as file managers show)."""
    size = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"  # pragma: no cover


def shot_info(path: str, frames: tuple[int, int] | None = None, layer: str | None = None) -> dict:
    """Describe the shot at ``path`` (pattern, folder or file) -> a JSON-ready dict.

    Keys: pattern, first, last, count, expected, missing (list), missing_text, empty (list of 0-byte frames),
    empty_text, resolution [w, h] (from the first frame that is not empty),
    data_window [x, y, w, h], display_window [x, y, w, h], channels, alpha, layer, layers, pixel_type,
    bits, format, compression, colourspace (guessed), timecode (first frame), fps, pixel_aspect,
    size_bytes, size (human). SequenceError / FrameReadError / FrameLayoutError as the readers raise.
    """
    shot = sequence.open_shot(path, frames)
    info: dict = {
        "pattern": shot.pattern,
        "first": shot.first,
        "last": shot.last,
        "count": len(shot.frames),
        "expected": shot.last - shot.first + 1,
        "missing": list(shot.missing),
        "missing_text": compact_frames(shot.missing),
    }
    sizes = _sizes_on_disk(shot)
    # A 0-byte frame (a copy or render that died) is on disk but holds no picture; a run stops at it.
    empty = [f for f in shot.frames if sizes.get(f) == 0]
    info.update({"empty": empty, "empty_text": compact_frames(empty)})
    readable = [f for f in shot.frames if f not in set(empty)]
    if readable:
        first = readable[0]
        header = frameio.read_header(shot.path(first), layer=layer, frame=first)
        spec = header.spec
        try:
            _describe(info, header, spec, shot.path(first))
        except UnicodeDecodeError:  # an attribute of a damaged header that is not text
            raise FrameReadError(f"{shot.path(first)}: truncated or corrupt (header text is not UTF-8)") from None
    size = sum(sizes.values())
    info.update({"size_bytes": size, "size": human_size(size)})
    return info


def _describe(info: dict, header: frameio.Frame, spec, path: str) -> None:
    """The first readable frame's header into ``info``."""
    info.update({
        "resolution": [spec.width, spec.height],
        "data_window": [spec.x, spec.y, spec.width, spec.height],
        "display_window": [spec.full_x, spec.full_y, spec.full_width, spec.full_height],
        "channels": list(header.channels),
        "alpha": header.alpha is not None,
        "layer": header.layer,
        "layers": frameio.list_layers(path),
        "pixel_type": header.pixel_type,
        "bits": header.bits,
        "format": header.file_format,
        "compression": spec.get_string_attribute("compression", "") or None,
        "colourspace": colour.guess_colourspace(header),
        "timecode": _timecode(spec),
        "fps": _fps(spec),
        "pixel_aspect": round(float(spec.get_float_attribute("PixelAspectRatio", 1.0)), 4),
    })


def _window(w: list[int]) -> str:
    x, y, width, height = w
    return f"{width}x{height} at ({x}, {y})"


def format_info(d: dict) -> str:
    """The dict of :func:`shot_info` as a two-column table for people."""
    rows: list[tuple[str, str]] = [("Shot", d["pattern"])]
    frames = f"{d['first']}-{d['last']} ({d['count']} of {d['expected']} frames on disk)"
    rows.append(("Frames", frames))
    rows.append(("Missing", d["missing_text"] or "none"))
    if d.get("empty"):
        rows.append(("Empty files", f"{d['empty_text']} (0 bytes: no picture; re-render or copy them again)"))
    if "resolution" in d:
        width, height = d["resolution"]
        rows.append(("Resolution", f"{width}x{height}"))
        same = "" if d["data_window"] != d["display_window"] else "  (same as display)"
        rows.append(("Data window", _window(d["data_window"]) + same))
        rows.append(("Display window", _window(d["display_window"])))
        channels = ",".join(d["channels"])
        rows.append(("Channels", channels + (f"  (layer {d['layer']})" if d.get("layer") else "")))
        if len(d.get("layers", [])) > 1:
            rows.append(("Layers", ", ".join(d["layers"])))
        bits = f" ({d['bits']}-bit)" if d["pixel_type"].startswith("uint") else ""
        rows.append(("Pixel type", f"{d['pixel_type']}{bits}, {d['format']}"
                     + (f", {d['compression']} compression" if d.get("compression") else "")))
        rows.append(("Colourspace", f"{d['colourspace']} (guessed)"))
        rows.append(("Timecode", d["timecode"] or "-"))
        rows.append(("Frame rate", f"{d['fps']:g} fps" if d["fps"] else "-"))
        if d["pixel_aspect"] != 1.0:
            rows.append(("Pixel aspect", f"{d['pixel_aspect']:g}"))
    rows.append(("Size on disk", d["size"]))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)
