"""Two models on the same held-out photos, paired: is B better than A, or is the difference the split's noise?

    .venv/bin/python scripts/compare_models.py A BETA_A B BETA_B SPLIT COUNT
    .venv/bin/python scripts/compare_models.py runs/kino-phase3.safetensors 0.1 runs/kino-p4/last.safetensors 0.1 tune 80

Automatic mode, network alone, as `tune_decoding.py` scores it. Prints each model's PSNR over gray and
colourfulness ratio, then the per-photo PSNR difference B - A: its mean, a bootstrap 90% interval of that mean
(10,000 resamples of the photos, fixed seed) and the share of photos B improves. 73 tune photos moved a
0.4 dB "gain" that the test photos did not confirm (docs/model.md): a mean alone does not decide.

The rule phase 4 is judged by (fixed before its results were looked at): B ships when, on the tune half,
the mean gain is at least 0.2 dB and the 90% interval lies above zero, with B's colourfulness ratio >= 0.72.
"""

import sys

import numpy as np
import torch
from tune_decoding import load_split, score, summary

from kinochrome.core.model import load_model


def bootstrap_interval(diff: np.ndarray, level: float = 0.90, n: int = 10_000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of ``diff.mean()`` over resampled photos."""
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), (n, len(diff)))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def main(argv: list[str]) -> int:
    path_a, beta_a, path_b, beta_b, split, count = argv[0], float(argv[1]), argv[2], float(argv[3]), argv[4], int(argv[5])
    torch.set_num_threads(1)
    model_a, model_b = load_model(path_a, "cpu"), load_model(path_b, "cpu")
    if model_a.card["training"]["heldout_photos"] != model_b.card["training"]["heldout_photos"]:
        print("the two models held out different photos: a paired comparison needs the same ones", file=sys.stderr)
        return 2
    photos = load_split(model_a, split, count)
    ra, rb = score(model_a, photos, beta_a), score(model_b, photos, beta_b)
    for name, r in (("A", ra), ("B", rb)):
        print(f"{name}: {summary(r)}")
    diff = rb["auto"] - ra["auto"]
    lo, hi = bootstrap_interval(diff)
    print(f"B - A: mean {diff.mean():+.2f} dB, 90% interval [{lo:+.2f}, {hi:+.2f}], "
          f"B better on {np.mean(diff > 0):.0%} of {len(diff)} photos")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
