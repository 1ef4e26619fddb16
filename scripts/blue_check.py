"""How a model colours what is truly blue (skies, water) in automatic mode: a number behind the contact sheets.

    .venv/bin/python scripts/blue_check.py MODEL [MODEL ...] [--photos DIR] [--clips DIR] [--count 40]

When the first model's card lists held-out photos (``training.heldout_photos``), the blue-heavy ones among them
are a third set, and the training set leaves them out.

For each model, the network alone (automatic, state reset per image) on (a) the first ``count`` training photos
in which more than 30% of pixels are clearly blue (b* < -12), and (b) the frames of the held-out clips that have
water (``mmaction_pool``, ``dvp_haze_canal``, every 4th of the first 24). On the truly blue pixels it prints the
mean true b*, the mean predicted b* and the share predicted bluish (b* < -5), and the classifier's probability
on the blue bins (b* < -10, softmax at T = 1, at 1/4 resolution). Training photos answer "can it learn blue at
all" (underfitting); the held-out clips "does it generalise"; the probability tells a network that does not
see blue (no decoding can help) from one whose decoding averages blue away (a lower temperature would).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from kinochrome.core.lab import srgb_to_lab
from kinochrome.core.model import Colouriser, load_model, resolve_model
from kinochrome.core.model.data import load_clips, read_rgb
from kinochrome.core.model.weights import read_card

ROOT = Path(__file__).resolve().parents[1]
BLUE = -12.0
WATER_CLIPS = ("mmaction_pool", "dvp_haze_canal")


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 sRGB ``(H, W, 3)`` -> L*a*b* float32."""
    return srgb_to_lab(rgb.astype(np.float32) / 255.0)


def blue_photos(folder: Path, count: int, names: list[str] | None = None) -> list[np.ndarray]:
    """The first ``count`` photos (sorted by name, at 384 px; only ``names`` when given) with more than 30%
    clearly blue pixels, as Lab."""
    out = []
    for path in sorted(folder.iterdir()):
        if names is not None and path.name not in names:
            continue
        rgb = read_rgb(path, 384)
        if rgb is None:
            continue
        lab = to_lab(rgb)
        if (lab[..., 2] < BLUE).mean() > 0.3:
            out.append(lab)
            if len(out) >= count:
                break
    return out


def water_frames(clips: Path) -> list[np.ndarray]:
    """Every 4th of the first 24 frames of the held-out water clips, at 384 px, as Lab."""
    frames = load_clips(clips, names=list(WATER_CLIPS), long_side=384, require_colour=False)
    return [to_lab(rgb) for name in WATER_CLIPS for rgb in frames[name][:24:4]]


def blue_probability(model: Colouriser, lab: np.ndarray, blue: np.ndarray) -> float:
    """Mean softmax (T = 1, with the card's prior correction) on the b* < -10 bins over the ``blue`` pixels."""
    net = model.net
    with torch.inference_mode():
        logits = net.step(model._input(lab[..., 0], None, None), None)[0][0].float()
    logits = logits + net.logit_bias.view(-1, 1, 1)
    p = torch.softmax(logits, 0)[net.bins[:, 1] < -10].sum(0).numpy()
    h4, w4 = p.shape
    blue4 = np.zeros((h4, w4), bool)
    quarter = blue[::4, ::4][:h4, :w4]
    blue4[:quarter.shape[0], :quarter.shape[1]] = quarter
    return float(p[blue4].mean())


def score(model_ref: str, images: list[np.ndarray]) -> tuple[float, float, float, float]:
    """-> (mean true b*, mean predicted b*, share predicted bluish, blue-bin probability) over the truly blue
    pixels, per image."""
    model = load_model(model_ref, "cpu")
    true_b, pred_b, bluish, prob = [], [], [], []
    for lab in images:
        model.reset_state()
        ab = model.predict_ab(lab[..., 0])
        blue = lab[..., 2] < BLUE
        if not blue[::4, ::4].any():
            continue
        true_b.append(lab[..., 2][blue].mean())
        pred_b.append(ab[..., 1][blue].mean())
        bluish.append((ab[..., 1][blue] < -5).mean())
        prob.append(blue_probability(model, lab, blue))
    return float(np.mean(true_b)), float(np.mean(pred_b)), float(np.mean(bluish)), float(np.mean(prob))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("models", nargs="+", help="model names or .safetensors paths")
    p.add_argument("--photos", type=Path, default=ROOT.parent / "shared/data/train/photos")
    p.add_argument("--clips", type=Path, default=ROOT.parent / "shared/data/train/clips")
    p.add_argument("--count", type=int, default=40)
    a = p.parse_args(argv)
    torch.set_num_threads(2)
    sets = {"training photos, blue-heavy": blue_photos(a.photos, a.count),
            "held-out water clips": water_frames(a.clips)}
    held = read_card(resolve_model(a.models[0])).get("training", {}).get("heldout_photos")
    if held:
        # the first model's held-out photos: no model here trained on them (the generalisation question);
        # the "training photos" set then leaves them out
        names = sorted(p.name for p in a.photos.iterdir() if p.name not in set(held))
        sets["training photos, blue-heavy"] = blue_photos(a.photos, a.count, names)
        sets["held-out photos, blue-heavy (skies, water)"] = blue_photos(a.photos, a.count, sorted(held))
    print("| model | images | n | true b* | predicted b* | share predicted bluish | probability on blue bins |")
    print("|---|---|---|---|---|---|---|")
    for model in a.models:
        for name, images in sets.items():
            t, pr, share, prob = score(model, images)
            print(f"| {model} | {name} | {len(images)} | {t:.1f} | {pr:.1f} | {share:.2f} | {prob:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
