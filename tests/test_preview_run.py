"""Preview is the run: ``preview_frame`` shows exactly the frame ``run_job`` writes, for every method."""

from __future__ import annotations

import numpy as np
import pytest

from kinochrome.core import colour, frameio
from kinochrome.core.colouriser import METHODS, get_method
from kinochrome.core.errors import UsageError
from kinochrome.core.job import JobSettings, preview_frame, run_job
from kinochrome.core.session import ColourPoint, Keyframe, Stroke


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from kinochrome.core.model import build_tiny_model

    return str(build_tiny_model(tmp_path_factory.mktemp("m")))


@pytest.mark.parametrize("method", sorted(METHODS))
def test_preview_shows_the_frame_the_run_writes(tmp_path, make_sequence, tiny_model, method):
    # 64x48 frames at working size 64: the working size is the frame size, so no resampling stands between
    # the preview (working size) and the run (full size); the output is float so the file holds it exactly.
    pattern = make_sequence(tmp_path / "plates", n=6)
    ref = make_sequence(tmp_path / "refs", fmt="png", n=1, gray=False, name="ref").replace("####", "1001")
    keyframes = [Keyframe(1001, ref, points=[ColourPoint(10, 10, (0.9, 0.2, 0.1), radius=4)]),
                 Keyframe(1004, strokes=[Stroke([(5.0, 40.0), (30.0, 40.0)], (0.1, 0.3, 0.9), radius=3)])]
    settings = JobSettings(input=pattern, output=str(tmp_path / "out" / "o.####.exr"), method=method,
                           model=tiny_model, keyframes=keyframes, working_size=64, out_bit_depth="float",
                           device="cpu")
    summary = run_job(settings)
    assert summary.written == [1001, 1002, 1003, 1004, 1005, 1006]
    for f in (1002, 1004, 1006):
        written = frameio.read_frame(str(tmp_path / "out" / f"o.{f}.exr"))
        run_display = colour.to_display_srgb(written.rgb, summary.colourspace)
        _, after = preview_frame(settings, f)
        assert after.shape == run_display.shape
        assert np.abs(after - run_display).max() < 1e-4, (method, f)


def test_methods_are_looked_up_by_name_with_the_options_in_the_error():
    assert get_method("reinhard").needs == "reference"
    assert get_method("model").needs is None
    with pytest.raises(UsageError, match="model, flow, histogram, reinhard, knn"):
        get_method("colorize")
