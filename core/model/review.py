"""Looking at a model: contact sheets (gray / prediction / truth) and scores on held-out clips.

``python -m kinochrome.core.model.review WEIGHTS OUT.png CLIPS_DIR NAME [NAME ...] [--guided] [--score]``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from ..errors import KinochromeError
from ..lab import lab_to_srgb, srgb_to_lab
from . import load_model
from .data import load_clips


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


def review_sheet(weights: str, out_png: Path, clips_dir: Path, names: list[str], per_clip: int = 3,
                  frames: int = 24, long_side: int = 384, guided: bool = False, thumb: int = 256) -> Path:
    """Write a PNG: per chosen frame one row of gray / predicted / truth (each ``thumb`` px wide)."""
    model = load_model(weights, "cpu")
    rows = []
    for name in names:
        rgbs = load_clips(Path(clips_dir), names=[name], long_side=long_side, require_colour=False)[name][:frames]
        preds = colourise_clip(model, rgbs, guided)
        for i in np.linspace(0, len(rgbs) - 1, per_clip).round().astype(int):
            truth = rgbs[i].astype(np.float32) / 255.0
            lum = srgb_to_lab(truth)[..., :1]
            gray = lab_to_srgb(np.concatenate([lum, np.zeros_like(lum), np.zeros_like(lum)], -1))
            row = np.concatenate([gray, preds[i], truth], 1)
            scale = 3 * thumb / row.shape[1]
            rows.append(cv2.resize(row, (3 * thumb, round(row.shape[0] * scale)), interpolation=cv2.INTER_AREA))
    sheet = np.concatenate(rows, 0)
    from ..contact import write_png

    # write_png: atomic, and an OutputError naming the file when it cannot be written
    return write_png((np.clip(sheet, 0, 1) * 255 + 0.5).astype(np.uint8), out_png)


def _reset_every_frame(model, frames_rgb: list[np.ndarray]) -> list[np.ndarray]:
    out = []
    for rgb in frames_rgb:
        model.reset_state()
        out.extend(colourise_clip(model, [rgb]))
    return out


def _run_mode(mode: str, model, rgbs: list[np.ndarray], gray: list[np.ndarray]) -> list[np.ndarray]:
    if mode == "gray":
        return gray
    if mode == "auto_reset":
        return _reset_every_frame(model, rgbs)
    return colourise_clip(model, rgbs, guided=mode == "guided")


def score_clips(weights: str, clips_dir: Path, names: list[str], frames: int = 32, long_side: int = 384,
                temperature: float | None = None, modes: tuple[str, ...] = ("gray", "auto", "auto_reset", "guided")
                ) -> dict[str, dict[str, float]]:
    """Score a model on held-out colour clips -> ``{mode: {metric: mean over clips}}``.

    Modes: ``gray`` (no colour, the baseline), ``auto`` (no hints, state carried), ``auto_reset`` (same
    weights, state reset every frame: what the LSTM adds), ``guided`` (true colour of frame 0 as a whole-frame
    hint on frame 0 only, then carried by the LSTM). Frame 0 is run but not scored in any mode, since in
    guided mode it is the reference itself. Metrics from :mod:`kinochrome.core.metrics`.
    """
    from .. import metrics as ev

    model = load_model(weights, "cpu")
    if temperature is not None:
        model.net.temperature = float(temperature)
    per_mode: dict[str, list[dict[str, float]]] = {}
    for name in names:
        rgbs = load_clips(Path(clips_dir), names=[name], long_side=long_side, require_colour=False)[name][:frames]
        truth = [r.astype(np.float32) / 255.0 for r in rgbs]
        labs = [srgb_to_lab(t) for t in truth]
        gray = [lab_to_srgb(np.concatenate([lab[..., :1], np.zeros_like(lab[..., 1:])], -1)) for lab in labs]
        results = {mode: _run_mode(mode, model, rgbs, gray) for mode in modes}
        truth, labs = truth[1:], labs[1:]
        lum = np.stack([lab[..., 0] for lab in labs])
        for mode, preds in results.items():
            preds = preds[1:]
            pred_ab = [srgb_to_lab(p)[..., 1:] for p in preds]
            per_mode.setdefault(mode, []).append({
                "psnr": float(np.mean([ev.psnr(p, t) for p, t in zip(preds, truth)])),
                "ssim": float(np.mean([ev.ssim(p, t) for p, t in zip(preds, truth)])),
                "ab_rmse": float(np.mean([ev.ab_rmse(a, lab[..., 1:]) for a, lab in zip(pred_ab, labs)])),
                "colourfulness_ratio": ev.colourfulness_ratio(np.stack(preds), np.stack(truth)),
                "cdc": ev.cdc(np.stack(pred_ab)),
                "warp_error": ev.flow_warp_error(lum, np.stack(preds)),
            })
    return {mode: {k: round(float(np.mean([r[k] for r in rows])), 4) for k in rows[0]}
            for mode, rows in per_mode.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kinochrome.core.model.review")
    p.add_argument("weights")
    p.add_argument("out", type=Path)
    p.add_argument("clips_dir", type=Path)
    p.add_argument("names", nargs="+")
    p.add_argument("--guided", action="store_true")
    p.add_argument("--per-clip", type=int, default=3)
    p.add_argument("--score", action="store_true", help="also print metrics per mode as JSON")
    a = p.parse_args(argv)
    try:
        print(review_sheet(a.weights, a.out, a.clips_dir, a.names, a.per_clip, guided=a.guided))
        if a.score:
            import json

            print(json.dumps(score_clips(a.weights, a.clips_dir, a.names), indent=1))
    except KinochromeError as exc:
        print(f"preview: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
