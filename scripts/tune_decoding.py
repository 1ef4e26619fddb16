"""Choose the decoding settings (prior correction beta, temperature T) on the TUNE half of a model's held-out
photos: the network alone, automatic, state reset per photo; PSNR in sRGB against the colour photo, against gray
(the same L* with no colour), and the colourfulness ratio (mean colourfulness over the truth's).

    .venv/bin/python scripts/tune_decoding.py MODEL tune COUNT BETAS [TEMPERATURES]
    .venv/bin/python scripts/tune_decoding.py runs/kino-sem/last.safetensors tune 80 0,0.15,0.3 0.3,0.38,0.5

The test half is for reporting (`kinochrome eval - --photos DIR --photo-split test`), never for choosing.
"""

import sys
from pathlib import Path

import numpy as np
import torch

from kinochrome.core import metrics
from kinochrome.core.evalrun import photo_split
from kinochrome.core.lab import lab_to_srgb, srgb_to_lab
from kinochrome.core.model import load_model
from kinochrome.core.model.data import read_rgb

PHOTOS = Path(__file__).resolve().parents[1].parent / "shared/data/train/photos"


def load_split(model, split: str, count: int) -> list[np.ndarray]:
    """The first ``count`` of ``model``'s held-out photos in ``split`` ("tune" or "test"), sRGB float (H, W, 3)
    at a 384 px long side."""
    held = model.card["training"]["heldout_photos"]
    names = [n for n in held if photo_split(n) == split][:count]
    return [read_rgb(PHOTOS / n, 384).astype(np.float32) / 255 for n in names]


def score(model, photos: list[np.ndarray], beta: float, temp: float = 0.0) -> dict[str, np.ndarray]:
    """Automatic mode at prior correction ``beta`` and temperature ``temp`` (0 = the trained T), state reset per
    photo -> per-photo arrays ``gray``, ``auto`` (PSNR, dB), ``colour``, ``truth_colour`` (colourfulness)."""
    weights = torch.tensor(model.card["rebalance_weights"])
    model.net.logit_bias = -beta * torch.log(weights)
    if temp:
        model.net.temperature = temp
    out: dict[str, list[float]] = {"gray": [], "auto": [], "colour": [], "truth_colour": []}
    for rgb in photos:
        lab = srgb_to_lab(rgb)
        model.reset_state()
        ab = model.predict_ab(lab[..., 0])
        pred = np.clip(lab_to_srgb(np.dstack([lab[..., 0], ab])), 0, 1)
        flat = np.clip(lab_to_srgb(np.dstack([lab[..., 0], np.zeros_like(ab)])), 0, 1)
        out["gray"].append(metrics.psnr(flat, rgb))
        out["auto"].append(metrics.psnr(pred, rgb))
        out["colour"].append(metrics.colourfulness(pred))
        out["truth_colour"].append(metrics.colourfulness(rgb))
    return {k: np.asarray(v) for k, v in out.items()}


def summary(r: dict[str, np.ndarray]) -> str:
    """One line for what :func:`score` returned: PSNR of gray and automatic, the gain, the share of photos below
    gray, the colourfulness ratio (mean over the truth's)."""
    return (f"n {len(r['auto'])} gray {r['gray'].mean():.2f} auto {r['auto'].mean():.2f} "
            f"diff {r['auto'].mean() - r['gray'].mean():+.2f} below {np.mean(r['auto'] < r['gray']):.0%} "
            f"colourful {r['colour'].mean() / r['truth_colour'].mean():.3f}")


def main(argv: list[str]) -> int:
    path, split, count = argv[0], argv[1], int(argv[2])
    betas = [float(b) for b in argv[3].split(",")]
    temps = [float(t) for t in argv[4].split(",")] if len(argv) > 4 else [0.0]
    torch.set_num_threads(1)
    model = load_model(path, "cpu")
    trained_t = model.net.temperature
    photos = load_split(model, split, count)
    for beta in betas:
        for temp in temps:
            r = score(model, photos, beta, temp or trained_t)
            print(f"beta {beta} T {model.net.temperature:.2f}: {summary(r)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
