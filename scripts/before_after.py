"""Before/after contact sheet of automatic colour: two models on the same held-out pictures.

    .venv/bin/python scripts/before_after.py BEFORE AFTER OUT.png [--clips DIR] [--photos DIR] [--count 6]

One row per picture: gray | BEFORE | AFTER | truth, each labelled, with the PSNR of each model's result (sRGB,
against the colour original) burnt in. The pictures: the middle frame of each held-out validation clip (the
AFTER model's card, ``training.val_clips``; the model runs over the clip's first 24 frames with its state
carried, as in a shot) and the first ``count`` photos of the test half of AFTER's held-out photos (never trained
on, never used to choose a setting). The previous default model is in git history:
``git show dfaf394:core/models/kino-small.safetensors`` (and ``.json``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from kinochrome.core import metrics
from kinochrome.core.contact import burn_label, write_png
from kinochrome.core.evalrun import photo_split
from kinochrome.core.lab import lab_to_srgb, srgb_to_lab
from kinochrome.core.model import load_model
from kinochrome.core.model.data import load_clips, read_rgb
from kinochrome.core.model.review import colourise_clip

SHARED = Path(__file__).resolve().parents[1].parent / "shared/data/train"


def _gray(rgb: np.ndarray) -> np.ndarray:
    lum = srgb_to_lab(rgb)[..., :1]
    return np.clip(lab_to_srgb(np.concatenate([lum, np.zeros_like(lum), np.zeros_like(lum)], -1)), 0, 1)


def _tile(rgb: np.ndarray, text: str, width: int) -> np.ndarray:
    """sRGB float ``(H, W, 3)`` -> a labelled uint8 tile ``width`` px wide."""
    small = cv2.resize(rgb, (width, round(rgb.shape[0] * width / rgb.shape[1])), interpolation=cv2.INTER_AREA)
    return burn_label((np.clip(small, 0, 1) * 255 + 0.5).astype(np.uint8), text)


def _pictures(card: dict, clips: Path, photos: Path, count: int) -> list[tuple[str, list[np.ndarray], int]]:
    """``(label, uint8 sRGB frames, index of the frame shown)``: held-out clips, then held-out test photos."""
    out = []
    for name in card["training"].get("val_clips", []):
        frames = load_clips(clips, names=[name], long_side=384, require_colour=False)[name][:24]
        out.append((name, frames, len(frames) // 2))
    held = [n for n in card["training"].get("heldout_photos", []) if photo_split(n) == "test"][:count]
    for name in held:
        out.append((Path(name).stem, [read_rgb(photos / name, 384)], 0))
    return out


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("before")
    p.add_argument("after")
    p.add_argument("out", type=Path)
    p.add_argument("--clips", type=Path, default=SHARED / "clips")
    p.add_argument("--photos", type=Path, default=SHARED / "photos")
    p.add_argument("--count", type=int, default=6)
    p.add_argument("--thumb", type=int, default=256)
    a = p.parse_args(argv)
    models = {"before": load_model(a.before, "cpu"), "after": load_model(a.after, "cpu")}
    rows = []
    for label, frames, shown in _pictures(models["after"].card, a.clips, a.photos, a.count):
        truth = frames[shown].astype(np.float32) / 255.0
        tiles = [(_gray(truth), f"{label}: gray {metrics.psnr(_gray(truth), truth):.1f} dB")]
        for which, model in models.items():
            pred = np.clip(colourise_clip(model, frames)[shown], 0, 1)
            tiles.append((pred, f"{which} {metrics.psnr(pred, truth):.1f} dB"))
        tiles.append((truth, "truth"))
        rows.append(np.concatenate([_tile(t, text, a.thumb) for t, text in tiles], 1))
    width = max(r.shape[1] for r in rows)
    sheet = np.concatenate([np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0))) for r in rows], 0)
    print(write_png(sheet, a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
