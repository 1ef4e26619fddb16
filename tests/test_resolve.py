"""The Resolve integration against the fake Resolve object model in tests/fakes/resolve_api.py.

End-to-end tests run the real job API (method reinhard with a keyframe reference, no model) on real frames;
the others use a small colouriser that tints frames, so they test the Resolve side alone.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import OpenImageIO as oiio
import pytest

from kinochrome.core.errors import UsageError
from kinochrome.core.job import CancelToken, JobEvent, JobSettings
from kinochrome.core.sequence import frame_path
from kinochrome.resolve import adapter as adapter_mod
from kinochrome.resolve import connect as connect_mod
from kinochrome.resolve import registration
from kinochrome.resolve.adapter import ResolveAdapter, RunOptions, sequence_from_file_path
from kinochrome.resolve.connect import ResolveModuleMissing, ResolveNotRunning

pytestmark = pytest.mark.host

ROOT = Path(__file__).resolve().parents[1]
FAKES = Path(__file__).resolve().parent / "fakes"
REC = 86400                       # 01:00:00:00 at 24 fps, where the fake timelines start


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fake = _load("kinochrome_tests_fake_resolve_api", FAKES / "resolve_api.py")


# ----------------------------------------------------------------------------------------- helpers

def write_frames(folder: Path, name: str, frames: range, size=(64, 48), ext="exr") -> str:
    folder.mkdir(parents=True, exist_ok=True)
    for f in frames:
        gray = np.linspace(0.05, 0.95, size[0], dtype=np.float32)[None, :].repeat(size[1], 0) * (0.5 + 0.05 * (f % 10))
        pixels = np.repeat(gray[:, :, None], 3, axis=2)
        out = oiio.ImageOutput.create(str(folder / f"{name}.{f:04d}.{ext}"))
        out.open(str(folder / f"{name}.{f:04d}.{ext}"), oiio.ImageSpec(size[0], size[1], 3, "half"))
        out.write_image(pixels)
        out.close()
    return str(folder / f"{name}.####.{ext}")


def read(path: str) -> np.ndarray:
    buf = oiio.ImageBuf(path)
    return np.asarray(buf.get_pixels(oiio.FLOAT))[:, :, :3]


def write_reference(path: Path, size=(64, 48)) -> str:
    ramp = np.linspace(0.05, 0.95, size[0], dtype=np.float32)[None, :].repeat(size[1], 0)
    rgb = np.stack([ramp, ramp * 0.6 + 0.2, ramp * 0.3], axis=-1)
    out = oiio.ImageOutput.create(str(path))
    out.open(str(path), oiio.ImageSpec(size[0], size[1], 3, "uint8"))
    out.write_image(rgb)
    out.close()
    return str(path)


def movie_source(index: int) -> np.ndarray:
    """Pixels of frame ``index`` of the fake movie: a gray level that encodes the index."""
    return np.full((6, 8, 3), 0.1 + 0.01 * index, np.float32)


def tint_colourise(calls: list | None = None):
    """A stand-in for run_job: writes each input frame tinted to the output, emitting JobEvents."""
    def run(settings: JobSettings, progress, cancel: CancelToken):
        if calls is not None:
            calls.append(settings)
        first, last = settings.frames
        total = last - first + 1
        progress(JobEvent("start", total=total))
        for n, f in enumerate(range(first, last + 1), start=1):
            if cancel.cancelled:
                from kinochrome.core.errors import Cancelled
                raise Cancelled("cancelled")
            rgb = read(frame_path(settings.input, f)) * np.array([1.0, 0.8, 0.5], np.float32)
            path = frame_path(settings.output, f)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            out = oiio.ImageOutput.create(path)
            out.open(path, oiio.ImageSpec(rgb.shape[1], rgb.shape[0], 3, "half"))
            out.write_image(np.ascontiguousarray(rgb))
            out.close()
            progress(JobEvent("frame", frame=f, index=n, total=total, status="done", path=path))
        progress(JobEvent("finished"))
    return run


def make_project(tmp_path: Path, tracks: int = 1, fps: float = 24.0):
    app = fake.Resolve()
    project = app.GetProjectManager().CreateProject("Archive")
    timeline = fake.add_timeline(project, "Reel 1", fps=fps, tracks=tracks)
    return app, project, timeline


def add_sequence(project, timeline, folder: Path, name: str, frames: range, track: int, record: int,
                 duration: int, left: int = 0):
    pattern = write_frames(folder, name, frames)
    pool = project.GetMediaPool()
    items = pool.ImportMedia([{"FilePath": pattern.replace("####", "%04d"), "StartIndex": frames.start,
                               "EndIndex": frames.stop - 1}])
    assert len(items) == 1
    return fake.place(timeline, items[0], track, record, duration, left), pattern


def kinochrome_bin(project):
    folders = [f for f in project.GetMediaPool().GetRootFolder().GetSubFolderList() if f.GetName() == "Kinochrome"]
    return folders[0] if folders else None


# ----------------------------------------------------------------------------------------- sequences

def test_file_path_forms():
    assert sequence_from_file_path("/x/shot.[1001-1100].exr") == ("/x/shot.####.exr", 1001, 1100)
    assert sequence_from_file_path("/x/shot_[0998-1002].dpx") == ("/x/shot_####.dpx", 998, 1002)
    assert sequence_from_file_path("/x/shot.%04d.exr") == ("/x/shot.####.exr", None, None)
    assert sequence_from_file_path("/x/shot.1001.exr", 10) == ("/x/shot.####.exr", 1001, 1010)
    assert sequence_from_file_path("/x/photo.1001.exr", 1) is None          # a still
    assert sequence_from_file_path("/x/A001C003.mov") is None


def test_sequence_clip_import_range_and_placement(tmp_path):
    app, project, timeline = make_project(tmp_path, tracks=2)
    item, pattern = add_sequence(project, timeline, tmp_path / "scans", "reel", range(1001, 1011), track=1,
                                 record=REC + 10, duration=5, left=2)
    other = fake.place(timeline, None, 2, REC, 40, name="Title")          # the old track 2 moves up
    calls: list[JobSettings] = []
    report = ResolveAdapter(app, colourise=tint_colourise(calls)).run(RunOptions(scope="track", track=1))
    [result] = report.clips
    assert result.status == "done", result.message
    assert calls[0].input == pattern and calls[0].frames == (1003, 1007)
    assert result.output == str(tmp_path / "scans" / "reel_kino.####.exr")
    # imported into the Kinochrome bin with exactly the range written
    [media] = kinochrome_bin(project).GetClipList()
    assert media.GetClipProperty("File Path") == str(tmp_path / "scans" / "reel_kino.[1003-1007].exr")
    assert media.GetClipProperty("Frames") == "5"
    # on a new track directly above the source, at the source's record frames
    assert timeline.GetTrackCount("video") == 3 and result.new_track == 2
    [placed] = timeline.GetItemListInTrack("video", 2)
    assert placed.GetMediaPoolItem() is media
    assert (placed.GetStart(False), placed.GetEnd(False)) == (item.GetStart(False), item.GetEnd(False))
    assert timeline.GetItemListInTrack("video", 3) == [other]
    # record frame REC+12 shows source frame 1005, colourised
    np.testing.assert_allclose(timeline._pixels(REC + 12),
                               read(frame_path(pattern, 1005)) * np.array([1.0, 0.8, 0.5]), atol=2e-3)


def test_selection_by_marks_and_playhead(tmp_path):
    app, project, timeline = make_project(tmp_path)
    a, _ = add_sequence(project, timeline, tmp_path / "a", "a", range(1, 11), 1, REC, 10)
    b, _ = add_sequence(project, timeline, tmp_path / "b", "b", range(1, 11), 1, REC + 10, 10)
    adapter = ResolveAdapter(app, colourise=tint_colourise())
    timeline._playhead = REC + 12
    assert [i for _, i in adapter.collect(timeline, RunOptions())] == [b]
    timeline.SetMarkInOut(5, 12)                                            # relative to the timeline start
    assert [i for _, i in adapter.collect(timeline, RunOptions())] == [a, b]


def test_no_selection_is_reported(tmp_path):
    app, project, timeline = make_project(tmp_path)
    add_sequence(project, timeline, tmp_path / "a", "a", range(1, 6), 1, REC + 100, 5)
    timeline._playhead = REC                                                # over a gap, no marks
    with pytest.raises(adapter_mod.ResolveError, match="nothing selected"):
        ResolveAdapter(app, colourise=tint_colourise()).run(RunOptions())
    assert kinochrome_bin(project) is None and timeline.GetTrackCount("video") == 1


def test_keyframes_move_from_record_to_source_frames(tmp_path):
    app, project, timeline = make_project(tmp_path)
    add_sequence(project, timeline, tmp_path / "s", "s", range(1001, 1011), 1, REC + 10, 5, left=2)
    calls: list[JobSettings] = []
    options = RunOptions(scope="track", track=1, method="reinhard",
                         keyframes=[(REC + 11, "/refs/a.png"), (REC + 30, "/refs/elsewhere.png")])
    ResolveAdapter(app, colourise=tint_colourise(calls)).run(options)
    assert [(k.frame, k.reference) for k in calls[0].keyframes] == [(1004, "/refs/a.png")]
    assert calls[0].method == "reinhard"


# ----------------------------------------------------------------------------------------- movies

def test_movie_clip_render_path(tmp_path):
    app, project, timeline = make_project(tmp_path, tracks=2)
    movie = tmp_path / "media" / "A001.mov"
    movie.parent.mkdir()
    movie.write_bytes(b"not decoded by the fake")
    media = fake.add_movie_clip(project, str(movie), 100, movie_source)
    item = fake.place(timeline, media, 1, REC + 24, 6, left_offset=10)
    fake.place(timeline, None, 2, REC, 100, name="Title")                   # must not be in the render
    calls: list[JobSettings] = []
    report = ResolveAdapter(app, colourise=tint_colourise(calls), sleep=lambda s: None).run(
        RunOptions(scope="track", track=1, output_dir=str(tmp_path / "out")))
    [result] = report.clips
    assert result.status == "done", result.message
    # rendered as half EXR, the clip's range only, its track alone; the job removed, tracks restored
    assert project.GetCurrentRenderFormatAndCodec() == {"format": "exr", "codec": "RGBHalf"}
    assert project.GetRenderJobList() == []
    assert timeline.GetIsTrackEnabled("video", 3)
    assert calls[0].frames == (REC + 24, REC + 29)
    rendered = calls[0].input
    assert rendered == str(tmp_path / "out" / f"A001_{REC + 24}" / "render" / "A001_src_########.exr")
    assert result.output == str(tmp_path / "out" / f"A001_{REC + 24}" / "A001_kino" / "A001_kino.########.exr")
    np.testing.assert_allclose(read(frame_path(rendered, REC + 24)), movie_source(10), atol=1e-3)
    # imported whole and placed above the source at its record frames
    [media_kino] = kinochrome_bin(project).GetClipList()
    assert media_kino.GetClipProperty("Frames") == "6"
    [placed] = timeline.GetItemListInTrack("video", 2)
    assert (placed.GetStart(False), placed.GetEnd(False)) == (item.GetStart(False), item.GetEnd(False))


def test_movie_render_to_16bit_dpx(tmp_path):
    app, project, timeline = make_project(tmp_path)
    movie = tmp_path / "B.mxf"
    movie.write_bytes(b"x")
    fake.place(timeline, fake.add_movie_clip(project, str(movie), 10, movie_source), 1, REC, 3)
    report = ResolveAdapter(app, colourise=tint_colourise(), sleep=lambda s: None).run(
        RunOptions(scope="track", track=1, render_format="dpx"))
    assert report.clips[0].status == "done", report.clips[0].message
    assert project.GetCurrentRenderFormatAndCodec() == {"format": "dpx", "codec": "RGB16"}
    assert report.clips[0].rendered.endswith(".dpx")


def test_failed_render_imports_nothing(tmp_path):
    app, project, timeline = make_project(tmp_path)
    movie = tmp_path / "C.mov"
    movie.write_bytes(b"x")
    fake.place(timeline, fake.add_movie_clip(project, str(movie), 50, movie_source), 1, REC, 10)
    project.fail_render = "Render Job 1 failed: disk full"
    calls: list[JobSettings] = []
    report = ResolveAdapter(app, colourise=tint_colourise(calls), sleep=lambda s: None).run(
        RunOptions(scope="track", track=1))
    [result] = report.clips
    assert result.status == "failed"
    assert "'Failed'" in result.message and "disk full" in result.message
    assert any("disk full" in m for m in report.messages)
    assert calls == [] and kinochrome_bin(project) is None
    assert timeline.GetTrackCount("video") == 1 and project.GetRenderJobList() == []


def test_rerun_needs_overwrite_and_a_failed_placement_rolls_back(tmp_path, monkeypatch):
    app, project, timeline = make_project(tmp_path)
    movie = tmp_path / "G.mov"
    movie.write_bytes(b"x")
    fake.place(timeline, fake.add_movie_clip(project, str(movie), 10, movie_source), 1, REC, 3)
    pool = project.GetMediaPool()
    monkeypatch.setattr(pool, "AppendToTimeline", lambda infos: [])
    adapter = ResolveAdapter(app, colourise=tint_colourise(), sleep=lambda s: None)
    report = adapter.run(RunOptions(scope="track", track=1))
    assert report.clips[0].status == "failed" and "did not place" in report.clips[0].message
    assert kinochrome_bin(project).GetClipList() == [] and timeline.GetTrackCount("video") == 1
    report = adapter.run(RunOptions(scope="track", track=1))                # the earlier render is still there
    assert "holds an earlier render" in report.clips[0].message
    monkeypatch.undo()
    report = adapter.run(RunOptions(scope="track", track=1, job_overrides={"mode": "overwrite"}))
    assert report.clips[0].status == "done", report.clips[0].message
    assert timeline.GetTrackCount("video") == 2


def test_no_half_exr_or_16bit_dpx_codec(tmp_path):
    app, project, timeline = make_project(tmp_path)
    movie = tmp_path / "D.mov"
    movie.write_bytes(b"x")
    fake.place(timeline, fake.add_movie_clip(project, str(movie), 10, movie_source), 1, REC, 3)
    project.render_codecs["exr"] = {"RGB float": "RGBFloat"}
    project.render_codecs["dpx"] = {"RGB 10 bit": "RGB10"}
    report = ResolveAdapter(app, colourise=tint_colourise()).run(RunOptions(scope="track", track=1))
    assert report.clips[0].status == "failed"
    assert "no half EXR or 16-bit DPX" in report.clips[0].message


def test_cancel_during_render_stops_it(tmp_path):
    app, project, timeline = make_project(tmp_path)
    movie = tmp_path / "E.mov"
    movie.write_bytes(b"x")
    fake.place(timeline, fake.add_movie_clip(project, str(movie), 50, movie_source), 1, REC, 20)
    token = CancelToken()
    report = ResolveAdapter(app, colourise=tint_colourise(), sleep=lambda s: token.cancel()).run(
        RunOptions(scope="track", track=1), cancel=token)
    assert report.cancelled and report.clips[0].status == "cancelled"
    assert not project.IsRenderingInProgress() and kinochrome_bin(project) is None


# ----------------------------------------------------------------------------------------- skips

def test_skip_reasons(tmp_path):
    app, project, timeline = make_project(tmp_path)
    fake.place(timeline, None, 1, REC, 5, name="Solid Color")
    compound = fake.add_media_item(project, {"Clip Name": "Compound Clip 1", "Type": "Compound", "File Path": ""})
    fake.place(timeline, compound, 1, REC + 5, 5)
    gone = fake.add_movie_clip(project, str(tmp_path / "gone.mov"), 10, movie_source)
    fake.place(timeline, gone, 1, REC + 10, 5)
    add_sequence(project, timeline, tmp_path / "h", "holes", range(1, 11), 1, REC + 15, 5)
    os.remove(tmp_path / "h" / "holes.0003.exr")
    pal = tmp_path / "pal.mov"
    pal.write_bytes(b"x")
    fake.place(timeline, fake.add_movie_clip(project, str(pal), 10, movie_source, fps=25), 1, REC + 20, 5)
    still = fake.add_media_item(project, {"Clip Name": "poster.png", "File Path": str(tmp_path / "poster.png"),
                                          "Type": "Still", "Frames": "1", "FPS": "24"})
    fake.place(timeline, still, 1, REC + 25, 5)
    report = ResolveAdapter(app, colourise=tint_colourise()).run(RunOptions(scope="track", track=1))
    reasons = [c.message for c in report.clips]
    assert [c.status for c in report.clips] == ["skipped"] * 6
    assert "no media (generator, title or effect)" in reasons[0]
    assert reasons[1].startswith("no file (Compound)")
    assert reasons[2].startswith("offline:") and "gone.mov" in reasons[2]
    assert reasons[3].startswith("offline:") and "missing frames 3" in reasons[3]
    assert reasons[4].startswith("mixed frame rates: clip 25 fps on a 24 fps timeline")
    assert reasons[5].startswith("still image poster.png")
    assert all(any(r in m for m in report.messages) for r in reasons)
    assert kinochrome_bin(project) is None and timeline.GetTrackCount("video") == 1


def test_options_are_checked():
    with pytest.raises(UsageError, match="track number"):
        RunOptions(scope="track").validate()
    with pytest.raises(UsageError, match="exr or dpx"):
        RunOptions(render_format="tiff").validate()


# ----------------------------------------------------------------------------------------- connect

@pytest.fixture
def fake_module(monkeypatch):
    monkeypatch.syspath_prepend(str(FAKES))
    monkeypatch.delitem(sys.modules, "DaVinciResolveScript", raising=False)
    module = importlib.import_module("DaVinciResolveScript")
    monkeypatch.setattr(module, "app", None)
    yield module
    sys.modules.pop("DaVinciResolveScript", None)


def test_resolve_not_running(fake_module, capsys):
    with pytest.raises(ResolveNotRunning, match="External scripting using: Local"):
        connect_mod.connect(environ={})
    from kinochrome.resolve.__main__ import main

    assert main(["--track", "1"]) == 3
    assert "cannot reach DaVinci Resolve" in capsys.readouterr().err


def test_connect_returns_the_app(fake_module):
    fake_module.app = fake.Resolve()
    assert connect_mod.connect(environ={}) is fake_module.app


def test_module_missing(tmp_path, monkeypatch):
    monkeypatch.delitem(sys.modules, "DaVinciResolveScript", raising=False)
    env = {"RESOLVE_SCRIPT_API": str(tmp_path / "nowhere")}
    with pytest.raises(ResolveModuleMissing, match="nowhere"):
        connect_mod.connect(environ=env)
    assert env["RESOLVE_SCRIPT_LIB"] == "/opt/resolve/libs/Fusion/fusionscript.so" or sys.platform != "linux"


def test_module_found_through_resolve_script_api(tmp_path, monkeypatch):
    modules = tmp_path / "Scripting" / "Modules"
    modules.mkdir(parents=True)
    (modules / "DaVinciResolveScript.py").write_text((FAKES / "DaVinciResolveScript.py").read_text())
    monkeypatch.delitem(sys.modules, "DaVinciResolveScript", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    env = {"RESOLVE_SCRIPT_API": str(tmp_path / "Scripting"), "RESOLVE_SCRIPT_LIB": "/x/fusionscript.so"}
    module = connect_mod.load_module(environ=env)
    assert module.__file__ == str(modules / "DaVinciResolveScript.py")
    sys.modules.pop("DaVinciResolveScript", None)


def test_default_script_paths():
    assert connect_mod.script_paths({}, "darwin")[0].startswith("/Library/Application Support/Blackmagic Design")
    api, lib = connect_mod.script_paths({"PROGRAMDATA": r"C:\ProgramData"}, "win32")
    assert api == r"C:\ProgramData\Blackmagic Design\DaVinci Resolve\Support\Developer\Scripting"
    assert lib.endswith("fusionscript.dll")
    assert connect_mod.script_paths({"RESOLVE_SCRIPT_API": "/s", "RESOLVE_SCRIPT_LIB": "/l"}, "linux") == ("/s", "/l")


# ----------------------------------------------------------------------------------------- batch route

def test_batch_dry_run_changes_nothing(tmp_path, capsys):
    app, project, timeline = make_project(tmp_path)
    add_sequence(project, timeline, tmp_path / "s", "s", range(1, 6), 1, REC, 5)
    from kinochrome.resolve.__main__ import main

    assert main(["--project", "Archive", "--timeline", "Reel 1", "--track", "1", "--dry-run"], resolve=app) == 0
    out = capsys.readouterr().out
    assert "planned: sequence" in out and "1 planned" in out
    assert kinochrome_bin(project) is None


def test_batch_unknown_timeline(tmp_path, capsys):
    app, _, _ = make_project(tmp_path)
    from kinochrome.resolve.__main__ import main

    assert main(["--timeline", "Reel 9", "--track", "1"], resolve=app) == 3
    assert "timeline 'Reel 9': not in project 'Archive'" in capsys.readouterr().err


def test_batch_failed_clip_exit_status(tmp_path, monkeypatch, capsys):
    app, project, timeline = make_project(tmp_path)
    movie = tmp_path / "F.mov"
    movie.write_bytes(b"x")
    fake.place(timeline, fake.add_movie_clip(project, str(movie), 10, movie_source), 1, REC, 4)
    project.fail_render = "codec error"
    monkeypatch.setattr(adapter_mod, "in_process_colourise", tint_colourise())
    monkeypatch.setattr(adapter_mod.time, "sleep", lambda s: None)
    from kinochrome.resolve.__main__ import main

    assert main(["--track", "1", "--render-timeout", "60"], resolve=app) == 1
    assert "failed: render job" in capsys.readouterr().out


# ----------------------------------------------------------------------------------------- install

def test_register_and_unregister_in_a_temporary_home(tmp_path):
    home = tmp_path / "home"
    folder = registration.utility_folder(home, "linux")
    assert folder == home / ".local/share/DaVinciResolve/Fusion/Scripts/Utility"
    venv, package = tmp_path / "venv", ROOT
    assert registration.register(venv, package, home, dry_run=True) == [f"would write {folder / 'Kinochrome.py'}"]
    assert not folder.exists()
    lines = registration.register(venv, package, home)
    script = folder / "Kinochrome.py"
    assert lines == [f"wrote {script} (Workspace > Scripts > Kinochrome)"]
    text = script.read_text()
    assert f"KINOCHROME_VENV = {str(venv)!r}" in text and f"KINOCHROME_PACKAGE = {str(package)!r}" in text
    assert registration.register(venv, package, home) == [f"{script} up to date"]
    (folder / "Other.py").write_text("print('theirs')\n")
    assert registration.unregister(home, dry_run=True) == [f"would remove {script}"]
    assert script.exists()
    assert registration.unregister(home) == [f"removed {script}"]
    assert registration.unregister(home) == [f"{script} not installed"]
    assert (folder / "Other.py").exists()


def test_register_leaves_a_foreign_script_alone(tmp_path):
    home = tmp_path / "home"
    script = registration.utility_folder(home) / "Kinochrome.py"
    script.parent.mkdir(parents=True)
    script.write_text("# someone else's\n")
    assert "not Kinochrome's" in registration.register(tmp_path, ROOT, home)[0]
    assert "not Kinochrome's" in registration.unregister(home)[0]
    assert script.read_text() == "# someone else's\n"


def test_utility_folders_per_os(tmp_path):
    mac = registration.utility_folder(tmp_path, "darwin")
    assert mac == tmp_path / "Library/Application Support/Blackmagic Design/DaVinci Resolve/Fusion/Scripts/Utility"
    win = registration.utility_folder(tmp_path, "win32")
    assert win == (tmp_path / "AppData" / "Roaming" / "Blackmagic Design" / "DaVinci Resolve" / "Support" / "Fusion"
                   / "Scripts" / "Utility")


def test_registration_is_stdlib_only():
    code = ("import importlib.util,sys; s=importlib.util.spec_from_file_location('r', sys.argv[1]); "
            "m=importlib.util.module_from_spec(s); s.loader.exec_module(m); "
            "bad=[n for n in sys.modules if n.split('.')[0] in ('kinochrome','numpy','OpenImageIO')]; print(bad)")
    out = subprocess.run([sys.executable, "-I", "-c", code, str(ROOT / "resolve" / "registration.py")],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_adapter_imports_in_resolves_python_without_the_venvs_binary_packages():
    # Resolve runs the Workspace script in its own Python: the adapter, session and job API must import there;
    # pixel work (numpy, OpenImageIO, torch) happens in the venv's process
    code = ("import builtins\n"
            "real = builtins.__import__\n"
            "def guard(name, *a, **k):\n"
            "    if name.split('.')[0] in ('numpy', 'OpenImageIO', 'cv2', 'torch'):\n"
            "        raise ImportError('blocked ' + name)\n"
            "    return real(name, *a, **k)\n"
            "builtins.__import__ = guard\n"
            "import kinochrome.resolve.adapter, kinochrome.core.session, kinochrome.core.job\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr.strip().splitlines()[-1]


def test_installed_workspace_script_runs_headless(tmp_path, monkeypatch):
    """The installed script, loaded as Resolve would run it but without UIManager: it logs and runs."""
    app, project, timeline = make_project(tmp_path)
    add_sequence(project, timeline, tmp_path / "s", "s", range(1, 6), 1, REC, 5)
    home = tmp_path / "home"
    registration.register(tmp_path / "no-venv", ROOT, home)
    script = _load("kinochrome_tests_workspace", registration.utility_folder(home) / "Kinochrome.py")
    assert script.KINOCHROME_PACKAGE == str(ROOT)
    assert script.host_app() is None                                          # not inside Resolve: no auto-run
    monkeypatch.setattr(adapter_mod, "in_process_colourise", tint_colourise())
    report = script.main(resolve=app, argv=["--track", "1"])
    assert report.clips[0].status == "done"
    assert len(kinochrome_bin(project).GetClipList()) == 1
    assert script.timecode_to_frame("01:00:00:05", 24.0) == REC + 5


def test_installed_script_finds_its_install_without_the_venv_on_the_path(tmp_path):
    """Resolve's own Python: no site-packages, no editable install; the baked paths are enough."""
    home = tmp_path / "home"
    registration.register(Path(sys.prefix), ROOT, home)
    script = registration.utility_folder(home) / "Kinochrome.py"
    code = ("import importlib.util, sys\n"
            f"spec = importlib.util.spec_from_file_location('ws', {str(script)!r})\n"
            "ws = importlib.util.module_from_spec(spec); spec.loader.exec_module(ws)\n"
            "ws.bootstrap()\n"
            "import kinochrome.resolve.adapter, kinochrome.core.sequence\n"
            "print(kinochrome.resolve.adapter.__file__)\n")
    done = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=False,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(ROOT / "resolve" / "adapter.py")


def open_dialog(tmp_path, monkeypatch, with_timer: bool = False):
    """The Workspace dialog over a one-clip timeline -> (app, timeline, ui, disp, dialog, window, items, calls)."""
    app, project, timeline = make_project(tmp_path)
    add_sequence(project, timeline, tmp_path / "s", "s", range(1, 6), 1, REC + 10, 5)
    script = _load(f"kinochrome_tests_workspace_dialog_{with_timer}", ROOT / "resolve" / "Kinochrome.py")
    calls: list[JobSettings] = []
    monkeypatch.setattr(adapter_mod, "in_process_colourise", tint_colourise(calls))
    ui = fake.UIManager(with_timer=with_timer)
    disp = fake.UIDispatcher(ui)
    dialog = script.Dialog(app, ui, disp)
    [window] = disp.windows
    return app, timeline, ui, disp, dialog, window, window.GetItems(), calls


def test_dialog_settings_keyframes_progress(tmp_path, monkeypatch):
    app, timeline, _ui, disp, dialog, window, items, calls = open_dialog(tmp_path, monkeypatch)
    assert items["Method"].items == ["model", "reinhard", "histogram", "knn"]
    items["Method"].CurrentIndex = 1
    items["Scope"].CurrentIndex = 1                                          # whole track
    items["KeyRef"].Text = write_reference(tmp_path / "ref.png")
    timeline._playhead = REC + 12
    fake.click(window, "AddKey")
    assert dialog.keyframes == [(REC + 12, str(tmp_path / "ref.png"))]
    assert items["Keys"].PlainText == f"{REC + 12} = {tmp_path / 'ref.png'}"
    fake.click(window, "Run")                                                # no Timer: runs at once
    assert calls[0].method == "reinhard" and [k.frame for k in calls[0].keyframes] == [3]
    assert items["Status"].Text == "1 done"
    assert "done s.[0001-0005].exr" in items["Log"].PlainText
    items["KeyRef"].Text = str(tmp_path / "missing.png")
    fake.click(window, "AddKey")
    assert "reference image not found" in items["Log"].PlainText
    items["KeyRef"].Text = write_reference(tmp_path / "ref2.png")
    app.OpenPage("fusion")                               # no playhead timecode on this page
    fake.click(window, "AddKey")
    assert "open the Edit or Color page" in items["Log"].PlainText
    assert dialog.keyframes == [(REC + 12, str(tmp_path / "ref.png"))]          # nothing added, nothing lost
    app.OpenPage("edit")
    fake.click(window, "Close")
    assert disp.exited and dialog.token.cancelled


def test_dialog_with_a_timer_runs_in_the_background_and_reports_on_ticks(tmp_path, monkeypatch):
    _app, timeline, ui, disp, dialog, window, items, _calls = open_dialog(tmp_path, monkeypatch, with_timer=True)
    items["Method"].CurrentIndex = 1
    items["Scope"].CurrentIndex = 1
    items["KeyRef"].Text = write_reference(tmp_path / "ref.png")
    timeline._playhead = REC + 12
    fake.click(window, "AddKey")
    fake.click(window, "Run")
    assert dialog.worker is not None and ui.timers[0].running
    ticks = 0
    while fake.tick(disp) and ticks < 600:                 # the dispatcher's intervals make the Resolve calls
        ticks += 1
    assert not dialog.worker.is_alive() and ticks >= 1     # the run made its Resolve calls on these ticks
    assert items["Status"].Text == "1 done" and not ui.timers[0].running
    assert not fake.tick(disp)


# ----------------------------------------------------------------------------------------- end to end

def test_sequence_clip_end_to_end(tmp_path):
    app, project, timeline = make_project(tmp_path)
    add_sequence(project, timeline, tmp_path / "scans", "reel", range(1001, 1009), 1, REC, 4, left=2)
    ref = write_reference(tmp_path / "ref.png")
    report = ResolveAdapter(app).run(RunOptions(scope="track", track=1, method="reinhard",
                                                keyframes=[(REC, ref)]))
    [result] = report.clips
    assert result.status == "done", result.message
    assert result.frames == (1003, 1006)
    out = read(frame_path(result.output, 1004))
    assert out.shape == (48, 64, 3)
    assert np.abs(out[..., 0] - out[..., 2]).mean() > 0.01                 # it has colour now
    [placed] = timeline.GetItemListInTrack("video", 2)
    assert (placed.GetStart(False), placed.GetEnd(False)) == (REC, REC + 4)


def test_movie_clip_end_to_end(tmp_path):
    app, project, timeline = make_project(tmp_path)
    movie = tmp_path / "A002.mov"
    movie.write_bytes(b"x")

    def gray_ramp(index: int) -> np.ndarray:
        ramp = np.linspace(0.05, 0.95, 64, dtype=np.float32)[None, :].repeat(48, 0) * (0.6 + 0.02 * index)
        return np.repeat(ramp[:, :, None], 3, axis=2)

    fake.place(timeline, fake.add_movie_clip(project, str(movie), 20, gray_ramp, resolution=(64, 48)),
               1, REC + 48, 4, left_offset=3)
    ref = write_reference(tmp_path / "ref.png")
    report = ResolveAdapter(app, sleep=lambda s: None).run(
        RunOptions(scope="track", track=1, method="reinhard", keyframes=[(REC + 48, ref)],
                   output_dir=str(tmp_path / "out")))
    [result] = report.clips
    assert result.status == "done", result.message
    out = read(frame_path(result.output, result.frames[0]))
    assert np.abs(out[..., 0] - out[..., 2]).mean() > 0.01
    [media] = kinochrome_bin(project).GetClipList()
    assert media.GetClipProperty("Frames") == "4"
    [placed] = timeline.GetItemListInTrack("video", 2)
    assert (placed.GetStart(False), placed.GetEnd(False)) == (REC + 48, REC + 52)


def test_subprocess_colouriser_runs_the_job_in_another_python(tmp_path):
    pattern = write_frames(tmp_path / "s", "s", range(1, 4))
    ref = write_reference(tmp_path / "ref.png")
    from kinochrome.core.session import Keyframe

    settings = JobSettings(input=pattern, output=str(tmp_path / "o" / "s_kino.####.exr"), frames=(1, 3),
                           method="reinhard", keyframes=[Keyframe(frame=1, reference=ref)])
    events: list[JobEvent] = []
    adapter_mod.subprocess_colouriser(sys.executable)(settings, events.append, CancelToken())
    assert [e.frame for e in events if e.kind == "frame"] == [1, 2, 3]
    assert os.path.isfile(frame_path(settings.output, 3))


# ----------------------------------------------------------------------------------------- types

def _stub_signatures() -> dict[str, dict[str, list[list[str]]]]:
    """class -> method -> the parameter-name lists of its (overloaded) signatures in fusionscript-stubs."""
    import ast
    import sysconfig

    stub = Path(sysconfig.get_paths()["purelib"]) / "fusionscript-stubs" / "fusionscript.pyi"
    if not stub.is_file():
        pytest.skip("fusionscript-stubs not installed")
    found: dict[str, dict[str, list[list[str]]]] = {}
    for node in ast.parse(stub.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ClassDef):
            methods = found.setdefault(node.name, {})
            for fn in node.body:
                if isinstance(fn, ast.FunctionDef):
                    names = [a.arg for a in fn.args.args[1:]] + ([f"*{fn.args.vararg.arg}"] if fn.args.vararg else [])
                    methods.setdefault(fn.name, []).append(names)
    return found


def test_fake_follows_the_stubs_names_and_signatures():
    import inspect

    stubs = _stub_signatures()
    for cls in (fake.Resolve, fake.ProjectManager, fake.Project, fake.MediaPool, fake.Folder, fake.MediaPoolItem,
                fake.Timeline, fake.TimelineItem):
        assert cls.__name__ in stubs, cls.__name__
        for name, member in vars(cls).items():
            if name.startswith("_") or not callable(member):
                continue
            assert name in stubs[cls.__name__], f"{cls.__name__}.{name} is not in the Resolve API"
            params = [(f"*{p.name}" if p.kind is p.VAR_POSITIONAL else p.name)
                      for p in list(inspect.signature(member).parameters.values())[1:]]
            assert params in stubs[cls.__name__][name], f"{cls.__name__}.{name}{params}: {stubs[cls.__name__][name]}"


def test_batch_entry_runs_as_a_module():
    done = subprocess.run([sys.executable, "-m", "kinochrome.resolve", "--help"], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0 and "--timeline" in done.stdout


def test_mypy_checks_the_adapter_against_fusionscript_stubs():
    import mypy  # noqa: F401 - a dev dependency, like fusionscript-stubs: missing, the test fails rather than skips

    assert importlib.util.find_spec("fusionscript") is not None or any(
        (Path(p) / "fusionscript-stubs").is_dir() for p in sys.path), "fusionscript-stubs (a dev dependency) is not installed"
    files = ["resolve/adapter.py", "resolve/clips.py", "resolve/planning.py", "resolve/render.py",
             "resolve/placing.py", "resolve/connect.py", "resolve/registration.py", "resolve/__main__.py"]
    done = subprocess.run([sys.executable, "-m", "mypy", "--no-error-summary", *files], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


# ----------------------------------------------------------------------------------------- issue 17: versions

def test_free_resolve_19_1_without_uimanager_starts_nothing(tmp_path, caplog):
    """Free Resolve 19.1+ has no UIManager: the Workspace script says what works there and changes nothing
    (it used to colourise the clip under the playhead with no keyframes, adding files, a bin and a track)."""
    app = fake.Resolve(version=(19, 2, 0, 0, ""), studio=False)
    project = app.GetProjectManager().CreateProject("Archive")
    timeline = fake.add_timeline(project, "Reel 1")
    add_sequence(project, timeline, tmp_path / "s", "s", range(1, 6), 1, REC, 5)
    assert app.Fusion().UIManager is None and fake.Resolve(version=(19, 0, 0, 0, ""), studio=False).Fusion().UIManager
    script = _load("kinochrome_tests_workspace_free", ROOT / "resolve" / "Kinochrome.py")
    with caplog.at_level("INFO", logger="kinochrome.resolve"):
        assert script.main(resolve=app, argv=[]) is None
    assert kinochrome_bin(project) is None and timeline.GetTrackCount("video") == 1
    assert not list((tmp_path / "s").glob("*_kino*"))
    assert "free DaVinci Resolve has no UIManager" in caplog.text and "kinochrome panel" in caplog.text


@pytest.mark.parametrize("version", [(18, 6, 6, 0, ""), (19, 0, 3, 0, ""), (20, 2, 0, 0, "")])
def test_placement_in_the_clips_own_frames_per_version(tmp_path, version):
    """AppendToTimeline counts in the clip's own frame numbers (1001 for a result from 1001), endFrame exclusive
    from 19, inclusive in 18; a wrong range gives a broken item, which must not count as placed."""
    app = fake.Resolve(version=version)
    project = app.GetProjectManager().CreateProject("Archive")
    timeline = fake.add_timeline(project, "Reel 1")
    add_sequence(project, timeline, tmp_path / "scans", "reel", range(1001, 1009), 1, REC + 10, 4, left=2)
    timeline._playhead = REC + 11
    report = ResolveAdapter(app, colourise=tint_colourise()).run(RunOptions(scope="selection"))
    [result] = report.clips
    assert result.status == "done", result.message
    [placed] = timeline.GetItemListInTrack("video", result.new_track)
    assert (placed.GetStart(), placed.GetEnd(), placed.GetLeftOffset()) == (REC + 10, REC + 14, 0)
    assert placed.GetMediaPoolItem().GetClipProperty("Start") == "1003"


def test_a_broken_append_is_not_taken_for_a_placed_clip(tmp_path, monkeypatch):
    app, project, timeline = make_project(tmp_path)
    add_sequence(project, timeline, tmp_path / "scans", "reel", range(1001, 1005), 1, REC, 4)
    real = fake.MediaPool.AppendToTimeline

    def off_by_one(self, clip_info):
        return real(self, [{**clip_info[0], "endFrame": clip_info[0]["endFrame"] + 5}])

    monkeypatch.setattr(fake.MediaPool, "AppendToTimeline", off_by_one)
    [result] = ResolveAdapter(app, colourise=tint_colourise()).run(RunOptions(scope="track", track=1)).clips
    assert result.status == "failed" and "did not place" in result.message
    assert len(kinochrome_bin(project).GetClipList()) == 0                 # rolled back


def test_resolve_17_is_refused_in_one_line(tmp_path):
    with pytest.raises(connect_mod.ResolveError, match="needs DaVinci Resolve 18 or later; this is 17.4"):
        ResolveAdapter(fake.Resolve(version=(17, 4, 6, 0, "")))


def test_drop_frame_timecode(tmp_path, monkeypatch):
    script = _load("kinochrome_tests_workspace_df", ROOT / "resolve" / "Kinochrome.py")
    assert script.timecode_to_frame("01:00:00;00", 30000 / 1001) == 107892
    assert script.timecode_to_frame("00:01:00;02", 29.97) == 1800
    assert script.timecode_to_frame("00:10:00;00", 59.94) == 35964
    assert script.timecode_to_frame("01:00:00:00", 29.97) == 108000                        # non-drop
    _app, timeline, _ui, _disp, dialog, window, items, _calls = open_dialog(tmp_path, monkeypatch)
    timeline._settings.update({"timelineFrameRate": "29.97", "timelineDropFrameTimecode": "1"})
    timeline._playhead = 107892 + 1000
    items["KeyRef"].Text = write_reference(tmp_path / "ref.png")
    fake.click(window, "AddKey")
    assert dialog.keyframes[-1][0] == 107892 + 1000


def test_movie_render_is_read_in_the_projects_colour_space(tmp_path):
    """A movie rendered to EXR by Resolve is in the timeline/output colour space (Rec.709 gamma 2.4 here), not
    scene-linear: the job is told so, and the render is tagged with the project's colour space."""
    app, project, timeline = make_project(tmp_path)
    media = fake.add_movie_clip(project, str(tmp_path / "scan.mov"), 10, movie_source)
    (tmp_path / "scan.mov").write_bytes(b"")
    fake.place(timeline, media, 1, REC, 4)
    calls: list = []
    report = ResolveAdapter(app, colourise=tint_colourise(calls)).run(RunOptions(scope="track", track=1))
    assert report.clips[0].status == "done", report.clips[0].message
    assert calls[0].colourspace == "g24_rec709"
    assert project._render_settings["ColorSpaceTag"] == "Same as Project"
    project.SetSetting("colorScienceMode", "davinciYRGBColorManagedv2")
    project.SetSetting("colorSpaceOutput", "sRGB")
    assert ResolveAdapter(app).render_colourspace(project) == ("sRGB", "sRGB")


def test_windows_external_scripting_sets_fusion_python3_home(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "DaVinciResolveScript", ModuleType("DaVinciResolveScript"))
    env: dict[str, str] = {}
    connect_mod.load_module(env, "win32")
    assert env["FUSION_PYTHON3_HOME"] == sys.base_prefix
    env = {"FUSION_PYTHON3_HOME": r"C:\Python311"}
    connect_mod.load_module(env, "win32")
    assert env["FUSION_PYTHON3_HOME"] == r"C:\Python311"                        # the studio's choice stays
    env = {}
    connect_mod.load_module(env, "linux")
    assert "FUSION_PYTHON3_HOME" not in env


def test_resolve_writes_from_a_worker_thread_are_refused_by_the_fake(tmp_path):
    """While a dialog runs, Resolve calls belong on its UI thread (the fake enforces it); the proxy gets them
    there from a worker."""
    import threading

    from kinochrome.resolve.uithread import UiCalls, UiThreadProxy

    app, project, _timeline = make_project(tmp_path)
    disp = fake.UIDispatcher(fake.UIManager(with_timer=True))
    errors: list = []
    calls = UiCalls()

    def direct():
        try:
            project.GetMediaPool().AddSubFolder(project.GetMediaPool().GetRootFolder(), "x")
        except RuntimeError as exc:
            errors.append(exc)

    def proxied():
        pool = UiThreadProxy(app, calls).GetProjectManager().GetCurrentProject().GetMediaPool()
        errors.append(pool.AddSubFolder(pool.GetRootFolder(), "y").GetName())

    for work in (direct, proxied):
        worker = threading.Thread(target=work)
        worker.start()
        while worker.is_alive():
            calls.pump(0.05)
        worker.join()
    disp.ExitLoop()
    assert isinstance(errors[0], RuntimeError) and errors[1] == "y"
