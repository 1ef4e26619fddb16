"""The working size of a shot and plane resizes (core/resize.py)."""

from __future__ import annotations

import numpy as np

from kinochrome.core.resize import resize_plane, working_size


def test_working_size_keeps_the_aspect_in_multiples_of_8_and_never_upscales():
    assert working_size(2048, 1080, 384) == (384, 200)
    assert working_size(1080, 2048, 384) == (200, 384)
    assert working_size(100, 60, 384) == (96, 64)       # not upscaled; to the nearest multiple of 8 (12.5 -> 12)
    assert working_size(4, 3, 384) == (8, 8)             # never below 8


def test_resize_plane_shapes_and_the_same_size_is_the_array_itself():
    x = np.arange(24 * 32, dtype=np.float32).reshape(24, 32)
    assert resize_plane(x, (32, 24)) is x
    assert resize_plane(x, (16, 12)).shape == (12, 16)
    assert resize_plane(np.dstack([x, x]), (64, 48)).shape == (48, 64, 2)
    np.testing.assert_allclose(resize_plane(np.full((24, 32), 7, np.float32), (16, 12)), 7)
