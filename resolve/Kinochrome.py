# kinochrome-workspace-script
# ruff: noqa: N999  (Resolve lists the script by its file name: Workspace > Scripts > Kinochrome)
"""Kinochrome for DaVinci Resolve: Workspace > Scripts > Kinochrome.

install.py copies this file into Resolve's per-user Fusion/Scripts/Utility folder with the two paths below
filled in, so Resolve's own Python finds the Kinochrome install that placed it. The dialog (Resolve's
UIManager) takes the settings and keyframes, shows progress and can cancel. Free Resolve 19.1+ has no UIManager
(Studio-only from 19.1): then the script says what works in the free version and starts nothing. Run outside
Resolve with command-line options, it works as ``python -m kinochrome.resolve``. The job API itself runs in
the Kinochrome venv's Python (torch, OpenImageIO), started as a subprocess; every Resolve call stays on the
dialog's UI thread (kinochrome.resolve.uithread).
"""

import builtins
import glob
import importlib
import importlib.util
import logging
import os
import sys
import threading

KINOCHROME_VENV = None
KINOCHROME_PACKAGE = None

log = logging.getLogger("kinochrome.resolve")
METHODS = ("model", "reinhard", "histogram", "knn")


def bootstrap(package=None, venv=None):
    """Import ``kinochrome`` (already importable, else from the baked package folder); the module."""
    package = package or KINOCHROME_PACKAGE
    venv = venv or KINOCHROME_VENV
    try:
        return importlib.import_module("kinochrome")
    except ImportError:
        pass
    init = os.path.join(package or "", "__init__.py")
    if not package or not os.path.isfile(init):
        raise RuntimeError(f"Kinochrome install not found at {package!r}; run install.py --hosts resolve again")
    if venv:
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        own = [os.path.join(venv, "lib", version, "site-packages"), os.path.join(venv, "Lib", "site-packages")]
        # Appended last, so Resolve's Python keeps its own packages; the Resolve side needs only the venv's
        # pure-Python ones (fileseq), which also load from another 3.x version's folder.
        others = sorted(glob.glob(os.path.join(venv, "lib", "python3*", "site-packages")))
        for site in own + others:
            if os.path.isdir(site) and site not in sys.path:
                sys.path.append(site)
    spec = importlib.util.spec_from_file_location("kinochrome", init, submodule_search_locations=[package])
    module = importlib.util.module_from_spec(spec)
    sys.modules["kinochrome"] = module
    spec.loader.exec_module(module)
    return module


def host_app():
    """The Resolve object Resolve gives a script it runs (``resolve`` / ``bmd.scriptapp``), else None."""
    for source in (globals(), vars(builtins)):
        app = source.get("resolve")
        if app is not None:
            return app
        bmd = source.get("bmd")
        if bmd is not None and hasattr(bmd, "scriptapp"):
            return bmd.scriptapp("Resolve")
    return None


def _colouriser(venv):
    from kinochrome.resolve.adapter import python_of, subprocess_colouriser

    python = python_of(venv) if venv else None
    if python and os.path.isfile(python) and os.path.realpath(python) != os.path.realpath(sys.executable):
        return subprocess_colouriser(python)
    return None                                  # this Python is the venv's: run the job API in process


def run_headless(resolve, argv=None, venv=None):
    """No dialog: the options of ``python -m kinochrome.resolve`` (default: the selection), logged."""
    from kinochrome.resolve.__main__ import build_parser, options_from_args
    from kinochrome.resolve.adapter import ResolveAdapter, describe

    args = build_parser().parse_args(list(argv or []))
    adapter = ResolveAdapter(resolve, colourise=_colouriser(venv or KINOCHROME_VENV))
    report = adapter.run(options_from_args(args), args.project, args.timeline,
                         progress=lambda f, text: log.info("%3d%% %s", int(f * 100), text))
    for line in describe(report.clips):
        log.info("%s", line)
    return report


def timecode_to_frame(timecode, fps, drop_frame=None):
    """'01:00:00:05' at 24 fps -> 86405. Drop-frame timecode (29.97/59.94; a ';' before the frames, or
    ``drop_frame`` True from the timeline's ``timelineDropFrameTimecode`` setting) skips frame numbers 0 and 1
    (0-3 at 59.94) of every minute except each tenth: '01:00:00;00' at 29.97 is frame 107892, not 108000."""
    parts = [int(p) for p in timecode.replace(";", ":").replace(".", ":").split(":")]
    hh, mm, ss, ff = ([0] * (4 - len(parts)) + parts)[-4:]
    rate = round(fps)
    frames = ((hh * 60 + mm) * 60 + ss) * rate + ff
    if drop_frame is None:
        drop_frame = ";" in timecode or "." in timecode
    if drop_frame and rate in (30, 60) and abs(fps - rate) > 1e-3:
        skip = 2 * rate // 30
        minutes = hh * 60 + mm
        frames -= skip * (minutes - minutes // 10)
    return frames


class _Lines(logging.Handler):
    """Copies Kinochrome's log records into the dialog's log while a run is going."""

    def __init__(self, lines):
        super().__init__(logging.INFO)
        self.lines = lines

    def emit(self, record):
        self.lines.append(record.getMessage())


class Dialog:
    """The UIManager dialog: settings, keyframes, Colourise/Cancel, progress and the log."""

    def __init__(self, resolve, ui, dispatcher, venv=None):
        from kinochrome.core.job import CancelToken

        self.resolve, self.ui, self.disp, self.venv = resolve, ui, dispatcher, venv
        self.keyframes = []
        self.lines = []
        self.status = "Ready"
        self.worker = None
        self.calls = None
        self.token = CancelToken()
        self.win = dispatcher.AddWindow(
            {"ID": "Kinochrome", "WindowTitle": "Kinochrome", "Geometry": [200, 200, 560, 600]},
            ui.VGroup([
                ui.HGroup([ui.Label({"Text": "Clips"}), ui.ComboBox({"ID": "Scope"}),
                           ui.Label({"Text": "Track"}), ui.SpinBox({"ID": "Track", "Minimum": 1, "Value": 1})]),
                ui.HGroup([ui.Label({"Text": "Method"}), ui.ComboBox({"ID": "Method"}),
                           ui.Label({"Text": "Model"}), ui.LineEdit({"ID": "Model", "PlaceholderText": "default"})]),
                ui.HGroup([ui.Label({"Text": "Output folder"}),
                           ui.LineEdit({"ID": "Output", "PlaceholderText": "beside the source"})]),
                ui.HGroup([ui.Label({"Text": "Render movies to"}), ui.ComboBox({"ID": "Format"})]),
                ui.Label({"Text": "Keyframes (timeline frame = colour reference)"}),
                ui.TextEdit({"ID": "Keys", "ReadOnly": True}),
                ui.HGroup([ui.LineEdit({"ID": "KeyRef", "PlaceholderText": "reference image path"}),
                           ui.Button({"ID": "AddKey", "Text": "Add at playhead"}),
                           ui.Button({"ID": "ClearKeys", "Text": "Clear"})]),
                ui.Label({"ID": "Status", "Text": "Ready"}),
                ui.TextEdit({"ID": "Log", "ReadOnly": True}),
                ui.HGroup([ui.Button({"ID": "Run", "Text": "Colourise"}),
                           ui.Button({"ID": "Cancel", "Text": "Cancel"}),
                           ui.Button({"ID": "Close", "Text": "Close"})]),
            ]))
        self.items = self.win.GetItems()
        self.items["Scope"].AddItems(["Selection (In/Out or playhead)", "Whole track"])
        self.items["Method"].AddItems(list(METHODS))
        self.items["Format"].AddItems(["exr (half)", "dpx (16-bit)"])
        on = self.win.On
        on.Run.Clicked = self.on_run
        on.Cancel.Clicked = self.on_cancel
        on.Close.Clicked = self.on_close
        on.Kinochrome.Close = self.on_close
        on.AddKey.Clicked = self.on_add_key
        on.ClearKeys.Clicked = self.on_clear_keys
        self.timer = None
        try:
            self.timer = ui.Timer({"ID": "KinoTick", "Interval": 300})
            # The dispatcher-level event, as Resolve scripts that use a timer wire it [community]
            dispatcher.On.Timeout = self.on_tick
        except Exception:  # noqa: BLE001  older UIManager: progress refreshes on each click instead
            self.timer = None

    def say(self, text):
        log.info("%s", text)
        self.lines.append(text)

    def on_add_key(self, event):
        ref = self.items["KeyRef"].Text.strip()
        if not ref or not os.path.isfile(ref):
            self.say(f"keyframe: reference image not found: {ref!r}")
            return self.refresh()
        project = self.resolve.GetProjectManager().GetCurrentProject()
        timeline = project.GetCurrentTimeline() if project else None
        if timeline is None:
            self.say("keyframe: no timeline open")
            return self.refresh()
        fps = float(timeline.GetSetting("timelineFrameRate") or 24)
        drop = str(timeline.GetSetting("timelineDropFrameTimecode") or "0") in ("1", "true", "True")
        timecode = timeline.GetCurrentTimecode()
        if not timecode:  # Resolve answers only on the Cut, Edit, Color, Fairlight and Deliver pages
            self.say("keyframe: Resolve gives no playhead position on this page; open the Edit or Color page, "
                     "park the playhead on the keyframe and add it again")
            return self.refresh()
        frame = timecode_to_frame(timecode, fps, drop or None)
        self.keyframes.append((frame, ref))
        self.items["Keys"].PlainText = "\n".join(f"{f} = {r}" for f, r in self.keyframes)
        self.refresh()

    def on_clear_keys(self, event):
        self.keyframes = []
        self.items["Keys"].PlainText = ""

    def options(self):
        from kinochrome.resolve.adapter import RunOptions

        whole = self.items["Scope"].CurrentIndex == 1
        track = int(self.items["Track"].Value)
        options = RunOptions(scope="track" if whole else "selection", track=track if whole else None,
                             method=self.items["Method"].CurrentText, keyframes=list(self.keyframes),
                             model=self.items["Model"].Text.strip() or None,
                             output_dir=self.items["Output"].Text.strip() or None,
                             render_format=self.items["Format"].CurrentText.split()[0])
        return options

    def on_run(self, event):
        from kinochrome.core.job import CancelToken
        from kinochrome.resolve.adapter import ResolveAdapter, describe

        if self.worker is not None and self.worker.is_alive():
            return
        from kinochrome.resolve.uithread import UiCalls, UiThreadProxy

        self.token = CancelToken()
        options = self.options()
        resolve = self.resolve
        if self.timer is not None:
            # the worker reaches Resolve only through the UI thread (the timer pumps its calls)
            self.calls = UiCalls()
            resolve = UiThreadProxy(self.resolve, self.calls)
        try:
            adapter = ResolveAdapter(resolve, colourise=_colouriser(self.venv))
        except Exception as exc:  # noqa: BLE001  a Resolve too old: one line in the dialog
            self.status = f"error: {exc}"
            return self.refresh()

        def progress(fraction, text):
            self.status = f"{int(fraction * 100)}%  {text}"

        def work():
            handler, level = _Lines(self.lines), log.level
            log.addHandler(handler)
            if not log.isEnabledFor(logging.INFO):
                log.setLevel(logging.INFO)
            try:
                report = adapter.run(options, progress=progress, cancel=self.token)
                self.lines.extend(describe(report.clips))
                self.status = report.summary()
            except Exception as exc:   # shown in the dialog and the log; the dialog stays usable
                log.exception("Kinochrome run failed")
                self.status = f"error: {exc}"
            finally:
                log.removeHandler(handler)
                log.setLevel(level)

        self.status = "starting"
        if self.timer is None:
            work()
        else:
            self.worker = threading.Thread(target=work, name="kinochrome-resolve", daemon=True)
            self.worker.start()
            self.timer.Start()
        self.refresh()

    def on_cancel(self, event):
        self.token.cancel()
        self.status = "cancelling after the frame in flight..."
        self.refresh()

    def on_tick(self, event):
        if self.calls is not None:
            self.calls.pump()
        self.refresh()
        if self.worker is not None and not self.worker.is_alive() and self.timer is not None:
            self.timer.Stop()

    def on_close(self, event):
        self.token.cancel()
        if self.calls is not None:
            self.calls.close()
        self.disp.ExitLoop()

    def refresh(self):
        self.items["Status"].Text = self.status
        self.items["Log"].PlainText = "\n".join(self.lines[-200:])

    def show(self):
        self.win.Show()
        self.disp.RunLoop()
        self.win.Hide()


def no_dialog_message(resolve):
    """What the artist is told when this Resolve has no UIManager (lines for the Console)."""
    product = version = ""
    try:
        product = resolve.GetProductName() or ""
        version = resolve.GetVersionString() or ""
    except Exception as exc:  # noqa: BLE001  only for the message
        log.debug("no product name or version (%s)", exc)
    which = f"{product or 'this Resolve'} {version}".strip()
    return [
        (f"the Kinochrome dialog needs Resolve's UIManager, which {which} does not offer (the free DaVinci "
         "Resolve has no UIManager from 19.1 on); nothing was changed."),
        ("In the free version: colourise with the Kinochrome panel (`kinochrome panel SHOT`) or the command line "
         "(`kinochrome colorize SHOT --session SHOT.kinochrome.json`), then import the result into the media pool."),
        ("Resolve Studio can also drive Kinochrome from outside: `python -m kinochrome.resolve --track 1` "
         "(external scripting: Local)."),
    ]


def main(resolve=None, argv=None):
    """Entry point when Resolve runs the script; returns the run report (headless) or None (dialog)."""
    logging.basicConfig(level=logging.INFO, format="Kinochrome: %(message)s", stream=sys.stdout)  # the Console
    bootstrap()
    if resolve is None:
        resolve = host_app()
    if resolve is None:
        from kinochrome.resolve.connect import connect

        resolve = connect()
    fusion = resolve.Fusion() if hasattr(resolve, "Fusion") else None
    ui = getattr(fusion, "UIManager", None) if fusion is not None else None
    bmd = globals().get("bmd") or vars(builtins).get("bmd")
    if ui is None or bmd is None or not hasattr(bmd, "UIDispatcher"):
        args = [a for a in (argv if argv is not None else getattr(sys, "argv", [])[1:]) if a]
        if not args:
            # Free Resolve 19.1+ has no UIManager (Studio-only since 19.1). Never start a run nobody asked
            # for (it would add files, a bin and a track): say what works instead.
            for line in no_dialog_message(resolve):
                log.info("%s", line)
            return None
        log.info("no UIManager here: running with the given options, logging progress")
        return run_headless(resolve, args, KINOCHROME_VENV)
    Dialog(resolve, ui, bmd.UIDispatcher(ui), KINOCHROME_VENV).show()
    return None


if __name__ == "__main__" or host_app() is not None:
    main()
