"""Quantised a*b* bins, their empirical prior and the class-rebalancing weights (Zhang et al. 2016).

Encodings: ``ab`` arrays are CIE a*b* (D65) in the units of :mod:`kinochrome.core.lab` (roughly -110..110).
Bins are the centres of a regular grid (step ``grid``) that were hit by the training data.
"""

from __future__ import annotations

import numpy as np
import torch

AB_LIMIT = 110.0


def grid_centres(grid: float = 10.0, limit: float = AB_LIMIT) -> np.ndarray:
    """All centres of the ``grid``-spaced a*b* lattice inside ``[-limit, limit]^2`` -> ``(G*G, 2)`` float32."""
    axis = np.arange(-limit, limit + 1e-6, grid, dtype=np.float32)
    a, b = np.meshgrid(axis, axis, indexing="ij")
    return np.stack([a.ravel(), b.ravel()], axis=1)


def quantise(ab: np.ndarray, grid: float = 10.0, limit: float = AB_LIMIT) -> np.ndarray:
    """a*b* ``(..., 2)`` -> flat index into :func:`grid_centres` ``(...)`` int64 (nearest lattice point)."""
    n = round(2 * limit / grid) + 1
    idx = np.clip(np.rint((np.asarray(ab, dtype=np.float32) + limit) / grid), 0, n - 1).astype(np.int64)
    return idx[..., 0] * n + idx[..., 1]


def histogram(ab: np.ndarray, grid: float = 10.0, limit: float = AB_LIMIT) -> np.ndarray:
    """Counts of a*b* samples ``(..., 2)`` per lattice point -> ``(G*G,)`` float64."""
    n = round(2 * limit / grid) + 1
    return np.bincount(quantise(ab, grid, limit).ravel(), minlength=n * n).astype(np.float64)


def in_gamut(grid: float = 10.0, limit: float = AB_LIMIT) -> np.ndarray:
    """Lattice cells (centre +- grid/2) holding some sRGB colour at any L* in 1..99 -> ``(G*G,)`` bool."""
    from ..lab import lab_to_linear

    centres = grid_centres(grid, limit)
    lum = np.arange(1.0, 100.0, 1.0, dtype=np.float32)
    ok = np.zeros(len(centres), bool)
    for da in (-0.5, 0.0, 0.5):
        for db in (-0.5, 0.0, 0.5):
            pts = centres + np.float32([da * grid, db * grid])
            lab = np.concatenate([np.broadcast_to(lum[:, None, None], (len(lum), len(pts), 1)),
                                  np.broadcast_to(pts[None], (len(lum), len(pts), 2))], axis=-1)
            rgb = lab_to_linear(lab)
            ok |= ((rgb >= -1e-3) & (rgb <= 1.0 + 1e-3)).all(-1).any(0)
    return ok


def bins_from_histogram(counts: np.ndarray, grid: float = 10.0, limit: float = AB_LIMIT,
                        min_count: float = 1.0, dilate: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Keep the in-gamut lattice points seen at least ``min_count`` times, grown by ``dilate`` lattice steps.

    Growing by one step leaves the classifier room for colours a little more saturated than the training
    thumbnails showed. Returns ``(bins (K, 2) float32 a*b*, prior (K,) float64 summing to 1)``.
    """
    centres = grid_centres(grid, limit)
    n = round(2 * limit / grid) + 1
    seen = (counts >= min_count).reshape(n, n)
    grown = seen.copy()
    for _ in range(dilate):
        g = grown.copy()
        g[1:] |= grown[:-1]
        g[:-1] |= grown[1:]
        g[:, 1:] |= grown[:, :-1]
        g[:, :-1] |= grown[:, 1:]
        grown = g
    keep = grown.ravel() & in_gamut(grid, limit)
    prior = counts[keep] / max(counts[keep].sum(), 1.0)
    return centres[keep].astype(np.float32), prior


def smooth_prior(bins: np.ndarray, prior: np.ndarray, sigma: float = 5.0) -> np.ndarray:
    """Gaussian-smooth the empirical prior over the ab plane -> ``(K,)`` summing to 1."""
    d2 = ((bins[:, None, :] - bins[None, :, :]) ** 2).sum(-1)
    kernel = np.exp(-d2 / (2 * sigma * sigma))
    smoothed = kernel @ prior
    return smoothed / smoothed.sum()


def rebalance_weights(bins: np.ndarray, prior: np.ndarray, lam: float = 0.5, sigma: float = 5.0) -> np.ndarray:
    """Zhang et al. class weights ``w ∝ ((1-λ) p~ + λ/K)^-1`` normalised so ``E_p[w] = 1`` -> ``(K,)`` float32.

    Rare (saturated) colours get weight > 1, so the classifier is not pulled towards the grey mode.
    """
    p = smooth_prior(bins, prior, sigma)
    w = 1.0 / ((1.0 - lam) * p + lam / len(p))
    w = w / (p * w).sum()
    return w.astype(np.float32)


def soft_encode(ab: torch.Tensor, bins: torch.Tensor, k: int = 5, sigma: float = 5.0
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft one-hot targets over the ``k`` nearest bins.

    ``ab``: ``(N, 2, H, W)`` a*b*; ``bins``: ``(K, 2)``. Returns ``(targets (N, K, H, W) summing to 1 over K,
    nearest (N, H, W) int64 bin index)``.
    """
    n, _, h, w = ab.shape
    flat = ab.permute(0, 2, 3, 1).reshape(-1, 2)
    d2 = torch.cdist(flat, bins).pow(2)
    near_d2, near_idx = torch.topk(d2, k, dim=1, largest=False)
    weights = torch.softmax(-near_d2 / (2 * sigma * sigma), dim=1)
    targets = torch.zeros(flat.shape[0], bins.shape[0], dtype=ab.dtype, device=ab.device)
    targets.scatter_(1, near_idx, weights)
    targets = targets.reshape(n, h, w, -1).permute(0, 3, 1, 2)
    return targets, near_idx[:, 0].reshape(n, h, w)
