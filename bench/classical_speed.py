"""Benchmark: the classical colourisers at working size (wall clock; moved out of the tests, whose results
must not depend on how busy the machine is).

    .venv/bin/python bench/classical_speed.py [--repeats 5]

Prints the median time of each method on a 384x216 L*a*b* frame (the README's target for knn: under 1 s on a
2-core CPU).
"""

from __future__ import annotations

import argparse
import statistics
import time

import cv2
import numpy as np

from kinochrome.core.classical import ClassicalColouriser


def frame(size: tuple[int, int] = (384, 216)) -> np.ndarray:
    """A smooth random L* plane with noisy a*b* (H, W, 3) float32."""
    rng = np.random.default_rng(5)
    lum = cv2.GaussianBlur(rng.uniform(0, 100, (size[1], size[0])).astype(np.float32), (0, 0), 2.0)
    return np.dstack([lum, rng.normal(0, 20, (size[1], size[0], 2))]).astype(np.float32)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    ref = frame()
    for method in ("histogram", "reinhard", "knn"):
        col = ClassicalColouriser(method, ref)
        col.colourise(ref)                       # warm-up: torch thread pool start
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            col.colourise(ref)
            times.append(time.perf_counter() - start)
        print(f"{method:10s} {1000 * statistics.median(times):8.1f} ms (384x216, median of {args.repeats})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
