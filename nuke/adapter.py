"""Kinochrome in Nuke: the toolbar menu, the node's buttons, background runs with Nuke's progress bar, farm jobs.

Threading: a run is a :class:`~kinochrome.plugin.runner.BackgroundJob`; its callbacks come from the worker thread,
update the ``nuke.ProgressTask`` there (as Foundry's threading example does) and reach knobs and dialogs only
through ``nuke.executeInMainThread``. In terminal mode (``nuke -t``, ``nuke.env['gui']`` False) runs are
synchronous. Errors reach the artist as ``nuke.message`` and in the Script Editor (stdout).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import subprocess
import time
import traceback
from pathlib import Path
from typing import Any

import nuke
from kinochrome.core.errors import KinochromeError
from kinochrome.core.job import JobEvent, JobSettings, JobSummary, run_job
from kinochrome.core.session import save_session
from kinochrome.plugin.runner import BackgroundJob, JobOutcome

from . import node as kino_node
from . import source as src

TORCH_MISSING = ("Kinochrome needs torch in Nuke's Python: run `python3 install.py --hosts nuke` with a Python of "
                 "the same version as Nuke's, then restart Nuke (docs/nuke.md, 'Install').")
PANEL_ID = "org.kinochrome.panel"
PANEL_WIDGET = "__import__('kinochrome.plugin.panel', fromlist=['KinochromePanel']).KinochromePanel"
ENV_VENV = "KINOCHROME_VENV"

# Runs in flight, by node full name (one per node), and open panels (kept so Qt does not delete them).
_RUNS: dict[str, NodeRun] = {}
_PANELS: list[Any] = []


# --- reporting -----------------------------------------------------------------------------------------

def report(text: str, details: str | None = None) -> None:
    """An error or notice for the artist: the Script Editor always, a dialog in the GUI."""
    print(f"Kinochrome: {text}")
    if details:
        print(details)
    if nuke.env.get("gui"):
        nuke.message(f"Kinochrome: {text}")


def torch_available() -> bool:
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


def require_torch() -> None:
    if not torch_available():
        raise KinochromeError(TORCH_MISSING)


# --- menus ---------------------------------------------------------------------------------------------

def add_menus() -> Any:
    """The Nodes toolbar menu "Kinochrome" (called by menu.py), and the panel in the Pane menu."""
    menu = nuke.menu("Nodes").addMenu("Kinochrome")
    menu.addCommand("Colorize", colorize_selected,
                    tooltip="Add a Kinochrome node to the selected Read of a black-and-white scan")
    menu.addCommand("Open Panel", open_panel_selected, tooltip="The Kinochrome panel: keyframes and references")
    menu.addCommand("Export for Inference", export_for_inference,
                    tooltip="Export a Kinochrome model as a .cat for Nuke's Inference node (NukeX)")
    if int(nuke.env.get("NukeVersionMajor", 0)) < 16:     # Qt 5 Nukes: the panel runs as its own program
        return menu
    try:  # GUI only: lets artists dock the panel from the Pane menu
        from nukescripts import panels

        panels.registerWidgetAsPanel(PANEL_WIDGET, "Kinochrome", PANEL_ID)
    except Exception as exc:  # noqa: BLE001 - no nukescripts (terminal) or no Qt: the floating panel still works
        print(f"Kinochrome: the panel is not in the Pane menu ({exc.__class__.__name__}: {exc})")
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


def on_colorize(group: Any) -> NodeRun | JobSummary | None:
    """The Colorize button: check everything, then run in the background (GUI) or here (terminal)."""
    name = group.fullName()
    if name in _RUNS:
        report(f"{name} is already running; cancel it in Nuke's progress bar first.")
        return None
    try:
        require_torch()
        settings, _shot = kino_node.node_settings(group)
    except KinochromeError as exc:
        report(str(exc))
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
    run = NodeRun(group, settings)
    _RUNS[name] = run
    run.start()
    return run


def running(group: Any) -> bool:
    return group.fullName() in _RUNS


def _source_colorspace(group: Any) -> str | None:
    try:
        return str(src.upstream_read(group)["colorspace"].value())
    except KinochromeError:
        return None


def _done_text(summary: JobSummary) -> str:
    text = f"done: {len(summary.written)} frames written"
    if summary.kept:
        text += f", {len(summary.kept)} kept"
    if summary.skipped:
        text += f", {len(summary.skipped)} skipped"
    return text + f" in {summary.seconds:.1f} s"


class NodeRun:
    """One Colorize run of a node: a BackgroundJob reporting to a ``nuke.ProgressTask``."""

    def __init__(self, group: Any, settings: JobSettings):
        self.group = group
        self.name = group.fullName()
        self.settings = settings
        self.task: Any = None
        self.job = BackgroundJob(settings, on_event=self._on_event, on_done=self._on_done)
        self.outcome: JobOutcome | None = None

    def start(self) -> NodeRun:
        self.group["status"].setValue("running")
        self.job.start()
        return self

    def cancel(self) -> None:
        self.job.cancel()

    # worker thread -----------------------------------------------------------------------------------
    def _on_event(self, event: JobEvent) -> None:
        if self.task is None and self.outcome is None:
            # Created, updated and dropped in the worker thread, as in Foundry's threading example.
            self.task = nuke.ProgressTask(f"Kinochrome {self.name}")
        task = self.task
        if task is None:
            return
        if task.isCancelled():
            self.job.cancel()
            task.setMessage("cancelling after the frame in flight")
            return
        if event.kind == "start":
            task.setMessage(f"{event.total} frames")
        elif event.kind == "frame" and event.total:
            task.setProgress(max(0, min(100, int(100 * event.index / event.total))))
            text = f"frame {event.frame} ({event.index}/{event.total})"
            task.setMessage(text)
            nuke.executeInMainThread(self._status, args=(text,))
        elif event.kind == "warning" and event.message:
            print(f"Kinochrome {self.name}: warning: {event.message}")

    def _on_done(self, outcome: JobOutcome) -> None:
        self.outcome = outcome
        self.task = None                    # deleting the ProgressTask ends Nuke's progress bar
        nuke.executeInMainThread(self._finish, args=(outcome,))

    # main thread -------------------------------------------------------------------------------------
    def _status(self, text: str) -> None:
        try:
            self.group["status"].setValue(text)
        except ValueError:              # the node was deleted during the run: nothing to show it on
            pass

    def _finish(self, outcome: JobOutcome) -> None:
        _RUNS.pop(self.name, None)
        try:
            self._show(outcome)
        except ValueError as exc:       # the node was deleted (or its script closed) during the run
            print(f"Kinochrome {self.name}: the node is gone ({exc}); output: {self.settings.output}")
            if outcome.error:
                report(f"{self.name}: {outcome.error}", outcome.details)

    def _show(self, outcome: JobOutcome) -> None:
        assert self.settings.output is not None and self.settings.frames is not None
        if outcome.summary is not None:
            kino_node.show_result(self.group, self.settings.output, self.settings.frames,
                                  _source_colorspace(self.group))
            text = _done_text(outcome.summary)
            self._status(text)
            print(f"Kinochrome {self.name}: {text} -> {self.settings.output}")
            for warning in outcome.summary.warnings:
                print(f"Kinochrome {self.name}: warning: {warning}")
        elif outcome.cancelled:
            text = f"cancelled after {len(outcome.frames_done)} frames"
            if outcome.frames_done:
                kino_node.show_result(self.group, self.settings.output, self.settings.frames,
                                      _source_colorspace(self.group))
            self._status(text)
            print(f"Kinochrome {self.name}: {text}")
        else:
            self._status(f"failed: {outcome.error}")
            report(f"{self.name}: {outcome.error}", outcome.details)


def run_sync(group: Any, settings: JobSettings) -> JobSummary:
    """Run here, printing progress (terminal mode, ``nuke -t``). Raises KinochromeError."""
    name = group.fullName()

    def progress(event: JobEvent) -> None:
        if event.kind == "frame":
            print(f"Kinochrome {name}: frame {event.frame} {event.status} ({event.index}/{event.total})", flush=True)
        elif event.kind == "warning":
            print(f"Kinochrome {name}: warning: {event.message}", flush=True)

    group["status"].setValue("running")
    try:
        summary = run_job(settings, progress)
    except KinochromeError as exc:
        group["status"].setValue(f"failed: {exc}")
        raise
    assert settings.output is not None and settings.frames is not None
    kino_node.show_result(group, settings.output, settings.frames, _source_colorspace(group))
    group["status"].setValue(_done_text(summary))
    print(f"Kinochrome {name}: {_done_text(summary)} -> {settings.output}", flush=True)
    return summary


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


def kinochrome_program() -> str | None:
    scripts = venv_scripts()
    for name in ("kinochrome", "kinochrome.exe"):
        if scripts is not None and (scripts / name).exists():
            return str(scripts / name)
    return shutil.which("kinochrome")


def open_panel(path: str | None = None) -> Any:
    """Open the Kinochrome panel on ``path`` (session file or shot) as a floating window.

    Nuke 16+ ships PySide6: the panel opens inside Nuke. Older Nukes run Qt 5 (PySide2), where loading the venv's
    PySide6 would clash, so the panel runs as its own process (``kinochrome panel``).
    """
    if not nuke.env.get("gui"):
        print("Kinochrome: the panel needs Nuke's GUI")
        return None
    if int(nuke.env.get("NukeVersionMajor", 0)) < 16:
        program = kinochrome_program()
        if program is None:
            report("Open Panel: the kinochrome program was not found (KINOCHROME_VENV is not set); run "
                   "`kinochrome panel` from a terminal.")
            return None
        return subprocess.Popen([program, "panel"] + ([path] if path else []))
    try:
        from kinochrome.plugin.panel import KinochromePanel
    except ImportError as exc:
        report(f"Open Panel: the panel cannot load in this Nuke ({exc}); run `kinochrome panel` from a terminal.")
        return None
    panel = KinochromePanel()
    if path:
        panel.open_path(path)
    panel.setWindowTitle("Kinochrome")
    panel.show()
    _PANELS.append(panel)
    return panel


def on_open_panel(group: Any) -> Any:
    """The Open Panel button: write the node's settings into its session file (keyframes kept), open the panel."""
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
    kino_node.update_keyframes(group)
    return open_panel(str(path))


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

def on_send_to_farm(group: Any) -> Path | None:
    """The Send to farm button: an Open Job Description job bundle for the node's shot (nothing needs torch here).

    The farm runs the ``kinochrome`` CLI from the venv (``KINOCHROME_VENV``), which the farm nodes must see at
    the same path.
    """
    try:
        farm = importlib.import_module("kinochrome.plugin.farm")
        write_openjd_job = farm.write_openjd_job
    except (ImportError, AttributeError) as exc:
        report(f"Send to farm: this Kinochrome install has no farm support (kinochrome.plugin.farm: {exc}); "
               "update Kinochrome or render with the Colorize button.")
        return None
    try:
        settings, _shot = kino_node.node_settings(group)
        assert settings.output is not None
        job_dir = (Path(settings.output).parent / "kinochrome_jobs" /
                   f"{group.name()}-{time.strftime('%Y%m%d-%H%M%S')}")
        assert settings.frames is not None
        # a chunk longer than the range is one task, not an error
        chunk = max(1, min(int(group["farm_chunk"].value()), settings.frames[1] - settings.frames[0] + 1))
        preroll = int(group["farm_preroll"].value())
        scripts = venv_scripts()
        if scripts is not None:
            path = write_openjd_job(settings, job_dir, chunk, preroll, kinochrome_bin=scripts)
        else:
            path = write_openjd_job(settings, job_dir, chunk, preroll)
    except KinochromeError as exc:
        report(str(exc))
        return None
    except Exception as exc:  # noqa: BLE001 - a bug, not bad input: keep the traceback in the Script Editor
        report(f"Send to farm failed: {exc.__class__.__name__}: {exc}", traceback.format_exc())
        return None
    group["status"].setValue(f"farm job written: {path}")
    text = (f"Farm job for {group.name()} written to {Path(path).parent}.\n\nDeadline Cloud: deadline bundle submit "
            f"{Path(path).parent}\nTest locally: openjd run {path} -p file://{Path(path).parent / 'openjd_parameters.json'}"
            "\n\nOther farms: kinochrome farm commands (docs/farm.md).")
    print(f"Kinochrome: {text}")
    if nuke.env.get("gui"):
        nuke.message(text)
    return Path(path)


# --- Inference export ------------------------------------------------------------------------------------

def export_for_inference() -> str | None:
    """Toolbar Export for Inference: TorchScript export of a model, then a .cat via CatFileCreator (NukeX)."""
    if not (nuke.env.get("nukex") or nuke.env.get("studio")):
        # CatFileCreator and Inference are NukeX/Studio nodes: say so before asking anything or exporting
        report("Export for Inference needs NukeX or Nuke Studio (CatFileCreator and Inference are not in Nuke); "
               "kinochrome export torchscript -o FILE.pt makes the TorchScript file anywhere.")
        return None
    model = nuke.getInput("Kinochrome model to export (name or .safetensors path)", "kino-small")
    if not model:
        return None
    cat_path = nuke.getFilename("Save the .cat file as", "*.cat")
    if not cat_path:
        return None
    if not cat_path.endswith(".cat"):
        cat_path += ".cat"
    try:
        require_torch()
        try:
            export = importlib.import_module("kinochrome.core.model.export")
        except ImportError as exc:
            raise KinochromeError(f"this Kinochrome has no TorchScript export yet ({exc})") from None
        from kinochrome.core.model.registry import resolve_model

        from . import cat

        pt_path = os.path.splitext(cat_path)[0] + ".pt"
        export.export_torchscript(resolve_model(model), Path(pt_path))
        made = cat.make_cat_file(pt_path, cat_path, model_id=f"kinochrome-{Path(str(model)).stem}")
        cat.create_inference_node(made)
    except KinochromeError as exc:
        report(f"Export for Inference: {exc}")
        return None
    except Exception as exc:  # noqa: BLE001 - CatFileCreator/torch failures: message + traceback
        report(f"Export for Inference failed: {exc.__class__.__name__}: {exc}", traceback.format_exc())
        return None
    report(f"wrote {made} (TorchScript {pt_path}); an Inference node reading it was added.")
    return made
