"""Run Kinochrome's command line in the install's own Python, outside Nuke's process.

Nuke 15.1+ ships its own torch; a second (pip) torch loaded into Nuke's process clashes with it ("Key already
registered with the same priority: C10", c10_cuda.dll errors on Windows) and breaks Nuke's Inference/Cattery
nodes (public plug-in reports, see docs/nuke.md). cv2 and OpenImageIO bring their own copies of libraries Nuke
also loads. So nothing here imports torch, cv2, numpy or OpenImageIO: the work runs as ``python -m
kinochrome.plugin.cli ...`` in the venv named by ``KINOCHROME_VENV`` and reports through ``--json`` lines
(``start``, ``frame``, ``warning``, ``finished``, ``cancelled``, ``error``: see the CLI in the README).

Cancel: SIGINT on POSIX, which the CLI handles by finishing the frame in flight (exit 130, a ``cancelled``
event); on Windows the child gets CTRL_BREAK_EVENT in its own process group, which ends it (frames are written
to a temp file and renamed, so a frame is either complete or absent).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kinochrome.core.errors import KinochromeError

ENV_VENV = "KINOCHROME_VENV"
VENV_MISSING = ("Kinochrome runs in its own Python, which was not found: KINOCHROME_VENV is not set or is not a "
                "venv. Run `python3 install.py --hosts nuke`, then restart Nuke (docs/nuke.md, 'Install').")


def venv_python(environ: dict[str, str] | None = None) -> str:
    """The Kinochrome venv's Python (``$KINOCHROME_VENV/bin/python`` or ``Scripts\\python.exe``)."""
    env = os.environ if environ is None else environ
    venv = env.get(ENV_VENV)
    if venv:
        for candidate in (Path(venv) / "bin" / "python", Path(venv) / "Scripts" / "python.exe"):
            if candidate.is_file():
                return str(candidate)
    raise KinochromeError(VENV_MISSING)


def cli_command(args: Sequence[str], python: str | None = None) -> list[str]:
    """``[venv python, -m, kinochrome.plugin.cli, *args]``."""
    return [python or venv_python(), "-m", "kinochrome.plugin.cli", *args]


@dataclass
class Event:
    """One ``--json`` line of the CLI."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


@dataclass
class Result:
    """How a CLI run ended: exit code, the ``finished`` summary (or None), the error message, frames done."""

    returncode: int
    summary: dict[str, Any] | None = None
    error: str | None = None
    cancelled: bool = False
    frames_done: list[int] = field(default_factory=list)     # written or kept, in order
    written: list[int] = field(default_factory=list)
    kept: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    stderr: str = ""
    objects: list[dict[str, Any]] = field(default_factory=list)   # every JSON object printed, as printed

    @property
    def seconds(self) -> float:
        return float((self.summary or {}).get("seconds", 0.0) or 0.0)


def _popen_options() -> dict[str, Any]:
    if sys.platform.startswith("win"):
        return {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}
    return {}


class CliRun:
    """One CLI run in the venv's Python; ``on_event`` gets each JSON event (from the reading thread)."""

    def __init__(self, args: Sequence[str], on_event: Callable[[Event], None] | None = None,
                 python: str | None = None):
        self.command = cli_command(args, python)
        self.on_event = on_event
        self.proc: subprocess.Popen[str] | None = None
        self.result: Result | None = None
        self._cancel_sent = False

    def start(self) -> CliRun:
        env = dict(os.environ)
        env.setdefault("PYTHONIOENCODING", "utf-8")
        self.proc = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     encoding="utf-8", errors="replace", env=env, **_popen_options())
        return self

    def cancel(self) -> None:
        """Ask the run to stop after the frame in flight."""
        proc = self.proc
        if proc is None or proc.poll() is not None or self._cancel_sent:
            return
        self._cancel_sent = True
        if sys.platform.startswith("win"):
            proc.send_signal(getattr(signal, "CTRL_BREAK_EVENT", signal.SIGTERM))
        else:
            proc.send_signal(signal.SIGINT)

    def wait(self) -> Result:
        """Read events until the child exits; the Result."""
        if self.proc is None:
            self.start()
        proc = self.proc
        assert proc is not None and proc.stdout is not None and proc.stderr is not None
        errors: list[str] = []
        reader = threading.Thread(target=lambda: errors.append(proc.stderr.read() if proc.stderr else ""),
                                  daemon=True)
        reader.start()
        result = Result(returncode=0)
        for line in proc.stdout:
            try:
                data = json.loads(line)
            except ValueError:
                continue
            if not isinstance(data, dict):
                continue
            result.objects.append(dict(data))
            event = Event(kind=str(data.pop("event", "warning")), data=data)
            if event.kind == "frame" and event.get("frame") is not None:
                frame, status = int(event.get("frame")), event.get("status")
                if status in ("done", "kept"):
                    result.frames_done.append(frame)
                {"done": result.written, "kept": result.kept, "skipped": result.skipped}.get(
                    str(status), []).append(frame)
            elif event.kind == "warning" and event.get("message"):
                result.warnings.append(str(event.get("message")))
            elif event.kind == "finished":
                result.summary = dict(event.data)
            elif event.kind == "cancelled":
                result.cancelled = True
            elif event.kind == "error":
                result.error = str(event.get("message") or "failed")
            if self.on_event is not None:
                self.on_event(event)
        result.returncode = proc.wait()
        reader.join(5)
        result.stderr = "".join(errors)
        if result.returncode == 130 or (self._cancel_sent and result.summary is None):
            result.cancelled = True
        if result.returncode != 0 and not result.cancelled and result.error is None:
            last = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[-1]
            result.error = last.removeprefix("kinochrome: error: ").removeprefix("kinochrome: ")
        self.result = result
        return result


def run_cli(args: Sequence[str], on_event: Callable[[Event], None] | None = None) -> Result:
    """Run the CLI to the end (terminal mode, farm jobs, exports)."""
    return CliRun(args, on_event).start().wait()
