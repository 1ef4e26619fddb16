"""Shipping a trained run as a built-in model: weights + card into ``core/models``, with measured figures.

``python -m kinochrome.core.model.ship RUN_DIR NAME [--score CLIPS_DIR] [--time]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ..config import BUILTIN_MODELS_DIR
from .weights import card_path, load_network, save_model


def time_inference(weights: Path, sizes: list[tuple[int, int]], repeats: int = 5, threads: int = 2
                   ) -> dict[str, float]:
    """Median ms per frame of ``Colouriser.predict_ab`` on CPU for each ``(H, W)`` -> ``{"WxH": ms}``."""
    from . import load_model

    torch.set_num_threads(threads)
    model = load_model(str(weights), "cpu")
    out = {}
    rng = np.random.default_rng(0)
    for h, w in sizes:
        lum = (rng.random((h, w)) * 100).astype(np.float32)
        model.predict_ab(lum)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            model.predict_ab(lum)
            times.append(time.perf_counter() - t0)
        out[f"{w}x{h}"] = round(1000 * float(np.median(times)), 1)
    return out


def ship(run_dir: Path, name: str, out_dir: Path = BUILTIN_MODELS_DIR, which: str = "best",
         extra: dict | None = None) -> Path:
    """Copy ``run_dir/<which>.safetensors`` to ``out_dir/NAME.safetensors`` with its card updated by ``extra``."""
    net, card = load_network(Path(run_dir) / f"{which}.safetensors")
    card = {**card, "name": name, "checkpoint": which}
    for key, value in (extra or {}).items():
        card[key] = {**card.get(key, {}), **value} if isinstance(value, dict) else value
    path = save_model(net, Path(out_dir) / f"{name}.safetensors", card)
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kinochrome.core.model.ship")
    p.add_argument("run_dir", type=Path)
    p.add_argument("name")
    p.add_argument("--which", default="best")
    p.add_argument("--score", type=Path, help="clips folder: score the run's val clips (gray/auto/reset/guided)")
    p.add_argument("--frames", type=int, default=32)
    p.add_argument("--time", action="store_true", help="measure CPU inference ms/frame")
    p.add_argument("--temperature", type=float, help="annealed-mean temperature to ship (default: the run's)")
    a = p.parse_args(argv)
    src = a.run_dir / f"{a.which}.safetensors"
    card = json.loads(card_path(src).read_text())
    extra: dict = {}
    if a.temperature is not None:
        extra["config"] = {"temperature": a.temperature}
    if a.time:
        extra["inference_ms_cpu"] = time_inference(src, [(216, 384), (288, 512), (1080, 2048)])
    if a.score:
        from .preview import score_clips

        clips = card["training"]["val_clips"]
        extra["validation"] = {"clips": clips, "frames_per_clip": a.frames,
                               **score_clips(str(src), a.score, clips, a.frames, temperature=a.temperature)}
    print(json.dumps(extra, indent=1))
    print(ship(a.run_dir, a.name, which=a.which, extra=extra))
    return 0


if __name__ == "__main__":
    sys.exit(main())
