"""`kinochrome demo` on the bundled sample shot: coloured frames and a contact sheet, luminance kept."""

from __future__ import annotations

import numpy as np
import pytest

from kinochrome.core import frameio, sequence
from kinochrome.core.demo import SAMPLE_PATTERN
from kinochrome.core.lab import linear_to_lab
from kinochrome.core.model import list_models
from kinochrome.plugin.cli import main

pytestmark = pytest.mark.slow


def test_demo_writes_coloured_frames_and_a_sheet(tmp_path):
    if not any(m.get("name") == "kino-small" for m in list_models()):
        pytest.fail("the default model kino-small is not installed (core/models/)")
    assert main(["demo", "--out", str(tmp_path), "--quiet"]) == 0
    assert (tmp_path / "contact_sheet.png").stat().st_size > 10_000
    for run in ("auto", "keyframe"):
        out = str(tmp_path / run / "juggle.####.exr")
        assert len(sequence.open_shot(out).frames) == 36
        for f in (1001, 1018, 1036):
            src = frameio.read_frame(sequence.frame_path(SAMPLE_PATTERN, f)).rgb
            dst = frameio.read_frame(sequence.frame_path(out, f)).rgb
            lab = linear_to_lab(np.clip(dst, 0, None))
            assert np.abs(lab[..., 1:]).mean() > 2.0, f"{run} {f}: no colour"
            y = dst @ np.array([0.2126, 0.7152, 0.0722], np.float32)
            assert np.allclose(y, src[..., 0], rtol=2e-3, atol=2e-4), f"{run} {f}: luminance changed"


def test_burned_label_outline_stays_with_its_text():
    import numpy as np

    from kinochrome.core.contact import burn_label

    tile = burn_label(np.full((24, 240, 3), 128, np.uint8), "kinochrome auto  1001")
    changed = np.flatnonzero((tile != 128).any(axis=(0, 2)))
    white = np.flatnonzero((tile > 200).all(axis=2).any(axis=0))
    # a thick outline string would run ~9 px past the text (OpenCV advances glyphs by the stroke thickness)
    assert changed.max() - white.max() <= 2 and white.min() - changed.min() <= 2
