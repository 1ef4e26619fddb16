"""One lossless job format: a job with points, strokes, several keyframes and every setting crosses each
channel a job travels by (Resolve's job runner, Nuke's colorize command, a farm task) and comes back equal."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
from pathlib import Path

import pytest
from conftest import write_layered_exr

from kinochrome.core import cli, job
from kinochrome.core.errors import SessionError
from kinochrome.core.job import JobEvent, JobSettings
from kinochrome.core.pipeline import resolved_keyframes
from kinochrome.core.session import ColourPoint, Keyframe, Stroke, save_session


@pytest.fixture
def nuke_module(monkeypatch):
    """The fake ``nuke`` module (tests/fakes/nuke.py) as sys.modules['nuke'], and a fresh kinochrome.nuke."""
    spec = importlib.util.spec_from_file_location("nuke", Path(__file__).parent / "fakes" / "nuke.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "nuke", module)
    spec.loader.exec_module(module)
    for name in [n for n in sys.modules if n.startswith("kinochrome.nuke.")]:
        monkeypatch.delitem(sys.modules, name)
    return module


def full_job(base: Path) -> JobSettings:
    """Every JobSettings field away from its default (threads and stateless: see the channels)."""
    return JobSettings(
        input=str(base / "plates" / "s.####.exr"), output=str(base / "out" / "o.####.exr"), frames=(1001, 1010),
        method="reinhard", model="kino-small", colourspace="ACEScg", layer="beauty",
        keyframes=[
            Keyframe(1001, "refs/a.png", "painted",
                     points=[ColourPoint(1.5, 2.0, (0.1, 0.2, 0.3), radius=5.0),
                             ColourPoint(30.0, 20.0, (0.9, 0.8, 0.7))],
                     strokes=[Stroke([(1.0, 2.0), (3.0, 4.5)], (0.5, 0.6, 0.7), radius=2.0)]),
            Keyframe(1005, None, "auto", points=[ColourPoint(4.0, 5.0, (0.2, 0.9, 0.1), radius=3.0)]),
            Keyframe(1009, str(base / "refs" / "b.png"), "exemplar",
                     strokes=[Stroke([(0.0, 0.0), (9.0, 9.0), (12.0, 3.0)], (0.3, 0.3, 0.9))]),
        ],
        ref_strength=0.7, reach=9, working_size=320, fit=True, device="cpu", threads=3, preroll=4,
        mode="overwrite", missing="hold", on_error="skip", out_bit_depth="uint16", confidence_aov=True,
        base_dir=base, stateless=True, session_file=base / "s.kinochrome.json")


def changed_fields(settings: JobSettings) -> set[str]:
    default = JobSettings(input="")
    return {f.name for f in dataclasses.fields(JobSettings)
            if getattr(settings, f.name) != getattr(default, f.name)}


def test_the_full_job_sets_every_field():
    assert changed_fields(full_job(Path("/x"))) == {f.name for f in dataclasses.fields(JobSettings)}


def test_job_document_round_trip_is_lossless(tmp_path):
    settings = full_job(tmp_path)
    assert JobSettings.from_dict(json.loads(json.dumps(settings.to_dict()))) == settings


def test_job_document_refuses_what_it_does_not_know(tmp_path):
    doc = full_job(tmp_path).to_dict()
    with pytest.raises(SessionError, match="unknown fields colour_boost"):
        JobSettings.from_dict(dict(doc, run=dict(doc["run"], colour_boost=2)))
    with pytest.raises(SessionError, match="kinochrome_job"):
        JobSettings.from_dict({"input": "x"})


def test_job_event_json_round_trip():
    event = JobEvent("frame", frame=1003, index=3, total=10, status="done", path="/o/o.1003.exr",
                     seconds=0.25, data={"extra": [1, 2]})
    assert JobEvent.from_json(json.loads(json.dumps(event.to_json()))) == event


def parse_colorize(argv: list[str]) -> JobSettings:
    parser, _ = cli.build_parser()
    return cli.colorize_settings(parser.parse_args(argv))


def test_job_crosses_into_resolve_nuke_and_a_farm_task_and_back(tmp_path, monkeypatch, nuke_module,
                                                                make_sequence):
    from kinochrome.plugin import farm
    from kinochrome.resolve import __main__ as resolve_main

    settings = full_job(tmp_path)
    (tmp_path / "plates").mkdir()
    for f in range(1001, 1011):      # the farm checks the job on submitting: the layer and references must be there
        write_layered_exr(tmp_path / "plates" / f"s.{f}.exr", ["beauty.R", "beauty.G", "beauty.B"])
    for name in ("a", "b"):
        make_sequence(tmp_path / "refs", fmt="png", n=1, gray=False, name=name)
        (tmp_path / "refs" / f"{name}.1001.png").rename(tmp_path / "refs" / f"{name}.png")
    crossed: dict[str, JobSettings] = {}

    # Resolve: the job file the Workspace script hands to `python -m kinochrome.resolve job FILE`
    job_file = tmp_path / "job.json"
    job_file.write_text(json.dumps(settings.to_dict()))
    monkeypatch.setattr(job, "run_job", lambda s, progress=None, cancel=None: crossed.setdefault("resolve", s))
    assert resolve_main.run_job_file(str(job_file)) == 0
    assert crossed["resolve"] == settings

    # Nuke and the farm: a `kinochrome colorize` command (cli.colorize_args) with the session file saved beside
    # the shot, which carries the keyframes; references compare resolved. stateless (evaluation only) has no flag.
    session_file = tmp_path / "s.kinochrome.json"
    save_session(settings.to_session(), session_file)
    carried = dataclasses.replace(settings, stateless=False, keyframes=resolved_keyframes(settings))

    from kinochrome.nuke import adapter as nuke_adapter

    crossed["nuke"] = parse_colorize(nuke_adapter.colorize_args(settings, session_file))
    commands = farm.chunk_commands(settings, chunk=10, preroll=settings.preroll, session_path=str(session_file))
    assert len(commands) == 1
    crossed["farm"] = parse_colorize(commands[0][1:])
    for channel in ("farm", "nuke"):
        got = dataclasses.replace(crossed[channel], keyframes=resolved_keyframes(crossed[channel]))
        # a farm task runs with the worker's own thread count
        want = dataclasses.replace(carried, threads=None) if channel == "farm" else carried
        lost = {f.name: (getattr(got, f.name), getattr(want, f.name)) for f in dataclasses.fields(JobSettings)
                if getattr(got, f.name) != getattr(want, f.name)}
        assert not lost, f"{channel} loses {lost}"
