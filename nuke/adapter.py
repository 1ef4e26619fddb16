"""Kinochrome in Nuke: the toolbar menu, the node's buttons, runs with Nuke's progress bar, farm jobs.

Nothing heavy is loaded into Nuke's process: no torch (Nuke 15.1+ ships its own; a second one clashes), no cv2,
no OpenImageIO. Every run, export and farm job is the Kinochrome command line in the install's own Python
(:mod:`kinochrome.nuke.process`), and its ``--json`` events drive the ``nuke.ProgressTask`` and Cancel.

Threading: a GUI run reads the child's events in a worker thread, updates the ``nuke.ProgressTask`` there (as
Foundry's threading example does) and reaches knobs and dialogs only through ``nuke.executeInMainThread``. In
terminal mode (``nuke -t``, ``nuke.env['gui']`` False) runs are synchronous. Errors reach the artist as
``nuke.message`` and in the Script Editor (stdout).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import nuke
from kinochrome.core import cli
from kinochrome.core.errors import KinochromeError
from kinochrome.core.job import JobSettings
from kinochrome.core.session import save_session

from . import node as kino_node
from . import process
from . import source as src

VENV_MISSING = process.VENV_MISSING
ENV_VENV = process.ENV_VENV

# Runs in flight, by node full name (one per node).
_RUNS: dict[str, NodeRun] = {}


# --- reporting -----------------------------------------------------------------------------------------

def report(text: str, details: str | None = None) -> None:
    """An error or notice for the artist: the Script Editor always, a dialog in the GUI."""
    print(f"Kinochrome: {text}")
    if details:
        print(details)
    if nuke.env.get("gui"):
        nuke.message(f"Kinochrome: {text}")


def require_venv() -> str:
    """The install's Python, which runs the work; KinochromeError saying how to install it otherwise."""
    return process.venv_python()


# --- menus ---------------------------------------------------------------------------------------------

def add_menus() -> Any:
    """The Nodes toolbar menu "Kinochrome" (called by menu.py). Imports nothing heavy."""
    menu = nuke.menu("Nodes").addMenu("Kinochrome")
    menu.addCommand("Colorize", colorize_selected,
                    tooltip="Add a Kinochrome node to the selected Read of a black-and-white scan")
    menu.addCommand("Open Panel", open_panel_selected, tooltip="The Kinochrome panel: keyframes and references")
    menu.addCommand("Export for Inference", export_for_inference,
                    tooltip="Export a Kinochrome model as a .cat for Nuke's Inference node (NukeX)")
    return menu


def colorize_selected() -> Any:
    """Toolbar Colorize: a Kinochrome node on the selected Read. Returns the node, or None after a message."""
    try:
        read = nuke.selectedNode()
    except ValueError:
        report("Colorize: select the Read node of a black-and-white scan first (no node selected).")
        return None
    try:
        group = kino_node.build_node(read)
    except KinochromeError as exc:
        report(str(exc))
        return None
    summary = str(group["keyframes"].value())
    if summary.startswith("session file error"):
        # the node stays (fix the file, then Reload Session); the artist hears about it now, not at Colorize
        report(summary)
    return group


# --- the node's buttons ----------------------------------------------------------------------------------

def on_reload_session(group: Any) -> None:
    try:
        kino_node.update_keyframes(group)
    except KinochromeError as exc:
        report(str(exc))


def colorize_args(settings: JobSettings, session_file: Path | None) -> list[str]:
    """The ``kinochrome colorize`` arguments for a node's settings (keyframes come from its session file)."""
    assert settings.output is not None and settings.frames is not None
    session = session_file if session_file is not None and session_file.is_file() else None
    return [*cli.colorize_args(settings, session), "--json"]


def checked_settings(group: Any) -> JobSettings | None:
    """The node's job settings, with the venv and the Read checked first; None (reported) when one fails."""
    try:
        require_venv()
        settings, _shot = kino_node.node_settings(group)
    except KinochromeError as exc:
        report(str(exc))
        return None
    return settings


def on_colorize(group: Any) -> NodeRun | process.Result | None:
    """The Colorize button: check everything, then run in the background (GUI) or here (terminal)."""
    name = group.fullName()
    if name in _RUNS:
        report(f"{name} is already running; cancel it in Nuke's progress bar first.")
        return None
    settings = checked_settings(group)
    if settings is None:
        return None
    if not nuke.env.get("gui"):
        try:
            return run_sync(group, settings)
        except KinochromeError as exc:
            report(str(exc))
            return None
    target = os.path.abspath(str(settings.output))

    def overlaps(a: tuple[int, int] | None, b: tuple[int, int] | None) -> bool:
        return a is None or b is None or (a[0] <= b[1] and b[0] <= a[1])

    other = next((r.name for r in _RUNS.values() if os.path.abspath(str(r.settings.output)) == target
                  and overlaps(r.settings.frames, settings.frames)), None)
    if other is not None:
        # two runs writing the same frames would each report "done" over the other's work
        report(f"{other} is already writing {settings.output}; wait for it, or set another output file here.")
        return None
    run = NodeRun(group, settings, kino_node.session_file(group))
    _RUNS[name] = run
    run.start()
    return run


def running(group: Any) -> bool:
    return group.fullName() in _RUNS


def _source_read(group: Any) -> Any:
    try:
        return src.upstream_read(group)
    except KinochromeError:
        return None


def _done_text(result: process.Result) -> str:
    text = f"done: {len(result.written)} frames written"
    if result.kept:
        text += f", {len(result.kept)} kept"
    if result.skipped:
        text += f", {len(result.skipped)} skipped"
    return text + f" in {result.seconds:.1f} s"


class NodeRun:
    """One Colorize run of a node: the CLI in the venv's Python, reporting to a ``nuke.ProgressTask``."""

    def __init__(self, group: Any, settings: JobSettings, session_file: Path | None = None):
        self.group = group
        self.name = group.fullName()
        self.settings = settings
        self.task: Any = None
        self.cli = process.CliRun(colorize_args(settings, session_file), self._on_event)
        self.outcome: process.Result | None = None
        self._thread = threading.Thread(target=self._work, name="kinochrome-nuke-run", daemon=True)

    def start(self) -> NodeRun:
        self.group["status"].setValue("running")
        self._thread.start()
        return self

    def cancel(self) -> None:
        self.cli.cancel()

    def wait(self, timeout: float | None = None) -> process.Result | None:
        self._thread.join(timeout)
        return self.outcome

    # worker thread -----------------------------------------------------------------------------------
    def _work(self) -> None:
        # Created, updated and dropped in the worker thread, as in Foundry's threading example.
        self.task = nuke.ProgressTask(f"Kinochrome {self.name}")
        self.task.setMessage("starting")
        try:
            self.cli.start()
        except OSError as exc:
            outcome = process.Result(returncode=1, error=f"cannot start {self.cli.command[0]}: {exc}")
        else:
            watcher = threading.Thread(target=self._watch_cancel, daemon=True)
            watcher.start()
            outcome = self.cli.wait()
        self.outcome = outcome
        self.task = None                    # deleting the ProgressTask ends Nuke's progress bar
        nuke.executeInMainThread(self._finish, args=(outcome,))

    def _watch_cancel(self) -> None:
        """Cancel is noticed between events too (a model load takes seconds before the first frame)."""
        while self.outcome is None:
            task = self.task
            if task is not None and task.isCancelled():
                self.cli.cancel()
                return
            time.sleep(0.1)

    def _on_event(self, event: process.Event) -> None:
        task = self.task
        if task is None:
            return
        if task.isCancelled():
            self.cli.cancel()
            task.setMessage("cancelling after the frame in flight")
            return
        total = int(event.get("total") or 0)
        if event.kind == "start":
            task.setMessage(f"{total} frames")
        elif event.kind == "frame" and total:
            index = int(event.get("index") or 0)
            task.setProgress(max(0, min(100, int(100 * index / total))))
            text = f"frame {event.get('frame')} ({index}/{total})"
            task.setMessage(text)
            nuke.executeInMainThread(self._status, args=(text,))
        elif event.kind == "warning" and event.get("message"):
            print(f"Kinochrome {self.name}: warning: {event.get('message')}")

    # main thread -------------------------------------------------------------------------------------
    def _status(self, text: str) -> None:
        try:
            self.group["status"].setValue(text)
        except ValueError:              # the node was deleted during the run: nothing to show it on
            pass

    def _finish(self, outcome: process.Result) -> None:
        _RUNS.pop(self.name, None)
        try:
            self._show(outcome)
        except ValueError as exc:       # the node was deleted (or its script closed) during the run
            print(f"Kinochrome {self.name}: the node is gone ({exc}); output: {self.settings.output}")
            if outcome.error:
                report(f"{self.name}: {outcome.error}", outcome.stderr or None)

    def _show(self, outcome: process.Result) -> None:
        assert self.settings.output is not None and self.settings.frames is not None
        if outcome.cancelled:
            text = f"cancelled after {len(outcome.frames_done)} frames"
            if outcome.frames_done:
                kino_node.show_result(self.group, self.settings.output, self.settings.frames,
                                      _source_read(self.group))
            self._status(text)
            print(f"Kinochrome {self.name}: {text}")
        elif outcome.returncode == 0 and outcome.error is None:
            kino_node.show_result(self.group, self.settings.output, self.settings.frames, _source_read(self.group))
            text = _done_text(outcome)
            self._status(text)
            print(f"Kinochrome {self.name}: {text} -> {self.settings.output}")
            for warning in outcome.warnings:
                print(f"Kinochrome {self.name}: warning: {warning}")
        else:
            self._status(f"failed: {outcome.error}")
            report(f"{self.name}: {outcome.error}", outcome.stderr or None)


def run_sync(group: Any, settings: JobSettings) -> process.Result:
    """Run to the end, printing progress (terminal mode, ``nuke -t``). Raises KinochromeError."""
    name = group.fullName()

    def progress(event: process.Event) -> None:
        if event.kind == "frame":
            print(f"Kinochrome {name}: frame {event.get('frame')} {event.get('status')} "
                  f"({event.get('index')}/{event.get('total')})", flush=True)
        elif event.kind == "warning":
            print(f"Kinochrome {name}: warning: {event.get('message')}", flush=True)

    group["status"].setValue("running")
    result = process.run_cli(colorize_args(settings, kino_node.session_file(group)), progress)
    if result.cancelled:
        group["status"].setValue(f"cancelled after {len(result.frames_done)} frames")
        raise KeyboardInterrupt
    if result.returncode != 0 or result.error:
        group["status"].setValue(f"failed: {result.error}")
        raise KinochromeError(str(result.error))
    assert settings.output is not None and settings.frames is not None
    kino_node.show_result(group, settings.output, settings.frames, _source_read(group))
    group["status"].setValue(_done_text(result))
    print(f"Kinochrome {name}: {_done_text(result)} -> {settings.output}", flush=True)
    return result


# --- panel -----------------------------------------------------------------------------------------------

def venv_scripts() -> Path | None:
    """The Kinochrome venv's bin/Scripts folder (from ``KINOCHROME_VENV``), where ``kinochrome`` lives."""
    venv = os.environ.get(ENV_VENV)
    if not venv:
        return None
    for sub in ("bin", "Scripts"):
        if (Path(venv) / sub).is_dir():
            return Path(venv) / sub
    return None


def open_panel(path: str | None = None) -> Any:
    """Open the Kinochrome panel on ``path`` (session file or shot) as its own program.

    The panel reads and previews frames (OpenImageIO, and torch for model previews), which must stay out of
    Nuke's process; and Nuke 15 runs Qt 5 while the panel is PySide6. So it always runs in the venv's Python.
    """
    if not nuke.env.get("gui"):
        print("Kinochrome: the panel needs Nuke's GUI")
        return None
    try:
        command = process.cli_command(["panel"] + ([path] if path else []))
    except KinochromeError as exc:
        report(f"Open Panel: {exc}")
        return None
    return subprocess.Popen(command)


def on_open_panel(group: Any) -> Any:
    """The Open Panel button: write the node's settings into its session file (keyframes kept), open the panel."""
    path = save_node_session(group)
    if path is None:
        return None
    kino_node.update_keyframes(group)
    return open_panel(str(path))


def save_node_session(group: Any) -> Path | None:
    """Write the node's knobs into its session file (keyframes and references kept); the path, or None after a
    message."""
    try:
        session = kino_node.node_session(group)
        path = kino_node.session_file(group)
        if path is None:
            raise KinochromeError(f"{group.name()}: the session file knob is empty")
        save_session(session, path)
    except KinochromeError as exc:
        report(str(exc))
        return None
    except OSError as exc:
        report(f"{group.name()}: cannot write the session file: {exc}")
        return None
    return path


def open_panel_selected() -> Any:
    """Toolbar Open Panel: on the selected Kinochrome node's session, the selected Read's shot, or empty."""
    try:
        selected = nuke.selectedNode()
    except ValueError:
        return open_panel(None)
    if kino_node.is_kinochrome_node(selected):
        return on_open_panel(selected)
    if selected.Class() == "Read":
        try:
            return open_panel(src.source_from_read(selected, kino_node.ocio_config()).file)
        except KinochromeError as exc:
            report(str(exc))
            return None
    return open_panel(None)


# --- farm ------------------------------------------------------------------------------------------------

def farm_args(group: Any, settings: JobSettings, session_path: Path, job_dir: Path) -> list[str]:
    """``kinochrome farm openjd`` arguments: the node's own session file (keyframes, references, colour points)
    plus the knobs that are job parameters."""
    assert settings.output is not None and settings.frames is not None
    chunk = max(1, min(int(group["farm_chunk"].value()), settings.frames[1] - settings.frames[0] + 1))
    args = ["farm", "openjd", str(session_path), "--chunk", str(chunk),
            "--preroll", str(int(group["farm_preroll"].value())), "-o", str(job_dir),
            "--output", settings.output, "--frames", f"{settings.frames[0]}-{settings.frames[1]}",
            "--method", settings.method, "--device", settings.device or "auto", "--json"]
    if settings.model:
        args += ["--model", settings.model]
    if settings.mode == "overwrite":
        args.append("--overwrite")
    scripts = venv_scripts()
    if scripts is not None:
        args += ["--bin", str(scripts)]
    return args


def on_send_to_farm(group: Any) -> Path | None:
    """The Send to farm button: an Open Job Description job bundle made from the node's session file.

    The node's knobs are saved into its session file first (as Open Panel does), and that file -- keyframes,
    references and colour points included -- is what the job carries. The job is written by ``kinochrome farm
    openjd`` in the venv's Python; the farm runs the ``kinochrome`` CLI from the venv, which the farm nodes must
    see at the same path (or map it).
    """
    settings = checked_settings(group)
    if settings is None:
        return None
    session_path = save_node_session(group)
    if session_path is None:
        return None
    assert settings.output is not None
    job_dir = Path(settings.output).parent / "kinochrome_jobs" / f"{group.name()}-{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        result = process.run_cli(farm_args(group, settings, session_path, job_dir))
    except OSError as exc:
        report(f"Send to farm: cannot start Kinochrome's Python: {exc}")
        return None
    written = next((o["template"] for o in reversed(result.objects) if "template" in o), None)
    if result.returncode != 0 or not written or not Path(written).is_file():
        report(f"Send to farm failed: {result.error or 'no job written'}", result.stderr or None)
        return None
    path = Path(written)
    for line in result.stderr.splitlines():
        if "warning" in line:
            print(f"Kinochrome: {line}")
    group["status"].setValue(f"farm job written: {path}")
    text = (f"Farm job for {group.name()} written to {path.parent}.\n\nDeadline Cloud: deadline bundle submit "
            f"{path.parent}\nTest locally: openjd run {path} -p file://{path.parent / 'openjd_parameters.json'}"
            "\n\nOther farms: kinochrome farm commands (docs/farm.md).")
    print(f"Kinochrome: {text}")
    if nuke.env.get("gui"):
        nuke.message(text)
    return path


# --- Inference export ------------------------------------------------------------------------------------

def export_for_inference() -> str | None:
    """Toolbar Export for Inference: TorchScript export of a model (in the venv's Python), then a .cat via
    CatFileCreator (NukeX)."""
    if not (nuke.env.get("nukex") or nuke.env.get("studio")):
        # CatFileCreator and Inference are NukeX/Studio nodes: say so before asking anything or exporting
        report("Export for Inference needs NukeX or Nuke Studio (CatFileCreator and Inference are not in Nuke); "
               "kinochrome export torchscript -o FILE.pt makes the TorchScript file anywhere.")
        return None
    model = nuke.getInput("Kinochrome model to export (name or .safetensors path)", "kino-small")
    if not model:
        return None
    # type='save': the default dialog is an open dialog, which only accepts files that already exist
    cat_path = nuke.getFilename("Save the .cat file as", "*.cat", type="save")
    if not cat_path:
        return None
    if not cat_path.endswith(".cat"):
        cat_path += ".cat"
    try:
        require_venv()
        from . import cat

        pt_path = os.path.splitext(cat_path)[0] + ".pt"
        os.makedirs(os.path.dirname(os.path.abspath(pt_path)), exist_ok=True)
        result = process.run_cli(["export", "torchscript", "-o", pt_path, "--model", str(model)])
        if result.returncode != 0 or not os.path.isfile(pt_path):
            raise KinochromeError(f"TorchScript export failed: {result.error or 'no file written'}")
        made = cat.make_cat_file(pt_path, cat_path, model_id=f"kinochrome-{Path(str(model)).stem}")
        cat.create_inference_node(made)
    except KinochromeError as exc:
        report(f"Export for Inference: {exc}")
        return None
    except Exception as exc:  # noqa: BLE001 - CatFileCreator failures: message + traceback
        report(f"Export for Inference failed: {exc.__class__.__name__}: {exc}", traceback.format_exc())
        return None
    report(f"wrote {made} (TorchScript {pt_path}); an Inference node reading it was added.")
    return made
