"""The session file: round trip, validation errors naming the field, versions, CLI use."""

from __future__ import annotations

import json

import pytest

from kinochrome.core.errors import SessionError
from kinochrome.core.job import JobSettings
from kinochrome.core.session import (
    ColourPoint,
    Keyframe,
    Session,
    Stroke,
    load_session,
    save_session,
    session_from_dict,
    session_path_for,
    session_to_dict,
)


def sample_session() -> Session:
    return Session(shot="plates/shot.####.exr", frames=(1001, 1048), colourspace="lin_rec709",
                   keyframes=[Keyframe(1001, "refs/ref.1001.png", "painted",
                                       [ColourPoint(10, 20, (0.8, 0.1, 0.1), 6)],
                                       [Stroke([(1, 2), (30, 40)], (0.1, 0.2, 0.9), 3)]),
                              Keyframe(1040, points=[ColourPoint(5.5, 6.5, (0.0, 1.0, 0.0))])],
                   ref_strength=0.8, reach=30, working_size=320)


def test_round_trip(tmp_path):
    path = save_session(sample_session(), tmp_path / "shot.kinochrome.json")
    loaded = load_session(path)
    assert loaded == sample_session()
    assert loaded.resolve(loaded.shot) == str(tmp_path / "plates/shot.####.exr")
    assert [p.name for p in tmp_path.iterdir()] == ["shot.kinochrome.json"]  # no temp left
    plain = tmp_path / "plain.txt"
    plain.write_text("written in place")
    assert path.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777    # shared with the team, not 0o600


def test_settings_from_session_resolve_relative_paths(tmp_path):
    path = save_session(sample_session(), tmp_path / "s.kinochrome.json")
    settings = JobSettings.from_session(load_session(path), ref_strength=0.5)
    assert settings.input == str(tmp_path / "plates/shot.####.exr")
    assert settings.ref_strength == 0.5 and settings.reach == 30
    assert settings.base_dir == tmp_path


@pytest.mark.parametrize("mutate,field", [
    (lambda d: d["keyframes"][0]["points"][0].update(x="abc"), "keyframes[0].points[0].x"),
    (lambda d: d["keyframes"][1].update(frame=1001), "keyframes[1].frame"),
    (lambda d: d["keyframes"][0].update(kind="photo"), "keyframes[0].kind"),
    (lambda d: d["keyframes"][0]["points"][0].update(colour=[2, 0, 0]), "keyframes[0].points[0].colour"),
    (lambda d: d["settings"].update(ref_strength=3), "settings.ref_strength"),
    (lambda d: d["settings"].update(method="magic"), "settings.method"),
    (lambda d: d["shot"].update(frames=[10, 1]), "shot.frames"),
    (lambda d: d["shot"].pop("path"), "shot.path"),
    (lambda d: d.update(kinochrome_session="1"), "kinochrome_session"),
    (lambda d: d["keyframes"][0]["strokes"][0].update(points=[["a", "b"]]), "keyframes[0].strokes[0].points[0]"),
    (lambda d: d["keyframes"][0]["strokes"][0].update(points=[[1, 2, 3]]), "keyframes[0].strokes[0].points[0]"),
    (lambda d: d["keyframes"][0]["strokes"][0].update(radius=-5), "keyframes[0].strokes[0].radius"),
    (lambda d: d["output"].update(bit_depth="int7"), "output.bit_depth"),
    (lambda d: d["settings"].update(device="tpu"), "settings.device"),
    (lambda d: d.update(shot=[list(range(200))]), "shot"),
])
def test_schema_errors_name_the_field(mutate, field):
    doc = session_to_dict(sample_session())
    mutate(doc)
    with pytest.raises(SessionError) as err:
        session_from_dict(json.loads(json.dumps(doc)), source="shot.kinochrome.json")
    message = str(err.value)
    assert message.startswith("shot.kinochrome.json: ") and field in message
    assert "\n" not in message and len(message) < 200


@pytest.mark.parametrize("mutate,field,hint", [
    (lambda d: d["keyframes"][0].update(refrence=d["keyframes"][0].pop("reference")), "keyframes[0].refrence",
     "did you mean 'reference'?"),
    (lambda d: d.update(keyframe=d.pop("keyframes")), "keyframe", "did you mean 'keyframes'?"),
    (lambda d: d["settings"].update(ref_strenght=0.5), "settings.ref_strenght", "did you mean 'ref_strength'?"),
    (lambda d: d["keyframes"][0]["points"][0].update(size=3), "keyframes[0].points[0].size", "known fields: x, y"),
])
def test_unknown_fields_are_errors_not_silently_dropped(mutate, field, hint):
    # A typo must not quietly colour the shot without the artist's reference or keyframes.
    doc = session_to_dict(sample_session())
    mutate(doc)
    with pytest.raises(SessionError) as err:
        session_from_dict(doc, source="shot.kinochrome.json")
    assert str(err.value).startswith(f"shot.kinochrome.json: {field}: unknown field")
    assert hint in str(err.value)


def test_fields_starting_with_underscore_are_the_users_own():
    doc = session_to_dict(sample_session())
    doc["_notes"] = "approved by sup, v3"
    doc["keyframes"][0]["_painted_by"] = "ana"
    assert session_from_dict(doc) == sample_session()


def test_newer_version_refused(tmp_path):
    doc = session_to_dict(sample_session())
    doc["kinochrome_session"] = 99
    path = tmp_path / "new.kinochrome.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(SessionError, match="newer Kinochrome"):
        load_session(path)


def test_not_json_and_missing(tmp_path):
    bad = tmp_path / "bad.kinochrome.json"
    bad.write_text("{nope")
    with pytest.raises(SessionError, match="bad.kinochrome.json: not valid JSON"):
        load_session(bad)
    with pytest.raises(SessionError, match="not found"):
        load_session(tmp_path / "missing.kinochrome.json")


def test_hex_colours_accepted():
    doc = session_to_dict(sample_session())
    doc["keyframes"][0]["points"][0]["colour"] = "#ff0000"
    assert session_from_dict(doc).keyframes[0].points[0].colour == (1.0, 0.0, 0.0)


def test_default_session_path():
    assert str(session_path_for("/x/shot.####.exr")) == "/x/shot.kinochrome.json"
    assert str(session_path_for("/x/shot.%04d.dpx")) == "/x/shot.kinochrome.json"


def test_cli_reports_session_field(tmp_path, capsys):
    from kinochrome.plugin.cli import main

    doc = session_to_dict(sample_session())
    doc["settings"]["reach"] = -4
    path = tmp_path / "s.kinochrome.json"
    path.write_text(json.dumps(doc))
    assert main(["colorize", "--session", str(path)]) == 1
    assert "settings.reach" in capsys.readouterr().err
