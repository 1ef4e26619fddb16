"""core/info.py: shot_info fields for DPX/EXR shots, missing frames, windows, layers; format_info."""

from __future__ import annotations

import json

import numpy as np
import OpenImageIO as oiio
import pytest
from conftest import write_image, write_sequence

from kinochrome.core.colour import CINEON, check_colourspace
from kinochrome.core.errors import FrameLayoutError, SequenceError
from kinochrome.core.info import compact_frames, format_info, human_size, shot_info


def test_dpx_shot(tmp_path):
    pattern = write_sequence(tmp_path, "dpx", n=5, bits=10, missing=(1003,))
    info = shot_info(pattern)
    json.dumps(info)  # the --json output
    assert info["pattern"] == pattern
    assert (info["first"], info["last"], info["count"], info["expected"]) == (1001, 1005, 4, 5)
    assert info["missing"] == [1003] and info["missing_text"] == "1003"
    assert info["resolution"] == [64, 48] and info["channels"] == ["R", "G", "B"]
    assert (info["pixel_type"], info["bits"], info["format"]) == ("uint16", 10, "dpx")
    assert info["colourspace"] == CINEON
    assert (info["timecode"], info["fps"], info["pixel_aspect"]) == ("01:00:00:00", 24.0, 1.0)
    assert info["size_bytes"] == sum(p.stat().st_size for p in tmp_path.iterdir())
    text = format_info(info)
    assert "1001-1005 (4 of 5 frames on disk)" in text and "10-bit" in text and "Cineon log" in text


def test_empty_frame_files_are_listed(tmp_path):
    # a 0-byte frame is "on disk" but holds no picture: info must say so, not report the shot complete
    pattern = write_sequence(tmp_path, "exr", n=4)
    (tmp_path / "shot.1001.exr").write_bytes(b"")
    (tmp_path / "shot.1003.exr").write_bytes(b"")
    info = shot_info(pattern)
    assert info["missing"] == [] and info["empty"] == [1001, 1003] and info["empty_text"] == "1001,1003"
    assert info["resolution"] == [64, 48]               # read from the first frame that has a picture
    assert any(line.startswith("Empty files") and "1001,1003 (0 bytes" in line for line in format_info(info).splitlines())


def test_info_of_a_session_file_describes_its_shot(tmp_path, capsys):
    from kinochrome.core.cli import main

    write_sequence(tmp_path / "plates", "exr", n=4)
    session = tmp_path / "shot.kinochrome.json"
    session.write_text(json.dumps({"kinochrome_session": 1,
                                   "shot": {"path": "plates/shot.####.exr", "frames": [1002, 1003]}}))
    assert main(["info", str(session), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["first"], info["last"], info["count"]) == (1002, 1003, 2)


def test_half_exr_shot_with_range_and_alpha(tmp_path):
    pattern = write_sequence(tmp_path, "exr", n=3, alpha=True)
    info = shot_info(str(tmp_path), frames=(1000, 1005))
    assert info["pattern"] == pattern
    assert info["missing_text"] == "1000,1004-1005"
    assert info["channels"] == ["R", "G", "B", "A"] and info["alpha"]
    assert (info["pixel_type"], info["compression"]) == ("half", "piz")
    assert info["colourspace"] == check_colourspace("lin_rec709")
    assert "piz compression" in format_info(info)


def test_windows_and_layers(tmp_path):
    spec = oiio.ImageSpec(32, 16, 6, "half")
    spec.channelnames = ("R", "G", "B", "diffuse.R", "diffuse.G", "diffuse.B")
    spec.x, spec.y, spec.full_width, spec.full_height = 4, 2, 48, 27
    write_image(tmp_path / "plate.0001.exr", np.zeros((16, 32, 6), np.float32), spec)
    info = shot_info(str(tmp_path / "plate.####.exr"), layer="diffuse")
    assert info["data_window"] == [4, 2, 32, 16] and info["display_window"] == [0, 0, 48, 27]
    assert info["layer"] == "diffuse" and info["layers"] == ["(default)", "diffuse"]
    text = format_info(info)
    assert "Data window" in text and "48x27 at (0, 0)" in text and "Layers" in text
    with pytest.raises(FrameLayoutError, match="no layer 'spec'"):
        shot_info(str(tmp_path / "plate.####.exr"), layer="spec")


def test_timecode_of_later_first_frame(tmp_path):
    write_sequence(tmp_path, "exr", n=30)
    assert shot_info(str(tmp_path / "shot.####.exr"), frames=(1026, 1030))["timecode"] == "01:00:01:01"


def test_nothing_on_disk_in_range(tmp_path):
    pattern = write_sequence(tmp_path, "png", n=2)
    info = shot_info(pattern, frames=(1, 3))
    assert info["count"] == 0 and info["missing_text"] == "1-3" and "resolution" not in info
    assert "0 of 3 frames" in format_info(info)


def test_matches_nothing(tmp_path):
    with pytest.raises(SequenceError, match="matches no files"):
        shot_info(str(tmp_path / "none.####.exr"))


def test_helpers():
    assert compact_frames((1003, 1005, 1006, 1007, 1010)) == "1003,1005-1007,1010"
    assert compact_frames(()) == ""
    assert human_size(999) == "999 B" and human_size(1_234_567) == "1.2 MB"


def test_single_file(tmp_path):
    pattern = write_sequence(tmp_path, "jpg", n=1, first=7, padding=0)
    info = shot_info(pattern.replace(".jpg", "7.jpg"))
    assert (info["first"], info["count"], info["colourspace"]) == (7, 1, check_colourspace("sRGB"))
