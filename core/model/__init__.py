"""The colourisation model: loading weights and running the CNN-LSTM frame by frame.

Public API (the shot pipeline depends on it)::

    load_model(name_or_path=None, device="auto") -> Colouriser
    list_models() -> list[dict]
    select_device(name) -> torch.device
    build_tiny_model(folder) -> Path          # random tiny model for tests

Array encodings: ``lightness`` is L* in [0, 100] ``(H, W)`` float32; ``ab`` is CIE a*b* ``(H, W, 2)``
float32; ``hint_mask`` is ``(H, W)`` float32 in [0, 1] (0 = no hint).
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch

from ..errors import UsageError
from .network import AB_SCALE, TINY_CONFIG, KinoNet, pad_to_multiple
from .registry import list_models, resolve_model
from .weights import ARCH, load_network, save_model

__all__ = ["Colouriser", "build_tiny_model", "list_models", "load_model", "resolve_model", "select_device"]


def select_device(name: str) -> torch.device:
    """``auto`` (CUDA if available, else CPU) | ``cpu`` | ``cuda`` | ``mps`` -> torch.device; UsageError otherwise."""
    key = (name or "auto").strip().lower()
    if key == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if key == "cpu":
        return torch.device("cpu")
    if key == "cuda":
        if not torch.cuda.is_available():
            raise UsageError("--device cuda: no CUDA device available to this torch build")
        return torch.device("cuda")
    if key == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise UsageError("--device mps: Apple MPS is not available")
        return torch.device("mps")
    raise UsageError(f"--device {name!r}: expected auto, cpu, cuda or mps")


class Colouriser:
    """A loaded model plus the ConvLSTM state carried from one ``predict_ab`` call to the next."""

    def __init__(self, net: KinoNet, card: dict, device: torch.device, name: str):
        self.net = net.to(device).eval()
        self.card = card
        self.device = device
        self.name = name
        self._state: tuple[torch.Tensor, torch.Tensor] | None = None
        # the semantic trunk's outputs for the last lightnesses :meth:`features` saw: they depend on the
        # lightness alone, so the frame's :meth:`predict_ab` that follows (with the hints matched on those
        # features) reuses its own instead of running the trunk again. Two are kept: a run matches the next
        # frame (in another thread) while the network colours this one.
        self._trunks: list[tuple[np.ndarray, list[torch.Tensor]]] = []

    def reset_state(self) -> None:
        """Forget the colour memory (start of a shot, after a cut)."""
        self._state = None

    def _autocast(self):
        if self.device.type == "cuda":
            dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
            return torch.autocast("cuda", dtype=dtype)
        return nullcontext()

    def _input(self, lightness: np.ndarray, hint_ab: np.ndarray | None, hint_mask: np.ndarray | None
               ) -> torch.Tensor:
        """Arrays -> padded network input ``(1, 4, H16, W16)`` on the device (see :mod:`.network`)."""
        lum = np.asarray(lightness, dtype=np.float32)
        if lum.ndim != 2:
            raise UsageError(f"lightness must be (H, W), got shape {lum.shape}")
        h, w = lum.shape
        x = np.zeros((4, h, w), np.float32)
        x[0] = np.clip(np.nan_to_num(lum), 0.0, 100.0) / 100.0
        if (hint_ab is None) != (hint_mask is None):
            raise UsageError("hint_ab and hint_mask go together: give both or neither")
        if hint_ab is not None and hint_mask is not None:
            ab = np.asarray(hint_ab, dtype=np.float32)
            mask = np.clip(np.asarray(hint_mask, dtype=np.float32), 0.0, 1.0)
            if ab.shape != (h, w, 2) or mask.shape != (h, w):
                raise UsageError(f"hints must be (H, W, 2) and (H, W) for a {h}x{w} frame, "
                                 f"got {ab.shape} and {mask.shape}")
            x[1:3] = np.moveaxis(np.nan_to_num(ab), -1, 0) / AB_SCALE * (mask > 0)
            x[3] = mask
        t = torch.from_numpy(x)[None].to(self.device)
        return pad_to_multiple(t)[0]

    def predict_ab(self, lightness: np.ndarray, hint_ab: np.ndarray | None = None,
                   hint_mask: np.ndarray | None = None) -> np.ndarray:
        """Colour one frame. ``lightness (H, W)`` L* -> ``(H, W, 2)`` float32 a*b*.

        Hints are optional (both or neither). The ConvLSTM state goes on to the next call until
        :meth:`reset_state`; a frame of another size starts from a zero state.
        """
        h, w = np.shape(lightness)[:2]
        x = self._input(lightness, hint_ab, hint_mask)
        state = self._state
        if state is not None and state[0].shape[-2:] != (x.shape[-2] // 16, x.shape[-1] // 16):
            state = None
        semantic = self._trunk_for(lightness)
        with torch.inference_mode(), self._autocast():
            _, ab, _, state = self.net.step(x, state, semantic)
        self._state = (state[0].float(), state[1].float())
        return ab[0, :, :h, :w].float().permute(1, 2, 0).cpu().numpy().astype(np.float32)

    def _trunk_for(self, lightness: np.ndarray) -> list[torch.Tensor] | None:
        """The kept trunk output when it was computed from this very lightness (same values), else None."""
        for kept in list(self._trunks):
            seen, semantic = kept
            if seen.shape == np.shape(lightness) and np.array_equal(seen, np.asarray(lightness, dtype=np.float32)):
                # one use; by identity (a race with the other thread's features() costs a trunk pass at most)
                self._trunks = [t for t in self._trunks if t is not kept]
                return semantic
        return None

    def features(self, lightness: np.ndarray) -> np.ndarray:
        """Encoder features for exemplar matching: ``(ceil(H/4), ceil(W/4), C)`` float32.

        The 1/4-resolution block (texture) and the 1/8 block upsampled (context), each channel-normalised
        to unit L2 per pixel so either half can be compared by cosine similarity. A model with a semantic
        encoder gives that encoder's 1/8 and 1/16 features instead (ImageNet semantics). State is not touched.
        """
        h, w = np.shape(lightness)[:2]
        x = self._input(lightness, None, None)
        with torch.inference_mode(), self._autocast():
            if self.net.semantic is not None:
                # the pretrained trunk's 1/8 and 1/16 features: a sky finds a sky by meaning, not by texture
                s = self.net.semantic_features(x)
                self._trunks = [*self._trunks[-1:], (np.array(lightness, dtype=np.float32, copy=True), s)]
                f3, f4 = s[1].float(), s[2].float()
                size = (x.shape[-2] // 4, x.shape[-1] // 4)
                f3 = torch.nn.functional.interpolate(f3, size=size, mode="bilinear", align_corners=False)
            else:
                feats = self.net.encode(x)
                f3, f4 = feats[2].float(), feats[3].float()
            f4 = torch.nn.functional.interpolate(f4, size=f3.shape[-2:], mode="nearest")
            f = torch.cat([torch.nn.functional.normalize(f3, dim=1), torch.nn.functional.normalize(f4, dim=1)], 1)
        hq, wq = -(-h // 4), -(-w // 4)
        return f[0, :, :hq, :wq].permute(1, 2, 0).cpu().numpy().astype(np.float32)


def load_model(name_or_path: str | None = None, device: str = "auto") -> Colouriser:
    """Load a model by name (``core/models`` or ``$KINOCHROME_MODELS``), path, or the default -> Colouriser.

    ModelError naming the file for missing, truncated, non-safetensors or other-architecture weights.
    """
    dev = select_device(device)
    path = resolve_model(name_or_path)
    net, card = load_network(path)
    return Colouriser(net, card, dev, card.get("name") or path.stem)


def build_tiny_model(folder: Path, name: str = "kino-tiny", seed: int = 0) -> Path:
    """Write a randomly initialised tiny model (``folder/NAME.safetensors`` + ``.json``) -> its path.

    Milliseconds per frame; for tests of code that needs *a* model, not a good one.
    """
    from .bins import grid_centres, in_gamut

    torch.manual_seed(seed)
    bins = torch.from_numpy(grid_centres()[in_gamut()])
    net = KinoNet(TINY_CONFIG, bins)
    card = {"name": name, "description": "random tiny test model (not trained)",
            "config": {**TINY_CONFIG, "arch": ARCH}, "training": {"steps_done": 0}, "validation": {}}
    return save_model(net, Path(folder) / f"{name}.safetensors", card)
