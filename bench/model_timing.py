"""Network time per frame of two models, interleaved in one process (median of 7), so the ratio holds on a
shared machine: ``python bench/model_timing.py OLD NEW`` (names or .safetensors paths)."""

import sys
import time

import numpy as np
import torch

from kinochrome.core.model import load_model


def main(old: str, new: str) -> None:
    torch.set_num_threads(2)
    models = {"old": load_model(old, "cpu"), "new": load_model(new, "cpu")}
    for h, w in ((216, 384), (288, 512)):
        lum = np.random.default_rng(0).random((h, w), np.float32) * 100
        times: dict[str, list[float]] = {k: [] for k in models}
        for m in models.values():
            m.predict_ab(lum)
        for _ in range(7):
            for k, m in models.items():
                t0 = time.perf_counter()
                m.predict_ab(lum)
                times[k].append(time.perf_counter() - t0)
        med = {k: float(np.median(v)) for k, v in times.items()}
        print(f"{w}x{h}: old {1000 * med['old']:.1f} ms, new {1000 * med['new']:.1f} ms, "
              f"ratio {med['new'] / med['old']:.2f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
