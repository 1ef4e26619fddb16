"""The Nuke integration against the fake ``nuke`` module in tests/fakes (installed only here, in sys.modules)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from kinochrome.core import sequence
from kinochrome.core.session import Keyframe, Session, load_session, save_session

pytestmark = pytest.mark.host

REPO = Path(__file__).resolve().parents[1]
FAKE = Path(__file__).resolve().parent / "fakes" / "nuke.py"
NUKE_DIR = REPO / "nuke"


def _forget_adapter_modules() -> None:
    """Drop kinochrome.nuke.* so the next import binds to the current fake."""
    package = sys.modules.get("kinochrome.nuke")
    for name in [n for n in sys.modules if n.startswith("kinochrome.nuke.")]:
        del sys.modules[name]
        if package is not None and hasattr(package, name.rsplit(".", 1)[1]):
            delattr(package, name.rsplit(".", 1)[1])


@pytest.fixture
def nuke(monkeypatch):
    """A fresh fake ``nuke`` (GUI session, Nuke 15) installed as sys.modules['nuke']."""
    spec = importlib.util.spec_from_file_location("nuke", FAKE)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "nuke", module)
    monkeypatch.setenv("KINOCHROME_VENV", sys.prefix)          # runs go to this venv's Python, as in Nuke
    spec.loader.exec_module(module)
    _forget_adapter_modules()
    yield module
    _forget_adapter_modules()


@pytest.fixture
def adapter(nuke):
    from kinochrome.nuke import adapter

    return adapter


@pytest.fixture
def reference(tmp_path, make_sequence):
    """A colour PNG of the same content and aspect as the 64x48 test shots."""
    pattern = make_sequence(tmp_path / "ref", fmt="png", n=1, gray=False, name="ref")
    return sequence.frame_path(pattern, 1001)


def make_read(nuke, pattern: str, first: int = 1001, last: int = 1004, colorspace: str = "linear"):
    read = nuke.nodes.Read(file=pattern, first=first, last=last, origfirst=first, origlast=last)
    read["colorspace"].setValue(colorspace)
    read.setSelected(True)
    return read


def write_session(path: Path, shot: str, reference: str | None) -> Path:
    keyframes = [Keyframe(frame=1001, reference=reference)] if reference else []
    return save_session(Session(shot=shot, keyframes=keyframes, method="reinhard"), path)


def shot_node(nuke, adapter, tmp_path, make_sequence, reference, n=4, with_session=True):
    pattern = make_sequence(tmp_path / "in", fmt="exr", n=n)
    make_read(nuke, pattern, 1001, 1000 + n)
    group = adapter.colorize_selected()
    assert group is not None, nuke._fake_messages
    group["method"].setValue("reinhard")
    if with_session:
        write_session(Path(group["session_file"].value()), pattern, reference)
    return pattern, group


def wait(nuke, adapter, group):
    nuke._fake_process_events(until=lambda: not adapter.running(group), timeout=120)


# --- the fake stays in tests ---------------------------------------------------------------------------------

def test_no_nuke_module_outside_tests(tmp_path):
    code = "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('nuke') is None else 1)"
    assert subprocess.run([sys.executable, "-c", code], check=False, cwd=tmp_path).returncode == 0


def test_fake_follows_documented_semantics(nuke):
    with pytest.raises(ValueError, match="No node selected"):
        nuke.selectedNode()
    enum = nuke.Enumeration_Knob("m", "m", ["a", "b"])
    enum.setValue(1)
    assert enum.value() == "b"
    enum.setValue("a")
    assert enum.value() == "a"
    with pytest.raises(ValueError):
        enum.setValue("c")
    calls = []
    nuke.executeInMainThread(calls.append, args="x")     # a non-tuple is wrapped, as in Foundry's source
    assert calls == []                                   # queued, not run at once
    nuke._fake_process_events()
    assert calls == ["x"]
    group = nuke.nodes.Group()
    with group:
        inner = nuke.nodes.Read()
    assert group.node("Read1") is inner and nuke.toNode("Read1") is None
    assert group.knob("nope") is None
    with pytest.raises(NameError):
        group["nope"]


# --- start-up files and registration -----------------------------------------------------------------------

def test_menu_py_adds_the_toolbar(nuke):
    nuke._fake_run_file(str(NUKE_DIR / "menu.py"))
    menu = nuke.menu("Nodes").findItem("Kinochrome")
    assert [item.name() for item in menu.items()] == ["Colorize", "Open Panel", "Export for Inference"]
    menu.findItem("Colorize").invoke()                   # nothing selected: a message, no node
    assert "no node selected" in nuke._fake_messages[-1]
    assert not nuke.allNodes("Group")


def test_menu_py_explains_a_broken_install(nuke, monkeypatch):
    monkeypatch.setitem(sys.modules, "kinochrome.nuke.adapter", None)   # as if kinochrome were not importable
    nuke._fake_run_file(str(NUKE_DIR / "menu.py"))
    item = nuke.menu("Nodes").findItem("Kinochrome/Not installed - why?")
    item.invoke()
    assert "install.py --hosts nuke" in nuke._fake_messages[-1]


def _registration():
    """Loaded by path, as install.py does."""
    spec = importlib.util.spec_from_file_location("kinochrome_nuke_registration", NUKE_DIR / "registration.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_register_unregister_is_exact_and_idempotent(tmp_path):
    reg = _registration()
    home, venv = tmp_path / "home", tmp_path / "venv"
    init = home / ".nuke" / "init.py"
    init.parent.mkdir(parents=True)
    original = "import nuke\nnuke.pluginAddPath('./gizmos')\n"
    init.write_text(original)
    assert "would add" in reg.register(venv, REPO, home=home, dry_run=True)[0]
    assert init.read_text() == original
    lines = reg.register(venv, REPO, home=home)
    assert "add the Kinochrome block" in lines[0]
    once = init.read_text()
    assert once.startswith(original) and once.count(reg.BEGIN) == 1
    assert repr(str(NUKE_DIR)) in once and repr(str(venv.resolve())) in once
    assert "already present" in reg.register(venv, REPO, home=home)[0]
    assert init.read_text() == once
    reg.register(tmp_path / "other-venv", REPO, home=home)             # moved venv: replaced, not added
    assert init.read_text().count(reg.BEGIN) == 1 and "other-venv" in init.read_text()
    assert "removed" in reg.unregister(home=home)[0]
    assert init.read_text() == original
    assert "nothing to remove" in reg.unregister(home=home)[0]


def test_register_keeps_line_endings_and_symlinks_and_refuses_other_encodings(tmp_path):
    reg = _registration()
    home, venv = tmp_path / "home", tmp_path / "venv"
    init = home / ".nuke" / "init.py"
    init.parent.mkdir(parents=True)
    shared = tmp_path / "studio_init.py"                       # a studio's shared init.py, linked in
    original = b"import nuke\r\nnuke.pluginAddPath('./gizmos')\r\n"
    shared.write_bytes(original)
    init.symlink_to(shared)
    reg.register(venv, REPO, home=home)
    assert init.is_symlink() and shared.read_bytes().startswith(original)
    reg.unregister(home=home)
    assert init.is_symlink() and shared.read_bytes() == original
    init.unlink()
    init.write_bytes("# caf\xe9\n".encode("latin-1"))
    with pytest.raises(ValueError, match="not UTF-8"):
        reg.register(venv, REPO, home=home)
    assert init.read_bytes() == "# caf\xe9\n".encode("latin-1")


def test_register_creates_nuke_folder_and_needs_only_stdlib(tmp_path):
    home = tmp_path / "home"
    code = textwrap.dedent(f"""
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location("reg", {str(NUKE_DIR / 'registration.py')!r})
        reg = importlib.util.module_from_spec(spec); spec.loader.exec_module(reg)
        from pathlib import Path
        print(reg.register(Path({str(tmp_path / 'venv')!r}), Path({str(REPO)!r}), home=Path({str(home)!r})))
        assert not [m for m in sys.modules if m.split('.')[0] in ('kinochrome', 'nuke', 'numpy', 'torch')]
    """)
    # -S: no site-packages at all, as with a bare system Python before the venv exists
    done = subprocess.run([sys.executable, "-S", "-c", code], check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (home / ".nuke" / "init.py").read_text().startswith("# >>> kinochrome >>>")


def _fake_venv(root: Path, version: tuple[int, int]) -> Path:
    (root / "lib" / f"python{version[0]}.{version[1]}" / "site-packages").mkdir(parents=True)
    (root / "pyvenv.cfg").write_text(f"home = /usr/bin\nversion = {version[0]}.{version[1]}.0\n")
    return root


def test_startup_block_adds_plugin_path_and_site_packages(nuke, tmp_path, monkeypatch):
    monkeypatch.delenv("KINOCHROME_VENV", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    venv = _fake_venv(tmp_path / "venv", sys.version_info[:2])
    home = tmp_path / "home"
    _registration().register(venv, REPO, home=home)
    nuke._fake_run_file(str(home / ".nuke" / "init.py"))       # Nuke runs ~/.nuke/init.py at start-up
    assert nuke.pluginPath()[0] == str(NUKE_DIR)
    assert str(NUKE_DIR) not in sys.path                          # addToSysPath=False: no top-level 'adapter'
    site_packages = str(venv / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages")
    assert site_packages in sys.path
    assert os.environ["KINOCHROME_VENV"] == str(venv.resolve())


def test_startup_refuses_a_venv_of_another_python(nuke, tmp_path, monkeypatch, capsys):
    venv = _fake_venv(tmp_path / "venv", (3, 7))
    monkeypatch.setenv("KINOCHROME_VENV", str(venv))
    monkeypatch.setattr(sys, "path", list(sys.path))
    nuke._fake_run_file(str(NUKE_DIR / "init.py"))
    assert "made with Python 3.7" in capsys.readouterr().out
    assert not any(str(venv) in p for p in sys.path)


# --- colorspaces ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("nuke_name,config,ours", [
    ("default", "nuke-default", "auto"),
    ("default (linear)", "nuke-default", "lin_rec709"),
    ("linear", "nuke-default", "lin_rec709"),
    ("sRGB", "nuke-default", "sRGB"),
    ("rec709", "nuke-default", "g22_rec709"),
    ("Cineon", "nuke-default", "Cineon log"),
    ("compositing_log", "nuke-default", "Cineon log"),
    ("scene_linear (linear)", "nuke-default", "lin_rec709"),
    ("matte_paint (sRGB - Texture)", "fn-nuke_cg-config-v1.0.0_aces-v1.3_ocio-v2.1", "sRGB - Texture"),
    ("default (Linear Rec.709 (sRGB))", "fn-nuke_cg-config-v1.0.0_aces-v1.3_ocio-v2.1", "Linear Rec.709 (sRGB)"),
    ("scene_linear", "aces_1.2", "scene_linear"),
    ("ACES - ACEScg", "aces_1.2", "ACES - ACEScg"),
    ("Linear Rec.709 (sRGB)", "custom", "Linear Rec.709 (sRGB)"),
])
def test_colorspace_mapping(nuke_name, config, ours):
    from kinochrome.nuke.colorspaces import to_kinochrome

    assert to_kinochrome(nuke_name, config) == ours


def test_mapped_names_are_known_to_kinochrome():
    from kinochrome.core.colour import check_colourspace
    from kinochrome.nuke.colorspaces import NUKE_DEFAULT, ROLES

    for name in set(NUKE_DEFAULT.values()) | set(ROLES.values()):
        check_colourspace(name)


# --- the node ------------------------------------------------------------------------------------------------

def test_colorize_creates_node_from_read(nuke, adapter, tmp_path, make_sequence):
    pattern = make_sequence(tmp_path, fmt="dpx", n=3)
    read = make_read(nuke, pattern.replace("####", "%04d"), 1001, 1003, colorspace="Cineon")
    group = adapter.colorize_selected()
    assert group.Class() == "Group" and group.name() == "Kinochrome1" and group.input(0) is read
    assert (group["frame_first"].value(), group["frame_last"].value()) == (1001, 1003)
    assert group["output_file"].value() == str(tmp_path / "shot_kino.####.dpx")
    assert group["session_file"].value() == str(tmp_path / "shot.kinochrome.json")
    assert group["method"].values() == ["model", "histogram", "reinhard", "knn"]
    assert group["device"].value() == "auto" and group["existing"].value() == "error"
    assert group["working_size"].value() == 384 and group["ref_strength"].value() == 1.0
    assert "Cineon -> Cineon log" in group["source"].value()
    assert "Open Panel" in group["keyframes"].value()
    for button, func in (("colorize", "on_colorize"), ("open_panel", "on_open_panel"),
                         ("send_to_farm", "on_send_to_farm")):
        assert group[button].Class() == "PyScript_Knob" and func in group[button].value()
    assert group["colorize"].getFlag(nuke.STARTLINE)                 # the three buttons share a row
    assert not group["open_panel"].getFlag(nuke.STARTLINE) and not group["send_to_farm"].getFlag(nuke.STARTLINE)
    inner_read, switch = group.node("KinoResult"), group.node("KinoSwitch")
    assert switch.input(0).Class() == "Input" and switch.input(1) is inner_read
    assert next(n for n in group.nodes() if n.Class() == "Output").input(0) is switch
    assert switch["which"].value() == 0
    assert adapter.colorize_selected().name() == "Kinochrome2"


def test_keyframe_summary_from_session(nuke, adapter, tmp_path, make_sequence, reference, capsys):
    pattern, group = shot_node(nuke, adapter, tmp_path, make_sequence, reference)
    group["reload_session"].execute()
    assert group["keyframes"].value() == "1 keyframe: 1001 (ref.1001.png)"
    settings, _shot = adapter.kino_node.node_settings(group)
    assert settings.input == pattern and settings.method == "reinhard" and settings.frames == (1001, 1004)
    assert [k.frame for k in settings.keyframes] == [1001] and settings.colourspace == "lin_rec709"
    write_session(Path(group["session_file"].value()), str(tmp_path / "other.####.exr"), reference)
    adapter.kino_node.node_settings(group)
    assert "the session file names the shot" in capsys.readouterr().out
    Path(group["session_file"].value()).write_text("{not json")
    group["reload_session"].execute()
    assert "not valid JSON" in nuke._fake_messages[-1] and "session file error" in group["keyframes"].value()
    # a node made on a shot whose session file is broken: made, and the artist is told at once
    nuke.allNodes("Read")[0].setSelected(True)
    again = adapter.colorize_selected()
    assert again is not None and "session file error" in again["keyframes"].value()
    assert "not valid JSON" in nuke._fake_messages[-1]


def test_export_for_inference_in_plain_nuke_says_what_it_needs(nuke, adapter, tmp_path):
    nuke.env["nukex"] = False
    assert adapter.export_for_inference() is None
    assert "needs NukeX or Nuke Studio" in nuke._fake_messages[-1]
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("case", ["movie", "missing", "not_a_read"])
def test_bad_reads_give_a_message_and_no_node(nuke, adapter, tmp_path, make_sequence, case):
    if case == "movie":
        make_read(nuke, str(tmp_path / "scan.mov"))
        expected = "render it to an EXR or DPX sequence"
    elif case == "missing":
        make_read(nuke, make_sequence(tmp_path, fmt="exr", n=5, missing=(1003, 1004)), 1001, 1005)
        expected = "2 frame(s) missing on disk (1003-1004)"
    else:
        nuke.nodes.Blur().setSelected(True)
        expected = "select the Read node"
    assert adapter.colorize_selected() is None
    assert expected in nuke._fake_messages[-1]
    assert not nuke.allNodes("Group")


def test_bad_settings_give_a_message_and_write_nothing(nuke, adapter, tmp_path, make_sequence, reference,
                                                       monkeypatch):
    pattern, group = shot_node(nuke, adapter, tmp_path, make_sequence, reference)
    out_dir = tmp_path / "out"
    group["output_file"].setValue(pattern.replace("####", "%04d"))          # the source itself
    assert adapter.on_colorize(group) is None
    assert "output is the input" in nuke._fake_messages[-1]
    group["output_file"].setValue(str(out_dir / "x.####.exr"))
    os.unlink(sequence.frame_path(pattern, 1002))                            # a frame went missing since
    assert adapter.on_colorize(group) is None
    assert "missing on disk (1002)" in nuke._fake_messages[-1]
    monkeypatch.delenv("KINOCHROME_VENV")                                    # no install to run the work in
    assert adapter.on_colorize(group) is None
    assert nuke._fake_messages[-1] == f"Kinochrome: {adapter.VENV_MISSING}"
    assert not out_dir.exists() and not nuke._fake_tasks


# --- running -------------------------------------------------------------------------------------------------

def test_colorize_runs_in_background_and_reloads_result(nuke, adapter, tmp_path, make_sequence, reference):
    _pattern, group = shot_node(nuke, adapter, tmp_path, make_sequence, reference)
    group["output_file"].setValue(str(tmp_path / "out" / "col.%04d.exr"))
    group["colorize"].execute()                                              # the button, as the artist
    assert adapter.running(group)
    wait(nuke, adapter, group)
    assert nuke._fake_messages == []
    for frame in range(1001, 1005):
        assert (tmp_path / "out" / f"col.{frame}.exr").is_file()
    task = nuke._fake_tasks[0]
    assert task.history == sorted(task.history) and task.history[-1] == 100
    inner = group.node("KinoResult")
    assert inner["file"].value() == str(tmp_path / "out" / "col.####.exr")
    assert (inner["first"].value(), inner["last"].value()) == (1001, 1004)
    assert inner["reload"]._fake_executed == 1 and inner["colorspace"].value() == "linear"
    assert group.node("KinoSwitch")["which"].value() == 1
    assert group["status"].value().startswith("done: 4 frames written")


def test_two_nodes_never_write_the_same_frames_at_once(nuke, adapter, tmp_path, make_sequence, reference):
    _pattern, first = shot_node(nuke, adapter, tmp_path, make_sequence, reference, n=12)
    nuke.allNodes("Read")[0].setSelected(True)
    second = adapter.colorize_selected()                                    # another node on the same Read
    second["method"].setValue("reinhard")
    assert second["output_file"].value() == first["output_file"].value()
    first["frame_last"].setValue(1006)
    second["frame_first"].setValue(1005)                                     # overlaps 1005-1006
    adapter.on_colorize(first)
    assert adapter.on_colorize(second) is None and not adapter.running(second)
    assert "is already writing" in nuke._fake_messages[-1]
    second["frame_first"].setValue(1007)                                     # disjoint halves of one output
    assert adapter.on_colorize(second) is not None and adapter.running(second)
    wait(nuke, adapter, first)
    wait(nuke, adapter, second)


def test_colorize_with_a_model(nuke, adapter, tmp_path, make_sequence, reference):
    from kinochrome.core.model import build_tiny_model

    _pattern, group = shot_node(nuke, adapter, tmp_path, make_sequence, reference, n=3)
    group["method"].setValue("model")
    group["model"].setValue(str(build_tiny_model(tmp_path / "models")))
    group["working_size"].setValue(64)
    group["device"].setValue("cpu")
    adapter.on_colorize(group)
    wait(nuke, adapter, group)
    assert nuke._fake_messages == [] and group["status"].value().startswith("done: 3 frames written")
    assert len(list((tmp_path / "in").glob("shot_kino.*.exr"))) == 3


def test_cancel_through_progress_task(nuke, adapter, tmp_path, make_sequence, reference):
    _pattern, group = shot_node(nuke, adapter, tmp_path, make_sequence, reference, n=12)
    nuke.ProgressTask._fake_cancel_at = 8                                    # Cancel pressed after frame 1
    adapter.on_colorize(group)
    wait(nuke, adapter, group)
    written = sorted(Path(tmp_path / "in").glob("shot_kino.*.exr"))
    assert 1 <= len(written) < 12
    assert group["status"].value() == f"cancelled after {len(written)} frames"
    assert nuke._fake_messages == []
    assert group.node("KinoResult")["reload"]._fake_executed == 1


def test_run_error_reaches_nuke_message(nuke, adapter, tmp_path, make_sequence, reference, capsys):
    _pattern, group = shot_node(nuke, adapter, tmp_path, make_sequence, reference, with_session=False)
    adapter.on_colorize(group)                        # reinhard without a keyframe reference: fails in the run
    wait(nuke, adapter, group)
    assert len(nuke._fake_messages) == 1 and "colour reference" in nuke._fake_messages[0]
    assert group["status"].value().startswith("failed:")
    assert "colour reference" in capsys.readouterr().out                     # the Script Editor too
    assert not list((tmp_path / "in").glob("shot_kino.*"))


def test_terminal_mode_runs_synchronously(nuke, adapter, tmp_path, make_sequence, reference, capsys):
    _pattern, group = shot_node(nuke, adapter, tmp_path, make_sequence, reference)
    nuke.env["gui"] = False
    summary = adapter.on_colorize(group)
    assert summary.written == [1001, 1002, 1003, 1004]
    assert not nuke._fake_tasks and not nuke._fake_messages
    assert "frame 1004 done (4/4)" in capsys.readouterr().out
    assert group.node("KinoResult")["reload"]._fake_executed == 1


def terminal_script(nuke, tmp_path, make_sequence, reference) -> str:
    """A .nk (for the fake's scriptOpen) holding a reinhard Kinochrome node on a 4-frame shot; terminal mode."""
    nuke.env["gui"] = False
    pattern = make_sequence(tmp_path / "in", fmt="exr", n=4)
    script = str(tmp_path / "comp.nk")

    def build():
        from kinochrome.nuke import node

        group = node.build_node(make_read(nuke, pattern))
        group["method"].setValue("reinhard")
        write_session(Path(group["session_file"].value()), pattern, reference)

    nuke._fake_scripts[script] = build
    return script


def test_terminal_script(nuke, tmp_path, make_sequence, reference):
    from kinochrome.nuke import terminal

    script = terminal_script(nuke, tmp_path, make_sequence, reference)
    assert terminal.main([script, "--frames=1002-1003", "--save"]) == 0
    assert sorted(p.name for p in (tmp_path / "in").glob("shot_kino.*.exr")) == [
        "shot_kino.1002.exr", "shot_kino.1003.exr"]
    group = nuke.allNodes("Group")[-1]
    assert (group["frame_first"].value(), group["frame_last"].value()) == (1001, 1004)   # not saved as 1002-1003
    assert terminal.main([script, "--node=Nope"]) == 1


def test_terminal_ctrl_c_is_exit_130_not_a_traceback(nuke, adapter, tmp_path, make_sequence, reference, monkeypatch,
                                                     capsys):
    from kinochrome.nuke import terminal

    script = terminal_script(nuke, tmp_path, make_sequence, reference)

    def interrupted(group, settings):
        raise KeyboardInterrupt

    monkeypatch.setattr(adapter, "run_sync", interrupted)
    assert terminal.main([script]) == 130
    assert "interrupted" in capsys.readouterr().err


# --- panel and farm ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", [15, 16])
def test_open_panel_writes_session_and_runs_the_panel_in_the_venvs_python(nuke, adapter, tmp_path, make_sequence,
                                                                         reference, monkeypatch, version):
    """The panel reads frames (OpenImageIO) and previews the model (torch): never inside Nuke's process."""
    started = []
    monkeypatch.setattr(adapter.subprocess, "Popen", lambda args: started.append(args))
    nuke.env["NukeVersionMajor"] = version
    _pattern, group = shot_node(nuke, adapter, tmp_path, make_sequence, reference)
    group["working_size"].setValue(256)
    group["open_panel"].execute()
    session_path = group["session_file"].value()
    python = str(Path(sys.prefix) / "bin" / "python")
    assert started == [[python, "-m", "kinochrome.plugin.cli", "panel", session_path]]
    saved = load_session(session_path)
    assert saved.working_size == 256 and [k.frame for k in saved.keyframes] == [1001]     # keyframes kept


def test_send_to_farm_writes_an_openjd_bundle(nuke, adapter, tmp_path, make_sequence, reference):
    _pattern, group = shot_node(nuke, adapter, tmp_path, make_sequence, reference)
    assert group["farm_chunk"].value() == 10                                 # longer than the 4 frames: one task
    path = adapter.on_send_to_farm(group)
    assert path is not None and path.is_file() and path.parent.parent.name == "kinochrome_jobs"
    assert "deadline bundle submit" in nuke._fake_messages[-1]
    assert not list((tmp_path / "in").glob("shot_kino.*"))                   # nothing rendered here


def test_send_to_farm_failure_is_reported(nuke, adapter, tmp_path, make_sequence, reference):
    _pattern, group = shot_node(nuke, adapter, tmp_path, make_sequence, reference)
    group["farm_preroll"].setValue(-1)
    assert adapter.on_send_to_farm(group) is None
    assert "Send to farm failed: preroll -1" in nuke._fake_messages[-1]


# --- Inference route -----------------------------------------------------------------------------------------

def test_cat_file_creator(nuke, tmp_path):
    from kinochrome.nuke import cat

    pt = tmp_path / "kino.pt"
    pt.write_bytes(b"torchscript")
    made = cat.make_cat_file(str(pt), str(tmp_path / "kino.cat"), model_id="kino-test")
    assert Path(made).read_bytes().startswith(b"FAKE-CAT kino-test")
    assert not nuke.allNodes("CatFileCreator")                               # the helper node is removed
    node = cat.create_inference_node(made)
    assert node["modelFile"].value() == made
    nuke.env["nukex"] = False                                                # plain Nuke: no CatFileCreator
    with pytest.raises(RuntimeError, match="NukeX"):
        cat.make_cat_file(str(pt), str(tmp_path / "b.cat"))


def test_export_for_inference_matches_the_eager_network(nuke, adapter, tmp_path):
    import torch

    from kinochrome.core.model import build_tiny_model
    from kinochrome.core.model.weights import load_network

    model = build_tiny_model(tmp_path / "models")
    nuke._fake_answers["Kinochrome model to export (name or .safetensors path)"] = str(model)
    nuke._fake_answers["Save the .cat file as"] = str(tmp_path / "nuke" / "kino")
    made = adapter.export_for_inference()
    assert made == str(tmp_path / "nuke" / "kino.cat") and Path(made).is_file()
    assert b"rgba.red,rgba.green,rgba.blue,rgba.alpha" in Path(made).read_bytes()
    assert nuke.allNodes("Inference")[0]["modelFile"].value() == made

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)      # TorchScript is what CatFileCreator reads
        scripted = torch.jit.load(str(tmp_path / "nuke" / "kino.pt"))
    net, _ = load_network(model)
    torch.manual_seed(1)
    x = torch.rand(1, 4, 32, 48)
    x[:, 1:3] = x[:, 1:3] * 2 - 1
    x[:, 3] = (x[:, 3] > 0.8).float()
    x[:, 1:3] *= x[:, 3:4]
    with torch.no_grad():
        _, ab, _, _ = net.step(x)
        out = scripted(x)
    assert out.shape == (1, 3, 32, 48)
    assert torch.equal(out[:, 0:1], x[:, 0:1])                               # luminance passes through
    torch.testing.assert_close(out[:, 1:3], ab / 110.0, atol=1e-5, rtol=1e-4)


def test_node_deleted_during_a_run(nuke, adapter, tmp_path, make_sequence, reference, capsys):
    _pattern, group = shot_node(nuke, adapter, tmp_path, make_sequence, reference)
    run = adapter.on_colorize(group)
    nuke.delete(group)
    run.wait(120)
    nuke._fake_process_events()
    assert "the node is gone" in capsys.readouterr().out
    assert not adapter._RUNS and not nuke._fake_messages
    assert len(list((tmp_path / "in").glob("shot_kino.*.exr"))) == 4


def test_export_in_half_precision(tmp_path):
    """Inference's 'optimize for speed and memory' runs the module in half precision."""
    import torch

    from kinochrome.core.model import build_tiny_model, export

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        path = export.export_torchscript(build_tiny_model(tmp_path), tmp_path / "k.pt")
        scripted = torch.jit.load(str(path)).half()
    with torch.no_grad():
        out = scripted(torch.rand(1, 4, 32, 32).half())
    assert out.dtype == torch.float16 and torch.isfinite(out).all()


# --- issue 17: Nuke as it really behaves ---------------------------------------------------------------------

_HEAVY_BLOCKER = """
import importlib.abc, importlib.util, os, sys
HEAVY = ("torch", "cv2", "OpenImageIO")

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HEAVY:
            raise ImportError("blocked in Nuke's process: " + name)
        return None

sys.meta_path.insert(0, Block())
spec = importlib.util.spec_from_file_location("nuke", sys.argv[1])
nuke = importlib.util.module_from_spec(spec)
sys.modules["nuke"] = nuke
spec.loader.exec_module(nuke)
nuke._fake_run_file(sys.argv[2])                                   # menu.py, as Nuke runs it at GUI start
read = nuke.nodes.Read(file=sys.argv[3], first=1001, last=1003, origfirst=1001, origlast=1003)
read["colorspace"].setValue("linear")
read.setSelected(True)
group = nuke.menu("Nodes").findItem("Kinochrome/Colorize")._command()
assert group is not None, nuke._fake_messages
group["method"].setValue("reinhard")
group["colorize"].execute()
import kinochrome.nuke.adapter as adapter
nuke._fake_process_events(until=lambda: not adapter.running(group), timeout=120)
print("STATUS", group["status"].value())
print("MESSAGES", nuke._fake_messages)
print("LOADED", sorted(m for m in sys.modules if m.split(".")[0] in HEAVY))
"""


def test_nuke_process_loads_no_torch_cv2_or_openimageio(tmp_path, make_sequence, reference):
    """menu.py, a new Kinochrome node and a whole Colorize run, with torch, cv2 and OpenImageIO blocked in the
    (fake) Nuke process: the work runs in the venv's Python, so everything still works."""
    pattern = make_sequence(tmp_path / "in", fmt="exr", n=3)
    from kinochrome.core.session import session_path_for

    write_session(session_path_for(pattern), pattern, reference)
    env = {**os.environ, "KINOCHROME_VENV": sys.prefix}
    done = subprocess.run([sys.executable, "-c", _HEAVY_BLOCKER, str(FAKE), str(NUKE_DIR / "menu.py"), pattern],
                          capture_output=True, text=True, timeout=300, check=False, env=env, cwd=tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "STATUS done: 3 frames written" in out and "LOADED []" in out and "MESSAGES []" in out
    assert len(list((tmp_path / "in").glob("shot_kino.*.exr"))) == 3


def test_result_read_keeps_the_source_frame_offset_and_before_after(nuke, adapter, tmp_path, make_sequence):
    """A Read whose frames 1001-1004 start at comp frame 1 (pipelines set frame_mode/frame): the result Read is
    shifted the same way, or the colourised plate would sit 1000 frames away from its input."""
    pattern = make_sequence(tmp_path, fmt="exr", n=4)
    read = make_read(nuke, pattern)
    read["frame_mode"].setValue("start at")
    read["frame"].setValue("1")
    read["before"].setValue("black")
    read["after"].setValue("loop")
    group = adapter.colorize_selected()
    assert "(shown at 1-4)" in group["source"].value()
    group["frame_first"].setValue(1002)                              # a part of the shot: still file frames
    adapter.kino_node.show_result(group, str(tmp_path / "out.####.exr"), (1002, 1004), read)
    result = group.node("KinoResult")
    assert (result["frame_mode"].value(), result["frame"].value()) == ("offset", "-1000")   # 1002 shows at 2
    assert (result["before"].value(), result["after"].value()) == ("black", "loop")
    read["frame_mode"].setValue("offset")
    read["frame"].setValue("24")
    assert adapter.src.source_from_read(read).offset == 24
    read["frame_mode"].setValue("expression")
    read["frame"].setValue("frame*2")
    with pytest.raises(Exception, match="expression"):
        adapter.src.source_from_read(read)


def test_read_path_is_what_nuke_reads_not_the_working_directory(nuke, adapter, tmp_path, make_sequence,
                                                                 monkeypatch):
    """Relative paths are the project directory's, expressions and filename filters are applied
    (nuke.filename), never os.path.abspath against Nuke's working directory."""
    pattern = make_sequence(tmp_path / "shots" / "in", fmt="exr", n=2)
    monkeypatch.chdir(tmp_path)                                      # a working directory that is not the project
    nuke.root()["project_directory"].setValue(str(tmp_path / "shots"))
    make_read(nuke, "in/shot.####.exr", 1001, 1002)
    group = adapter.colorize_selected()
    assert group is not None, nuke._fake_messages
    assert adapter.kino_node.node_settings(group)[0].input == pattern
    # an expression and a studio filename filter (cross-platform path map)
    monkeypatch.setenv("KINO_SHOTS", str(tmp_path / "shots"))
    nuke.allNodes("Read")[0]["file"].setValue("[getenv KINO_SHOTS]/in/shot.####.exr")
    assert adapter.kino_node.node_settings(group)[0].input == pattern
    nuke.addFilenameFilter(lambda name: name.replace("/mnt/studio", str(tmp_path / "shots")))
    nuke.allNodes("Read")[0]["file"].setValue("/mnt/studio/in/shot.####.exr")
    assert adapter.kino_node.node_settings(group)[0].input == pattern
    nuke.root()["project_directory"].setValue("")
    nuke.allNodes("Read")[0]["file"].setValue("in/shot.####.exr")
    with pytest.raises(Exception, match="Project Directory"):
        adapter.kino_node.node_settings(group)


def test_windows_nuke_home_follows_percent_home():
    """Nuke on Windows reads %HOME%\\.nuke when HOME is set; Path.home() ignores HOME there (Python >= 3.8)."""
    registration = _registration()
    env = {"HOME": "H:\\nukeuser", "USERPROFILE": "C:\\Users\\artist"}
    assert str(registration.init_path(environ=env, platform="win32")).startswith("H:\\nukeuser")
    assert str(registration.init_path(environ={"USERPROFILE": "C:\\Users\\artist"}, platform="win32")).startswith(
        "C:\\Users\\artist")
    assert registration.init_path(environ={"HOME": "/home/a"}, platform="linux") == Path("/home/a/.nuke/init.py")


def test_export_asks_with_a_save_dialog(nuke, adapter, tmp_path, monkeypatch):
    """getFilename without type='save' is an open dialog, which cannot pick a .cat that does not exist yet."""
    target = tmp_path / "new" / "kino.cat"
    nuke._fake_answers["Save the .cat file as"] = str(target)
    assert nuke.getFilename("Save the .cat file as", "*.cat") is None                 # the fake as Nuke
    assert nuke.getFilename("Save the .cat file as", "*.cat", type="save") == str(target)

    def exported(args, on_event=None):
        Path(args[args.index("-o") + 1]).write_bytes(b"torchscript")
        return adapter.process.Result(returncode=0)

    monkeypatch.setattr(adapter.process, "run_cli", exported)
    assert adapter.export_for_inference() == str(target) and target.is_file()


def test_send_to_farm_carries_the_nodes_own_session_file(nuke, adapter, tmp_path, make_sequence, reference):
    """The job uses the node's session file (keyframes with colour points and reference kind), not a session
    rebuilt from the run settings."""
    from kinochrome.core.session import ColourPoint

    _pattern, group = shot_node(nuke, adapter, tmp_path, make_sequence, reference)
    session_path = Path(group["session_file"].value())
    session = load_session(session_path)
    session.keyframes = [Keyframe(frame=1001, reference=reference, kind="exemplar"),
                         Keyframe(frame=1003, points=[ColourPoint(x=10, y=10, colour=(0.8, 0.2, 0.1))])]
    save_session(session, session_path)
    group["working_size"].setValue(200)
    path = adapter.on_send_to_farm(group)
    assert path is not None, nuke._fake_messages
    params = __import__("json").loads((path.parent / "openjd_parameters.json").read_text())
    job_session = load_session(params["Session"])
    assert [(k.frame, k.kind, len(k.points)) for k in job_session.keyframes] == [(1001, "exemplar", 0),
                                                                                 (1003, "auto", 1)]
    assert load_session(session_path).working_size == 200          # the node's knobs were saved into its file


def test_mypy_checks_the_nuke_adapter_against_types_nuke(tmp_path):
    """types-nuke (unofficial Nuke 13.2 stubs) is what the adapter is typed against, as Resolve's against
    fusionscript-stubs. Run from outside the repository: its nuke/ folder would shadow the stubs' ``nuke``."""
    import mypy  # noqa: F401 - a dev dependency, like types-nuke: missing, the test fails rather than skips

    assert any((Path(p) / "nuke-stubs").is_dir() for p in sys.path), "types-nuke (a dev dependency) is not installed"
    files = [str(NUKE_DIR / f) for f in ("adapter.py", "node.py", "source.py", "process.py", "terminal.py",
                                         "cat.py", "colorspaces.py", "registration.py")]
    done = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(REPO / "pyproject.toml"),
                           "--no-error-summary", *files], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
