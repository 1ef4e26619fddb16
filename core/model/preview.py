"""Contact sheets for looking at a model: rows of gray input / prediction / truth on held-out clips.

``python -m kinochrome.core.model.preview WEIGHTS OUT.png CLIPS_DIR NAME [NAME ...] [--guided]``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from ..lab import lab_to_srgb, srgb_to_lab
from . import load_model
from .data import _images_in, read_rgb


def colourise_clip(model, frames_rgb: list[np.ndarray], guided: bool = False) -> list[np.ndarray]:
    """Run ``model`` over uint8 sRGB frames ``(H, W, 3)`` with the state carried -> predicted sRGB float ``(H, W, 3)``.

    ``guided``: the first frame's true a*b* is given as a whole-frame hint (mask 1) on frame 0 only.
    """
    model.reset_state()
    out = []
    for i, rgb in enumerate(frames_rgb):
        lab = srgb_to_lab(rgb.astype(np.float32) / 255.0)
        if guided and i == 0:
            ab = model.predict_ab(lab[..., 0], lab[..., 1:], np.ones(lab.shape[:2], np.float32))
        else:
            ab = model.predict_ab(lab[..., 0])
        out.append(lab_to_srgb(np.concatenate([lab[..., :1], ab], -1)))
    return out


def contact_sheet(weights: str, out_png: Path, clips_dir: Path, names: list[str], per_clip: int = 3,
                  frames: int = 24, long_side: int = 384, guided: bool = False, thumb: int = 256) -> Path:
    """Write a PNG: per chosen frame one row of gray / predicted / truth (each ``thumb`` px wide)."""
    model = load_model(weights, "cpu")
    rows = []
    for name in names:
        paths = _images_in(Path(clips_dir) / name)[:frames]
        rgbs = [read_rgb(p, long_side) for p in paths]
        preds = colourise_clip(model, rgbs, guided)
        for i in np.linspace(0, len(rgbs) - 1, per_clip).round().astype(int):
            truth = rgbs[i].astype(np.float32) / 255.0
            lum = srgb_to_lab(truth)[..., :1]
            gray = lab_to_srgb(np.concatenate([lum, np.zeros_like(lum), np.zeros_like(lum)], -1))
            row = np.concatenate([gray, preds[i], truth], 1)
            scale = 3 * thumb / row.shape[1]
            rows.append(cv2.resize(row, (3 * thumb, round(row.shape[0] * scale)), interpolation=cv2.INTER_AREA))
    sheet = np.concatenate(rows, 0)
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out_png), (np.clip(sheet, 0, 1)[..., ::-1] * 255 + 0.5).astype(np.uint8))
    return out_png


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kinochrome.core.model.preview")
    p.add_argument("weights")
    p.add_argument("out", type=Path)
    p.add_argument("clips_dir", type=Path)
    p.add_argument("names", nargs="+")
    p.add_argument("--guided", action="store_true")
    p.add_argument("--per-clip", type=int, default=3)
    a = p.parse_args(argv)
    print(contact_sheet(a.weights, a.out, a.clips_dir, a.names, a.per_clip, guided=a.guided))
    return 0


if __name__ == "__main__":
    sys.exit(main())
