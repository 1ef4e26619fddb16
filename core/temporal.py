"""Flow-guided temporal filtering of predicted chroma, so colour holds steady from frame to frame.

The ConvLSTM carries colour memory at 1/16 resolution; small frame-to-frame wobbles of the predicted
a*b* remain (the "flicker" Lai et al. 2018 measure with the warp error). This recursive filter follows the
motion: the previous frame's final chroma is warped onto the current frame with dense optical flow on
luminance and blended in where the flow is trustworthy,

    out_t = w * warp(out_{t-1}) + (1 - w) * predicted_t,    w = strength * trust,

with ``trust`` from the forward-backward consistency, photometric check and chroma gradient of the step
(``propagate.step_consistency``). Occluded or newly revealed pixels and scene cuts take the new prediction.
It runs at working size, after the network and before the guided upsampling. Because the weight of old
frames decays geometrically (strength^n), a chunk's preroll rebuilds the same state.
"""

from __future__ import annotations

import cv2
import numpy as np

from .cuts import is_cut
from .propagate import flow_step, step_consistency

DEFAULT_TEMPORAL = 0.5


class TemporalFilter:
    """Stateful filter over a sequence of frames at working size.

    ``__call__(lightness (h, w) L*, ab (h, w, 2) a*b*) -> ab (h, w, 2)``; call in frame order, ``reset()``
    between shots. ``strength`` in [0, 1): 0 = off.
    """

    def __init__(self, strength: float = DEFAULT_TEMPORAL):
        if not 0.0 <= strength < 1.0:
            raise ValueError(f"temporal strength: expected 0 <= s < 1, got {strength}")
        self.strength = float(strength)
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        self._previous: tuple[np.ndarray, np.ndarray] | None = None

    def reset(self) -> None:
        self._previous = None

    def __call__(self, lightness: np.ndarray, ab: np.ndarray) -> np.ndarray:
        ab = np.asarray(ab, dtype=np.float32)
        if self.strength <= 0.0:
            return ab
        previous = self._previous
        out = ab
        if previous is not None and previous[0].shape == lightness.shape and not is_cut(previous[0], lightness):
            step = flow_step(self._dis, lightness, previous[0])
            warped = cv2.remap(previous[1], step.map_x, step.map_y, cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
            weight = (self.strength * step_consistency(step, warped))[:, :, None]
            out = (weight * warped + (1.0 - weight) * ab).astype(np.float32)
        self._previous = (np.asarray(lightness, dtype=np.float32).copy(), out)
        return out
