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
