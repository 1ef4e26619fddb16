"""Contact sheets: frames of one or more sequences side by side (e.g. input | output | truth), as a PNG.

People would rather look than read: the demo, eval, farm review step and docs all write these.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from . import colour, frameio, sequence
from .errors import OutputError, UsageError


def burn_label(tile: np.ndarray, text: str, origin: tuple[int, int] = (6, 16), scale: float = 0.45) -> np.ndarray:
    """Burn white text with a dark outline into an sRGB uint8 tile (H, W, 3), in place; returns the tile.

    The outline is the thin text drawn at 1 px offsets: OpenCV advances each glyph by its stroke thickness, so
    a thick outline string runs wider than the text and its last glyphs show beside it.
    """
    x, y = origin
    for dx, dy in ((-1, -1), (-1, 1), (1, -1), (1, 1), (0, -1), (0, 1), (-1, 0), (1, 0)):
        cv2.putText(tile, text, (x + dx, y + dy), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(tile, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return tile


def display_tile(path: str, width: int, colourspace: str = "auto", layer: str | None = None) -> np.ndarray:
    """A frame file -> display sRGB uint8 tile (h, width, 3), RGB order, through the OCIO display transform."""
    frame = frameio.read_frame(path, layer=layer)
    cs = colour.guess_colourspace(frame) if colourspace == "auto" else colour.check_colourspace(colourspace)
    srgb = colour.to_display_srgb(frame.rgb, cs)
    height = max(1, round(frame.height * width / frame.width))
    tile = cv2.resize(srgb, (width, height), interpolation=cv2.INTER_AREA)
    return (np.clip(tile, 0, 1) * 255 + 0.5).astype(np.uint8)


def grid(rows: Sequence[Sequence[np.ndarray]], gap: int = 4) -> np.ndarray:
    """Tiles (uint8 RGB, same height per row) -> one image with ``gap`` pixels of dark grey between them."""
    height = max(t.shape[0] for row in rows for t in row)
    width_per_col = [max(row[i].shape[1] for row in rows if i < len(row)) for i in range(max(map(len, rows)))]
    out_h = len(rows) * (height + gap) + gap
    out_w = sum(width_per_col) + gap * (len(width_per_col) + 1)
    sheet = np.full((out_h, out_w, 3), 32, np.uint8)
    y = gap
    for row in rows:
        x = gap
        for i, tile in enumerate(row):
            sheet[y:y + tile.shape[0], x:x + tile.shape[1]] = tile
            x += width_per_col[i] + gap
        y += height + gap
    return sheet


def png_path(path: str | Path) -> Path:
    """``path`` as a Path; UsageError unless it ends in .png."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        # a PNG under another name (shot.1001.exr) is a broken file that tools will read as that format
        raise UsageError(f"{path}: a contact sheet is written as PNG; give a name ending in .png")
    return path


def write_png(image_rgb: np.ndarray, path: str | Path) -> Path:
    """Write an RGB uint8 image as PNG (atomically). UsageError for a name that does not end in .png."""
    path = png_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.kino.tmp.png")
    if not cv2.imwrite(str(tmp), np.ascontiguousarray(image_rgb[:, :, ::-1])):
        tmp.unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot write the PNG")
    tmp.replace(path)
    return path


def distinct_names(patterns: Sequence[str]) -> list[str]:
    """Short labels for ``patterns``: each file name, with as many parent folders as it takes to tell apart
    sequences that share a name (``auto/j.####.exr`` and ``keyed/j.####.exr``, not two ``j.####.exr``)."""
    parts = [Path(p).parts for p in patterns]
    depth = 1
    while depth < max(len(x) for x in parts):
        names = ["/".join(x[-depth:]) for x in parts]
        if len(set(names)) == len(names):
            return names
        depth += 1
    return [str(Path(*x)) for x in parts]


def sequences_sheet(patterns: Sequence[str], output: str | Path, frames: tuple[int, int] | None = None,
                    count: int = 6, width: int = 320, colourspace: str = "auto",
                    labels: Sequence[str] | None = None) -> Path:
    """The contact sheet of sequences side by side (``kinochrome sheet``, the demo): ``count`` frames shared
    by all sequences, one row per frame, one column per sequence.

    OutputError when ``output`` is one of the sequences' frames (a source is never written to).
    """
    output = png_path(output)
    shots = [sequence.open_shot(p, frames) for p in patterns]
    if output.exists():
        for shot in shots:
            for f in shot.frames:
                if sequence.same_file(str(output), shot.path(f)):
                    raise OutputError(f"{output}: output is a frame of {shot.pattern}; choose another output")
    common = sorted(set(shots[0].frames).intersection(*(s.frames for s in shots[1:])))
    if not common:
        raise OutputError(f"{output}: the sequences share no frames to show")
    picks = [common[round(i * (len(common) - 1) / max(1, count - 1))] for i in range(min(count, len(common)))]
    names = list(labels) if labels else distinct_names([s.pattern for s in shots])
    rows = []
    for f in dict.fromkeys(picks):
        row = []
        for shot, name in zip(shots, names):
            row.append(burn_label(display_tile(shot.path(f), width, colourspace), f"{name}  {f}"))
        rows.append(row)
    return write_png(grid(rows), output)
