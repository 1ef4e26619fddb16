"""Shipping a trained run as a built-in model: weights + card into ``core/models``, with measured figures.

``python -m kinochrome.core.model.ship RUN_DIR NAME [--score CLIPS_DIR] [--time]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ..config import BUILTIN_MODELS_DIR
from ..errors import KinochromeError, UsageError
from .bins import rebalance_weights
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


def data_sources(manifest: Path) -> list[dict]:
    """The training data's sources and licences from a ``MANIFEST.tsv`` (one row per source, tab-separated,
    first line the column names), as the card carries them: some sources are for research use only, and
    whoever uses the model must be able to see that. UsageError naming the file when it is unreadable."""
    try:
        lines = Path(manifest).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{manifest}: cannot read the data manifest ({exc.__class__.__name__})") from None
    rows = [line.split("\t") for line in lines if line.strip()]
    if not rows or "licence_as_stated" not in rows[0]:
        raise UsageError(f"{manifest}: not a data manifest (no licence_as_stated column)")
    head = rows[0]
    keep = ("part", "source_kind", "source", "version_or_commit", "files_taken", "licence_as_stated")
    return [{k: r[head.index(k)] for k in keep if k in head and head.index(k) < len(r)} for r in rows[1:]]


def ship(run_dir: Path, name: str, out_dir: Path = BUILTIN_MODELS_DIR, which: str = "best",
         extra: dict | None = None) -> Path:
    """Copy ``run_dir/<which>.safetensors`` to ``out_dir/NAME.safetensors`` with its card updated by ``extra``."""
    net, card = load_network(Path(run_dir) / f"{which}.safetensors")
    card = {**card, "name": name, "checkpoint": which}
    bins_file = Path(run_dir) / "bins.json"
    if not card.get("rebalance_weights") and bins_file.is_file():
        # checkpoints written before the card carried the weights: recompute them from the run's bins
        data = json.loads(bins_file.read_text())
        lam = card.get("training", {}).get("run_config", {}).get("lambda", 0.5)
        w = rebalance_weights(np.array(data["bins"], np.float32), np.array(data["prior"]), lam)
        card["rebalance_weights"] = [round(float(v), 5) for v in w]
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
    p.add_argument("--prior-correction", type=float, help="beta: decode with logits - beta*log(rebalance weight)")
    p.add_argument("--manifest", type=Path, help="the training data's MANIFEST.tsv: its sources and licences go "
                                                  "into the card (training.data_sources)")
    p.add_argument("--out-dir", type=Path, default=None,
                   help="folder for the model (default: the built-in models, core/models); a candidate to "
                        "score before shipping goes elsewhere")
    a = p.parse_args(argv)
    settings: dict = {}
    if a.temperature is not None:
        settings["temperature"] = a.temperature
    if a.prior_correction is not None:
        settings["prior_correction"] = a.prior_correction
    try:
        return _ship_measured(a, settings)
    except KinochromeError as exc:
        print(f"ship: error: {exc}", file=sys.stderr)
        return 1


def _ship_measured(a: argparse.Namespace, settings: dict) -> int:
    """Ship into a staging folder, measure there, then put the model in place: a failed measurement (a
    wrong clips folder) must not leave the models folder with an unmeasured model."""
    staging = Path(tempfile.mkdtemp(prefix=f"kino-ship-{a.name}-"))
    try:
        extra: dict = {"config": settings} if settings else {}
        if a.manifest:
            extra["training"] = {"data_sources": data_sources(a.manifest),
                                 "data_licence_note": "Some training sources are for non-commercial research "
                                 "use only (see data_sources, licence_as_stated); check them before "
                                 "commercial use of this model's weights."}
        path = ship(a.run_dir, a.name, out_dir=staging, which=a.which, extra=extra or None)
        final = _measure_and_place(a, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print(final)
    return 0


def _measure_and_place(a: argparse.Namespace, path: Path) -> Path:
    # figures are measured on the shipped file itself, with its decoding settings
    extra: dict = {}
    if a.time:
        extra["inference_ms_cpu"] = time_inference(path, [(216, 384), (288, 512), (1080, 2048)])
    if a.score:
        from .review import score_clips

        card = json.loads(card_path(path).read_text())
        clips = card["training"]["val_clips"]
        extra["validation"] = {"clips": clips, "frames_per_clip": a.frames,
                               **score_clips(str(path), a.score, clips, a.frames)}
    net, card = load_network(path)
    for key, value in extra.items():
        card[key] = {**card.get(key, {}), **value}
    print(json.dumps(extra, indent=1))
    return save_model(net, (a.out_dir or BUILTIN_MODELS_DIR) / path.name, card)


if __name__ == "__main__":
    sys.exit(main())
