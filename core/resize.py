"""The working size of a shot and the resizes of planes to and from it.

The network, the classical methods and propagation run at the *working size*: the frame scaled so that its
long side is ``--working-size`` pixels (never upscaled), both sides multiples of 8. Arrays are float32
``(H, W)`` or ``(H, W, C)``; sizes are ``(w, h)``, as OpenCV takes them.
"""

from __future__ import annotations

import cv2
import numpy as np


def working_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    """(w, h) at working resolution: long side ``long_side`` (never upscaled), multiples of 8, aspect kept."""
    scale = min(1.0, long_side / max(width, height))
    w = max(8, round(width * scale / 8) * 8)
    h = max(8, round(height * scale / 8) * 8)
    return w, h


def resize_plane(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize (H, W[, C]) float32 to size=(w, h) with area averaging (downscale) or bilinear (upscale)."""
    if (x.shape[1], x.shape[0]) == size:
        return x
    shrinking = size[0] < x.shape[1]
    return cv2.resize(x, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
