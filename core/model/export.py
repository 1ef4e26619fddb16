"""TorchScript export of the single-frame guided network, for Nuke's CatFileCreator / Inference node.

The exported module's contract (no numpy, no Optional attributes, any H and W):

* input  ``x (1, 4, H, W)`` float: ``L*/100``, ``a_hint/110``, ``b_hint/110``, ``mask`` (0 = no hint).
* output ``(1, 3, H, W)`` float, the same normalisation: ``L*/100`` (the input's, unchanged), ``a*/110``,
  ``b*/110``. Convert to RGB downstream (Nuke: a Lab->RGB expression or OCIO), so luminance stays the plate's.

Each call starts from a zero ConvLSTM state: Nuke renders frames independently and out of order.

``python -m kinochrome.core.model.export MODEL OUT.pt``
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..config import new_file_mode
from ..errors import OutputError, UsageError
from .network import KinoNet
from .registry import resolve_model
from .weights import load_network


class GuidedFrame(nn.Module):
    """One frame through :class:`KinoNet` with a zero state; pads to a multiple of 16 internally."""

    def __init__(self, net: KinoNet):
        super().__init__()
        self.net = net.eval()
        self.hidden = int(net.lstm.hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2], x.shape[3]
        ph, pw = (16 - h % 16) % 16, (16 - w % 16) % 16
        xp = F.pad(x, (0, pw, 0, ph), mode="replicate")
        feats = self.net.encode(xp)
        n = xp.shape[0]
        zero = torch.zeros([n, self.hidden, xp.shape[2] // 16, xp.shape[3] // 16], device=x.device, dtype=x.dtype)
        hid, _ = self.net.lstm(feats[4], zero, zero)
        _, ab, _ = self.net.decode(xp, feats, hid)
        ab = ab[:, :, :h, :w] / self.net.ab_scale
        return torch.cat([x[:, 0:1], ab.to(x.dtype)], 1)


def export_torchscript(model_path: str | Path, out_path: str | Path) -> Path:
    """Script the model at ``model_path`` (name or path) as :class:`GuidedFrame` and save it -> ``out_path``."""
    net, _ = load_network(resolve_model(str(model_path)))
    with warnings.catch_warnings():
        # TorchScript is deprecated upstream but is what Nuke's CatFileCreator reads
        warnings.simplefilter("ignore", DeprecationWarning)
        scripted = torch.jit.script(GuidedFrame(net).eval())
    out = Path(out_path)
    if out.is_dir():
        raise UsageError(f"{out}: is a folder; give the file to write, e.g. {out / 'kinochrome.pt'}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        # written aside and renamed: a failed write never leaves half a file or destroys the previous export
        tmp = out.with_name(f".{out.name}.kino.tmp")
        scripted.save(str(tmp))
        tmp.chmod(new_file_mode())
        tmp.replace(out)
    except (OSError, RuntimeError) as exc:    # torch reports write failures as RuntimeError
        Path(out.with_name(f".{out.name}.kino.tmp")).unlink(missing_ok=True)
        raise OutputError(f"{out}: cannot write the TorchScript file ({str(exc).splitlines()[0][:200]})") from None
    return out


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m kinochrome.core.model.export MODEL OUT.pt")
    print(export_torchscript(sys.argv[1], sys.argv[2]))
