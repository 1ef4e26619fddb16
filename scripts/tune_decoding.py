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


def main(argv: list[str]) -> int:
    path, split, count = argv[0], argv[1], int(argv[2])
    betas = [float(b) for b in argv[3].split(",")]
    temps = [float(t) for t in argv[4].split(",")] if len(argv) > 4 else [0.0]
    torch.set_num_threads(1)
    model = load_model(path, "cpu")
    held = model.card["training"]["heldout_photos"]
    names = [n for n in held if photo_split(n) == split][:count]
    weights = torch.tensor(model.card["rebalance_weights"])
    trained_t = model.net.temperature
    photos = [read_rgb(PHOTOS / n, 384).astype(np.float32) / 255 for n in names]
    for beta in betas:
        for temp in temps:
            model.net.logit_bias = -beta * torch.log(weights)
            model.net.temperature = temp or trained_t
            gray, auto, colour, truth_colour = [], [], [], []
            for rgb in photos:
                lab = srgb_to_lab(rgb)
                model.reset_state()
                ab = model.predict_ab(lab[..., 0])
                out = np.clip(lab_to_srgb(np.dstack([lab[..., 0], ab])), 0, 1)
                flat = np.clip(lab_to_srgb(np.dstack([lab[..., 0], np.zeros_like(ab)])), 0, 1)
                gray.append(metrics.psnr(flat, rgb))
                auto.append(metrics.psnr(out, rgb))
                colour.append(metrics.colourfulness(out))
                truth_colour.append(metrics.colourfulness(rgb))
            print(f"beta {beta} T {model.net.temperature:.2f}: n {len(photos)} gray {np.mean(gray):.2f} "
                  f"auto {np.mean(auto):.2f} diff {np.mean(auto) - np.mean(gray):+.2f} "
                  f"below {np.mean(np.array(auto) < np.array(gray)):.0%} "
                  f"colourful {np.mean(colour) / np.mean(truth_colour):.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
