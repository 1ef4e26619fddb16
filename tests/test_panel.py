"""The shot panel (PySide6, offscreen): open, keyframes, references, colour points, undo, save/reload,
autosave, runs with progress and cancel, a UI thread that never blocks, and bad input shown as messages."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

pytest.importorskip("PySide6.QtWidgets")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, QStandardPaths, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent

from kinochrome.core.session import load_session, session_path_for
from kinochrome.plugin.panel import KinochromePanel, add_parser
from kinochrome.plugin.panel.workers import warm_up

# What the standalone app does before its window shows: importing torch holds the GIL for ~0.5 s, a one-off
# start-up cost that is not what the UI-thread measurements below are about.
warm_up()

pytestmark = pytest.mark.qt

OPEN_TIMEOUT = 15000
RUN_TIMEOUT = 60000


# -- helpers ---------------------------------------------------------------------------------------------------
@pytest.fixture
def panel(qtbot, tmp_path):
    QStandardPaths.setTestModeEnabled(True)
    settings = QSettings(str(tmp_path / "panel.ini"), QSettings.Format.IniFormat)
    p = KinochromePanel(settings=settings, autosave_dir=tmp_path / "user" / "autosave", autosave_delay_ms=30)
    qtbot.addWidget(p)
    p.resize(1200, 780)
    p.show()
    yield p
    p.shutdown()


def open_shot(qtbot, panel, path) -> None:
    with qtbot.waitSignal(panel.shotOpened, timeout=OPEN_TIMEOUT):
        panel.open_path(str(path))


def reference_png(folder: Path, make_sequence) -> str:
    """A colour still the size of the test frames (64x48)."""
    pattern = make_sequence(folder, fmt="png", n=1, gray=False, name="ref")
    return pattern.replace("####", "1001")


def keyframe_with_reference(qtbot, panel, ref: str) -> None:
    panel.add_keyframe()
    with qtbot.waitSignal(panel.referenceLoaded, timeout=OPEN_TIMEOUT):
        panel.set_reference(ref)


def reinhard_run(qtbot, panel, ref: str) -> None:
    """A keyframe with ``ref`` on the current frame, method reinhard, a whole run that ends without an error."""
    keyframe_with_reference(qtbot, panel, ref)
    panel.set_session_field("method", "reinhard")
    with qtbot.waitSignal(panel.runFinished, timeout=RUN_TIMEOUT) as done:
        panel.run()
    assert done.args[0].error is None, done.args[0].error


def last_message(panel, level: str | None = None) -> str:
    msgs = [t for lv, t in panel.messages if level is None or lv == level]
    return msgs[-1] if msgs else ""


class GapMeter:
    """A 20 ms QTimer on the UI thread recording the longest gap between its ticks."""

    def __init__(self) -> None:
        self.max_gap = 0.0
        self.ticks = 0
        self._last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setInterval(20)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.max_gap = max(self.max_gap, now - self._last)
        self._last = now
        self.ticks += 1

    def start(self) -> GapMeter:
        self._last = time.perf_counter()
        self.timer.start()
        return self

    def stop(self) -> float:
        self.timer.stop()
        return self.max_gap


# -- opening ---------------------------------------------------------------------------------------------------
def test_open_shot_shows_frame_timecode_and_colourspace(qtbot, panel, tmp_path, make_sequence):
    pattern = make_sequence(tmp_path / "plates", n=5)
    open_shot(qtbot, panel, pattern)
    assert (panel.first, panel.last, panel.frame) == (1001, 1005, 1001)
    assert panel.frame_size == (64, 48)
    qtbot.waitUntil(lambda: panel.viewer.before is not None, timeout=OPEN_TIMEOUT)
    assert not panel.errors and "not found" not in panel.status_label.text()   # no read of a frame 0
    hud = "\n".join(panel.viewer.hud_lines)
    assert "frame 1001" in hud and "TC 01:00:00:00" in hud and "24 fps" in hud
    assert "Linear Rec.709" in hud                       # half EXR -> scene-linear, viewed as sRGB
    panel.set_frame(1003)
    assert panel.tc_label.text() == "01:00:00:02"
    assert panel.recent_shots()[0] == pattern
    # a folder and a dropped frame file open the same shot
    open_shot(qtbot, panel, tmp_path / "plates")
    assert (panel.first, panel.last) == (1001, 1005)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(pattern.replace("####", "1002"))])
    drop = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(panel.shotOpened, timeout=OPEN_TIMEOUT):
        panel.dropEvent(drop)


def test_transport_keys_and_view_modes(qtbot, panel, tmp_path, make_sequence):
    open_shot(qtbot, panel, make_sequence(tmp_path, n=6))
    panel.activateWindow()
    panel.viewer.setFocus()
    keys = {Qt.Key.Key_Right: 1002, Qt.Key.Key_End: 1006, Qt.Key.Key_Left: 1005, Qt.Key.Key_Home: 1001}
    for key, frame in keys.items():
        qtbot.keyClick(panel.viewer, key)
        assert panel.frame == frame, key
    panel.set_frame(1004)
    panel.add_keyframe()
    panel.set_frame(1002)
    panel.add_keyframe()
    panel.set_frame(1006)
    qtbot.keyClick(panel.viewer, Qt.Key.Key_BracketLeft)
    assert panel.frame == 1004
    qtbot.keyClick(panel.viewer, Qt.Key.Key_BracketLeft)
    assert panel.frame == 1002
    qtbot.keyClick(panel.viewer, Qt.Key.Key_BracketRight)
    assert panel.frame == 1004
    # J/K/L: play at the shot's fps from the cache, stop
    qtbot.keyClick(panel.viewer, Qt.Key.Key_L)
    assert panel.playing and panel.play_timer.interval() == round(1000 / 24)
    qtbot.waitUntil(lambda: panel.frame != 1004, timeout=5000)
    qtbot.keyClick(panel.viewer, Qt.Key.Key_K)
    assert not panel.playing
    qtbot.keyClick(panel.viewer, Qt.Key.Key_J)
    assert panel._play_dir == -1
    qtbot.keyClick(panel.viewer, Qt.Key.Key_K)
    # view modes 1-4, toggle, and dragging the wipe divider
    for key, mode in ((Qt.Key.Key_1, "before"), (Qt.Key.Key_2, "after"), (Qt.Key.Key_4, "side"),
                      (Qt.Key.Key_3, "wipe")):
        qtbot.keyClick(panel.viewer, key)
        assert panel.viewer.mode == mode
    qtbot.keyClick(panel.viewer, Qt.Key.Key_T)
    assert panel.viewer.mode == "before"
    qtbot.keyClick(panel.viewer, Qt.Key.Key_T)
    assert panel.viewer.mode == "wipe"
    r = panel.viewer.content_rect()
    start = QPoint(int(r.x() + r.width() / 2), int(r.center().y()))
    end = QPoint(int(r.x() + r.width() * 0.25), int(r.center().y()))
    qtbot.mousePress(panel.viewer, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(panel.viewer, end)
    qtbot.mouseRelease(panel.viewer, Qt.MouseButton.LeftButton, pos=end)
    assert panel.viewer.wipe == pytest.approx(0.25, abs=0.03)
    zoom = panel.viewer.zoom
    panel.viewer.set_zoom(zoom * 2)
    qtbot.keyClick(panel.viewer, Qt.Key.Key_F)
    assert panel.viewer.zoom == pytest.approx(zoom)


# -- keyframes, points, undo, save/reload ----------------------------------------------------------------------
def test_keyframe_reference_points_undo_save_and_reload(qtbot, panel, tmp_path, make_sequence):
    pattern = make_sequence(tmp_path / "plates", n=5)
    ref = reference_png(tmp_path / "plates" / "refs", make_sequence)
    open_shot(qtbot, panel, pattern)
    keyframe_with_reference(qtbot, panel, ref)
    panel.add_point(10, 12)                                  # colour sampled from the reference
    panel.add_point(40, 30, colour=(0.9, 0.2, 0.1))
    kf = panel.doc.keyframe(1001)
    assert kf.reference == os.path.join("refs", "ref.1001.png")   # relative to the session beside the shot
    assert len(kf.points) == 2 and kf.points[1].colour == (0.9, 0.2, 0.1)
    assert kf.points[0].colour != panel.inspector.brush_colour
    # clicking in the viewer with the points tool adds a point; moving and deleting are undoable
    panel.act_points.setChecked(True)
    target = panel.viewer.image_to_widget(50, 10)
    qtbot.mouseClick(panel.viewer, Qt.MouseButton.LeftButton, pos=target.toPoint())
    assert len(kf.points) == 3 and abs(kf.points[2].x - 50) < 1.5
    # drag it with the mouse
    grab = panel.viewer.image_to_widget(kf.points[2].x, kf.points[2].y).toPoint()
    drop = panel.viewer.image_to_widget(30, 40).toPoint()
    qtbot.mousePress(panel.viewer, Qt.MouseButton.LeftButton, pos=grab)
    qtbot.mouseMove(panel.viewer, drop)
    qtbot.mouseRelease(panel.viewer, Qt.MouseButton.LeftButton, pos=drop)
    assert abs(kf.points[2].x - 30) < 1.5 and abs(kf.points[2].y - 40) < 1.5
    panel.doc.undo.undo()
    panel.move_point(2, 55, 20)
    assert (kf.points[2].x, kf.points[2].y) == (55, 20)
    panel.doc.undo.undo()
    assert abs(kf.points[2].x - 50) < 1.5
    panel.delete_point(2)
    assert len(kf.points) == 2
    panel.doc.undo.undo()                                    # the delete
    assert len(kf.points) == 3
    panel.doc.undo.undo()                                    # the click-added point
    assert len(kf.points) == 2
    panel.doc.undo.redo()
    assert len(kf.points) == 3
    panel.doc.undo.undo()
    panel.set_session_field("method", "reinhard")
    assert panel.timeline.keyframes == [1001]
    # a PNG dropped on the open shot becomes the reference of the current frame (adding the keyframe)
    panel.set_frame(1003)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(ref)])
    with qtbot.waitSignal(panel.referenceLoaded, timeout=OPEN_TIMEOUT):
        panel.dropEvent(QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                   Qt.KeyboardModifier.NoModifier))
    assert panel.doc.keyframe(1003).reference == kf.reference
    assert panel.timeline.keyframes == [1001, 1003]

    saved = panel.save()
    assert saved == session_path_for(pattern)
    loaded = load_session(saved)
    assert loaded == panel.doc.session
    assert loaded.method == "reinhard" and len(loaded.keyframes[0].points) == 2
    # reload through the panel: the same session comes back
    panel.doc.undo.clear()
    open_shot(qtbot, panel, saved)
    assert panel.doc.session == loaded
    assert panel.doc.session_path == saved.resolve()


def test_autosave_beside_the_shot_restores_edits(qtbot, panel, tmp_path, make_sequence):
    pattern = make_sequence(tmp_path / "plates", n=3)
    open_shot(qtbot, panel, pattern)
    panel.set_frame(1002)
    with qtbot.waitSignal(panel.autosaved, timeout=OPEN_TIMEOUT) as sig:
        panel.add_point(20, 20, colour=(0.2, 0.4, 0.8))
    assert Path(sig.args[0]) == session_path_for(pattern)
    assert load_session(sig.args[0]).keyframes[0].frame == 1002
    # a fresh panel opening the shot gets the edits back
    other = KinochromePanel(settings=panel.qsettings, autosave_dir=panel.autosave_dir)
    qtbot.addWidget(other)
    open_shot(qtbot, other, pattern)
    assert other.doc.keyframe(1002).points[0].colour == (0.2, 0.4, 0.8)
    other.shutdown()


# -- runs ------------------------------------------------------------------------------------------------------
def test_preview_and_run_shot_with_progress_and_no_ui_stall(qtbot, panel, tmp_path, make_sequence):
    pattern = make_sequence(tmp_path / "plates", n=10, size=(320, 240))
    ref = make_sequence(tmp_path / "refs", fmt="png", n=1, gray=False, size=(320, 240), name="ref")
    open_shot(qtbot, panel, pattern)
    keyframe_with_reference(qtbot, panel, ref.replace("####", "1001"))
    panel.add_point(30, 30, colour=(0.8, 0.3, 0.2))
    panel.set_session_field("method", "reinhard")
    panel.act_follow.setChecked(True)                       # the viewer loads each frame as it lands
    meter = GapMeter().start()
    with qtbot.waitSignal(panel.previewReady, timeout=RUN_TIMEOUT):
        panel.preview_current_frame()
    assert panel.viewer.after is not None and panel.viewer.after_label == "preview"
    finished_frames: list[tuple[int, str]] = []
    panel.frameFinished.connect(lambda f, s: finished_frames.append((f, s)))
    started: list[str] = []
    panel.runStarted.connect(lambda total: started.append(panel.frame_status[1001]))
    with qtbot.waitSignal(panel.runFinished, timeout=RUN_TIMEOUT) as done:
        assert panel.run()
        assert panel.progress.isVisible() and not panel.run_button.isEnabled()
        assert panel.cancel_button.isEnabled()
    max_gap = meter.stop()
    outcome = done.args[0]
    assert outcome.error is None and not outcome.cancelled, outcome.error
    out_pattern = str(tmp_path / "plates" / "shot_kino.####.exr")
    assert outcome.summary.output == out_pattern
    for f in range(1001, 1011):
        assert os.path.isfile(out_pattern.replace("####", str(f)))
        assert panel.frame_status[f] == "done"
        assert panel.timeline.status[f] == "done"
    assert sorted(finished_frames) == [(f, "done") for f in range(1001, 1011)]
    assert started == ["running"]                          # the frame being computed says so, not "queued"
    assert not panel.progress.isVisible() and panel.run_button.isEnabled()
    # the finished frame shows as the result in the viewer
    qtbot.waitUntil(lambda: panel.viewer.after_label == "result" and panel.viewer.after is not None,
                    timeout=OPEN_TIMEOUT)
    assert "Run finished: 10 frames written" in last_message(panel)
    # after an edit, a new preview is what shows, not the run's result of the earlier settings
    panel.set_session_field("method", "histogram")
    with qtbot.waitSignal(panel.previewReady, timeout=RUN_TIMEOUT):
        panel.preview_current_frame()
    assert panel.viewer.after_label == "preview"
    assert meter.ticks >= 3
    assert max_gap < 0.2, f"UI thread blocked for {max_gap * 1000:.0f} ms"
    print(f"\nmax UI-thread gap during preview + run: {max_gap * 1000:.1f} ms")


def test_a_run_that_started_before_an_edit_does_not_hide_the_newer_preview(qtbot, panel, tmp_path, make_sequence):
    from kinochrome.core.job import JobEvent

    pattern = make_sequence(tmp_path / "plates", n=2)
    open_shot(qtbot, panel, pattern)
    panel._run_generation = panel._preview_generation           # a run starts now ...
    panel.set_session_field("method", "histogram")              # ... the artist edits and previews meanwhile
    image = panel.viewer.before
    panel._on_previewed(panel._preview_generation, 1001, image, image)
    done = JobEvent("frame", frame=1001, status="done", path=pattern.replace("####", "1001"))
    panel._on_run_frame(done)                                   # the old run writes 1001 (old settings)
    assert 1001 in panel.previews and panel.viewer.after_label == "preview"
    panel._run_generation = panel._preview_generation           # a run started after that preview
    panel._on_run_frame(done)
    assert 1001 not in panel.previews


def test_cancel_mid_run_stops_within_one_frame(qtbot, panel, tmp_path, make_sequence, monkeypatch):
    from kinochrome.core import colouriser, pipeline

    pattern = make_sequence(tmp_path / "plates", n=24, size=(256, 192))
    ref = make_sequence(tmp_path / "refs", fmt="png", n=1, gray=False, size=(256, 192), name="ref")
    open_shot(qtbot, panel, pattern)
    keyframe_with_reference(qtbot, panel, ref.replace("####", "1001"))
    panel.set_session_field("method", "reinhard")
    started: list[tuple[int, bool]] = []           # (frame, was the run already cancelled when it started)
    tokens = []                                    # the run's CancelToken
    init = pipeline.ShotPipeline.__init__

    def keep_token(self, settings, cancel):
        tokens.append(cancel)
        init(self, settings, cancel)

    colourise = colouriser.FrameColouriser.colourise_prepared  # a frame's colouring (the next is prepared ahead)

    def counting(self, prepared, *args, **kwargs):
        started.append((prepared.frame, tokens[-1].cancelled))
        return colourise(self, prepared, *args, **kwargs)

    monkeypatch.setattr(pipeline.ShotPipeline, "__init__", keep_token)
    monkeypatch.setattr(colouriser.FrameColouriser, "colourise_prepared", counting)
    at_cancel: list[int] = []

    def cancel_on_first(frame: int, status: str) -> None:
        if not at_cancel:
            panel.cancel_run()
            at_cancel.append(len(started))

    panel.frameFinished.connect(cancel_on_first)
    with qtbot.waitSignal(panel.runFinished, timeout=RUN_TIMEOUT) as done:
        panel.run()
    outcome = done.args[0]
    assert outcome.cancelled
    # no frame starts after the cancel: at most the one in flight finishes; frames already colourised land
    assert not [f for f, after in started if after]
    assert len(started) <= at_cancel[0] + 1 < 24
    assert len(outcome.frames_done) == len(started)
    assert "cancelled" in last_message(panel)
    assert all(s not in ("queued", "running") for s in panel.frame_status.values())
    assert panel.run_button.isEnabled() and not panel.cancel_button.isEnabled()


def test_range_from_in_out_keys_runs_only_those_frames(qtbot, panel, tmp_path, make_sequence):
    pattern = make_sequence(tmp_path / "plates", n=5)
    ref = reference_png(tmp_path / "refs", make_sequence)
    open_shot(qtbot, panel, pattern)
    keyframe_with_reference(qtbot, panel, ref)
    panel.set_session_field("method", "reinhard")
    panel.set_frame(1002)
    qtbot.keyClick(panel.viewer, Qt.Key.Key_I)
    panel.set_frame(1004)
    qtbot.keyClick(panel.viewer, Qt.Key.Key_O)
    assert panel.doc.session.frames == (1002, 1004) and panel.timeline.range == (1002, 1004)
    assert panel.run_button.text() == "▶ Run 1002-1004"
    with qtbot.waitSignal(panel.runFinished, timeout=RUN_TIMEOUT):
        panel.run()
    assert [panel.frame_status.get(f, "none") for f in range(1001, 1006)] == \
        ["none", "done", "done", "done", "none"]
    # the display colourspace follows the session; a name OCIO does not know is refused with a message
    panel.set_session_field("colourspace", "sRGB")
    assert "sRGB" in panel.viewer.hud_lines[2]
    panel.set_session_field("colourspace", "not-a-space")
    assert "unknown colourspace" in last_message(panel, "error")
    assert panel.doc.session.colourspace == "sRGB"
    panel.doc.undo.undo()
    assert panel.doc.session.colourspace == "auto" and "Linear Rec.709" in panel.viewer.hud_lines[2]


# -- bad input -------------------------------------------------------------------------------------------------
def test_folder_without_a_sequence_is_a_message(qtbot, panel, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with qtbot.waitSignal(panel.openFailed, timeout=OPEN_TIMEOUT):
        panel.open_path(empty)
    assert "matches no files" in last_message(panel, "error")
    assert panel.message_bar.isVisible() and panel.shot is None
    panel.add_keyframe()                                   # nothing open: a message, no crash
    assert last_message(panel) == "Open a shot first"


def test_invalid_session_file_names_the_field(qtbot, panel, tmp_path, make_sequence):
    pattern = make_sequence(tmp_path / "plates", n=3)
    bad = tmp_path / "plates" / "bad.kinochrome.json"
    bad.write_text(json.dumps({"kinochrome_session": 1, "shot": {"path": pattern},
                               "keyframes": [{"frame": 1001, "points": [{"x": "abc", "y": 1,
                                                                         "colour": [1, 0, 0]}]}]}))
    with qtbot.waitSignal(panel.openFailed, timeout=OPEN_TIMEOUT):
        panel.open_path(bad)
    assert "keyframes[0].points[0].x" in last_message(panel, "error")

    # the same broken file beside the shot: the shot opens, the file is never overwritten, edits autosave
    # to the user folder and come back on the next open
    beside = session_path_for(pattern)
    beside.write_text(bad.read_text())
    before = beside.read_text()
    open_shot(qtbot, panel, pattern)
    assert "keyframes[0].points[0].x" in last_message(panel, "error")
    with qtbot.waitSignal(panel.autosaved, timeout=OPEN_TIMEOUT) as sig:
        panel.add_point(5, 5, colour=(0.1, 0.9, 0.1))
    assert Path(sig.args[0]).parent == panel.autosave_dir
    assert beside.read_text() == before
    open_shot(qtbot, panel, pattern)
    assert panel.doc.keyframe(1001).points[0].colour == (0.1, 0.9, 0.1)
    assert "Restored autosaved edits" in " ".join(t for _, t in panel.messages)
    # Save (Ctrl+S) must not write the artist's work in the broken file over unseen; Save As may
    assert panel.save() is None and "did not load" in last_message(panel, "error")
    assert beside.read_text() == before
    elsewhere = tmp_path / "plates" / "fixed.kinochrome.json"
    assert panel.save(elsewhere) == elsewhere and load_session(elsewhere).keyframes[0].frame == 1001


def test_opening_the_session_file_restores_a_newer_autosave(qtbot, panel, tmp_path, make_sequence, monkeypatch):
    # the session's folder cannot be written (a read-only plates folder): edits go to the user folder, and
    # must come back however the shot is reopened, also by its session file
    from kinochrome.plugin.panel import workers

    pattern = make_sequence(tmp_path / "plates", n=3)
    open_shot(qtbot, panel, pattern)
    with qtbot.waitSignal(panel.autosaved, timeout=OPEN_TIMEOUT):
        panel.add_point(5, 5, colour=(0.9, 0.1, 0.1))
    saved = session_path_for(pattern)
    assert load_session(saved).keyframes[0].frame == 1001
    time.sleep(0.01)
    monkeypatch.setattr(workers, "writable", lambda path: Path(path).parent != saved.parent)
    panel.set_frame(1003)
    with qtbot.waitSignal(panel.autosaved, timeout=OPEN_TIMEOUT) as sig:
        panel.add_point(6, 6, colour=(0.1, 0.1, 0.9))
    assert Path(sig.args[0]).parent == panel.autosave_dir
    panel.doc.undo.clear()
    open_shot(qtbot, panel, saved)
    assert panel.doc.keyframe_frames() == [1001, 1003]
    assert "Restored autosaved edits" in " ".join(t for _, t in panel.messages)


def test_reference_that_fails_to_load_keeps_the_session(qtbot, panel, tmp_path, make_sequence):
    open_shot(qtbot, panel, make_sequence(tmp_path / "plates", n=3))
    panel.add_point(10, 10, colour=(0.5, 0.5, 0.1))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    panel.set_reference(broken)
    qtbot.waitUntil(lambda: "Reference not set" in last_message(panel, "error"), timeout=OPEN_TIMEOUT)
    assert "broken.png" in last_message(panel, "error")
    kf = panel.doc.keyframe(1001)
    assert kf.reference is None and len(kf.points) == 1
    panel.set_reference(tmp_path / "does_not_exist.png")
    qtbot.waitUntil(lambda: "does_not_exist.png" in last_message(panel, "error"), timeout=OPEN_TIMEOUT)
    assert panel.doc.keyframe(1001).reference is None
    # a grayscale still is refused when picked, not at the next run; a good reference stays
    good = reference_png(tmp_path / "refs", make_sequence)
    keyframe_with_reference(qtbot, panel, good)
    assert not panel.message_bar.isVisible()             # the earlier "Reference not set" is solved
    gray = make_sequence(tmp_path / "grayref", fmt="png", n=1, name="gray").replace("####", "1001")
    panel.set_reference(gray)
    qtbot.waitUntil(lambda: "grayscale" in last_message(panel, "error"), timeout=OPEN_TIMEOUT)
    assert panel.doc.reference_path(panel.doc.keyframe(1001)) == good
    # a point outside the frame is refused when added: every preview and run would refuse it
    panel.add_point(1000, -50, colour=(1.0, 0.0, 0.0))
    assert "outside the 64x48 frame" in last_message(panel, "error") and len(panel.doc.keyframe(1001).points) == 1


def test_a_long_message_does_not_widen_the_panel(qtbot, panel, tmp_path, make_sequence):
    open_shot(qtbot, panel, make_sequence(tmp_path / "plates", n=2))
    before = panel.minimumSizeHint().width()
    panel.show_message("error", "Cannot read frame 1001: /" + "very_long_folder_name/" * 20 + "shot.1001.exr")
    assert panel.minimumSizeHint().width() <= before


def test_the_last_reference_chosen_wins(qtbot, panel, tmp_path, make_sequence):
    open_shot(qtbot, panel, make_sequence(tmp_path / "plates", n=2))
    # the first is large, so its load ends after the second's
    first = make_sequence(tmp_path / "a", fmt="png", n=1, gray=False, name="big", size=(3072, 2304))
    first = first.replace("####", "1001")
    second = reference_png(tmp_path / "b", make_sequence)
    panel.set_reference(first)
    panel.set_reference(second)                        # before the first has loaded
    qtbot.waitUntil(lambda: not panel._pending_reference, timeout=OPEN_TIMEOUT)
    qtbot.wait(100)
    assert panel.doc.reference_path(panel.doc.keyframe(1001)) == second


def test_missing_frames_are_shown_and_skipped_by_a_run(qtbot, panel, tmp_path, make_sequence):
    pattern = make_sequence(tmp_path / "plates", n=4, missing=(1002,))
    ref = reference_png(tmp_path / "refs", make_sequence)
    open_shot(qtbot, panel, pattern)
    assert "1 missing frame: 1002" in last_message(panel, "warning")
    assert panel.frame_status[1002] == "missing" and panel.timeline.status[1002] == "missing"
    panel.set_frame(1002)
    assert "missing" in panel.viewer.hud_alert
    panel.set_frame(1001)
    reinhard_run(qtbot, panel, ref)
    assert [panel.frame_status[f] for f in (1001, 1003, 1004)] == ["done"] * 3
    assert panel.frame_status[1002] == "missing"     # the run skips it (--missing skip): still no frame there


def test_unreadable_frame_fails_alone_and_is_shown(qtbot, panel, tmp_path, make_sequence):
    pattern = make_sequence(tmp_path / "plates", n=4)
    ref = reference_png(tmp_path / "refs", make_sequence)
    Path(pattern.replace("####", "1003")).write_bytes(b"v/1\x01 truncated exr")
    open_shot(qtbot, panel, pattern)
    reinhard_run(qtbot, panel, ref)
    assert [panel.frame_status[f] for f in (1001, 1002, 1004)] == ["done"] * 3
    assert panel.frame_status[1003] == "failed"
    assert "shot.1003.exr" in panel.timeline.messages[1003]
    assert any(lv == "error" and t.startswith("Frame 1003 failed") for lv, t in panel.messages)
    panel.set_frame(1003)
    assert panel.viewer.hud_alert.startswith("Frame 1003")
    qtbot.wait(300)                                        # the viewer's failed read is reported once
    assert sum(t.startswith("Cannot read frame 1003") for _, t in panel.messages) <= 1
    # back and forth: the unreadable frame never shows another frame's picture under its number
    panel.set_frame(1002)
    qtbot.waitUntil(lambda: panel.viewer.before is not None, timeout=OPEN_TIMEOUT)
    panel.set_frame(1003)
    assert panel.viewer.before is None and panel.viewer.hud_alert.startswith("Frame 1003")


def test_run_error_is_a_message(qtbot, panel, tmp_path, make_sequence):
    open_shot(qtbot, panel, make_sequence(tmp_path / "plates", n=2))
    panel.set_session_field("method", "reinhard")            # no reference: the job refuses
    with qtbot.waitSignal(panel.runFinished, timeout=RUN_TIMEOUT) as done:
        panel.run()
    assert done.args[0].error
    assert last_message(panel, "error").startswith("Run failed:")
    assert panel.run_button.isEnabled()


# -- command line ----------------------------------------------------------------------------------------------
def test_panel_command_registration():
    import argparse

    parser = argparse.ArgumentParser(prog="kinochrome")
    sub = parser.add_subparsers(dest="command")
    add_parser(sub)
    args = parser.parse_args(["panel", "shot.####.exr"])
    assert args.shot == "shot.####.exr" and callable(args.func)
    assert parser.parse_args(["panel"]).shot is None
