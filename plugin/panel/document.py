"""The edited session and its undoable edits.

:class:`SessionDocument` owns the :class:`~kinochrome.core.session.Session` being edited, a ``QUndoStack`` and
the policy for where the session is saved and autosaved. Every edit is a ``QUndoCommand`` from this module, so
undo/redo covers keyframes, references, colour points, the run range and the settings alike.
"""

from __future__ import annotations

import copy
import hashlib
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QUndoCommand, QUndoStack

from kinochrome.core.errors import SessionError
from kinochrome.core.session import SESSION_SUFFIX, ColourPoint, Keyframe, Session, save_session


def absolutised(session: Session) -> Session:
    """A copy of ``session`` with every path made absolute (for saving it somewhere else)."""
    out = copy.deepcopy(session)
    out.shot = session.resolve(session.shot) or session.shot
    out.output = session.resolve(session.output)
    for k in out.keyframes:
        k.reference = session.resolve(k.reference)
    out.path = None
    return out


def user_autosave_path(folder: Path, shot: str) -> Path:
    """The autosave file for ``shot`` in the user folder: ``<name>-<hash of the shot path>.kinochrome.json``."""
    digest = hashlib.sha1(os.path.abspath(shot).encode("utf-8")).hexdigest()[:10]
    stem = Path(shot).name.split("#")[0].split("%")[0].split("@")[0].rstrip("._-") or "shot"
    return folder / f"{stem}-{digest}{SESSION_SUFFIX}"


class SessionDocument(QObject):
    """The session being edited. ``changed`` fires after every edit, undo and redo."""

    changed = Signal()
    keyframesChanged = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.session: Session | None = None
        self.session_path: Path | None = None      # where Save and autosave write
        self.protected: bool = False               # the file at session_path failed validation: never overwrite
        self.undo = QUndoStack(self)
        self.undo.indexChanged.connect(self._index_changed)

    @Slot(int)
    def _index_changed(self, _index: int) -> None:
        self.changed.emit()

    # -- loading ---------------------------------------------------------------------------------------------
    def set_session(self, session: Session, session_path: Path | None, protected: bool = False) -> None:
        self.session = session
        self.session_path = session_path
        self.protected = protected
        self.undo.clear()
        self.undo.setClean()
        self.keyframesChanged.emit()
        self.changed.emit()

    # -- queries ---------------------------------------------------------------------------------------------
    def keyframe(self, frame: int) -> Keyframe | None:
        return self.session.keyframe(frame) if self.session else None

    def keyframe_frames(self) -> list[int]:
        return sorted(k.frame for k in self.session.keyframes) if self.session else []

    def reference_path(self, keyframe: Keyframe) -> str | None:
        """The keyframe's reference as an absolute path (relative paths are relative to the session file)."""
        if keyframe.reference is None or self.session is None:
            return None
        if os.path.isabs(keyframe.reference):
            return keyframe.reference
        base = self.session_path.parent if self.session_path else Path.cwd()
        return str((base / keyframe.reference).resolve())

    def stored_path(self, path: str) -> str:
        """How a chosen file is stored: relative to the session folder when inside it, else absolute."""
        path = os.path.abspath(path)
        if self.session_path is not None:
            folder = str(self.session_path.parent.resolve())
            if path.startswith(folder + os.sep):
                return os.path.relpath(path, folder)
        return path

    # -- saving ----------------------------------------------------------------------------------------------
    def save(self, path: Path | None = None) -> Path:
        """Save to ``path`` (or the session path); raises OSError, or SessionError for the file that failed
        validation when the shot was opened (the artist's keyframes in it must not be overwritten unseen).
        Makes the document clean."""
        assert self.session is not None
        target = Path(path) if path else self.session_path
        assert target is not None
        if self.protected and self.session_path is not None and target.resolve() == self.session_path.resolve():
            raise SessionError(f"{target} did not load (see the error when it was opened), so saving over it would "
                               "lose what it holds: fix it by hand, or use Save As to write another file")
        if self.session_path is not None and target.resolve().parent != self.session_path.resolve().parent:
            self.session = absolutised(self.snapshot())   # relative paths would break in another folder
        save_session(self.session, target)
        self.session_path = target
        self.protected = False
        self.undo.setClean()
        return target

    def snapshot(self) -> Session:
        """A deep copy safe to hand to another thread (autosave, jobs)."""
        assert self.session is not None
        snap = copy.deepcopy(self.session)
        snap.path = self.session_path
        return snap

    # -- primitive mutations (used by the commands only) -----------------------------------------------------
    def _insert_keyframe(self, keyframe: Keyframe) -> None:
        assert self.session is not None
        self.session.keyframes.append(keyframe)
        self.session.keyframes.sort(key=lambda k: k.frame)
        self.keyframesChanged.emit()

    def _remove_keyframe(self, frame: int) -> Keyframe:
        assert self.session is not None
        kf = self.session.keyframe(frame)
        assert kf is not None
        self.session.keyframes.remove(kf)
        self.keyframesChanged.emit()
        return kf

    def _set(self, target: Any, name: str, value: Any) -> None:
        setattr(target, name, value)
        self.keyframesChanged.emit()


# -- commands --------------------------------------------------------------------------------------------------
class _DocCommand(QUndoCommand):
    def __init__(self, doc: SessionDocument, text: str):
        super().__init__(text)
        self.doc = doc

    def kf(self, frame: int) -> Keyframe:
        kf = self.doc.keyframe(frame)
        assert kf is not None, frame
        return kf


class AddKeyframe(_DocCommand):
    def __init__(self, doc: SessionDocument, frame: int):
        super().__init__(doc, f"Add keyframe {frame}")
        self.keyframe = Keyframe(frame=frame)

    def redo(self) -> None:
        self.doc._insert_keyframe(self.keyframe)

    def undo(self) -> None:
        self.keyframe = self.doc._remove_keyframe(self.keyframe.frame)


class RemoveKeyframe(_DocCommand):
    def __init__(self, doc: SessionDocument, frame: int):
        super().__init__(doc, f"Remove keyframe {frame}")
        self.frame = frame
        self.keyframe: Keyframe | None = None

    def redo(self) -> None:
        self.keyframe = self.doc._remove_keyframe(self.frame)

    def undo(self) -> None:
        assert self.keyframe is not None
        self.doc._insert_keyframe(self.keyframe)


class SetKeyframeField(_DocCommand):
    """Set ``reference`` or ``kind`` of a keyframe."""

    def __init__(self, doc: SessionDocument, frame: int, name: str, value: Any, text: str):
        super().__init__(doc, text)
        self.frame, self.name, self.value = frame, name, value
        self.old = getattr(self.kf(frame), name)

    def redo(self) -> None:
        self.doc._set(self.kf(self.frame), self.name, self.value)

    def undo(self) -> None:
        self.doc._set(self.kf(self.frame), self.name, self.old)


class AddPoint(_DocCommand):
    def __init__(self, doc: SessionDocument, frame: int, point: ColourPoint):
        super().__init__(doc, f"Add colour point on {frame}")
        self.frame, self.point = frame, point

    def redo(self) -> None:
        self.kf(self.frame).points.append(self.point)
        self.doc.keyframesChanged.emit()

    def undo(self) -> None:
        self.kf(self.frame).points.pop()
        self.doc.keyframesChanged.emit()


class ReplacePoint(_DocCommand):
    """Move a point or change its colour/radius: the point at ``index`` becomes ``new``."""

    def __init__(self, doc: SessionDocument, frame: int, index: int, new: ColourPoint, text: str):
        super().__init__(doc, text)
        self.frame, self.index, self.new = frame, index, new
        self.old = self.kf(frame).points[index]

    def redo(self) -> None:
        self.kf(self.frame).points[self.index] = self.new
        self.doc.keyframesChanged.emit()

    def undo(self) -> None:
        self.kf(self.frame).points[self.index] = self.old
        self.doc.keyframesChanged.emit()


class DeletePoint(_DocCommand):
    def __init__(self, doc: SessionDocument, frame: int, index: int):
        super().__init__(doc, f"Delete colour point on {frame}")
        self.frame, self.index = frame, index
        self.point = self.kf(frame).points[index]

    def redo(self) -> None:
        del self.kf(self.frame).points[self.index]
        self.doc.keyframesChanged.emit()

    def undo(self) -> None:
        self.kf(self.frame).points.insert(self.index, self.point)
        self.doc.keyframesChanged.emit()


class SetSessionField(_DocCommand):
    """Set a session-level field (``frames``, ``method``, ``model``, ``working_size``, ...)."""

    def __init__(self, doc: SessionDocument, name: str, value: Any, text: str):
        super().__init__(doc, text)
        assert doc.session is not None
        self.name, self.value = name, value
        self.old = getattr(doc.session, name)

    def redo(self) -> None:
        assert self.doc.session is not None
        self.doc._set(self.doc.session, self.name, self.value)

    def undo(self) -> None:
        assert self.doc.session is not None
        self.doc._set(self.doc.session, self.name, self.old)


def moved(point: ColourPoint, x: float, y: float) -> ColourPoint:
    return replace(point, x=float(x), y=float(y))
