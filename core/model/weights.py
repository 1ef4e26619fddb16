"""Model files: ``NAME.safetensors`` (weights, bins as a buffer) + ``NAME.json`` (the model card).

No pickle anywhere: weights are safetensors, the card is JSON and is also embedded in the safetensors
metadata (key ``kinochrome_card``) so a lone ``.safetensors`` file still loads.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from ..config import new_file_mode
from ..errors import ModelError
from .network import KinoNet
from .semantic import VARIANTS

ARCH = "kino-cnn-lstm-v1"
CARD_KEY = "kinochrome_card"


def card_path(weights: Path) -> Path:
    """The card that sits next to ``weights`` (``x.safetensors`` -> ``x.json``)."""
    return Path(weights).with_suffix(".json")


def save_model(net: KinoNet, path: Path, card: dict) -> Path:
    """Write ``net``'s weights to ``path`` (safetensors) and ``card`` next to it (JSON). Returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    card = dict(card)
    card.setdefault("config", {})
    card["bins"] = net.bins.tolist()
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    tmp = path.with_name(path.name + ".tmp")
    save_file(state, str(tmp), metadata={CARD_KEY: json.dumps(card)})
    tmp.chmod(new_file_mode())               # readable by farm accounts like any other file
    tmp.replace(path)
    side = card_path(path)
    tmp_card = side.with_name(side.name + ".tmp")
    tmp_card.write_text(json.dumps(card, indent=1) + "\n")
    tmp_card.replace(side)
    return path


def check_tensors_fit(source: dict, target: dict, label: object, target_name: str = "this network") -> None:
    """UsageError naming ``label`` unless every tensor of ``source`` is in ``target`` with the same shape
    (the check before loading one network's weights into another)."""
    from ..errors import UsageError

    unknown = sorted(set(source) - set(target))
    if unknown:
        raise UsageError(f"{label}: tensors {target_name} does not have ({', '.join(unknown[:3])})")
    for key, value in source.items():
        if target[key].shape != value.shape:
            raise UsageError(f"{label}: {key} has shape {tuple(value.shape)}, {target_name} "
                             f"{tuple(target[key].shape)}")


def check_container(path: Path) -> dict:
    """Validate the safetensors framing of ``path`` without trusting it; returns the parsed header."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise ModelError(f"{path}: truncated or not a safetensors file ({size} bytes)")
        (n,) = struct.unpack("<Q", head)
        if n > 100_000_000:
            raise ModelError(f"{path}: not a safetensors file (bad header)")
        if 8 + n > size:
            raise ModelError(f"{path}: truncated weights file (header says {n} bytes, file has {size})")
        raw = fh.read(n)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelError(f"{path}: not a safetensors file (header is not JSON)") from None
    except (RecursionError, ValueError):  # nested 100,000 deep, or an integer of 5,000 digits
        raise ModelError(f"{path}: not a safetensors file (header is not a flat tensor table)") from None
    if not isinstance(header, dict):
        raise ModelError(f"{path}: not a safetensors file (bad header)")
    try:
        end = max((int(v["data_offsets"][1]) for k, v in header.items()
                   if k != "__metadata__" and isinstance(v, dict) and "data_offsets" in v), default=0)
    except (TypeError, ValueError, IndexError, KeyError):
        raise ModelError(f"{path}: not a safetensors file (bad tensor offsets in the header)") from None
    if 8 + n + end > size:
        raise ModelError(f"{path}: truncated weights file ({size} bytes, needs {8 + n + end})")
    return header


def read_card(path: Path) -> dict:
    """The card of weights ``path``: the sibling JSON if present, else the embedded copy. ModelError if none."""
    path = Path(path)
    side = card_path(path)
    if side.is_file():
        try:
            source, text = side, side.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ModelError(f"{side}: cannot read the model card ({exc.__class__.__name__})") from None
    else:
        header = check_container(path)
        meta = header.get("__metadata__") or {}
        if not isinstance(meta, dict) or CARD_KEY not in meta:
            raise ModelError(f"{path}: no model card (no {side.name} and none embedded)")
        source, text = path, meta[CARD_KEY]
    try:
        card = json.loads(text)
    except (TypeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{source}: model card is not valid JSON ({getattr(exc, 'msg', exc)})") from None
    if not isinstance(card, dict) or not isinstance(card.get("config", {}), dict):
        raise ModelError(f"{source}: model card is not a Kinochrome card (expected an object with a 'config' object)")
    return card


def load_network(path: Path) -> tuple[KinoNet, dict]:
    """Build the network described by the card of ``path`` and load its weights -> ``(net in eval mode, card)``.

    ModelError (naming the file) for a missing, truncated, non-safetensors or other-architecture file.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: weights file not found")
    check_container(path)
    card = read_card(path)
    config = card.get("config") or {}
    if config.get("arch") != ARCH or "bins" not in card:
        raise ModelError(f"{path}: model of another architecture ({config.get('arch')!r}, expected {ARCH!r})")
    semantic = config.get("semantic")
    if semantic and semantic not in VARIANTS:
        raise ModelError(f"{path}: its card names the semantic encoder {semantic!r}, which this Kinochrome does "
                         f"not know (known: {', '.join(VARIANTS)}); update Kinochrome or use another model")
    try:
        state = load_file(str(path))
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own (Rust) error types
        raise ModelError(f"{path}: unreadable safetensors file ({exc})") from None
    check_finite(path, state)
    try:
        weights = card.get("rebalance_weights")
        net = KinoNet(config, torch.tensor(card["bins"], dtype=torch.float32),
                      torch.tensor(weights, dtype=torch.float32) if weights else None)
        net.load_state_dict(state, strict=True)
    except (RuntimeError, KeyError, ValueError, TypeError, IndexError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{path}: weights do not match the architecture in its card ({first[:200]})") from None
    return net.eval(), card


def check_finite(path: Path, state: dict[str, torch.Tensor]) -> None:
    """ModelError naming the tensors of ``state`` that hold NaN or infinite values (damaged weights colour
    nothing: every output is grey). One pass over the weights, a few milliseconds."""
    bad = {name: int((~torch.isfinite(t)).sum()) for name, t in state.items()
           if t.is_floating_point() and not bool(torch.isfinite(t).all())}
    if bad:
        names = ", ".join(list(bad)[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        raise ModelError(f"{path}: damaged weights: {sum(bad.values())} NaN or infinite values (in {names})")


def weights_metadata(path: Path) -> dict:
    """The safetensors ``__metadata__`` of ``path`` (strings), read without loading tensors."""
    with safe_open(str(path), framework="pt") as fh:
        return dict(fh.metadata() or {})
