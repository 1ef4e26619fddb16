"""Finding models: the shipped ones in ``core/models`` plus any in ``$KINOCHROME_MODELS``."""

from __future__ import annotations

import os
from pathlib import Path

from ..config import BUILTIN_MODELS_DIR, DEFAULT_MODEL, ENV_MODEL, ENV_MODELS_DIR
from ..errors import ModelError
from .weights import ARCH, check_container, read_card


def model_dirs() -> list[Path]:
    """Folders searched for ``*.safetensors``: built-in first, then each entry of ``$KINOCHROME_MODELS``."""
    dirs = [BUILTIN_MODELS_DIR]
    extra = os.environ.get(ENV_MODELS_DIR, "")
    dirs += [Path(p).expanduser() for p in extra.split(os.pathsep) if p]
    return dirs


def _summary(path: Path) -> tuple[dict, str | None]:
    """The listed part of a model's card, and what is wrong with the file (None when it looks loadable).

    Checks the file's framing and card without loading tensors, so listing stays quick; a model that passes
    can still fail to load if its tensors do not fit the card (``load_model`` says so).
    """
    try:
        check_container(path)
        card = read_card(path)
    except (OSError, ModelError) as exc:
        return {}, str(exc)
    keep = ("description", "config", "training", "validation")
    out = {k: card[k] for k in keep if k in card}
    bins = card.get("bins")
    out["bins"] = len(bins) if isinstance(bins, list) else 0
    if (out.get("config") or {}).get("arch") != ARCH:
        return out, f"{path}: model of another architecture"
    if not out["bins"]:
        return out, f"{path}: the card has no ab bins"
    return out, None


def list_models() -> list[dict]:
    """Installed models -> ``[{"name", "path", "card", "problem"}]``; a later folder does not shadow an earlier
    name. ``problem``: why the file will not load (truncated, not safetensors, no card ...), else None."""
    seen: dict[str, dict] = {}
    for folder in model_dirs():
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.safetensors")):
            if path.stem not in seen:
                card, problem = _summary(path)
                seen[path.stem] = {"name": path.stem, "path": str(path), "card": card, "problem": problem}
    return list(seen.values())


def is_model_path(name_or_path: str) -> bool:
    """True when ``--model`` names a weights file (``x.safetensors``, or anything with a folder in it),
    False for a model name looked up in the models folders."""
    name = str(name_or_path)
    return name.endswith(".safetensors") or os.sep in name or (os.altsep or "\0") in name


def resolve_model(name_or_path: str | None) -> Path:
    """A model name, a path, or None (``$KINOCHROME_MODEL`` or the default) -> path of its ``.safetensors``.

    ModelError naming what was asked for when nothing matches.
    """
    name = name_or_path or os.environ.get(ENV_MODEL) or DEFAULT_MODEL
    candidate = Path(name).expanduser()
    if is_model_path(name):
        if not candidate.is_file():
            raise ModelError(f"{candidate}: weights file not found")
        return candidate
    for folder in model_dirs():
        path = folder / f"{name}.safetensors"
        if path.is_file():
            return path
    known = ", ".join(m["name"] for m in list_models()) or "none installed"
    raise ModelError(f"{name}: no such model (known: {known}; searched {', '.join(map(str, model_dirs()))})")
