"""Contact sheet and clip scoring on a tiny model and a synthetic clip."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from kinochrome.core.model import build_tiny_model
from kinochrome.core.model.review import review_sheet, score_clips


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("clips")
    rng = np.random.default_rng(0)
    base = cv2.resize((rng.random((4, 6, 3)) * 255).astype(np.uint8), (96, 64), interpolation=cv2.INTER_CUBIC)
    (root / "c1").mkdir()
    for i in range(5):
        cv2.imwrite(str(root / "c1" / f"{i:04d}.jpg"), np.roll(base, 2 * i, axis=1))
    return root


def test_score_clips_modes(tmp_path, clip_dir):
    weights = build_tiny_model(tmp_path)
    scores = score_clips(str(weights), clip_dir, ["c1"], frames=5)
    assert set(scores) == {"gray", "auto", "auto_reset", "guided"}
    assert scores["gray"]["colourfulness_ratio"] == 0.0
    assert scores["gray"]["psnr"] < 60
    # a random model on a colour clip: far from the original (a scorer answering 1, 0 or NaN fails)
    assert all(0.2 < scores[mode]["ssim"] < 0.9 for mode in scores), scores
    assert set(scores["auto"]) == {"psnr", "ssim", "ab_rmse", "colourfulness_ratio", "cdc", "warp_error"}


def test_contact_sheet_png(tmp_path, clip_dir):
    weights = build_tiny_model(tmp_path)
    out = review_sheet(str(weights), tmp_path / "sheet.png", clip_dir, ["c1"], per_clip=2, thumb=64)
    img = cv2.imread(str(out))
    assert img.shape[1] == 3 * 64 and img.shape[0] > 2 * 40
