"""The Kinochrome CNN-LSTM: conv encoder, ConvLSTM colour memory, skip decoder, ab-bin classifier.

Tensor encodings (the same for eager, TorchScript and the Colouriser):

* input ``x``: ``(N, 4, H, W)`` = ``L*/100``, ``a_hint/110``, ``b_hint/110``, ``mask`` (0 = no hint,
  1 = trusted hint; hint ab is 0 where mask is 0). H and W must be multiples of :data:`MULTIPLE`.
* output ``ab``: ``(N, 2, H, W)`` a*b* in natural units (not normalised).
* ``logits``: ``(N, K, H/4, W/4)`` over the ``K`` bins given at construction.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .semantic import EfficientNetLite, tap_channels

#: Inputs must be padded to a multiple of this (four stride-2 blocks).
MULTIPLE = 16
AB_SCALE = 110.0

DEFAULT_CONFIG: dict = {
    "arch": "kino-cnn-lstm-v1",
    "enc": [16, 32, 48, 96, 128],      # block 1 at full res, blocks 2-5 each halve
    "lstm": 64,                        # ConvLSTM hidden channels at 1/16
    "dec": [64, 48, 24],               # decoder at 1/8, 1/4 (classifier), 1/2 (refinement)
    "temperature": 0.38,
    "grid": 10,
}

TINY_CONFIG: dict = {
    "arch": "kino-cnn-lstm-v1",
    "enc": [4, 4, 8, 8, 8],
    "global": 4,
    "lstm": 8,
    "dec": [8, 8, 4],
    "temperature": 0.38,
    "grid": 10,
}


def conv_block(cin: int, cout: int, stride: int) -> nn.Sequential:
    """3x3 conv + BatchNorm + ReLU; ``stride`` 2 halves H and W."""
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class ConvLSTMCell(nn.Module):
    """ConvLSTM (Shi et al. 2015). ``x (N, Cin, h, w)``, state ``(h, c)`` each ``(N, Ch, h, w)``."""

    def __init__(self, cin: int, hidden: int):
        super().__init__()
        self.hidden = hidden
        self.gates = nn.Conv2d(cin + hidden, 4 * hidden, 3, 1, 1)
        with torch.no_grad():
            # forget-gate bias 1: memory is kept by default and has to be unlearned, not learned
            self.gates.bias[hidden:2 * hidden].fill_(1.0)

    def forward(self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        i, f, g, o = torch.chunk(self.gates(torch.cat([x, h], dim=1)), 4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c


class GlobalContext(nn.Module):
    """Scene-level context (Iizuka et al. 2016, "Let there be Color!"): the frame's mean bottleneck feature
    through a small MLP, added back to every position. ``e5 (N, C, h, w)`` -> ``(N, C, h, w)``.

    The bottleneck sees ~65 px of a 384 px frame: enough for texture, not to tell a pool from a wall. The last
    layer starts at zero, so a network that gains this branch computes what it computed before.
    """

    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)
        with torch.no_grad():
            self.fc2.weight.zero_()
            self.fc2.bias.zero_()

    def forward(self, e5: torch.Tensor) -> torch.Tensor:
        g = self.fc2(F.relu(self.fc1(e5.mean(dim=(2, 3)))))
        return e5 + g[:, :, None, None].to(e5.dtype)


class SemanticContext(nn.Module):
    """Scene context from the pretrained encoder: the frame's mean 1/32 feature through a small MLP, added at
    every position of the bottleneck. ``(e16 (N, C, h, w), s32 (N, Cs, h', w'))`` -> ``(N, C, h, w)``."""

    def __init__(self, sem_channels: int, hidden: int, channels: int):
        super().__init__()
        self.fc1 = nn.Linear(sem_channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, e16: torch.Tensor, s32: torch.Tensor) -> torch.Tensor:
        g = self.fc2(F.relu(self.fc1(s32.mean(dim=(2, 3)))))
        return e16 + g[:, :, None, None].to(e16.dtype)


class KinoNet(nn.Module):
    """Encoder (5 conv blocks) -> ConvLSTM -> decoder with skips -> ab-bin logits + hint-aware refinement.

    ``bins``: ``(K, 2)`` a*b* bin centres (stored as a buffer so weights and bins travel together).

    Config ``"semantic": "lite0"`` (or lite1/lite2) adds the ImageNet-pretrained EfficientNet-Lite trunk
    (:mod:`.semantic`, frozen) reading the lightness: its 1/4 and 1/8 features join the decoder's skips, its
    1/16 and 1/32 features are fused into the bottleneck before the ConvLSTM, and its mean 1/32 feature gives
    the scene context. The shallow conv encoder stays as the fine-detail branch.
    """

    def __init__(self, config: dict, bins: torch.Tensor, rebalance_weights: torch.Tensor | None = None):
        super().__init__()
        enc, dec, hid = list(config["enc"]), list(config["dec"]), int(config["lstm"])
        self.temperature = float(config.get("temperature", 0.38))
        self.ab_scale = AB_SCALE  # an attribute, not a global, so TorchScript can compile decode()
        self.register_buffer("bins", torch.as_tensor(bins, dtype=torch.float32).clone())
        k = self.bins.shape[0]
        # Class rebalancing (training) tilts the classifier towards rare colours by about w(c); decoding with
        # logits - beta * log w(c) takes back part of that tilt (beta = config "prior_correction", 0 = none).
        beta = float(config.get("prior_correction", 0.0))
        bias = torch.zeros(k)
        if rebalance_weights is not None and beta:
            bias = -beta * torch.log(torch.as_tensor(rebalance_weights, dtype=torch.float32))
        self.register_buffer("logit_bias", bias, persistent=False)
        self.enc1 = conv_block(4, enc[0], 1)
        self.enc2 = conv_block(enc[0], enc[1], 2)
        self.enc3 = conv_block(enc[1], enc[2], 2)
        self.enc4 = conv_block(enc[2], enc[3], 2)
        self.enc5 = conv_block(enc[3], enc[4], 2)
        # config "global": hidden width of the scene-context MLP (0 or absent = no branch, as in older cards)
        glob = int(config.get("global", 0))
        self.semantic_variant = str(config.get("semantic") or "")
        c4 = c8 = 0
        self.semantic: EfficientNetLite | None = None
        self.fuse16: nn.Module | None = None
        self.sem_context: SemanticContext | None = None
        if self.semantic_variant:
            self.semantic = EfficientNetLite(self.semantic_variant).freeze()
            c4, c8, c16, c32 = tap_channels(self.semantic_variant)
            self.fuse16 = conv_block(enc[4] + c16 + c32, enc[4], 1)
            self.sem_context = SemanticContext(c32, glob or 64, enc[4])
            self.context: nn.Module = nn.Identity()
        else:
            self.context = GlobalContext(enc[4], glob) if glob else nn.Identity()
        self.lstm = ConvLSTMCell(enc[4], hid)
        self.dec8 = conv_block(hid + enc[3] + c8, dec[0], 1)
        self.dec4 = conv_block(dec[0] + enc[2] + c4, dec[1], 1)
        self.head = nn.Conv2d(dec[1], k, 1)
        self.dec2 = conv_block(dec[1] + enc[1] + 3, dec[2], 1)
        # 2 channels of ab correction + 1 hint-trust logit
        self.refine = nn.Conv2d(dec[2], 3, 3, 1, 1)
        with torch.no_grad():
            self.refine.weight.mul_(0.1)
            self.refine.bias.zero_()

    def zero_state(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Zero ConvLSTM state for input ``x (N, 4, H, W)`` -> ``(h, c)`` each ``(N, hidden, H/16, W/16)``."""
        n, _, hh, ww = x.shape
        z = torch.zeros(n, self.lstm.hidden, hh // 16, ww // 16, device=x.device, dtype=x.dtype)
        return z, z

    def semantic_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``x (N, 4, H, W)`` -> the pretrained trunk's ``[s4, s8, s16, s32]`` for the lightness channel
        (replicated to RGB, normalised as the ImageNet weights expect). Gradients are recorded only through the
        blocks a training run unfroze (:meth:`EfficientNetLite.unfreeze_last`)."""
        assert self.semantic is not None
        rgb = ((x[:, 0:1] - 0.5) / 0.5).expand(-1, 3, -1, -1)
        return self.semantic(rgb)

    def encode(self, x: torch.Tensor, semantic: list[torch.Tensor] | None = None) -> list[torch.Tensor]:
        """``x (N, 4, H, W)`` -> encoder features at 1, 1/2, 1/4, 1/8, 1/16 (the last with scene context).

        With a semantic trunk the 1/4 and 1/8 features carry its features concatenated, and the 1/16 feature
        is fused with its 1/16 and 1/32 features. ``semantic``: the trunk's :meth:`semantic_features` of this
        ``x`` when the caller has them already (they depend on the lightness channel alone)."""
        e1 = self.enc1(x)
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        e4 = self.enc4(e3)
        e5 = self.context(self.enc5(e4))
        if self.semantic is not None and self.fuse16 is not None and self.sem_context is not None:
            if semantic is None:
                semantic = self.semantic_features(x)
            s4, s8, s16, s32 = semantic[0], semantic[1], semantic[2], semantic[3]
            up32 = F.interpolate(s32, size=e5.shape[-2:], mode="bilinear", align_corners=False)
            e5 = self.sem_context(self.fuse16(torch.cat([e5, s16, up32], 1)), s32)
            e3 = torch.cat([e3, s4], 1)
            e4 = torch.cat([e4, s8], 1)
        return [e1, e2, e3, e4, e5]

    def annealed_mean(self, logits: torch.Tensor) -> torch.Tensor:
        """``(N, K, h, w)`` logits -> ``(N, 2, h, w)`` a*b* by the annealed mean (softmax at T)."""
        logits = logits.float() + self.logit_bias.float().view(1, -1, 1, 1)
        p = torch.softmax(logits / self.temperature, dim=1)
        return torch.einsum("nkhw,kc->nchw", p, self.bins.to(p.dtype))  # bins may be half after .half()

    def decode(self, x: torch.Tensor, feats: list[torch.Tensor], h: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Decoder for frames whose LSTM output is ``h``. Returns ``(logits, ab, coarse_ab)``.

        ``logits (N, K, H/4, W/4)``; ``ab (N, 2, H, W)`` final a*b*; ``coarse_ab (N, 2, H/4, W/4)`` annealed mean.
        """
        e2, e3, e4 = feats[1], feats[2], feats[3]
        d8 = self.dec8(torch.cat([F.interpolate(h, size=e4.shape[-2:], mode="nearest"), e4], 1))
        d4 = self.dec4(torch.cat([F.interpolate(d8, size=e3.shape[-2:], mode="nearest"), e3], 1))
        logits = self.head(d4)
        coarse = self.annealed_mean(logits).to(x.dtype)
        size2 = e2.shape[-2:]
        ab2 = F.interpolate(coarse / self.ab_scale, size=size2, mode="bilinear", align_corners=False)
        mask2 = F.avg_pool2d(x[:, 3:4], 2)
        d2 = self.dec2(torch.cat([F.interpolate(d4, size=size2, mode="nearest"), e2, ab2, mask2], 1))
        r = self.refine(d2)
        # The direct ab correction is a regression, and regression far from any hint pulls colours to the
        # grey/sepia median (Zhang et al. 2016); so it only acts near hints, where the answer is not ambiguous.
        near = F.avg_pool2d(F.max_pool2d(mask2, 9, 1, 4), 5, 1, 2)
        ab2 = ab2 + r[:, 0:2] * near
        full = x.shape[-2:]
        ab = F.interpolate(ab2, size=full, mode="bilinear", align_corners=False)
        trust = torch.sigmoid(F.interpolate(r[:, 2:3], size=full, mode="bilinear", align_corners=False) + 2.0)
        # where the artist (or a propagated keyframe) gave a colour, move towards it by mask * learned trust
        gate = x[:, 3:4] * trust
        ab = ab + gate * (x[:, 1:3] - ab)
        return logits, ab * self.ab_scale, coarse

    def step(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None,
             semantic: list[torch.Tensor] | None = None):
        """One frame. ``x (N, 4, H, W)`` -> ``(logits, ab, coarse_ab, (h, c))``; ``state`` None = zero;
        ``semantic`` as in :meth:`encode`."""
        feats = self.encode(x, semantic)
        if state is None:
            state = self.zero_state(x)
        h, c = self.lstm(feats[4], state[0], state[1])
        logits, ab, coarse = self.decode(x, feats, h)
        return logits, ab, coarse, (h, c)

    def forward_sequence(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None):
        """A batch of sequences ``x (N, T, 4, H, W)``.

        The encoder and decoder run on all N*T frames at once (faster on CPU); only the ConvLSTM loops over T.
        Returns ``(logits (N, T, K, H/4, W/4), ab (N, T, 2, H, W), coarse (N, T, 2, H/4, W/4), state)``.
        """
        n, t = x.shape[:2]
        flat = x.reshape(n * t, *x.shape[2:])
        feats = self.encode(flat)
        e5 = feats[4].reshape(n, t, *feats[4].shape[1:])
        if state is None:
            state = self.zero_state(x[:, 0])
        h, c = state
        hs = []
        for i in range(t):
            h, c = self.lstm(e5[:, i], h, c)
            hs.append(h)
        hseq = torch.stack(hs, 1).reshape(n * t, *h.shape[1:])
        logits, ab, coarse = self.decode(flat, feats, hseq)
        return (logits.reshape(n, t, *logits.shape[1:]), ab.reshape(n, t, *ab.shape[1:]),
                coarse.reshape(n, t, *coarse.shape[1:]), (h, c))


def pad_to_multiple(x: torch.Tensor, multiple: int = MULTIPLE) -> tuple[torch.Tensor, int, int]:
    """Replicate-pad ``(N, C, H, W)`` on the bottom/right to a multiple -> ``(padded, H, W)`` (original size)."""
    hh, ww = x.shape[-2:]
    ph, pw = (-hh) % multiple, (-ww) % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    return x, hh, ww
