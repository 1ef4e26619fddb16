"""core/sequence.py: pattern syntaxes, folders, single files, ranges, missing frames, output patterns."""

from __future__ import annotations

import os

import pytest

from kinochrome.core.errors import OutputError, SequenceError, UsageError
from kinochrome.core.sequence import (
    canonical_pattern,
    frame_path,
    open_shot,
    output_shot_pattern,
    parse_frame_range,
)


def _touch(folder, *names):
    for name in names:
        (folder / name).write_bytes(b"")


@pytest.fixture
def shot_dir(tmp_path):
    """Empty files shot.1001..1005.exr without 1003: enough for sequence logic (no pixels needed)."""
    _touch(tmp_path, *(f"shot.{f}.exr" for f in (1001, 1002, 1004, 1005)))
    return tmp_path


@pytest.mark.parametrize("token", ["####", "%04d", "@@@@", "$F4"])
def test_pattern_syntaxes_give_the_same_shot(shot_dir, token):
    shot = open_shot(str(shot_dir / f"shot.{token}.exr"))
    assert shot.pattern == str(shot_dir / "shot.####.exr")
    assert (shot.first, shot.last, shot.padding) == (1001, 1005, 4)
    assert shot.frames == (1001, 1002, 1004, 1005)
    assert shot.missing == (1003,)
    assert shot.path(1004) == str(shot_dir / "shot.1004.exr")
    assert not shot.is_single_file


@pytest.mark.parametrize("folder", ["take #2", "reel @5", "v%03d old"])
@pytest.mark.parametrize("token", ["####", "%04d"])
def test_frame_tokens_in_folder_names_are_just_folder_names(tmp_path, folder, token):
    shots = tmp_path / folder
    shots.mkdir()
    _touch(shots, "sh010.1001.exr", "sh010.1002.exr")
    shot = open_shot(str(shots / f"sh010.{token}.exr"))
    assert shot.pattern == str(shots / "sh010.####.exr") and shot.frames == (1001, 1002)
    assert frame_path(shot.pattern, 1002) == str(shots / "sh010.1002.exr")
    assert open_shot(str(shots)).pattern == shot.pattern                   # the folder form too


def test_hash_is_one_digit_like_nuke(tmp_path):
    _touch(tmp_path, "a.01.exr", "a.02.exr", "a.0003.exr")
    shot = open_shot(str(tmp_path / "a.##.exr"))
    assert shot.frames == (1, 2) and shot.padding == 2
    assert frame_path(str(tmp_path / "a.##.exr"), 7) == str(tmp_path / "a.07.exr")


def test_padding_is_a_minimum_width(tmp_path):
    _touch(tmp_path, "s.9999.exr", "s.10000.exr", "s.00001.exr")
    shot = open_shot(str(tmp_path / "s.####.exr"))
    assert shot.frames == (9999, 10000)  # 00001 has 5 digits with a leading zero: another padding
    assert shot.path(10000).endswith("s.10000.exr")


def test_relative_pattern_becomes_absolute(shot_dir, monkeypatch):
    monkeypatch.chdir(shot_dir)
    shot = open_shot("shot.%04d.exr")
    assert os.path.isabs(shot.pattern) and shot.pattern.endswith("shot.####.exr")


def test_folder_with_one_sequence(shot_dir):
    _touch(shot_dir, "notes.txt", "shot.kinochrome.json")
    shot = open_shot(str(shot_dir))
    assert shot.pattern == str(shot_dir / "shot.####.exr")
    assert shot.missing == (1003,)


def test_folder_ignores_hidden_temp_files(shot_dir):
    _touch(shot_dir, ".shot_kino.1001.kino.tmpab12.exr", ".shot_kino.1002.kino.tmpcd34.exr")
    assert open_shot(str(shot_dir)).pattern == str(shot_dir / "shot.####.exr")


def test_folder_with_two_sequences_is_ambiguous(shot_dir):
    _touch(shot_dir, "other.0001.dpx", "other.0002.dpx")
    with pytest.raises(SequenceError, match="2 sequences.*pass a pattern"):
        open_shot(str(shot_dir))


def test_empty_folder(tmp_path):
    with pytest.raises(SequenceError, match="matches no files"):
        open_shot(str(tmp_path))


def test_folder_with_one_still(tmp_path):
    _touch(tmp_path, "photo.jpg")
    shot = open_shot(str(tmp_path))
    assert shot.is_single_file and shot.frames == (1,)


@pytest.mark.parametrize("name, frame, padding", [("photo.jpg", 1, 0), ("shot.1004.exr", 1004, 4),
                                                  ("plate_v2.exr", 2, 1)])
def test_single_file(tmp_path, name, frame, padding):
    _touch(tmp_path, name)
    shot = open_shot(str(tmp_path / name))
    assert shot.is_single_file
    assert (shot.first, shot.last, shot.frames, shot.missing, shot.padding) == (frame, frame, (frame,), (), padding)
    assert shot.pattern == str(tmp_path / name)
    assert shot.path(frame) == str(tmp_path / name)


def test_requested_range_reports_missing_frames(shot_dir):
    shot = open_shot(str(shot_dir / "shot.####.exr"), (999, 1003))
    assert (shot.first, shot.last) == (999, 1003)
    assert shot.frames == (1001, 1002)
    assert shot.missing == (999, 1000, 1003)


def test_range_in_pattern(shot_dir):
    shot = open_shot(str(shot_dir / "shot.1002-1004#.exr"))
    assert (shot.first, shot.last, shot.frames, shot.missing) == (1002, 1004, (1002, 1004), (1003,))


def test_pattern_matching_nothing_names_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SequenceError, match=r"^nope\.####\.exr: matches no files$"):
        open_shot("nope.####.exr")
    with pytest.raises(SequenceError, match="missing.exr: matches no files"):
        open_shot(str(tmp_path / "missing.exr"))


@pytest.mark.parametrize("text, expected", [("1001-1100", (1001, 1100)), ("1001", (1001, 1001)),
                                            (" 5 - 7 ", (5, 7)), ("-3--1", (-3, -1))])
def test_parse_frame_range(text, expected):
    assert parse_frame_range(text) == expected


@pytest.mark.parametrize("text", ["x", "1001-", "1-2-3", "", "10-1", "1.5"])
def test_parse_frame_range_rejects(text):
    with pytest.raises(UsageError, match="--frames: expected A-B"):
        parse_frame_range(text)


def test_frame_path_syntaxes():
    assert frame_path("/x/a.####.exr", 12) == "/x/a.0012.exr"
    assert frame_path("/x/a.%05d.exr", 12) == "/x/a.00012.exr"
    assert frame_path("/x/a.@@@.exr", 12) == "/x/a.012.exr"
    assert frame_path("a_#.exr", 12345) == "a_12345.exr"
    assert frame_path("/x/still.exr", 3) == "/x/still.exr"
    assert canonical_pattern("/x/a.%04d.dpx") == "/x/a.####.dpx"


def test_default_output_beside_input(shot_dir):
    shot = open_shot(str(shot_dir / "shot.####.exr"))
    assert output_shot_pattern(None, shot) == str(shot_dir / "shot_kino.####.exr")


def test_default_output_single_file(tmp_path):
    _touch(tmp_path, "photo.jpg", "shot.1004.exr")
    assert output_shot_pattern(None, open_shot(str(tmp_path / "photo.jpg"))) == str(tmp_path / "photo_kino.jpg")
    assert (output_shot_pattern(None, open_shot(str(tmp_path / "shot.1004.exr")))
            == str(tmp_path / "shot_kino.1004.exr"))


@pytest.mark.parametrize("given, expected", [("out/x.%05d.dpx", "out/x.#####.dpx"), ("out/x.@@@@.exr", "out/x.####.exr"),
                                             ("out/x.####.exr", "out/x.####.exr")])
def test_output_tokens(shot_dir, given, expected):
    shot = open_shot(str(shot_dir / "shot.####.exr"))
    assert output_shot_pattern(str(shot_dir / given), shot) == str(shot_dir / expected)


def test_output_folder_takes_input_name(shot_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    shot = open_shot(str(shot_dir / "shot.####.exr"))
    assert output_shot_pattern(str(out), shot) == str(out / "shot.####.exr")


def test_output_without_frame_token(shot_dir):
    shot = open_shot(str(shot_dir / "shot.####.exr"))
    with pytest.raises(OutputError, match=r"out\.exr: no frame token .* 5-frame input"):
        output_shot_pattern("out.exr", shot)


def test_output_without_token_is_fine_for_one_frame(shot_dir):
    shot = open_shot(str(shot_dir / "shot.####.exr"), (1001, 1001))
    assert output_shot_pattern(str(shot_dir / "one.exr"), shot) == str(shot_dir / "one.exr")


@pytest.mark.parametrize("given", ["shot.####.exr", "shot.%04d.exr", "shot.#.exr", "."])
def test_output_equal_to_input(shot_dir, given):
    shot = open_shot(str(shot_dir / "shot.####.exr"))
    with pytest.raises(OutputError, match="output is the input.*shot.1001.exr"):
        output_shot_pattern(str(shot_dir / given), shot)


def test_output_equal_to_single_input(tmp_path):
    _touch(tmp_path, "photo.png")
    with pytest.raises(OutputError, match="output is the input"):
        output_shot_pattern(str(tmp_path / "photo.png"), open_shot(str(tmp_path / "photo.png")))


def test_folder_with_unpadded_frames(tmp_path):
    _touch(tmp_path, *(f"shot.{f}.exr" for f in range(8, 13)))
    shot = open_shot(str(tmp_path))
    assert shot.pattern == str(tmp_path / "shot.#.exr")
    assert shot.frames == (8, 9, 10, 11, 12) and shot.path(9) == str(tmp_path / "shot.9.exr")
