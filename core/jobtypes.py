"""The job's types: :class:`JobSettings` (and its one lossless document, ``to_dict``/``from_dict``),
:class:`JobEvent` (``to_json``/``from_json``), :class:`JobSummary`, :class:`CancelToken`.

Pure Python (no NumPy): hosts import them in their own Python. The job API that runs them is
:mod:`kinochrome.core.job`; :mod:`kinochrome.core.pipeline` builds on these types without importing the API.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import config
from .errors import SessionError
from .session import Keyframe, Session, session_from_dict, session_to_dict

#: Version of the job document (:meth:`JobSettings.to_dict`).
JOB_VERSION = 1

MODES = ("error", "overwrite", "resume")      # what to do with output frames already on disk
MISSING = ("error", "hold", "skip")           # missing input frames
ON_ERROR = ("fail", "skip")                   # unreadable input frames


@dataclass
class JobSettings:
    """Everything a run needs. Build it from a session with :meth:`from_session`."""

    input: str                                   # pattern (####, %04d, @@@@), folder or file
    output: str | None = None                    # output pattern; None = beside the input with _kino
    frames: tuple[int, int] | None = None        # inclusive range to write; None = whole shot
    method: str = config.DEFAULT_METHOD          # model | histogram | reinhard | knn
    model: str | None = None                     # model name or path; None = default
    colourspace: str = "auto"
    layer: str | None = None
    keyframes: list[Keyframe] = field(default_factory=list)
    ref_strength: float = config.DEFAULT_REF_STRENGTH
    reach: int = config.DEFAULT_REACH
    working_size: int = config.DEFAULT_WORKING_SIZE
    fit: bool = False                            # allow references of another aspect ratio (crop to fit)
    device: str = "auto"
    threads: int | None = None
    preroll: int = 0
    mode: str = "error"                          # error | overwrite | resume
    missing: str = "error"                       # error | hold | skip
    on_error: str = "fail"                       # fail | skip
    out_bit_depth: str | None = None             # None = same as input; uint8|uint10|uint12|uint16|half|float
    confidence_aov: bool = False                 # write the hint confidence as an extra channel
    base_dir: Path | None = None                 # relative reference paths resolve against this
    stateless: bool = False                      # reset the LSTM state every frame (evaluation only)
    session_file: Path | None = None             # the session the settings came from (never written over)

    @classmethod
    def from_session(cls, session: Session, **overrides: Any) -> JobSettings:
        """Settings from a session file's contents; ``overrides`` (CLI flags) win over the session."""
        base = session.path.parent if session.path else None
        settings = cls(
            input=session.resolve(session.shot) or session.shot,
            output=session.resolve(session.output),
            frames=session.frames,
            method=session.method,
            model=session.model,
            colourspace=session.colourspace,
            layer=session.layer,
            keyframes=list(session.keyframes),
            ref_strength=session.ref_strength,
            reach=session.reach,
            working_size=session.working_size,
            device=session.device,
            out_bit_depth=session.out_bit_depth,
            base_dir=base,
            session_file=session.path,
        )
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})

    def to_session(self) -> Session:
        """The session-file part of the settings (shot, output, keyframes with points and strokes, model
        settings), paths as they are here."""
        return Session(shot=self.input, frames=self.frames, colourspace=self.colourspace, layer=self.layer,
                       output=self.output, out_bit_depth=self.out_bit_depth, keyframes=list(self.keyframes),
                       method=self.method, model=self.model, working_size=self.working_size,
                       ref_strength=self.ref_strength, reach=self.reach, device=self.device)

    def to_dict(self) -> dict[str, Any]:
        """The job as one JSON document, lossless: the session document (:func:`session_to_dict`) under
        ``session`` and the run's own options under ``run``. What crosses into another process (Resolve's
        job runner) or onto a farm travels in this form; :meth:`from_dict` reads it back equal."""
        return {"kinochrome_job": JOB_VERSION, "session": session_to_dict(self.to_session()),
                "run": {key: getattr(self, key) for key in _RUN_FIELDS} | {
                    key: None if getattr(self, key) is None else str(getattr(self, key)) for key in _PATH_FIELDS}}

    @classmethod
    def from_dict(cls, doc: Any, source: str = "job") -> JobSettings:
        """Settings from :meth:`to_dict`'s document; SessionError naming ``source`` and the field when bad."""
        if not isinstance(doc, dict) or doc.get("kinochrome_job") != JOB_VERSION:
            got = doc.get("kinochrome_job") if isinstance(doc, dict) else type(doc).__name__
            raise SessionError(f"{source}: expected a Kinochrome job document (kinochrome_job {JOB_VERSION}), "
                               f"got {got!r}")
        session = session_from_dict(doc.get("session"), source)
        run = doc.get("run", {})
        unknown = sorted(set(run) - {*_RUN_FIELDS, *_PATH_FIELDS}) if isinstance(run, dict) else ["run"]
        if unknown:
            raise SessionError(f"{source}: run: unknown fields {', '.join(unknown)}")
        paths = {key: None if run.get(key) is None else Path(run[key]) for key in _PATH_FIELDS}
        return replace(cls.from_session(session), **paths, **{key: run[key] for key in _RUN_FIELDS if key in run})


#: JobSettings fields that are options of a run, not part of the session file.
_RUN_FIELDS = ("fit", "threads", "preroll", "mode", "missing", "on_error", "confidence_aov", "stateless")
_PATH_FIELDS = ("base_dir", "session_file")


@dataclass
class JobEvent:
    """One step of a run.

    kind: ``start`` (total = frames to write), ``frame`` (frame written or kept; ``status`` is
    ``done``, ``kept`` (resume), ``skipped`` or ``failed``), ``warning`` (message), ``finished`` (summary in
    ``data``). ``index`` counts written frames from 1.
    """

    kind: str
    frame: int | None = None
    index: int = 0
    total: int = 0
    status: str | None = None
    path: str | None = None
    message: str | None = None
    seconds: float | None = None
    data: dict[str, Any] = field(default_factory=dict)
    summary: JobSummary | None = field(default=None, repr=False)   # on ``finished`` only

    def to_json(self) -> dict[str, Any]:
        d = {"event": self.kind}
        for key in _EVENT_FIELDS:
            value = getattr(self, key)
            if value is not None:
                d[key] = value
        d.update(self.data)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> JobEvent:
        """The event :meth:`to_json` wrote (``summary`` stays on the producing side: it is in ``data``)."""
        d = dict(d)
        kind = d.pop("event", "warning")
        fields = {key: d.pop(key) for key in _EVENT_FIELDS if key in d}
        return cls(kind, data=d, **fields)


_EVENT_FIELDS = ("frame", "index", "total", "status", "path", "message", "seconds")


class CancelToken:
    """Thread-safe cancel flag; the run finishes the frame in flight and raises Cancelled."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


@dataclass
class JobSummary:
    output: str
    written: list[int] = field(default_factory=list)
    kept: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cancelled: bool = False
    colourspace: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"output": self.output, "written": len(self.written), "kept": len(self.kept),
                "skipped": self.skipped, "failed": [{"frame": f, "error": e} for f, e in self.failed],
                "warnings": self.warnings, "seconds": round(self.seconds, 3), "cancelled": self.cancelled,
                "colourspace": self.colourspace}


ProgressCallback = Callable[[JobEvent], None]
