"""``kinochrome eval CLIPS_DIR``: score the real pipeline on colour clips against baselines, in one run.

For every clip (a folder of colour frames) it writes a grayscale half-float EXR shot (linear Rec.709
luminance of the frames), colourises it through the job API in several ways, and scores each result against
the original colour frames:

=================  =============================================================================
gray               no colour at all (the input)
auto               the CNN-LSTM, no references
auto-reset         the same weights with the LSTM state reset every frame
guided             the CNN-LSTM with the first frame as a painted keyframe reference
guided-reset       guided, LSTM state reset every frame
guided-first-last  first and last frames as references (with ``--references first-last``)
flow               optical-flow propagation alone: chain the flow, warp the keyframe's chroma
histogram/reinhard/knn  the classical methods, first frame as reference
exemplar           the CNN-LSTM with an exemplar on the first frame: another picture of the same scene
                   (a frame 24 frames past the scored ones, mirrored), matched by the network's features
exemplar-reinhard  global colour transfer (Reinhard) from that same exemplar
=================  =============================================================================

``--photos DIR`` also scores automatic mode against gray on the photos the model never trained on (the
``training.heldout_photos`` list of its card), split in two halves by name: ``tune`` (for choosing decoding
settings) and ``test`` (for reporting).

Metrics (``core/metrics.py``): PSNR and SSIM on sRGB, ab RMSE, colourfulness ratio (Hasler and
Süsstrunk), CDC (colour distribution consistency) and flow warp error. Writes ``eval.json``, ``eval.md`` (the
table), ``sheet_<clip>.png`` (gray / auto / guided / truth) and ``psnr_vs_distance.png``.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import OpenImageIO as oiio

from . import frameio, metrics, sequence
from .colour import to_display_srgb
from .contact import burn_label, grid, write_png
from .errors import TrainingDataError, UsageError
from .job import JobSettings, run_job
from .lab import REC709_LUMA, srgb_to_lab, srgb_to_linear
from .references import is_grayscale
from .session import Keyframe

LINEAR = "lin_rec709"
VARIANTS_FIRST = ("gray", "auto", "auto-reset", "guided", "guided-reset", "flow", "histogram", "reinhard", "knn",
                  "exemplar", "exemplar-reinhard")
#: How far past the scored frames the exemplar of the exemplar variants is taken.
EXEMPLAR_GAP = 24


def load_clip(folder: Path, count: int) -> list[np.ndarray]:
    """The first ``count`` frames of a clip folder as sRGB float32 (H, W, 3) in [0, 1]."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[:count]
    frames = []
    for f in files:
        bgr = cv2.imread(str(f), cv2.IMREAD_COLOR)
        if bgr is not None:
            frames.append(bgr[:, :, ::-1].astype(np.float32) / 255.0)
    return frames


def write_gray_shot(frames: list[np.ndarray], folder: Path, first: int = 1) -> str:
    """Grayscale half EXR shot (linear Rec.709 luminance, R=G=B) of sRGB frames; returns its pattern."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, srgb in enumerate(frames):
        y = srgb_to_linear(srgb) @ REC709_LUMA
        spec = oiio.ImageSpec(y.shape[1], y.shape[0], 3, "half")
        spec.attribute("compression", "piz")
        buf = oiio.ImageBuf(spec)
        buf.set_pixels(oiio.ROI(), np.repeat(y[:, :, None], 3, axis=2).astype(np.float16))
        buf.write(str(folder / f"clip.{first + i:04d}.exr"))
    return str(folder / "clip.####.exr")


def write_reference(srgb: np.ndarray, path: Path) -> str:
    cv2.imwrite(str(path), (np.clip(srgb[:, :, ::-1], 0, 1) * 255 + 0.5).astype(np.uint8))
    return str(path)


def read_result(pattern: str, frames: range) -> list[np.ndarray]:
    """Output frames as display sRGB float32 (H, W, 3)."""
    return [to_display_srgb(frameio.read_frame(sequence.frame_path(pattern, f)).rgb, LINEAR) for f in frames]


def variant_settings(name: str, shot: str, out: str, refs: dict[int, str], model: str | None) -> JobSettings:
    method = {"flow": "flow", "histogram": "histogram", "reinhard": "reinhard", "knn": "knn",
              "exemplar-reinhard": "reinhard"}.get(name, "model")
    kind = "exemplar" if name.startswith("exemplar") else "painted"
    keyframes = [] if name.startswith("auto") else [Keyframe(frame=f, reference=p, kind=kind)
                                                   for f, p in refs.items()]
    return JobSettings(input=shot, output=out, method=method, model=model, keyframes=keyframes,
                       colourspace=LINEAR, mode="overwrite", stateless=name.endswith("-reset"))


def score(result: list[np.ndarray], truth: list[np.ndarray]) -> dict[str, Any]:
    """Clip-level scores of a colourised clip against the truth (both lists of display sRGB (H, W, 3)).

    The first and last frames (the keyframes of the guided variants, copied from the truth) are left out
    of the averages of every variant, so no variant scores its own reference; ``psnr_per_frame`` has all.
    """
    per_frame_all = [metrics.psnr(r, t) for r, t in zip(result, truth)]
    # The first frame is the keyframe of the guided variants: how exactly does it keep the reference's chroma?
    keyframe_ab_rmse = metrics.ab_rmse(srgb_to_lab(result[0])[..., 1:], srgb_to_lab(truth[0])[..., 1:])
    if len(result) > 4:
        result, truth = result[1:-1], truth[1:-1]
    result_lab = np.stack([srgb_to_lab(r) for r in result])
    truth_lab = np.stack([srgb_to_lab(t) for t in truth])
    per_frame_psnr = [metrics.psnr(r, t) for r, t in zip(result, truth)]
    return {
        "psnr": float(np.mean(per_frame_psnr)),
        "ssim": float(np.mean([metrics.ssim(r, t) for r, t in zip(result, truth)])),
        "ab_rmse": float(np.mean([metrics.ab_rmse(r[..., 1:], t[..., 1:]) for r, t in zip(result_lab, truth_lab)])),
        "colourfulness_ratio": metrics.colourfulness_ratio(np.stack(result), np.stack(truth)),
        "cdc": metrics.cdc(result_lab[..., 1:]),
        "warp_error": metrics.flow_warp_error(truth_lab[..., 0], np.stack(result)),
        "psnr_per_frame": [float(p) for p in per_frame_all],
        "keyframe_ab_rmse": float(keyframe_ab_rmse),
    }


def plot_psnr_vs_distance(curves: dict[str, list[float]], path: Path, title: str) -> Path:
    """A small line plot (drawn with OpenCV) of mean PSNR against distance from the keyframe."""
    width, height, margin = 720, 420, 60
    img = np.full((height, width, 3), 255, np.uint8)
    values = [v for c in curves.values() for v in c if np.isfinite(v)]
    lo, hi = np.floor(min(values)) - 1, np.ceil(max(values)) + 1
    n = max(len(c) for c in curves.values())

    def xy(i: int, v: float) -> tuple[int, int]:
        x = margin + int(i * (width - 2 * margin) / max(1, n - 1))
        y = height - margin - int((v - lo) * (height - 2 * margin) / max(1e-6, hi - lo))
        return x, y

    cv2.rectangle(img, (margin, margin), (width - margin, height - margin), (0, 0, 0), 1)
    for k in range(5):
        v = lo + k * (hi - lo) / 4
        cv2.putText(img, f"{v:.1f}", (5, xy(0, v)[1] + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
    for k in range(0, n, max(1, n // 8)):
        cv2.putText(img, str(k + 1), (xy(k, lo)[0] - 5, height - margin + 18), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (0, 0, 0), 1)
    palette = [(200, 30, 30), (30, 120, 200), (40, 160, 40), (150, 60, 170), (230, 140, 20), (90, 90, 90),
               (20, 180, 180)]
    for j, (name, curve) in enumerate(curves.items()):
        colour = palette[j % len(palette)]
        pts = [xy(i, v) for i, v in enumerate(curve) if np.isfinite(v)]
        for a, b in itertools.pairwise(pts):
            cv2.line(img, a, b, colour, 2, cv2.LINE_AA)
        cv2.putText(img, name, (width - margin - 150, margin + 18 + 18 * j), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    colour, 1, cv2.LINE_AA)
    cv2.putText(img, title, (margin, margin - 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, "frames from the keyframe", (width // 2 - 80, height - 15), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, "PSNR dB", (5, margin - 20), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return write_png(img, path)


def _tile(srgb: np.ndarray, width: int, label: str) -> np.ndarray:
    h = round(srgb.shape[0] * width / srgb.shape[1])
    tile = (np.clip(cv2.resize(srgb, (width, h), interpolation=cv2.INTER_AREA), 0, 1) * 255).astype(np.uint8)
    tile = np.ascontiguousarray(tile)
    return burn_label(tile, label, (5, 14), 0.4)


def evaluate_clip(folder: Path, work: Path, out_dir: Path, count: int, model: str | None,
                  variants: tuple[str, ...], progress: bool = True) -> dict[str, Any] | None:
    """Every variant on one clip folder (work files under ``work``, its contact sheet in ``out_dir``) ->
    ``{variant: scores}``; None when the clip has fewer than 2 readable frames."""
    truth = load_clip(folder, count)
    if len({f.shape for f in truth}) > 1:
        raise UsageError(f"{folder}: frames of different sizes; a clip's frames must all be one size")
    if len(truth) < 2:
        print(f"{folder.name}: skipped, fewer than 2 readable frames", file=sys.stderr)
        return None
    if is_grayscale(srgb_to_lab(truth[0])):
        raise UsageError(f"{folder}: the clip is grayscale; eval scores colour against colour originals")
    shot = write_gray_shot(truth, work / "in")
    frames = range(1, len(truth) + 1)
    refs_first = {1: write_reference(truth[0], work / "ref_first.png")}
    refs_both = {**refs_first, len(truth): write_reference(truth[-1], work / "ref_last.png")}
    later = load_clip(folder, count + EXEMPLAR_GAP)
    # another picture of the same scene: a later frame (past the scored ones where the clip is long
    # enough), mirrored, so nothing lines up with the frame it colours
    refs_exemplar = {1: write_reference(later[-1][:, ::-1], work / "exemplar.png")}
    gray = read_result(shot, frames)
    clip_scores: dict[str, Any] = {}
    shown: dict[str, list[np.ndarray]] = {"gray": gray}
    for name in variants:
        if name == "gray":
            result = gray
        else:
            out = str(work / name / "clip.####.exr")
            refs = (refs_both if name == "guided-first-last" else
                    refs_exemplar if name.startswith("exemplar") else refs_first)
            run_job(variant_settings(name, shot, out, refs, model))
            result = read_result(out, frames)
        clip_scores[name] = score(result, truth)
        if name in ("auto", "guided", "exemplar"):
            shown[name] = result
        if progress:
            s = clip_scores[name]
            print(f"{folder.name:<20} {name:<18} PSNR {s['psnr']:6.2f}  ab RMSE {s['ab_rmse']:6.2f}  "
                  f"colourful {s['colourfulness_ratio']:.2f}  CDC {s['cdc']:.4f}  warp {s['warp_error']:.4f}",
                  file=sys.stderr, flush=True)
    picks = [0, len(truth) // 2, len(truth) - 1]
    rows = [[_tile(shown[k][i], 256, f"{k} {i + 1}") for k in shown] + [_tile(truth[i], 256, f"truth {i + 1}")]
            for i in picks]
    write_png(grid(rows), out_dir / f"sheet_{folder.name}.png")
    return clip_scores


def evaluate_clips(clips_dir: Path, out_dir: Path, names: list[str] | None, count: int, model: str | None,
                   references: str = "first", variants: tuple[str, ...] = VARIANTS_FIRST,
                   progress: bool = True) -> dict[str, Any]:
    """Run every variant on every clip; returns {"clips": {clip: {variant: scores}}, "mean": {...}}.

    UsageError, before anything is written, for a clips folder that is missing or holds no clip, a named clip
    that is not there, an unknown variant or fewer than 2 frames per clip.
    """
    if not clips_dir.is_dir():
        raise UsageError(f"{clips_dir}: clips folder not found (a folder with one subfolder of frames per clip)")
    unknown = [v for v in variants if v not in VARIANTS_FIRST + ("guided-first-last",)]
    if unknown:
        raise UsageError(f"--variants: unknown {', '.join(unknown)} (known: {', '.join(VARIANTS_FIRST)})")
    if count < 2:
        raise UsageError(f"--frames {count}: a clip needs at least 2 frames to score")
    folders = [clips_dir / n for n in names] if names else sorted(p for p in clips_dir.iterdir() if p.is_dir())
    missing = [f.name for f in folders if not f.is_dir()]
    if missing:
        raise UsageError(f"{clips_dir}: no clip named {', '.join(missing)}")
    if not folders:
        raise UsageError(f"{clips_dir}: holds no clip folders")
    out_dir.mkdir(parents=True, exist_ok=True)
    variants = tuple(variants) + (("guided-first-last",) if references == "first-last" else ())
    if references == "none":
        variants = tuple(v for v in variants if v in ("gray", "auto", "auto-reset"))
    results: dict[str, dict[str, Any]] = {}
    work = Path(tempfile.mkdtemp(prefix="kino-eval-"))
    try:
        for folder in folders:
            scores = evaluate_clip(folder, work / folder.name, out_dir, count, model, variants, progress)
            if scores is not None:
                results[folder.name] = scores
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not results:
        raise TrainingDataError(f"{clips_dir}: no clip with 2 or more readable colour frames to score")

    mean: dict[str, dict[str, float]] = {}
    for name in variants:
        rows = [c[name] for c in results.values() if name in c]
        if rows:
            mean[name] = {k: float(np.mean([r[k] for r in rows])) for k in rows[0] if k != "psnr_per_frame"}
            mean[name]["keyframe_ab_rmse_max"] = float(max(r["keyframe_ab_rmse"] for r in rows))
    curves = {}
    for name in ("guided", "guided-first-last", "flow", "reinhard", "knn", "auto"):
        per_clip = [c[name]["psnr_per_frame"] for c in results.values() if name in c]
        if per_clip:
            n = min(map(len, per_clip))
            # From distance 1: the keyframe itself is the reference (infinite PSNR in the limit).
            # The last frame is the second keyframe of guided-first-last: left out like the first.
            curves[name] = [float(np.mean([p[i] for p in per_clip])) for i in range(1, n - 1)]
    report = {"clips": results, "mean": mean, "frames_per_clip": count, "model": model or "default",
              "references": references}
    (out_dir / "eval.json").write_text(json.dumps(report, indent=2))
    (out_dir / "eval.md").write_text(format_table(mean))
    if curves:
        plot_psnr_vs_distance(curves, out_dir / "psnr_vs_distance.png",
                              f"mean PSNR vs distance from the first-frame keyframe ({len(results)} clips)")
    return report


def heldout_names(model: str | None) -> list[str]:
    """The photos the model never trained on (its card's ``training.heldout_photos``); UsageError if none."""
    from .model import resolve_model
    from .model.weights import read_card

    path = resolve_model(model)
    names = read_card(path).get("training", {}).get("heldout_photos") or []
    if not names:
        raise UsageError(f"{path}: its card lists no held-out photos (training.heldout_photos), so no photo is "
                         "known to be unseen; score photos with a model trained with holdout_photos")
    return list(names)


def photo_split(name: str) -> str:
    """``tune`` or ``test``: a stable half of the held-out photos by a hash of the picture's group."""
    from .model.data import photo_group

    return "tune" if int(hashlib.sha1(photo_group(Path(name)).encode()).hexdigest(), 16) % 2 == 0 else "test"


def evaluate_photos(photos_dir: Path, out_dir: Path, model: str | None, progress: bool = True,
                    split: str = "all") -> dict[str, Any]:
    """Automatic mode against gray on the model's held-out photos, each as a one-frame grayscale EXR shot
    through the job API. Returns ``{"photos": {name: {"split", "gray": scores, "auto": scores}},
    "mean": {split: {variant: {...}}}}`` (PSNR, SSIM, ab RMSE per photo; the colourfulness ratio is
    the split's mean colourfulness over the truth's, as a per-photo ratio explodes on near-gray truths)."""
    from .model.data import read_rgb

    if not photos_dir.is_dir():
        raise UsageError(f"{photos_dir}: photos folder not found")
    names = [n for n in heldout_names(model) if split in ("all", photo_split(n))]
    missing = [n for n in names if not (photos_dir / n).is_file()]
    if missing:
        raise UsageError(f"{photos_dir}: {len(missing)} of the model's held-out photos are not there "
                         f"(first: {missing[0]}); give the folder the model was trained from")
    per: dict[str, Any] = {}
    sheet: list[list[np.ndarray]] = []
    work = Path(tempfile.mkdtemp(prefix="kino-eval-photos-"))
    try:
        for i, name in enumerate(names):
            rgb = read_rgb(photos_dir / name, 384)
            if rgb is None:
                raise UsageError(f"{photos_dir / name}: unreadable photo")
            truth = rgb.astype(np.float32) / 255.0
            h, w = (truth.shape[0] // 2) * 2, (truth.shape[1] // 2) * 2
            truth = truth[:h, :w]
            shot = write_gray_shot([truth], work / f"p{i}" / "in")
            out = str(work / f"p{i}" / "auto" / "clip.####.exr")
            run_job(variant_settings("auto", shot, out, {}, model))
            gray, auto = read_result(shot, range(1, 2))[0], read_result(out, range(1, 2))[0]
            row: dict[str, Any] = {"split": photo_split(name)}
            for variant, result in (("gray", gray), ("auto", auto)):
                row[variant] = {"psnr": metrics.psnr(result, truth), "ssim": metrics.ssim(result, truth),
                                "ab_rmse": metrics.ab_rmse(srgb_to_lab(result)[..., 1:], srgb_to_lab(truth)[..., 1:]),
                                "colourfulness": metrics.colourfulness(result)}
            row["truth_colourfulness"] = metrics.colourfulness(truth)
            per[name] = row
            if len(sheet) < 12 and i % 6 == 0:
                # tiles of one height, so portrait and landscape photos share rows without padding
                width = round(truth.shape[1] * 168 / truth.shape[0])
                sheet.append([_tile(gray, width, "gray"), _tile(auto, width, f"auto {name[:24]}"),
                              _tile(truth, width, "truth")])
            if progress:
                print(f"{name[:40]:<40} {row['split']:<4} gray {row['gray']['psnr']:6.2f}  "
                      f"auto {row['auto']['psnr']:6.2f}", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    mean: dict[str, Any] = {}
    for part in ("tune", "test", "all"):
        rows = [r for r in per.values() if part in ("all", r["split"])]
        if not rows:
            continue
        truth_c = float(np.mean([r["truth_colourfulness"] for r in rows]))
        mean[part] = {"count": len(rows)}
        for variant in ("gray", "auto"):
            mean[part][variant] = {k: float(np.mean([r[variant][k] for r in rows])) for k in ("psnr", "ssim", "ab_rmse")}
            mean[part][variant]["colourfulness_ratio"] = float(
                np.mean([r[variant]["colourfulness"] for r in rows]) / max(truth_c, 1e-6))
        mean[part]["auto_minus_gray_db"] = mean[part]["auto"]["psnr"] - mean[part]["gray"]["psnr"]
        mean[part]["auto_below_gray_share"] = float(np.mean([r["auto"]["psnr"] < r["gray"]["psnr"] for r in rows]))
    report = {"photos": per, "mean": mean, "model": model or "default"}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "photos.json").write_text(json.dumps(report, indent=2))
    if sheet:
        write_png(grid(sheet), out_dir / "sheet_photos.png")
    return report


def format_photo_table(mean: dict[str, Any]) -> str:
    lines = [("| held-out photos | count | gray PSNR | auto PSNR | auto - gray (dB) | auto below gray | "
              "auto ab RMSE | auto colourfulness ratio |"), "|---|---|---|---|---|---|---|---|"]
    for split, m in mean.items():
        lines.append(f"| {split} | {m['count']} | {m['gray']['psnr']:.2f} | {m['auto']['psnr']:.2f} | "
                     f"{m['auto_minus_gray_db']:+.2f} | {m['auto_below_gray_share']:.0%} | "
                     f"{m['auto']['ab_rmse']:.2f} | {m['auto']['colourfulness_ratio']:.2f} |")
    return "\n".join(lines) + "\n"


def format_table(mean: dict[str, dict[str, float]]) -> str:
    lines = [("| variant | PSNR (dB) | SSIM | ab RMSE | colourfulness ratio | CDC (x1e-3) | warp error (x1e-4) "
             "| first-frame ab RMSE (max over clips) |"),
             "|---|---|---|---|---|---|---|---|"]
    for name, m in mean.items():
        lines.append(f"| {name} | {m['psnr']:.2f} | {m['ssim']:.3f} | {m['ab_rmse']:.2f} | "
                     f"{m['colourfulness_ratio']:.2f} | {m['cdc'] * 1e3:.3f} | {m['warp_error'] * 1e4:.3f} | "
                     f"{m['keyframe_ab_rmse_max']:.2f} |")
    return "\n".join(lines) + "\n"


def run_eval(args: argparse.Namespace) -> int:
    variants = tuple(args.variants) if args.variants else VARIANTS_FIRST
    if getattr(args, "photos", None):
        photos = evaluate_photos(Path(args.photos), Path(args.output), args.model,
                                 split=getattr(args, "photo_split", "all"))
        print(json.dumps(photos["mean"], indent=2) if args.json else format_photo_table(photos["mean"]))
        if not variants or args.clips == "-":
            return 0
    report = evaluate_clips(Path(args.clips), Path(args.output), args.clips_only, args.frames, args.model,
                            args.references, variants=variants)
    if args.json:
        print(json.dumps(report["mean"], indent=2))
    else:
        print(format_table(report["mean"]))
        print(f"wrote {Path(args.output) / 'eval.json'}, eval.md, contact sheets and psnr_vs_distance.png")
    return 0
