"""Training loss: class-rebalanced cross-entropy over ab bins plus L1 on the decoded ab.

Shapes use ``N`` = frames (sequences flattened); ab is CIE a*b* in natural units.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .bins import soft_encode


class ColourLoss(torch.nn.Module):
    """``loss = CE_rebalanced(logits, soft(ab/4)) + l1 * |ab_pred - ab|/110 (+ hint_l1 on hinted pixels)``.

    ``bins (K, 2)`` a*b*; ``weights (K,)`` rebalancing weights from :func:`.bins.rebalance_weights`.
    """

    def __init__(self, bins: torch.Tensor, weights: torch.Tensor, l1: float = 0.5, hint_l1: float = 1.0):
        super().__init__()
        self.register_buffer("bins", torch.as_tensor(bins, dtype=torch.float32))
        self.register_buffer("weights", torch.as_tensor(weights, dtype=torch.float32))
        self.l1, self.hint_l1 = l1, hint_l1

    def forward(self, logits: torch.Tensor, ab_pred: torch.Tensor, ab_true: torch.Tensor, mask: torch.Tensor
                ) -> dict[str, torch.Tensor]:
        """``logits (N, K, h, w)``, ``ab_pred/ab_true (N, 2, H, W)``, ``mask (N, 1, H, W)`` -> dict of scalars."""
        small = F.adaptive_avg_pool2d(ab_true, logits.shape[-2:])
        with torch.no_grad():
            target, nearest = soft_encode(small, self.bins)
        logp = F.log_softmax(logits.float(), dim=1)
        ce_map = -(target * logp).sum(1)
        ce = (ce_map * self.weights[nearest]).mean()
        err = (ab_pred - ab_true).abs().sum(1, keepdim=True) / 110.0
        l1 = err.mean()
        hinted = (err * mask).sum() / mask.sum().clamp_min(1.0)
        total = ce + self.l1 * l1 + self.hint_l1 * hinted
        return {"loss": total, "ce": ce.detach(), "l1": l1.detach(), "hint_l1": hinted.detach()}


def temporal_consistency(ab_pred: torch.Tensor, ab_true: torch.Tensor, pool: int = 4) -> torch.Tensor:
    """Penalise colour change over time that the ground truth does not have -> scalar.

    ``ab_pred/ab_true (N, T, 2, H, W)`` a*b*. Two terms: frame-to-frame change (t-1 -> t, flicker) on
    ``pool``-averaged ab, so that small misalignments do not dominate; and the change of the frame's mean ab
    since the first frame (0 -> t: the slow drift of the LSTM state, which shifts the whole colour
    distribution). Per-pixel cross-entropy cannot see either: each frame is scored alone. The drift term
    compares means, not pixels, so it does not reward washing the colour out.
    """
    n, t = ab_pred.shape[:2]
    if t < 2:
        return ab_pred.sum() * 0.0
    p = F.avg_pool2d(ab_pred.flatten(0, 1), pool).reshape(n, t, 2, -1)
    g = F.avg_pool2d(ab_true.flatten(0, 1), pool).reshape(n, t, 2, -1)
    step = (p[:, 1:] - p[:, :-1]) - (g[:, 1:] - g[:, :-1])
    pm, gm = p.mean(-1), g.mean(-1)
    drift = (pm[:, 1:] - pm[:, :1]) - (gm[:, 1:] - gm[:, :1])
    return (step.abs().sum(2).mean() + drift.abs().sum(2).mean()) / 110.0
