"""What a run may write: one writer per output frame range, and never a file the job reads.

* :class:`OutputLock` -- a lock file per output sequence and frame range, beside the frames
  (``.NAME.####.exr.1001-1100.kino.lock``, holding the PID, host and range). A second run whose range
  overlaps a live lock is refused with a message naming the lock and its holder; a lock whose process is
  gone (same host) is stale and taken over. Farm chunks of one sequence write disjoint ranges, so they run
  side by side.
* :func:`check_reads_spared` -- an output frame that would replace a file the job reads (a keyframe
  reference, the session file, the model) is refused before anything is written.
* :func:`links_to_input` -- an output frame that is a hardlink (or symlink) to an input frame holds the
  uncoloured picture; ``--resume`` must not keep it.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from collections.abc import Iterable
from pathlib import Path

from . import sequence
from .errors import OutputError

LOCK_MARK = ".kino.lock"
_SPAN_RE = re.compile(r"^(-?\d{1,15})-(-?\d{1,15})$")


def _host() -> str:
    return socket.gethostname() or "localhost"


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # another user's process, or a platform that cannot tell: assume it runs
    return True


class OutputLock:
    """The lock of output frames ``first``-``last`` of ``out_pattern``; ``acquire()`` or OutputError."""

    def __init__(self, out_pattern: str, first: int, last: int):
        self.out_pattern = out_pattern
        self.first, self.last = int(first), int(last)
        folder, name = os.path.split(out_pattern)
        self.folder = folder or "."
        self.prefix = f".{name}."
        self.path = os.path.join(self.folder, f"{self.prefix}{self.first}-{self.last}{LOCK_MARK}")
        self.held = False

    def _holder(self, path: str) -> dict | None:
        """The lock's contents when its holder may still run, None when it is stale (or gone)."""
        try:
            with open(path, encoding="utf-8") as fh:
                info = json.loads(fh.read(4096) or "{}")
            age = time.time() - os.path.getmtime(path)
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            info, age = {}, 0.0
        if not isinstance(info, dict) or "pid" not in info:
            # being written this instant, or damaged: live while fresh, stale after a minute
            return {"pid": "?", "host": "?"} if age < 60 else None
        if info.get("host") == _host() and not _pid_alive(int(info.get("pid") or 0)):
            return None
        return info

    def _others(self) -> Iterable[tuple[str, int, int]]:
        try:
            names = os.listdir(self.folder)
        except OSError:
            return
        for name in names:
            if not (name.startswith(self.prefix) and name.endswith(LOCK_MARK)):
                continue
            match = _SPAN_RE.match(name[len(self.prefix):-len(LOCK_MARK)])
            if match:
                yield os.path.join(self.folder, name), int(match.group(1)), int(match.group(2))

    def _refuse(self, path: str, info: dict) -> OutputError:
        return OutputError(
            f"{self.out_pattern}: frames {self.first}-{self.last} are being written by another run "
            f"(PID {info.get('pid')} on {info.get('host')}, lock {path}); wait for it to finish, or delete the "
            "lock file if that run is gone")

    def acquire(self) -> None:
        """Take the lock; OutputError when a live run holds an overlapping range."""
        doc = json.dumps({"pid": os.getpid(), "host": _host(), "first": self.first, "last": self.last,
                          "output": self.out_pattern, "started": time.time()})
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                info = self._holder(self.path)
                if info is not None:
                    raise self._refuse(self.path, info) from None
                try:
                    os.remove(self.path)  # stale: its run is gone
                except FileNotFoundError:
                    pass
                continue
            except OSError as exc:
                raise OutputError(f"{self.path}: cannot create the output lock ({exc.strerror or exc})") from None
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(doc)
            self.held = True
            break
        else:
            raise OutputError(f"{self.path}: cannot take the output lock (it keeps coming back)")
        for path, a, b in self._others():
            if path == self.path or b < self.first or a > self.last:
                continue
            info = self._holder(path)
            if info is not None:
                self.release()
                raise self._refuse(path, info)

    def release(self) -> None:
        if self.held:
            self.held = False
            try:
                os.remove(self.path)
            except OSError:
                pass


def check_reads_spared(out_pattern: str, frames: Iterable[int], reads: Iterable[tuple[str, str]]) -> None:
    """OutputError when an output frame in ``frames`` would be written over a file the job reads.

    ``reads``: ``(what, path)`` pairs, e.g. ``("colour reference of keyframe 1001", "/x/paint.1001.exr")``.
    Compared by directory entry (folders resolved) and, for a read path that is a symlink, by its target.
    """
    wanted = set(frames)
    for what, path in reads:
        for candidate in dict.fromkeys((os.path.abspath(path), os.path.realpath(path))):
            frame = sequence.pattern_frame(out_pattern, candidate)
            if frame is not None and (frame in wanted or not sequence.has_frame_token(out_pattern)):
                raise OutputError(f"{sequence.frame_path(out_pattern, frame)}: the output would replace the "
                                  f"{what} ({path}); choose another output")


def links_to_input(path: str, inputs: Iterable[str]) -> bool:
    """True when the file at ``path`` is the same file (a hardlink or a symlink) as one of ``inputs``."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    for p in inputs:
        try:
            other = os.stat(p)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (other.st_dev, other.st_ino):
            return True
    return False


def files_read(settings, keyframes) -> list[tuple[str, str]]:
    """``(what, path)`` of the files a job reads besides its input frames: references, session, model."""
    reads = [(f"colour reference of keyframe {k.frame}", k.reference) for k in keyframes if k.reference]
    session = getattr(settings, "session_file", None)
    if session:
        reads.append(("session file", str(session)))
    if settings.method == "model" and settings.model:
        from .model.registry import is_model_path

        if is_model_path(settings.model):
            reads.append(("model", str(Path(settings.model).expanduser())))
    return reads
