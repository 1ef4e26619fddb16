"""The Kinochrome node: a Group built from a Read, its knob layout, and its knobs -> JobSettings / Session.

Knob layout (tab "Kinochrome"; names in brackets; docs/nuke.md has the diagram)::

    input            [source]          Read1: /shots/plate.####.dpx  Cineon -> Cineon log     (read-only)
    frame range      [frame_first] [frame_last]                                          (from the Read)
    colourspace      [colourspace]     blank = from the Read's colorspace knob
    session file     [session_file]    SHOT.kinochrome.json: keyframes, references, colour points
    keyframes        [keyframes]       summary (read-only)                 [reload_session] button
    method           [method]          model | histogram | reinhard | knn
    model            [model]           name or .safetensors path; blank = default
    working size     [working_size]    long side in pixels the model runs at
    reference strength [ref_strength]  0..1
    device           [device]          auto | cpu | cuda | mps
    output           [output_file]     default beside the source with _kino, #### padding
    existing frames  [existing]        error | overwrite | resume
    farm chunk / preroll [farm_chunk] [farm_preroll]
    [colorize] [open_panel] [send_to_farm]                                                    buttons
    status           [status]          (read-only)

Inside: Input1 -> KinoSwitch(0); KinoResult (a Read of the output) -> KinoSwitch(1) -> Output1. The switch shows
the source until a result exists. Settings on the node win over those in the session file; keyframes come from
the session file (the panel edits it), so CLI, panel, farm and Nuke share one format.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import nuke
from kinochrome import __version__
from kinochrome.core import config
from kinochrome.core.errors import KinochromeError, SessionError, UsageError
from kinochrome.core.job import MODES, JobSettings
from kinochrome.core.sequence import Shot, canonical_pattern
from kinochrome.core.session import METHODS, Session, load_session, session_path_for

from . import source as src

RESULT_READ = "KinoResult"
SWITCH = "KinoSwitch"
NODE_NAME = "Kinochrome1"
MARKER = "kino_version"           # a knob every Kinochrome node has
_BUTTON = "import kinochrome.nuke.adapter as _kino\n_kino.{}(nuke.thisNode())"


def ocio_config() -> str | None:
    """The Root's ``OCIO_config`` value (None where the knob does not exist: Nuke's own colour management)."""
    knob = nuke.root().knob("OCIO_config")
    return str(knob.value()) if knob is not None else None


def is_kinochrome_node(node: Any) -> bool:
    return node is not None and node.knob(MARKER) is not None


def _knob(k: Any, tooltip: str, newline: bool = True) -> Any:
    """Tooltip and row: buttons do not start a row by default, value knobs do; say it explicitly for both."""
    k.setTooltip(tooltip)
    if newline:
        k.setFlag(nuke.STARTLINE)
    else:
        k.clearFlag(nuke.STARTLINE)
    return k


def _add_knobs(group: Any) -> None:
    add = group.addKnob
    add(nuke.Tab_Knob("kinochrome", "Kinochrome"))
    add(_knob(nuke.Text_Knob("source", "input", ""), "The Read this node colourises (its file, frame range and "
                                                     "colorspace are read at every run)."))
    add(_knob(nuke.Int_Knob("frame_first", "frame range"), "First frame to write."))
    add(_knob(nuke.Int_Knob("frame_last", ""), "Last frame to write.", newline=False))
    add(_knob(nuke.String_Knob("colourspace", "colourspace", ""),
              "Input colourspace override. Blank: from the Read's colorspace knob (Nuke's 'default' = decided "
              "from the file, as Nuke does). Any OCIO name/alias, 'lin_rec709', 'sRGB' or 'Cineon log'."))
    add(nuke.Text_Knob("div_keys", ""))
    add(_knob(nuke.File_Knob("session_file", "session file"),
              "The Kinochrome session file (keyframes, colour references, colour points), shared with the panel, "
              "the CLI and farm jobs. Open Panel creates it."))
    add(_knob(nuke.Text_Knob("keyframes", "keyframes", ""), "Keyframes in the session file."))
    add(_knob(nuke.PyScript_Knob("reload_session", "Reload", _BUTTON.format("on_reload_session")),
              "Re-read the session file (after editing keyframes in the panel).", newline=False))
    add(nuke.Text_Knob("div_method", ""))
    add(_knob(nuke.Enumeration_Knob("method", "method", list(METHODS)),
              "model: the CNN-LSTM guided by keyframes; histogram / reinhard / knn: classical transfer from a "
              "keyframe reference (no model)."))
    add(_knob(nuke.String_Knob("model", "model", ""), "Model name (kinochrome models) or .safetensors path; "
                                                      "blank = default."))
    working = _knob(nuke.Int_Knob("working_size", "working size"), "Long side in pixels the model runs at; chroma "
                                                                   "is upsampled to full resolution.")
    working.setValue(config.DEFAULT_WORKING_SIZE)
    add(working)
    strength = _knob(nuke.Double_Knob("ref_strength", "reference strength"),
                     "0 = keyframe references ignored, 1 = followed.")
    strength.setRange(0.0, 1.0)
    strength.setValue(config.DEFAULT_REF_STRENGTH)
    add(strength)
    add(_knob(nuke.Enumeration_Knob("device", "device", list(config.DEVICES)), "Where the model runs."))
    add(nuke.Text_Knob("div_output", ""))
    add(_knob(nuke.File_Knob("output_file", "output"), "Output pattern (#### or %04d); default beside the source "
                                                       "with _kino."))
    add(_knob(nuke.Enumeration_Knob("existing", "existing frames", list(MODES)),
              "error: stop if output frames exist; overwrite; resume: keep finished frames."))
    chunk = _knob(nuke.Int_Knob("farm_chunk", "farm chunk"), "Frames per farm task.")
    chunk.setValue(10)
    add(chunk)
    preroll = _knob(nuke.Int_Knob("farm_preroll", "preroll"), "Frames each farm task reads before its chunk so "
                                                              "chunks join without seams.", newline=False)
    preroll.setValue(config.DEFAULT_PREROLL)
    add(preroll)
    add(nuke.Text_Knob("div_run", ""))
    add(_knob(nuke.PyScript_Knob("colorize", "Colorize", _BUTTON.format("on_colorize")),
              "Colourise the frame range in the background (Nuke's progress bar has Cancel)."))
    add(_knob(nuke.PyScript_Knob("open_panel", "Open Panel", _BUTTON.format("on_open_panel")),
              "Edit keyframes and colour references in the Kinochrome panel.", newline=False))
    add(_knob(nuke.PyScript_Knob("send_to_farm", "Send to farm", _BUTTON.format("on_send_to_farm")),
              "Write an Open Job Description job bundle (Deadline Cloud: deadline bundle submit).", newline=False))
    add(_knob(nuke.Text_Knob("status", "status", "not run yet"), "What the last run did."))
    add(nuke.Text_Knob(MARKER, "", f"Kinochrome {__version__}"))


def _build_inside(group: Any) -> None:
    with group:
        inp = nuke.nodes.Input()
        result = nuke.nodes.Read(name=RESULT_READ)
        try:
            result["on_error"].setValue("black")      # black frames, not errors, for frames not written yet
        except (ValueError, TypeError, NameError):
            pass
        switch = nuke.nodes.Switch(name=SWITCH, inputs=[inp, result])
        nuke.nodes.Output(inputs=[switch])
        inp.setXYpos(0, 0)
        result.setXYpos(150, 0)
        switch.setXYpos(0, 100)


def build_node(read: Any) -> Any:
    """A Kinochrome Group connected to ``read``, knobs filled from it. Raises KinochromeError for a bad Read
    (nothing is created then). A broken session file beside the shot does not stop it: the node's keyframe
    summary shows the error until the file is fixed and reloaded."""
    source = src.source_from_read(read, ocio_config())
    src.check_frames(source, source.frames)
    group = nuke.nodes.Group()
    group.setName(NODE_NAME)
    group.setXYpos(read.xpos(), read.ypos() + 120)
    _add_knobs(group)
    _build_inside(group)
    # after _build_inside: a Group's inputs are its Input nodes, so before it there is no input 0 to connect
    group.setInput(0, read)
    group["frame_first"].setValue(source.first)
    group["frame_last"].setValue(source.last)
    group["output_file"].setValue(src.default_output(source))
    group["session_file"].setValue(str(session_path_for(source.file)))
    show_source(group, source)
    try:
        update_keyframes(group)
    except SessionError:
        pass                               # shown in the keyframe summary (update_keyframes put it there)
    return group


def show_source(group: Any, source: src.ReadSource) -> None:
    shift = f"  (shown at {source.first + source.offset}-{source.last + source.offset})" if source.offset else ""
    group["source"].setValue(f"{source.node}: {source.file}  {source.first}-{source.last}{shift}  "
                             f"colorspace {source.nuke_colorspace} -> {source.colourspace}")


def session_file(group: Any) -> Path | None:
    text = str(group["session_file"].value()).strip()
    return Path(os.path.abspath(os.path.expanduser(text))) if text else None


def load_node_session(group: Any) -> Session | None:
    """The session file's contents, None when the knob is blank or the file does not exist yet."""
    path = session_file(group)
    if path is None or not path.is_file():
        return None
    return load_session(path)


def keyframe_summary(session: Session | None) -> str:
    if session is None:
        return "no session file yet: Open Panel to add keyframes"
    if not session.keyframes:
        return "no keyframes"
    parts = []
    for k in session.keyframes:
        bits = []
        if k.reference:
            bits.append(f"{k.kind} {os.path.basename(k.reference)}" if k.kind != "auto"
                        else os.path.basename(k.reference))
        if k.points:
            bits.append(f"{len(k.points)} point{'s' if len(k.points) != 1 else ''}")
        if k.strokes:
            bits.append(f"{len(k.strokes)} stroke{'s' if len(k.strokes) != 1 else ''}")
        parts.append(f"{k.frame} ({', '.join(bits)})" if bits else str(k.frame))
    n = len(session.keyframes)
    return f"{n} keyframe{'s' if n != 1 else ''}: " + "; ".join(parts)


def update_keyframes(group: Any) -> Session | None:
    """Refresh the read-only summary from the session file; SessionError is shown in the summary and raised."""
    try:
        session = load_node_session(group)
    except SessionError as exc:
        group["keyframes"].setValue(f"session file error: {exc}")
        raise
    group["keyframes"].setValue(keyframe_summary(session))
    return session


def _colourspace(group: Any, source: src.ReadSource) -> str:
    """The node's override, else the Read's colorspace as Kinochrome names it. Checked by the run itself (in the
    venv's Python): the colour library must not be loaded into Nuke's process."""
    override = str(group["colourspace"].value()).strip()
    return override or source.colourspace


def node_settings(group: Any) -> tuple[JobSettings, Shot]:
    """Check the node and its Read and build the run's settings. Raises KinochromeError (UsageError for no Read
    or a movie, SequenceError for missing frames, OutputError for an output colliding with the source, ...)."""
    read = src.upstream_read(group)
    source = src.source_from_read(read, ocio_config())
    show_source(group, source)
    frames = (int(group["frame_first"].value()), int(group["frame_last"].value()))
    shot = src.check_frames(source, frames)
    output = str(group["output_file"].value()).strip() or src.default_output(source)
    output = src.check_output(output, shot)
    session = update_keyframes(group)
    if session is not None and _shot_of(session) != canonical_pattern(source.file):
        print(f"Kinochrome {group.name()}: warning: the session file names the shot {session.shot} but "
              f"{source.node} reads {source.file}; using the Read's (keyframe frame numbers are kept)")
    method = str(group["method"].value())
    if method not in METHODS:
        raise UsageError(f"{group.name()}: method {method!r}: expected one of {', '.join(METHODS)}")
    values: dict[str, Any] = {
        "input": source.file, "output": output, "frames": frames, "method": method,
        "model": str(group["model"].value()).strip() or None, "colourspace": _colourspace(group, source),
        "working_size": int(group["working_size"].value()), "ref_strength": float(group["ref_strength"].value()),
        "device": str(group["device"].value()), "mode": str(group["existing"].value())}
    if session is None:
        return JobSettings(**values), shot
    return JobSettings.from_session(session, **values), shot


def _shot_of(session: Session) -> str:
    return canonical_pattern(session.resolve(session.shot) or session.shot)


def node_session(group: Any) -> Session:
    """The node as a session (keyframes from its session file, everything else from its knobs)."""
    read = src.upstream_read(group)
    source = src.source_from_read(read, ocio_config())
    session = load_node_session(group) or Session(shot=source.file)
    session.shot = source.file
    session.frames = (int(group["frame_first"].value()), int(group["frame_last"].value()))
    session.colourspace = str(group["colourspace"].value()).strip() or source.colourspace
    session.output = str(group["output_file"].value()).strip() or None
    session.method = str(group["method"].value())
    session.model = str(group["model"].value()).strip() or None
    session.working_size = int(group["working_size"].value())
    session.ref_strength = float(group["ref_strength"].value())
    session.device = str(group["device"].value())
    return session


def show_result(group: Any, output: str, frames: tuple[int, int], source_read: Any = None) -> None:
    """Point the inner Read at the output, reload it and switch the node's output to it.

    The result is timed as the source: the source Read's colorspace, its file-to-comp frame offset (as an
    ``offset``, since "start at" counts from each Read's own first frame) and its before/after modes are
    carried over, so the colourised plate lines up with its input frame for frame.
    """
    read = group.node(RESULT_READ)
    switch = group.node(SWITCH)
    if read is None or switch is None:
        return
    first, last = frames
    read["file"].setValue(output)
    for name, value in (("first", first), ("last", last), ("origfirst", first), ("origlast", last)):
        read[name].setValue(value)
    if source_read is not None:
        try:
            source = src.source_from_read(source_read, ocio_config())
        except KinochromeError:
            source = None
        if source is not None:
            try:
                read["colorspace"].setValue(source.nuke_colorspace)
            except (ValueError, TypeError):      # a colorspace this Nuke's config does not list: Nuke's default
                pass
            for knob, text in (("frame_mode", "offset"), ("frame", str(source.offset)),
                               ("before", source.before), ("after", source.after)):
                if read.knob(knob) is not None:
                    try:
                        read[knob].setValue(text)
                    except (ValueError, TypeError):
                        pass
    read["reload"].execute()
    switch["which"].setValue(1)
