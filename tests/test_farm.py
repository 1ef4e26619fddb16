"""Render-farm distribution: chunking, OpenJD job bundles, plain commands, `kinochrome farm`.

Unit tests need no openjd; tests marked ``farm`` run the openjd CLI from the venv (skipped without it). The
end-to-end tests run the real ``kinochrome colorize`` under ``openjd run`` on a 9-frame 64x48 shot with the
reinhard method (a keyframe reference from a session file, so no model weights are needed).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from kinochrome.core.errors import (
    ColourReferenceError,
    FrameReadError,
    KinochromeError,
    ModelError,
    OutputError,
    SequenceError,
    UsageError,
)
from kinochrome.core.job import JobSettings
from kinochrome.core.session import ColourPoint, Keyframe, load_session
from kinochrome.plugin import farm

VENV_BIN = Path(sysconfig.get_path("scripts"))
OPENJD = VENV_BIN / "openjd"
KINOCHROME = VENV_BIN / "kinochrome"
WEIRD = "Łódź 'take 2' \"x\""       # spaces, both quotes, non-ASCII
FIRST, LAST, W, H = 1001, 1009, 64, 48

needs_openjd = pytest.mark.skipif(not OPENJD.exists(), reason=f"{OPENJD} missing (install the 'farm' extra)")


# ------------------------------------------------------------------------------------------------ fixtures


def _write_exr(path: Path, y: np.ndarray) -> None:
    import OpenImageIO as oiio

    spec = oiio.ImageSpec(y.shape[1], y.shape[0], 1, "half")
    spec.channelnames = ("Y",)
    spec.attribute("compression", "piz")
    out = oiio.ImageOutput.create(str(path))
    assert out is not None and out.open(str(path), spec), oiio.geterror()
    assert out.write_image(y[..., None].astype(np.float32))
    out.close()


def _write_png(path: Path, rgb: np.ndarray) -> None:
    import OpenImageIO as oiio

    spec = oiio.ImageSpec(rgb.shape[1], rgb.shape[0], 3, "uint8")
    out = oiio.ImageOutput.create(str(path))
    assert out is not None and out.open(str(path), spec), oiio.geterror()
    assert out.write_image(rgb.astype(np.float32))
    out.close()


@pytest.fixture
def shot(tmp_path: Path) -> dict:
    """9 grayscale half EXR frames in a folder named with spaces, quotes and non-ASCII, a colour reference
    for frame 1001 and a session file (method reinhard) beside them."""
    root = tmp_path / "shots"
    folder = root / WEIRD
    folder.mkdir(parents=True)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    for i, frame in enumerate(range(FIRST, LAST + 1)):
        y = 0.05 + 0.6 * (xx / W) * (0.5 + 0.5 * np.sin((yy + 3 * i) / 7.0))
        y += 0.3 * np.exp(-((xx - 10 - 5 * i) ** 2 + (yy - 24) ** 2) / 40.0)
        _write_exr(folder / f"shot.{frame}.exr", y)
    ref = np.stack([0.2 + 0.6 * xx / W, 0.3 + 0.3 * yy / H, np.full_like(xx, 0.5)], axis=-1)
    _write_png(root / "ref.png", ref)
    session = root / "shot.kinochrome.json"
    session.write_text(json.dumps({
        "kinochrome_session": 1,
        "shot": {"path": f"{WEIRD}/shot.####.exr"},
        "keyframes": [{"frame": FIRST, "reference": "ref.png", "kind": "exemplar"}],
        "settings": {"method": "reinhard", "device": "cpu"},
    }, ensure_ascii=False), encoding="utf-8")
    return {"root": root, "folder": folder, "pattern": str(folder / "shot.####.exr"), "session": session,
            "output": str(tmp_path / "out" / WEIRD / "shot_kino.####.exr")}


def _settings(shot: dict, **overrides) -> JobSettings:
    settings = JobSettings.from_session(load_session(shot["session"]), output=shot["output"])
    for key, value in overrides.items():
        setattr(settings, key, value)
    return settings


def _load(path: Path):
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    import yaml

    return yaml.safe_load(text)


def _run(cmd: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=False, capture_output=True, text=True, encoding="utf-8", timeout=timeout)


# ------------------------------------------------------------------------------------------------ chunks


def test_chunk_ranges_cover_the_range_contiguously():
    assert farm.chunk_ranges(1001, 1009, 3) == [(1001, 1003), (1004, 1006), (1007, 1009)]
    assert farm.chunk_ranges(1001, 1009, 9) == [(1001, 1009)]
    assert farm.chunk_ranges(1001, 1001, 1) == [(1001, 1001)]
    # OpenJD balances the chunks (sizes differ by at most one), so do we: 10 frames, chunk 3 -> 3, 2, 3, 2
    assert farm.chunk_ranges(1001, 1010, 3) == [(1001, 1003), (1004, 1005), (1006, 1008), (1009, 1010)]
    for length in range(1, 40):
        for chunk in range(1, length + 1):
            ranges = farm.chunk_ranges(1, length, chunk)
            assert ranges[0][0] == 1 and ranges[-1][1] == length
            assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(ranges))
            assert all(1 <= e - s + 1 <= chunk for s, e in ranges)
            assert len(ranges) == -(-length // chunk)


@pytest.mark.parametrize("chunk", [0, -5, 10])
def test_chunk_ranges_bad_chunk(chunk):
    with pytest.raises(UsageError, match="chunk size"):
        farm.chunk_ranges(1001, 1009, chunk)


# ------------------------------------------------------------------------------------------------ commands


def test_chunk_commands_are_argument_lists_with_paths_unchanged(shot):
    commands = farm.chunk_commands(_settings(shot), 3, 2, str(shot["session"]))
    assert len(commands) == 3
    for command, (a, b) in zip(commands, [(1001, 1003), (1004, 1006), (1007, 1009)]):
        assert command[0] == str(KINOCHROME)
        assert command[1:4] == ["colorize", shot["pattern"], "-o"]
        assert command[4] == shot["output"]
        assert command[command.index("--session") + 1] == str(shot["session"])
        assert command[command.index("--frames") + 1] == f"{a}-{b}"
        assert command[command.index("--preroll") + 1] == "2"
        assert "--resume" in command and "--json" in command
        assert command[command.index("--method") + 1] == "reinhard"
        assert shlex.split(shlex.join(command)) == command        # what `farm commands` prints round-trips


def test_commands_cli_prints_one_line_per_chunk_and_json(shot, capsys):
    from kinochrome.plugin.cli import main

    argv = ["farm", "commands", str(shot["session"]), "--chunk", "3", "--preroll", "2",
            "--output", shot["output"]]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [shlex.split(line) for line in lines] == farm.chunk_commands(
        _settings(shot), 3, 2, str(shot["session"]))
    assert main([*argv, "--json", "--review"]) == 0
    commands = json.loads(capsys.readouterr().out)
    assert len(commands) == 4 and commands[-1][1] == "sheet"
    assert commands[-1][-2:] == ["-o", str(Path(shot["output"]).parent / "shot_review.png")]


def test_existing_output_is_warned_about_and_overwrite_reaches_the_tasks(shot, capsys):
    from kinochrome.plugin.cli import main

    out = Path(shot["output"].replace("####", "1002"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(b"an earlier run's frame")
    argv = ["farm", "commands", str(shot["session"]), "--chunk", "3", "--preroll", "2", "--output", shot["output"]]
    assert main([*argv, "--json"]) == 0
    captured = capsys.readouterr()
    assert "1 output frame(s)" in captured.err and "--overwrite" in captured.err
    assert all("--resume" in c and "--overwrite" not in c for c in json.loads(captured.out))
    assert main([*argv, "--json", "--overwrite"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and all("--overwrite" in c and "--resume" not in c for c in json.loads(captured.out))


def test_a_model_given_by_a_relative_path_reaches_the_tasks_absolute(shot, tmp_path, monkeypatch):
    from kinochrome.core.model import build_tiny_model

    weights = build_tiny_model(tmp_path / "m")
    monkeypatch.chdir(tmp_path)
    settings = _settings(shot, method="model", model=os.path.relpath(weights, tmp_path), keyframes=[])
    job = farm.plan_job(settings, 3, 2)
    assert job.model == str(weights.resolve())
    assert farm.plan_job(_settings(shot, method="model", model="kino-small", keyframes=[]), 3, 2).model == "kino-small"
    # a name from $KINOCHROME_MODELS stays a name: each worker finds it in its own models folder
    monkeypatch.setenv("KINOCHROME_MODELS", str(weights.parent))
    assert farm.plan_job(_settings(shot, method="model", model=weights.stem, keyframes=[]), 3, 2).model == weights.stem


def test_add_parser_registers_farm_with_func(shot):
    parser = argparse.ArgumentParser(prog="kinochrome")
    farm.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["farm", "commands", shot["pattern"], "--chunk", "4", "--preroll", "0",
                              "--method", "reinhard"])
    assert callable(args.func)
    args = parser.parse_args(["farm", "openjd", shot["pattern"], "--chunk", "4", "-o", "job"])
    assert args.job_dir == "job" and args.preroll == 12


# ------------------------------------------------------------------------------------------------ bundle


def test_write_openjd_job_writes_a_deadline_bundle(shot, tmp_path):
    job_dir = tmp_path / "job"
    template_path = farm.write_openjd_job(_settings(shot), job_dir, 3, 2, str(shot["session"]))
    assert template_path == job_dir / "template.yaml"
    assert {p.name for p in job_dir.iterdir()} == {"template.yaml", "parameter_values.yaml",
                                                   "openjd_parameters.json", "asset_references.yaml",
                                                   "shot.kinochrome.json", "references"}
    template = _load(template_path)
    assert template["specificationVersion"] == "jobtemplate-2023-09"
    assert template["extensions"] == ["TASK_CHUNKING"]
    params = {p["name"]: p for p in template["parameterDefinitions"]}
    for name, kind in [("Shot", "PATH"), ("Output", "PATH"), ("Session", "PATH"), ("Model", "STRING"),
                       ("Device", "STRING"), ("Frames", "STRING"), ("ChunkSize", "INT"), ("Preroll", "INT"),
                       ("KinochromeBin", "PATH")]:
        assert params[name]["type"] == kind, name
    assert params["KinochromeBin"]["default"] == str(VENV_BIN)
    colorize, review = template["steps"]
    assert colorize["name"] == "Colorize" and review["name"] == "ReviewSheet"
    (frame,) = colorize["parameterSpace"]["taskParameterDefinitions"]
    assert frame == {"name": "Frame", "type": "CHUNK[INT]", "range": "{{Param.Frames}}",
                     "chunks": {"defaultTaskCount": "{{Param.ChunkSize}}", "rangeConstraint": "CONTIGUOUS"}}
    run = colorize["script"]["actions"]["onRun"]
    assert run["command"] == "kinochrome"
    assert run["args"][:6] == ["colorize", "{{Param.Shot}}", "-o", "{{Param.Output}}", "--session",
                               "{{Param.Session}}"]
    assert {"--resume", "--json", "{{Task.Param.Frame}}", "{{Param.Preroll}}"} <= set(run["args"])
    assert review["dependencies"] == [{"dependsOn": "Colorize"}]
    assert review["script"]["actions"]["onRun"]["args"][0] == "sheet"
    assert "KinochromeBin" in json.dumps(template["jobEnvironments"])

    values = json.loads((job_dir / "openjd_parameters.json").read_text(encoding="ascii"))  # ASCII-escaped
    assert values["Shot"] == shot["pattern"] and values["Output"] == shot["output"]
    assert values["Frames"] == "1001-1009" and values["ChunkSize"] == 3 and values["Preroll"] == 2
    deadline = _load(job_dir / "parameter_values.yaml")["parameterValues"]
    assert {v["name"]: v["value"] for v in deadline} == values
    refs = _load(job_dir / "asset_references.yaml")["assetReferences"]
    copy = job_dir / "references" / "1001_0_ref.png"
    assert copy.read_bytes() == (shot["root"] / "ref.png").read_bytes()
    assert str(copy) in refs["inputs"]["filenames"] and values["Session"] == str(job_dir / "shot.kinochrome.json")
    assert load_session(values["Session"]).keyframes[0].reference == "references/1001_0_ref.png"
    assert refs["inputs"]["directories"] == [str(shot["folder"])]


def test_template_without_session_has_no_session_parameter(shot, tmp_path):
    # automatic colour (the default model, no keyframes): a classical method without a reference would be refused
    settings = JobSettings(input=shot["pattern"], output=shot["output"], method="model")
    farm.write_openjd_job(settings, tmp_path / "job", 4, 0)
    template = _load(tmp_path / "job" / "template.yaml")
    assert "Session" not in {p["name"] for p in template["parameterDefinitions"]}
    assert "--session" not in template["steps"][0]["script"]["actions"]["onRun"]["args"]


def test_settings_beyond_the_parameters_reach_the_tasks(shot, tmp_path):
    """A host's "Send to farm" without a saved session: keyframes and settings still reach every task."""
    ref = str(shot["root"] / "ref.png")
    settings = JobSettings(input=shot["pattern"], output=shot["output"], method="reinhard", colourspace="lin_rec709",
                           reach=30, keyframes=[Keyframe(frame=FIRST, reference=ref)])
    (command, *_) = farm.chunk_commands(settings, 3, 2)
    assert command[command.index("--colorspace") + 1] == "lin_rec709"
    assert command[command.index("--reach") + 1] == "30"
    assert command[command.index("--ref") + 1] == f"{FIRST}={ref}"

    template = _load(farm.write_openjd_job(settings, tmp_path / "job", 3, 2))
    args = template["steps"][0]["script"]["actions"]["onRun"]["args"]
    assert args[args.index("--colorspace") + 1] == "lin_rec709" and "{{Param.Session}}" in args
    values = json.loads((tmp_path / "job" / "openjd_parameters.json").read_text(encoding="ascii"))
    session = load_session(values["Session"])                 # written into the job folder
    assert Path(values["Session"]).parent == tmp_path / "job"
    assert session.keyframes[0].reference == "references/1001_0_ref.png" and session.shot == shot["pattern"]

    settings.keyframes = [Keyframe(frame=FIRST, reference=ref, kind="exemplar")]
    with pytest.raises(UsageError, match="need a session file"):
        farm.chunk_commands(settings, 3, 2)                    # flags cannot carry a reference kind


def _assert_refused(settings, job_dir, chunk, error, match, session=None):
    with pytest.raises(error, match=match) as info:
        farm.write_openjd_job(settings, job_dir, chunk, 2, session)
    assert "\n" not in str(info.value)
    assert not job_dir.exists()


@pytest.mark.parametrize("chunk", [0, 10])
def test_bad_chunk_writes_nothing(shot, tmp_path, chunk):
    _assert_refused(_settings(shot), tmp_path / "job", chunk, UsageError, "chunk size")


def test_missing_frames_write_nothing(shot, tmp_path):
    (shot["folder"] / "shot.1005.exr").unlink()
    (shot["folder"] / "shot.1007.exr").unlink()
    _assert_refused(_settings(shot), tmp_path / "job", 3, SequenceError, "missing frames 1005, 1007")


@pytest.mark.parametrize("case,error,words", [
    ("model", ModelError, "kino-huge: no such model"),
    ("device", UsageError, "--device"),
    ("reference", ColourReferenceError, "colour reference not found"),
    ("keyframe", ColourReferenceError, "keyframe 5"),
    ("point", ColourReferenceError, "outside"),
    ("empty", FrameReadError, r"shot\.1004\.exr: empty file \(0 bytes\)"),
])
def test_what_every_task_would_fail_on_is_refused_at_submit(shot, tmp_path, case, error, words):
    # colorize refuses these before its first frame; on the farm each task would fail, minutes or hours later
    settings = _settings(shot)
    if case == "model":
        settings = _settings(shot, method="model", model="kino-huge")
    elif case == "device":
        settings = _settings(shot, device="tpu")
    elif case == "reference":
        settings.keyframes = [Keyframe(frame=FIRST, reference=str(shot["root"] / "gone.png"))]
    elif case == "keyframe":
        settings.keyframes = [Keyframe(frame=5, reference=str(shot["root"] / "ref.png"))]
    elif case == "point":
        settings.keyframes[0].points = [ColourPoint(x=10 * W, y=1, colour=(1.0, 0.0, 0.0))]
    elif case == "empty":
        (shot["folder"] / "shot.1004.exr").write_bytes(b"")
    _assert_refused(settings, tmp_path / "job", 3, error, words)


@pytest.mark.parametrize("output", ["same", "printf", "folder"])
def test_output_colliding_with_input_writes_nothing(shot, tmp_path, output):
    target = {"same": shot["pattern"], "printf": str(shot["folder"] / "shot.%04d.exr"),
              "folder": str(shot["folder"]) + os.sep}[output]
    _assert_refused(_settings(shot, output=target), tmp_path / "job", 3, OutputError, "input")


def test_output_inside_the_input_folder_is_fine_when_names_differ(shot, tmp_path):
    settings = _settings(shot, output=str(shot["folder"] / "shot_kino.####.exr"))
    farm.write_openjd_job(settings, tmp_path / "job", 3, 2)
    values = json.loads((tmp_path / "job" / "openjd_parameters.json").read_text(encoding="ascii"))
    assert values["Shot"] == shot["pattern"]          # the pattern, never the folder (would turn ambiguous)


def test_openjd_cli_errors_are_one_line_with_exit_code(shot, tmp_path, capsys):
    from kinochrome.plugin.cli import main

    code = main(["farm", "openjd", shot["pattern"], "--chunk", "0", "-o", str(tmp_path / "job")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "chunk size 0" in err
    assert not (tmp_path / "job").exists()


def test_openjd_cli_writes_beside_the_shot_by_default(shot, capsys):
    from kinochrome.plugin.cli import main

    assert main(["farm", "openjd", str(shot["session"]), "--chunk", "3", "--preroll", "2", "--json"]) == 0
    written = json.loads(capsys.readouterr().out)
    assert written["job_dir"] == str(shot["folder"] / "shot.openjd")
    assert Path(written["template"]).is_file() and Path(written["parameters"]).is_file()
    assert farm.default_job_dir("/x/sh010_%04d.dpx") == Path("/x/sh010.openjd")


def test_json_mode_errors_are_json_too(shot, capsys):
    from kinochrome.plugin.cli import main

    assert main(["farm", "commands", shot["pattern"], "--chunk", "99", "--json"]) == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"event": "error", "exit_code": 2,
                                        "message": "chunk size 99: larger than the shot (9 frames, 1001-1009)"}
    assert captured.err.count("\n") == 1


# ------------------------------------------------------------------------------------------------ openjd CLI


@pytest.mark.farm
@needs_openjd
@pytest.mark.parametrize("with_session", [True, False])
def test_openjd_check_accepts_the_template(shot, tmp_path, with_session):
    settings = _settings(shot) if with_session else JobSettings(input=shot["pattern"], method="model")
    template = farm.write_openjd_job(settings, tmp_path / "job", 3, 2,
                                     str(shot["session"]) if with_session else None)
    result = _run([str(OPENJD), "check", str(template)])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.farm
@needs_openjd
def test_tasks_get_paths_unchanged(shot, tmp_path):
    """`openjd run` with a stand-in kinochrome that records its argv: every value arrives byte for byte."""
    fake_bin = tmp_path / f"bin {WEIRD}"
    fake_bin.mkdir()
    record = tmp_path / "argv.jsonl"
    script = fake_bin / "kinochrome"
    script.write_text(
        f"#!{sys.executable}\nimport json, os, sys\n"
        f"with open({str(record)!r}, 'a', encoding='utf-8') as fh:\n"
        "    fh.write(json.dumps([sys.argv[1:], os.environ.get('VIRTUAL_ENV')]) + '\\n')\n",
        encoding="utf-8")
    script.chmod(0o755)
    (fake_bin / "python").symlink_to(sys.executable)
    template = farm.write_openjd_job(_settings(shot), tmp_path / "job", 3, 2, str(shot["session"]),
                                     kinochrome_bin=fake_bin)
    params = template.parent / "openjd_parameters.json"
    result = _run([str(OPENJD), "run", str(template), "-p", f"file://{params}"])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    calls = [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]
    expected = [c[1:] for c in farm.chunk_commands(_settings(shot), 3, 2, str(shot["session"]))]
    job_session = str(template.parent / "shot.kinochrome.json")        # the job's own copy of the session
    expected = [[job_session if a == str(shot["session"]) else a for a in argv] for argv in expected]
    assert sorted(argv for argv, _ in calls[:3]) == sorted(expected)
    assert calls[3][0] == ["sheet", shot["pattern"], shot["output"], "--frames", "1001-1009",
                           "-o", str(Path(shot["output"]).parent / "shot_review.png")]
    assert all(venv == str(tmp_path) for _, venv in calls)      # VIRTUAL_ENV = the parent of KinochromeBin


# ------------------------------------------------------------------------------------------------ end to end


def _lab(path: str) -> np.ndarray:
    from kinochrome.core.frameio import read_frame
    from kinochrome.core.lab import linear_to_lab

    return linear_to_lab(read_frame(path).rgb)


def _model_installed() -> bool:
    try:
        from kinochrome.core.model.registry import resolve_model

        resolve_model(None)
    except (ImportError, KinochromeError):      # no model package yet, or ModelError: no weights
        return False
    return True


def _run_openjd_job(shot: dict, tmp_path: Path, settings: JobSettings, preroll: int) -> tuple[Path, Path]:
    template = farm.write_openjd_job(settings, tmp_path / "job", 3, preroll, str(shot["session"]))
    params = template.parent / "openjd_parameters.json"
    result = _run([str(OPENJD), "run", str(template), "-p", f"file://{params}"], timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert result.stdout.count("Running command") == 1 + 3 + 1       # environment, three chunks, review
    assert (Path(shot["output"]).parent / "shot_review.png").is_file()
    return template, params


def _worst_ab_difference(shot: dict, tmp_path: Path, settings: JobSettings) -> float:
    """Whole-shot run of the same settings; the largest |a|, |b| difference to the chunked output."""
    whole = str(tmp_path / "whole" / "shot.####.exr")
    result = _run([str(KINOCHROME), "colorize", shot["pattern"], "-o", whole, "--session", str(shot["session"]),
                   "--method", settings.method, "--json"], timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return max(float(np.abs(_lab(farm_path(shot["output"], f))[..., 1:] - _lab(farm_path(whole, f))[..., 1:]).max())
               for f in range(FIRST, LAST + 1))


@pytest.mark.farm
@pytest.mark.slow
@needs_openjd
def test_openjd_job_matches_a_whole_shot_run_and_resumes(shot, tmp_path):
    """Three chunks (preroll 2) under `openjd run` = one whole-shot run; a failed task resumes when rerun."""
    if not KINOCHROME.exists():
        pytest.skip(f"{KINOCHROME} missing")
    settings = _settings(shot)                                  # reinhard: deterministic, no model needed
    template, params = _run_openjd_job(shot, tmp_path, settings, preroll=2)
    worst = _worst_ab_difference(shot, tmp_path, settings)
    assert worst < 0.05, f"chunked vs whole-shot ab difference {worst:.3f} (reinhard should be exact)"

    # A task that fails part-way and is retried keeps the frames it already wrote.
    out = {f: Path(farm_path(shot["output"], f)) for f in range(1004, 1007)}
    before = {f: p.stat().st_mtime_ns for f, p in out.items()}
    out[1006].unlink()                                         # the task died before writing 1006 ...
    source = shot["folder"] / "shot.1006.exr"
    good = source.read_bytes()
    source.write_bytes(good[: len(good) // 3])                 # ... because its input was unreadable
    chunk = ["--step", "Colorize", "-tp", "Frame=1004-1006"]
    failed = _run([str(OPENJD), "run", str(template), "-p", f"file://{params}", *chunk], timeout=300)
    assert failed.returncode != 0 and not out[1006].exists()
    source.write_bytes(good)                                   # fixed; retry the same task
    retry = _run([str(OPENJD), "run", str(template), "-p", f"file://{params}", *chunk], timeout=300)
    assert retry.returncode == 0, retry.stdout[-3000:]
    assert out[1006].exists()
    assert {f: out[f].stat().st_mtime_ns for f in (1004, 1005)} == {f: before[f] for f in (1004, 1005)}
    assert retry.stdout.count('"status": "kept"') == 2


@pytest.mark.farm
@pytest.mark.slow
@needs_openjd
def test_openjd_job_with_the_model_joins_within_the_seam_tolerance(shot, tmp_path):
    if not KINOCHROME.exists() or not _model_installed():
        pytest.skip("no kinochrome model installed")
    settings = _settings(shot, method="model")
    _run_openjd_job(shot, tmp_path, settings, preroll=6)
    worst = _worst_ab_difference(shot, tmp_path, settings)
    assert worst < 2.0, f"chunked vs whole-shot ab difference {worst:.3f} Lab units (seam tolerance 2)"


def farm_path(pattern: str, frame: int) -> str:
    from kinochrome.core.sequence import frame_path

    return frame_path(pattern, frame)


def test_no_shell_strings_in_the_template(shot, tmp_path):
    """Every action is a command plus an argument list; no value is pasted into a shell line."""
    template = _load(farm.write_openjd_job(_settings(shot), tmp_path / "job", 3, 2, str(shot["session"])))
    actions = [template["jobEnvironments"][0]["script"]["actions"]["onEnter"]]
    actions += [s["script"]["actions"]["onRun"] for s in template["steps"]]
    for action in actions:
        assert shutil.which("sh") is None or action["command"] not in ("sh", "bash", "cmd", "powershell")
        assert all(isinstance(a, str) for a in action["args"])
    assert WEIRD not in json.dumps(actions, ensure_ascii=False)     # values only as parameters


# ------------------------------------------------------------------------------------------------ issue 17


def test_chunk_is_clamped_to_deadline_clouds_limit(shot, tmp_path, capsys, monkeypatch):
    """Deadline Cloud takes a CHUNK[INT] defaultTaskCount of at most 150 frames: a longer chunk is clamped and
    the artist is told, instead of a job the farm refuses."""
    monkeypatch.setattr(farm, "DEADLINE_CLOUD_MAX_CHUNK", 4)          # the 9-frame shot stands in for 1000
    template = _load(farm.write_openjd_job(_settings(shot), tmp_path / "job", 9, 0, str(shot["session"])))
    params = {p["name"]: p for p in template["parameterDefinitions"]}
    assert params["ChunkSize"]["default"] == 4 and params["ChunkSize"]["maxValue"] == 4
    assert farm.plan_job(_settings(shot), 9, 0, str(shot["session"]), max_chunk=4).notes
    assert farm.DEADLINE_CLOUD_MAX_CHUNK == 4 and farm.plan_job(_settings(shot), 9, 0).chunk == 9   # plain cmds


def test_a_model_file_is_a_path_parameter_and_a_model_name_a_string(shot, tmp_path):
    weights = tmp_path / "models" / "mine.safetensors"
    weights.parent.mkdir()
    weights.write_bytes(b"x")
    planned = farm.plan_job(_settings(shot), 3, 0, str(shot["session"]))       # checked as reinhard, then:
    job = replace(planned, method="model", model=str(weights))
    params = {p["name"]: p for p in farm.build_openjd_template(job)["parameterDefinitions"]}
    assert params["Model"]["type"] == "PATH" and params["Model"]["objectType"] == "FILE"
    assert str(weights) in farm._asset_references(job)["assetReferences"]["inputs"]["filenames"]
    named = replace(planned, method="model", model="kino-small")
    params = {p["name"]: p for p in farm.build_openjd_template(named)["parameterDefinitions"]}
    assert params["Model"]["type"] == "STRING"


@pytest.mark.farm
@needs_openjd
def test_openjd_run_under_path_mapping_finds_shot_session_and_references(shot, tmp_path):
    """The studio's storage is mounted elsewhere on the worker: `openjd run` with a path-mapping rule from the
    submitter's root to the worker's. Only PATH parameters are mapped, so the tasks must find the shot, the
    session and the keyframe references through them (the references travel inside the job's session)."""
    import shutil

    settings = _settings(shot)
    settings.output = str(shot["root"] / "out" / "shot_kino.####.exr")
    farm.write_openjd_job(settings, shot["root"] / "job", 9, 0, str(shot["session"]))
    submitted = shot["root"]
    worker = tmp_path / "worker mount"
    shutil.move(str(submitted), str(worker))                          # the submitter's paths are gone
    rules = {"version": "pathmapping-1.0", "path_mapping_rules": [
        {"source_path_format": "POSIX", "source_path": str(submitted), "destination_path": str(worker)}]}
    moved = worker / "job"
    result = _run([str(OPENJD), "run", str(moved / "template.yaml"), "-p", f"file://{moved / 'openjd_parameters.json'}",
                   "--path-mapping-rules", json.dumps(rules), "--step", "Colorize"], timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert len(list((worker / "out").glob("shot_kino.*.exr"))) == LAST - FIRST + 1
    assert not submitted.exists()
