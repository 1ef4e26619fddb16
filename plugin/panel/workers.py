"""Work the panel does off the UI thread: opening a shot, autosaving, previews and runs.

Each worker reports back through a Qt signal emitted from its thread; the receivers live on the UI thread, so
the connections are queued and slots run on the UI thread.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal, Slot
from PySide6.QtGui import QImage

from kinochrome.core.errors import KinochromeError, SessionError
from kinochrome.core.job import JobEvent, JobSettings
from kinochrome.core.sequence import format_frames
from kinochrome.core.session import SESSION_SUFFIX, Session, load_session, save_session, session_path_for
from kinochrome.plugin.runner import BackgroundJob, JobOutcome

from .document import absolutised, user_autosave_path
from .frames import frame_fps, frame_timecode, guess_colourspace, submit, to_qimage


@dataclass
class OpenResult:
    """A shot opened in a pool thread, ready for the UI."""

    request: str
    shot: Any                                  # core.sequence.Shot
    session: Session
    session_path: Path
    protected: bool = False                    # the session beside the shot failed validation
    width: int = 0
    height: int = 0
    colourspace: str = "auto"                 # what the viewer uses: the session's, else the guess
    guessed: str = "auto"                     # what core.colour guesses from the first frame
    fps: float | None = None
    timecode: str | None = None
    messages: list[tuple[str, str]] = field(default_factory=list)    # (level, text)
    outputs: dict[int, str] = field(default_factory=dict)           # results already on disk


def existing_outputs(shot: Any, session: Session) -> dict[int, str]:
    """Frames of ``shot`` whose colourised output already exists (from an earlier run or the CLI)."""
    from kinochrome.core.sequence import frame_path, output_shot_pattern

    try:
        pattern = output_shot_pattern(session.resolve(session.output), shot)
    except KinochromeError:
        return {}
    found = {}
    for f in shot.frames:
        p = frame_path(pattern, f) if pattern != shot.pattern else None
        if p and os.path.isfile(p):
            found[f] = p
    return found


#: What previews and runs import: torch among them, whose extension initialises for ~0.5 s holding the GIL.
PIPELINE_MODULES = ("kinochrome.core.pipeline", "kinochrome.core.classical", "kinochrome.core.references",
                    "kinochrome.core.propagate")


def warm_up() -> None:
    """Import the colourisation modules now, so the first preview or run does not pause the UI thread.

    A C extension initialising holds Python's GIL however it is imported; the standalone app calls this
    before its window shows, and an embedded panel calls it in the background when it is created.
    """
    import importlib

    for name in PIPELINE_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def warmed_up() -> bool:
    return all(name in sys.modules for name in PIPELINE_MODULES)


def is_session_file(path: str) -> bool:
    return path.endswith((SESSION_SUFFIX, ".json"))


def open_request(path: str, autosave_dir: Path) -> OpenResult:
    """Resolve a pattern, folder, frame file or session file into a shot and its session (pool thread)."""
    from kinochrome.core.sequence import open_shot

    messages: list[tuple[str, str]] = []
    session: Session | None = None
    protected = False
    session_path: Path | None = None
    if is_session_file(path):
        session = load_session(path)                  # SessionError names the field
        session_path = Path(path).resolve()
        shot = open_shot(session.resolve(session.shot) or session.shot)
    else:
        shot = open_shot(path)
        candidates = [session_path_for(shot.pattern), session_path_for(path)]
        for candidate in dict.fromkeys(candidates):
            if candidate.is_file():
                session_path = candidate
                try:
                    session = load_session(candidate)
                except SessionError as exc:
                    protected = True
                    messages.append(("error", (f"{exc} — the file is left untouched; edits autosave to "
                                              f"the user folder")))
                break
        if session_path is None:
            session_path = candidates[0]
    # Edits autosave to the user folder when the session's own folder cannot be written (or its file failed
    # validation): a newer autosave is the artist's latest work however the shot was opened.
    autosaved = user_autosave_path(autosave_dir, shot.pattern)
    newer = autosaved.is_file() and (session is None or not session_path.is_file()
                                     or autosaved.stat().st_mtime > session_path.stat().st_mtime)
    if newer:
        try:
            session = load_session(autosaved)
            session.path = None
            messages.append(("info", f"Restored autosaved edits from {autosaved}"))
        except SessionError as exc:
            messages.append(("warning", f"Autosave not restored: {exc}"))
    if session is None:
        session = Session(shot=shot.pattern)
    missing = list(getattr(shot, "missing", []) or [])
    if missing:
        messages.append(("warning", (f"{shot.pattern}: {len(missing)} missing frame"
                                    f"{'s' if len(missing) != 1 else ''}: {format_frames(missing, limit=8)}")))
    result = OpenResult(request=path, shot=shot, session=session, session_path=session_path,
                        protected=protected, messages=messages)
    frames_on_disk = list(getattr(shot, "frames", ()) or ())
    if frames_on_disk:
        from kinochrome.core.frameio import read_frame

        fpath = shot.path(frames_on_disk[0])
        try:
            frame = read_frame(fpath)
            result.width, result.height = frame.width, frame.height
            result.fps = frame_fps(frame.spec)
            result.timecode = frame_timecode(frame.spec)
            result.guessed = guess_colourspace(frame)
            result.colourspace = session.colourspace if session.colourspace != "auto" else result.guessed
        except Exception as exc:  # noqa: BLE001 - the viewer reports unreadable frames itself
            messages.append(("warning", f"cannot read the first frame: {exc}"))
    result.outputs = existing_outputs(shot, session)
    return result


def writable(path: Path) -> bool:
    if path.exists():
        return os.access(path, os.W_OK)
    return path.parent.is_dir() and os.access(path.parent, os.W_OK)


def autosave(snapshot: Session, primary: Path | None, protected: bool, autosave_dir: Path) -> Path:
    """Write ``snapshot`` beside the shot when allowed, else into the user folder. Returns where it went."""
    if primary is not None and not protected and writable(primary):
        try:
            save_session(snapshot, primary)
            return primary
        except OSError:
            pass
    autosave_dir.mkdir(parents=True, exist_ok=True)
    target = user_autosave_path(autosave_dir, snapshot.resolve(snapshot.shot) or snapshot.shot)
    save_session(absolutised(snapshot), target)
    return target


class Worker(QObject):
    """Runs open/autosave/preview requests in a one-thread pool; results come back as signals."""

    opened = Signal(object)                    # OpenResult
    openFailed = Signal(str, str)              # request, message
    autosaved = Signal(int, str)               # undo index, path
    autosaveFailed = Signal(str)
    previewed = Signal(int, int, object, object)   # generation, frame, before QImage, after QImage
    previewFailed = Signal(int, int, str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.preview_pool = QThreadPool(self)
        self.preview_pool.setMaxThreadCount(1)

    def open(self, path: str, autosave_dir: Path) -> None:
        def work() -> None:
            try:
                self.opened.emit(open_request(path, autosave_dir))
            except KinochromeError as exc:
                self.openFailed.emit(path, str(exc))
            except Exception as exc:  # noqa: BLE001 - a message in the UI rather than a dead thread
                self.openFailed.emit(path, f"{path}: {exc.__class__.__name__}: {exc}")
        submit(self.pool, work)

    def warm_up(self) -> None:
        """Import the pipeline in a daemon thread (not the pool: opening a shot must not wait for it)."""
        if not warmed_up():
            threading.Thread(target=warm_up, name="kinochrome-warm-up", daemon=True).start()

    def autosave(self, snapshot: Session, primary: Path | None, protected: bool, autosave_dir: Path,
                 index: int) -> None:
        def work() -> None:
            try:
                self.autosaved.emit(index, str(autosave(snapshot, primary, protected, autosave_dir)))
            except Exception as exc:  # noqa: BLE001
                self.autosaveFailed.emit(f"autosave failed: {exc}")
        submit(self.pool, work)

    def preview_in_background(self, settings: JobSettings, frame: int, generation: int) -> None:
        """:func:`kinochrome.core.job.preview_frame` in the preview pool; ``previewed`` or ``previewFailed``."""
        def work() -> None:
            from kinochrome.core.job import preview_frame
            try:
                before, after = preview_frame(settings, frame)
                b: QImage = to_qimage(before)[0]
                a: QImage = to_qimage(after)[0]
                self.previewed.emit(generation, frame, b, a)
            except Exception as exc:  # noqa: BLE001 - KinochromeError or a bug: both become a message
                self.previewFailed.emit(generation, frame, str(exc) or exc.__class__.__name__)
        submit(self.preview_pool, work)

    def wait(self, msecs: int = 10000) -> bool:
        return self.pool.waitForDone(msecs) and self.preview_pool.waitForDone(msecs)


class RunController(QObject):
    """A BackgroundJob with its callbacks turned into UI-thread signals, plus progress and ETA."""

    started = Signal(int)                      # frames to write
    frameDone = Signal(object)                 # JobEvent (kind frame)
    warning = Signal(str)
    progress = Signal(int, int, str)           # done, total, "0.8 s/frame · ETA 0:15"
    finished = Signal(object)                  # JobOutcome
    _event = Signal(object)
    _done = Signal(object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.job: BackgroundJob | None = None
        self.total = 0
        self.count = 0
        self._t0 = 0.0
        self._active = False
        self._event.connect(self._on_event)
        self._done.connect(self._on_done)

    @property
    def running(self) -> bool:
        return self._active

    def start(self, settings: JobSettings) -> BackgroundJob:
        if self.running:
            raise RuntimeError("a run is already in progress")
        self.total = self.count = 0
        self._t0 = time.monotonic()
        self.job = BackgroundJob(settings, on_event=self._event.emit, on_done=self._done.emit)
        self._active = True
        self.job.start()
        return self.job

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def eta_text(self) -> str:
        if not self.count:
            return "starting…"
        elapsed = time.monotonic() - self._t0
        per = elapsed / self.count
        left = max(0, self.total - self.count) * per
        return f"{per:.2f} s/frame · ETA {int(left // 60)}:{int(left % 60):02d}"

    @Slot(object)
    def _on_event(self, event: JobEvent) -> None:
        if event.kind == "start":
            self.total = event.total
            self._t0 = time.monotonic()
            self.started.emit(event.total)
            self.progress.emit(0, self.total, self.eta_text())
        elif event.kind == "frame":
            self.count = event.index or self.count + 1
            self.total = event.total or self.total
            self.frameDone.emit(event)
            self.progress.emit(self.count, self.total, self.eta_text())
        elif event.kind == "warning" and event.message:
            self.warning.emit(event.message)

    @Slot(object)
    def _on_done(self, outcome: JobOutcome) -> None:
        self._active = False
        self.finished.emit(outcome)
