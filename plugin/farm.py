"""Render-farm distribution: a shot split into frame chunks, as an Open Job Description job or plain commands.

Every farm task runs the real command line, ``kinochrome colorize SHOT -o OUTPUT --frames A-B --preroll N
--resume --json``, so a chunk on a farm behaves exactly like the same chunk run by hand. ``--preroll`` lets each
chunk warm up the temporal model on the frames before it (read, not written) so chunks join without seams;
``--resume`` keeps frames an earlier, killed attempt already wrote.

Two outputs:

* :func:`write_openjd_job` writes a job bundle folder: an OpenJD ``jobtemplate-2023-09`` template with the
  ``TASK_CHUNKING`` extension (step ``Colorize``: one task per contiguous chunk; step ``ReviewSheet``: a contact
  sheet once every chunk is done) plus the parameter values as data. The folder is a valid AWS Deadline Cloud job
  bundle (``deadline bundle submit JOBDIR``) and runs locally with ``openjd run``.
* :func:`chunk_commands` gives one argument list per chunk for farms that take plain commands (Deadline 10,
  OpenCue, Tractor).

Values (paths, model names) always travel as data: as OpenJD parameter values or as separate arguments, never
pasted into a shell string. Everything is validated before any file is written.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import sys
import sysconfig
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kinochrome.core import config
from kinochrome.core.cli import ref_flags, setting_flags
from kinochrome.core.errors import KinochromeError, OutputError, SequenceError, UsageError
from kinochrome.core.job import JobSettings
from kinochrome.core.pipeline import resolved_keyframes
from kinochrome.core.sequence import format_frames
from kinochrome.core.session import SESSION_SUFFIX, Keyframe, Session, save_session

TEMPLATE_VERSION = "jobtemplate-2023-09"
COLORIZE_STEP = "Colorize"
REVIEW_STEP = "ReviewSheet"
REVIEW_NAME = "review.png"
JOB_SESSION_STEM = "shot"              # shot.kinochrome.json, written into a job made without a session file
TEMPLATE_NAME = "template"              # template.yaml (template.json without PyYAML)
PARAMETER_VALUES_NAME = "parameter_values"   # Deadline Cloud job bundle: parameterValues list
OPENJD_PARAMS_NAME = "openjd_parameters"     # the same values as a mapping, for `openjd run -p file://...`
ASSET_REFERENCES_NAME = "asset_references"   # Deadline Cloud job attachments: inputs / outputs
METHODS = ("model", "histogram", "reinhard", "knn")
PROGRAM = "kinochrome"
#: AWS Deadline Cloud accepts a CHUNK[INT] task parameter whose ``defaultTaskCount`` is at most 150 frames
#: (Deadline Cloud's limits for the TASK_CHUNKING extension); OpenJD jobs are chunked at most this long.
DEADLINE_CLOUD_MAX_CHUNK = 150
REFERENCES_DIR = "references"          # the job's copies of the keyframe reference images

# Runs with the install's own Python when a session enters the job environment: puts the install's bin folder
# first on PATH and sets VIRTUAL_ENV for the job's later actions (OpenJD's ``openjd_env:`` stdout protocol).
# Braces are avoided on purpose: every template string is an OpenJD format string.
_ENTER_SCRIPT = (
    "import os, sys; b = sys.argv[1]; "
    "print('openjd_env: PATH=' + b + os.pathsep + os.environ.get('PATH', '')); "
    "print('openjd_env: VIRTUAL_ENV=' + os.path.dirname(b)); "
    "found = any(os.path.isfile(os.path.join(b, n)) for n in ('kinochrome', 'kinochrome.exe')); "
    "sys.exit(0 if found else 'kinochrome: no kinochrome command in ' + b + ' (job parameter KinochromeBin)')"
)


# --------------------------------------------------------------------------------------------------------------
# chunks


def chunk_ranges(first: int, last: int, chunk: int) -> list[tuple[int, int]]:
    """Contiguous inclusive ``(start, end)`` chunks of at most ``chunk`` frames covering ``first..last``.

    The same chunks OpenJD's ``CHUNK[INT]`` parameter makes with ``rangeConstraint: CONTIGUOUS`` and
    ``defaultTaskCount: chunk``: the fewest chunks of at most ``chunk`` frames, balanced so their sizes differ
    by at most one (10 frames, chunk 3 -> 3, 2, 3, 2 frames), so farm tasks and plain commands split a shot
    identically. Raises UsageError for a chunk size below 1 or larger than the shot, and for ``last < first``.
    """
    if last < first:
        raise UsageError(f"frame range {first}-{last}: the last frame is before the first")
    length = last - first + 1
    if chunk < 1:
        raise UsageError(f"chunk size {chunk}: must be at least 1 frame")
    if chunk > length:
        raise UsageError(f"chunk size {chunk}: larger than the shot ({length} frames, {first}-{last})")
    count = -(-length // chunk)
    small, leftovers = divmod(length, count)
    sizes = [small] * count
    for i in range(leftovers):                  # spread the remainder as OpenJD does
        sizes[(i * count) // leftovers] += 1
    ranges, start = [], first
    for size in sizes:
        ranges.append((start, start + size - 1))
        start += size
    return ranges


def _range_text(start: int, end: int) -> str:
    return f"{start}-{end}"


# --------------------------------------------------------------------------------------------------------------
# the validated plan every front end shares


@dataclass(frozen=True)
class FarmJob:
    """A shot checked and resolved for the farm: absolute patterns, the frame range, chunking, the install."""

    shot: str                   # absolute input pattern ('#'-padded), never a folder
    output: str                 # absolute output pattern
    first: int
    last: int
    chunk: int
    preroll: int
    method: str
    model: str
    device: str
    session: str | None         # absolute session file path
    kinochrome_bin: str         # folder holding the `kinochrome` console script
    review: str                 # contact sheet path (next to the output frames)
    name: str                   # job name shown by the farm
    flags: tuple[str, ...] = ()  # colorize flags for settings beyond the job parameters (--colorspace ...)
    keyframes: tuple[Keyframe, ...] = ()  # keyframes to carry when there is no session file (absolute refs)
    overwrite: bool = False     # tasks replace output frames already there (else --resume keeps them)
    existing: int = 0           # output frames of the range on disk when the job was planned
    notes: tuple[str, ...] = ()  # what was changed from the request (a chunk clamped to the farm's limit)

    @property
    def frames(self) -> str:
        return _range_text(self.first, self.last)

    @property
    def chunks(self) -> list[tuple[int, int]]:
        return chunk_ranges(self.first, self.last, self.chunk)


def default_kinochrome_bin() -> Path:
    """The folder of this install's console scripts (the venv's ``bin`` / ``Scripts``), recorded into jobs."""
    scripts = Path(sysconfig.get_path("scripts"))
    if not (scripts / PROGRAM).exists() and not (scripts / f"{PROGRAM}.exe").exists():
        beside = Path(sys.executable).parent
        if (beside / PROGRAM).exists() or (beside / f"{PROGRAM}.exe").exists():
            return beside
    return scripts


def _norm(path: str) -> str:
    return os.path.normcase(os.path.normpath(os.path.abspath(path)))


def _job_name(shot_pattern: str) -> str:
    # The job name is an OpenJD format string: keep braces out, and it must be 1-128 characters.
    base = re.sub(r"[{}\x00-\x1f]", "", os.path.basename(shot_pattern)) or "shot"
    return f"Kinochrome colorize {base}"[:128]


def plan_job(settings: JobSettings, chunk: int, preroll: int, session_path: str | os.PathLike[str] | None = None,
             kinochrome_bin: str | os.PathLike[str] | None = None, max_chunk: int | None = None) -> FarmJob:
    """Check a shot for the farm and resolve everything a task needs. Writes nothing.

    ``max_chunk`` clamps the chunk size (OpenJD jobs: :data:`DEADLINE_CLOUD_MAX_CHUNK`), noted in ``notes``.

    Raises UsageError (chunk size 0 or larger than the shot, negative preroll, unknown method), SequenceError
    (no such shot, missing frames in the range), OutputError (the output would overwrite the input frames), or
    what :func:`kinochrome.core.pipeline.check_job` raises (what every task would fail on).
    """
    from kinochrome.core.model.registry import is_model_path
    from kinochrome.core.pipeline import check_job
    from kinochrome.core.sequence import frame_path, open_shot, output_shot_pattern

    if preroll < 0:
        raise UsageError(f"preroll {preroll}: must be 0 or more frames")
    if settings.method not in METHODS:
        raise UsageError(f"method {settings.method!r}: expected one of {', '.join(METHODS)}")
    if chunk < 1:          # before touching the disk: a bad flag is the cheapest error to report
        raise UsageError(f"chunk size {chunk}: must be at least 1 frame")

    shot = open_shot(settings.input, settings.frames)
    first, last = shot.first, shot.last          # the requested range, or what is on disk
    if shot.missing:
        raise SequenceError(f"{shot.pattern}: missing frames {format_frames(shot.missing)}; a farm job needs "
                            f"every frame (render the gaps or pick a range with --frames)")
    chunk_ranges(first, last, chunk)           # raises for a chunk larger than the shot
    notes: list[str] = []
    if max_chunk is not None and chunk > max_chunk:
        notes.append(f"chunk size {chunk} is more than Deadline Cloud takes for one task ({max_chunk} frames): "
                     f"the job uses chunks of {max_chunk}")
        chunk = max_chunk
    # What each task's colorize would refuse before its first frame (model, device, references, keyframes,
    # empty frame files ...) is refused here, once, instead of by every task on the farm.
    check_job(settings)

    # Tasks get the canonical pattern, never a folder: a folder could hold the output sequence as well once
    # the first chunk has written, and would then be ambiguous.
    shot_pattern = os.path.abspath(shot.pattern)
    # OutputError when any output frame path is an input frame path (same pattern, other padding syntax...).
    output = os.path.abspath(output_shot_pattern(settings.output, shot))
    if _norm(output) == _norm(shot_pattern):
        raise OutputError(f"{output}: the output pattern is the input pattern; choose another output (--output)")

    session = os.path.abspath(session_path) if session_path is not None else None
    if session is not None and not os.path.isfile(session):
        raise UsageError(f"{session}: session file not found")
    binary = os.path.abspath(kinochrome_bin) if kinochrome_bin is not None else str(default_kinochrome_bin())
    keyframes = () if session is not None else tuple(resolved_keyframes(settings))
    model = settings.model or os.environ.get(config.ENV_MODEL) or config.DEFAULT_MODEL
    if settings.method == "model" and is_model_path(model):
        # a weights file given by path: tasks run in another folder (OpenJD's session folder), so they get it
        # absolute. A bare name stays a name, found on each worker (its own $KINOCHROME_MODELS).
        model = os.path.abspath(os.path.expanduser(model))
    existing = sum(os.path.exists(frame_path(output, f)) for f in range(first, last + 1))
    return FarmJob(
        shot=shot_pattern, output=output, first=first, last=last, chunk=chunk, preroll=preroll,
        method=settings.method, model=model,
        device=settings.device or "auto", session=session, kinochrome_bin=binary,
        # one sheet per shot: two shots writing into one folder must not overwrite each other's
        review=os.path.join(os.path.dirname(output), f"{shot_stem(shot_pattern)}_{REVIEW_NAME}"),
        name=_job_name(shot_pattern), flags=tuple(setting_flags(settings)), keyframes=keyframes,
        overwrite=settings.mode == "overwrite", existing=existing, notes=tuple(notes),
    )


# --------------------------------------------------------------------------------------------------------------
# commands


def _colorize_args(shot: str, output: str, frames: str, preroll: str, method: str, model: str, device: str,
                   session: str | None, flags: Sequence[str] = (), overwrite: bool = False) -> list[str]:
    args = ["colorize", shot, "-o", output]
    if session is not None:
        args += ["--session", session]
    # --resume: a retried task keeps the frames it finished; --overwrite: a new look replaces old frames
    args += ["--frames", frames, "--preroll", preroll, "--overwrite" if overwrite else "--resume", "--json",
             "--method", method, "--model", model, "--device", device, *flags]
    return args


def _sheet_args(shot: str, output: str, frames: str, review: str) -> list[str]:
    return ["sheet", shot, output, "--frames", frames, "-o", review]


def job_commands(job: FarmJob, program: str | None = None) -> list[list[str]]:
    """One ``kinochrome colorize`` argument list per chunk of a planned job (``program`` = the executable)."""
    exe = program or os.path.join(job.kinochrome_bin, PROGRAM)
    flags = [*job.flags, *ref_flags(job.keyframes)]
    return [[exe, *_colorize_args(job.shot, job.output, _range_text(a, b), str(job.preroll), job.method,
                                  job.model, job.device, job.session, flags, job.overwrite)]
            for a, b in job.chunks]


def review_command(job: FarmJob, program: str | None = None) -> list[str]:
    """The contact-sheet command to run once every chunk is done."""
    exe = program or os.path.join(job.kinochrome_bin, PROGRAM)
    return [exe, *_sheet_args(job.shot, job.output, job.frames, job.review)]


def chunk_commands(settings: JobSettings, chunk: int, preroll: int, session_path: str | None = None,
                   program: str | None = None) -> list[list[str]]:
    """Per-chunk argument lists for farms that take plain commands (Deadline 10, OpenCue, Tractor).

    Each list starts with the absolute path of this install's ``kinochrome`` (or ``program``) so a worker
    needs no PATH set-up. Hand the list to the farm as an argument vector; for a shell, ``shlex.join`` it.
    """
    return job_commands(plan_job(settings, chunk, preroll, session_path), program)


# --------------------------------------------------------------------------------------------------------------
# OpenJD template


def _path_param(name: str, description: str, default: str | None, *, object_type: str | None = None,
                data_flow: str | None = None, label: str | None = None, control: str | None = None) -> dict:
    param: dict[str, Any] = {"name": name, "type": "PATH", "description": description}
    if object_type:
        param["objectType"] = object_type
    if data_flow:
        param["dataFlow"] = data_flow
    if default is not None:
        param["default"] = default
    if label:
        ui: dict[str, Any] = {"label": label, "groupLabel": "Kinochrome"}
        if control:
            ui["control"] = control
        param["userInterface"] = ui
    return param


def build_openjd_template(job: FarmJob) -> dict[str, Any]:
    """The OpenJD ``jobtemplate-2023-09`` job template (with ``extensions: [TASK_CHUNKING]``) for a planned job.

    Job parameters carry every value, with the job's values as defaults: Shot, Output, Session (only when the
    job has a session), Review, ShotFolder / OutputFolder (job attachments on Deadline Cloud), Method, Model,
    Device, Frames, ChunkSize, Preroll, KinochromeBin. The job environment puts ``{{Param.KinochromeBin}}``
    first on PATH and sets VIRTUAL_ENV; step ``Colorize`` runs one task per contiguous chunk of
    ``{{Param.Frames}}``; step ``ReviewSheet`` depends on it and writes the contact sheet.
    """
    if job.keyframes:
        raise UsageError("keyframes without a session file: write_openjd_job saves them into the job first")
    if any("{{" in flag or "}}" in flag for flag in job.flags):
        raise UsageError(f"setting {next(f for f in job.flags if '{' in f or '}' in f)!r}: '{{{{' and '}}}}' "
                         f"cannot appear in an OpenJD job")
    return {
        "specificationVersion": TEMPLATE_VERSION,
        "extensions": ["TASK_CHUNKING"],
        "name": job.name,
        "description": "Kinochrome: colourise a shot in chunks, then write a review contact sheet.",
        "parameterDefinitions": _template_parameters(job),
        "jobEnvironments": [{
            "name": "KinochromeInstall",
            "description": "Puts the Kinochrome install (KinochromeBin) first on PATH and sets VIRTUAL_ENV.",
            "script": {"actions": {"onEnter": {
                "command": "{{Param.KinochromeBin}}/python",
                "args": ["-c", _ENTER_SCRIPT, "{{Param.KinochromeBin}}"],
            }}},
        }],
        "steps": _template_steps(job),
    }


def _template_parameters(job: FarmJob) -> list[dict[str, Any]]:
    """The job template's parameter definitions, with the job's values as defaults."""
    params: list[dict[str, Any]] = [
        _path_param("Shot", "Input frame pattern (#### = frame number).", job.shot, label="Shot"),
        _path_param("Output", "Output frame pattern.", job.output, label="Output"),
    ]
    if job.session is not None:
        params.append(_path_param("Session", "Kinochrome session file (keyframes, references, settings).",
                                  job.session, object_type="FILE", data_flow="IN", label="Session",
                                  control="CHOOSE_INPUT_FILE"))
    params += [
        _path_param("Review", "Contact sheet written when every chunk is done.", job.review),
        _path_param("ShotFolder", "Folder of the input frames (uploaded by Deadline Cloud job attachments).",
                    os.path.dirname(job.shot), object_type="DIRECTORY", data_flow="IN"),
        _path_param("OutputFolder", "Folder the output frames go to (downloaded by job attachments).",
                    os.path.dirname(job.output), object_type="DIRECTORY", data_flow="OUT"),
        {"name": "Method", "type": "STRING", "description": "Colouriser.", "default": job.method,
         "allowedValues": list(METHODS)},
        # a weights file is a PATH, so that path mapping and job attachments reach it; a name stays a STRING
        # (OpenJD maps only PATH parameters: jobtemplate-2023-09, "Path Mapping")
        (_path_param("Model", "Model weights file (.safetensors).", job.model, object_type="FILE",
                     data_flow="IN") if model_is_file(job) else
         {"name": "Model", "type": "STRING", "description": "Model name (method 'model'); found on each worker.",
          "default": job.model, "minLength": 1}),
        {"name": "Device", "type": "STRING", "description": "auto | cpu | cuda | mps", "default": job.device,
         "minLength": 1},
        {"name": "Frames", "type": "STRING", "description": "Frame range to colourise, e.g. 1001-1100.",
         "default": job.frames, "minLength": 1},
        {"name": "ChunkSize", "type": "INT", "description": "Frames per task.", "default": job.chunk,
         "minValue": 1, "maxValue": DEADLINE_CLOUD_MAX_CHUNK},
        {"name": "Preroll", "type": "INT", "description": "Frames read before each chunk to warm the model.",
         "default": job.preroll, "minValue": 0},
        _path_param("KinochromeBin", "Folder holding the kinochrome command (the install's venv bin).",
                    job.kinochrome_bin, object_type="DIRECTORY"),
    ]
    return params


def _template_steps(job: FarmJob) -> list[dict[str, Any]]:
    """Step ``Colorize`` (one task per contiguous chunk of ``{{Param.Frames}}``) and step ``ReviewSheet``."""
    colorize = _colorize_args("{{Param.Shot}}", "{{Param.Output}}", "{{Task.Param.Frame}}", "{{Param.Preroll}}",
                              "{{Param.Method}}", "{{Param.Model}}", "{{Param.Device}}",
                              "{{Param.Session}}" if job.session is not None else None, job.flags,
                              job.overwrite)
    cancel = {"mode": "NOTIFY_THEN_TERMINATE", "notifyPeriodInSeconds": 30}
    return [
        {
            "name": COLORIZE_STEP,
            "description": "One task per contiguous chunk; each reads Preroll frames before its chunk.",
            "parameterSpace": {"taskParameterDefinitions": [{
                "name": "Frame",
                "type": "CHUNK[INT]",
                "range": "{{Param.Frames}}",
                "chunks": {"defaultTaskCount": "{{Param.ChunkSize}}", "rangeConstraint": "CONTIGUOUS"},
            }]},
            "script": {"actions": {"onRun": {"command": PROGRAM, "args": colorize, "cancelation": cancel}}},
        },
        {
            "name": REVIEW_STEP,
            "description": "Before/after contact sheet of the shot.",
            "dependencies": [{"dependsOn": COLORIZE_STEP}],
            "script": {"actions": {"onRun": {
                "command": PROGRAM,
                "args": _sheet_args("{{Param.Shot}}", "{{Param.Output}}", "{{Param.Frames}}",
                                    "{{Param.Review}}"),
                "cancelation": cancel,
            }}},
        },
    ]


def model_is_file(job: FarmJob) -> bool:
    """True when the job's model is a weights file (a path), not a name each worker looks up."""
    from kinochrome.core.model.registry import is_model_path

    return job.method == "model" and os.path.isabs(job.model) and is_model_path(job.model)


def job_parameter_values(job: FarmJob) -> dict[str, Any]:
    """The job's parameter values (name -> value), as written to the parameter files."""
    values: dict[str, Any] = {"Shot": job.shot, "Output": job.output}
    if job.session is not None:
        values["Session"] = job.session
    values.update({
        "Review": job.review, "ShotFolder": os.path.dirname(job.shot),
        "OutputFolder": os.path.dirname(job.output), "Method": job.method, "Model": job.model,
        "Device": job.device, "Frames": job.frames, "ChunkSize": job.chunk, "Preroll": job.preroll,
        "KinochromeBin": job.kinochrome_bin,
    })
    return values


def _asset_references(job: FarmJob, references: Sequence[str] = ()) -> dict[str, Any]:
    files = [job.session] if job.session else []
    files += list(references)
    if model_is_file(job):
        files.append(job.model)
    return {"assetReferences": {
        "inputs": {"filenames": files, "directories": [os.path.dirname(job.shot)]},
        "outputs": {"directories": [os.path.dirname(job.output)]},
    }}


def _dump(path_stem: Path, doc: Any, *, ascii_only: bool = False, fmt: str | None = None) -> Path:
    """Write ``doc`` as YAML (``path_stem.yaml``) when PyYAML is there, else as JSON; atomically.

    ``ascii_only`` escapes non-ASCII characters (``\\u0141``) so readers that use the locale's encoding (the
    openjd CLI reads parameter files that way) get the same text on every machine.
    """
    if fmt is None:            # PyYAML comes with the `farm` extra (openjd); JSON is equally valid
        fmt = "yaml" if importlib.util.find_spec("yaml") is not None else "json"
    if fmt == "yaml":
        import yaml

        path = path_stem.with_suffix(".yaml")
        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=not ascii_only, width=120)
    else:
        path = path_stem.with_suffix(".json")
        text = json.dumps(doc, indent=2, ensure_ascii=ascii_only) + "\n"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def shot_stem(shot_pattern: str) -> str:
    """The shot's name without frame number or extension: ``/x/sh010.####.exr`` -> ``sh010``."""
    name = os.path.basename(shot_pattern)
    return re.sub(r"[._-]*(#+|@+|%0?\d*d|\$F\d*)?$", "", os.path.splitext(name)[0]) or "shot"


def default_job_dir(shot_pattern: str) -> Path:
    """Where "Send to farm" writes a job: beside the shot, ``/x/sh010.####.exr`` -> ``/x/sh010.openjd``."""
    return Path(os.path.dirname(os.path.abspath(shot_pattern))) / f"{shot_stem(shot_pattern)}.openjd"


def _session_for(job: FarmJob, settings: JobSettings) -> Session:
    return Session(shot=job.shot, frames=(job.first, job.last), colourspace=settings.colourspace,
                   layer=settings.layer, output=job.output, out_bit_depth=settings.out_bit_depth,
                   keyframes=list(job.keyframes), method=job.method, model=job.model,
                   working_size=settings.working_size, ref_strength=settings.ref_strength, reach=settings.reach,
                   device=job.device)


def write_openjd_job(settings: JobSettings, job_dir: str | os.PathLike[str], chunk: int, preroll: int,
                     session_path: str | os.PathLike[str] | None = None,
                     kinochrome_bin: str | os.PathLike[str] | None = None) -> Path:
    """Validate the shot, then write an OpenJD job bundle into ``job_dir``; returns the template's path.

    ``job_dir`` receives ``template.yaml``, ``parameter_values.yaml`` (Deadline Cloud's ``parameterValues``
    list), ``openjd_parameters.json`` (the same values as a mapping, for ``openjd run -p file://...``) and
    ``asset_references.yaml`` (Deadline Cloud job attachments); ``.json`` instead of ``.yaml`` without PyYAML.
    A job with a session (``session_path``, or keyframes in the settings) gets its own ``shot.kinochrome.json``:
    that session's contents with every keyframe reference copied to ``references/`` and named relative to it,
    so the ``Session`` PATH parameter is all a task needs under path mapping or job attachments. A model given
    as a weights file is a PATH parameter too; a model name stays a STRING. Chunks are at most
    :data:`DEADLINE_CLOUD_MAX_CHUNK` frames (``job.notes`` says when that clamped the request).
    The folder is a Deadline Cloud job bundle: ``deadline bundle submit JOBDIR``. Nothing is written (not even
    ``job_dir``) when validation fails: UsageError, SequenceError, OutputError.
    """
    job = plan_job(settings, chunk, preroll, session_path, kinochrome_bin, max_chunk=DEADLINE_CLOUD_MAX_CHUNK)
    job_dir = Path(job_dir).absolute()
    if job_dir.exists() and not job_dir.is_dir():
        raise OutputError(f"{job_dir}: exists and is not a folder")
    # The job carries its own session: the given file (or one made from the settings), its keyframe references
    # copied into the job folder and named relative to the session. OpenJD maps only PATH parameters, so with
    # path mapping or job attachments the Session parameter moves and the references move with it; absolute
    # reference paths inside a session would still name the submitter's disks.
    session: Session | None = None
    copies: list[tuple[str, Path]] = []
    job_session = job_dir / f"{JOB_SESSION_STEM}{SESSION_SUFFIX}"
    if job.session is not None or job.keyframes:
        session = _job_session(job, settings)
        copies = _reference_copies(session, job_dir)
        job = replace(job, session=str(job_session), keyframes=())
    template = build_openjd_template(job)
    values = job_parameter_values(job)
    try:
        job_dir.mkdir(parents=True, exist_ok=True)
        for source, target in copies:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        if session is not None:
            save_session(session, job_session)
        path = _dump(job_dir / TEMPLATE_NAME, template)
        _dump(job_dir / PARAMETER_VALUES_NAME,
              {"parameterValues": [{"name": k, "value": v} for k, v in values.items()]}, ascii_only=True)
        _dump(job_dir / OPENJD_PARAMS_NAME, values, ascii_only=True, fmt="json")
        _dump(job_dir / ASSET_REFERENCES_NAME, _asset_references(job, [str(t) for _, t in copies]),
              ascii_only=True)
    except OSError as exc:
        raise OutputError(f"{job_dir}: cannot write the job ({exc.strerror or exc})") from None
    return path


def _job_session(job: FarmJob, settings: JobSettings) -> Session:
    """The session the job's tasks read: the given session file's contents (keyframes, colour points, strokes,
    every setting), else one made from the settings; references absolute for now."""
    if job.session is not None:
        from kinochrome.core.session import load_session

        session = load_session(job.session)
        keys = [replace(k, reference=session.resolve(k.reference)) for k in session.keyframes]
    else:
        session = _session_for(job, settings)
        keys = list(session.keyframes)
    session.keyframes = keys
    session.shot, session.output = job.shot, job.output
    session.path = None
    return session


def _reference_copies(session: Session, job_dir: Path) -> list[tuple[str, Path]]:
    """Point the session's references at copies under ``job_dir/references`` (relative names); the copies to
    make. UsageError for a reference that is not there."""
    copies: list[tuple[str, Path]] = []
    seen: dict[str, str] = {}
    for i, key in enumerate(session.keyframes):
        ref = key.reference
        if not ref:
            continue
        if not os.path.isfile(ref):
            raise UsageError(f"keyframe {key.frame}: reference {ref} not found")
        if ref not in seen:
            name = f"{key.frame}_{i}_{os.path.basename(ref)}"
            seen[ref] = f"{REFERENCES_DIR}/{name}"
            copies.append((ref, job_dir / REFERENCES_DIR / name))
        session.keyframes[i] = replace(key, reference=seen[ref])
    return copies


# --------------------------------------------------------------------------------------------------------------
# command line: `kinochrome farm openjd|commands`


def _settings_from_args(args: Any) -> tuple[JobSettings, str | None]:
    from kinochrome.core.session import load_session

    overrides = {"output": args.output, "method": args.method, "model": args.model, "device": args.device,
                 "frames": _parse_frames(args.frames) if args.frames else None,
                 "mode": "overwrite" if args.overwrite else None}
    source = args.source
    if source.endswith(SESSION_SUFFIX) or (source.endswith(".json") and os.path.isfile(source)):
        session = load_session(source)
        return JobSettings.from_session(session, **overrides), str(session.path)
    settings = JobSettings(input=source)
    for key, value in overrides.items():
        if value is not None:
            setattr(settings, key, value)
    return settings, None


def _parse_frames(text: str) -> tuple[int, int]:
    from kinochrome.core.sequence import parse_frame_range

    return parse_frame_range(text)


def _warn_kept(job: FarmJob) -> None:
    """Frames of an earlier run would be kept by every task's --resume: say so, since a new look would not
    reach them."""
    if job.existing and not job.overwrite:
        print(f"kinochrome farm: warning: {job.existing} output frame(s) of {job.frames} exist in "
              f"{os.path.dirname(job.output)}; tasks keep them (--resume). If the look changed since, write the "
              "job with --overwrite.", file=sys.stderr)


def _run_openjd(args: Any) -> int:
    settings, session = _settings_from_args(args)
    planned = plan_job(settings, args.chunk, args.preroll, session, args.bin, max_chunk=DEADLINE_CLOUD_MAX_CHUNK)
    _warn_kept(planned)
    for note in planned.notes:
        print(f"kinochrome farm: warning: {note}", file=sys.stderr)
    job_dir = args.job_dir
    if job_dir is None:
        from kinochrome.core.sequence import open_shot

        job_dir = default_job_dir(open_shot(settings.input, settings.frames).pattern)
    template = write_openjd_job(settings, job_dir, args.chunk, args.preroll, session, args.bin)
    job_dir = template.parent
    params = job_dir / f"{OPENJD_PARAMS_NAME}.json"
    if args.json:
        print(json.dumps({"job_dir": str(job_dir), "template": str(template), "parameters": str(params)}))
    else:
        print(f"wrote {job_dir}")
        print(f"  run here:       {shlex.join(['openjd', 'run', str(template), '-p', f'file://{params}'])}")
        print(f"  Deadline Cloud: {shlex.join(['deadline', 'bundle', 'submit', str(job_dir)])}")
    return 0


def _run_commands(args: Any) -> int:
    settings, session = _settings_from_args(args)
    job = plan_job(settings, args.chunk, args.preroll, session, args.bin)
    _warn_kept(job)
    commands = job_commands(job)
    if args.review:
        commands.append(review_command(job))
    if args.json:
        print(json.dumps(commands, ensure_ascii=False))
    else:
        for command in commands:
            print(shlex.join(command))
    return 0


def _guarded(func: Any) -> Any:
    def run(args: Any) -> int:
        try:
            return func(args)
        except KinochromeError as err:
            if getattr(args, "json", False):
                print(json.dumps({"event": "error", "message": str(err), "exit_code": err.exit_code}), flush=True)
            print(f"kinochrome: error: {err}", file=sys.stderr)
            return err.exit_code
    return run


def _common(parser: Any) -> None:
    parser.add_argument("source", metavar="SHOT_OR_SESSION",
                        help="frame pattern (shot.####.exr), folder, or session file (*.kinochrome.json)")
    parser.add_argument("--chunk", type=int, required=True, help="frames per task, e.g. 50")
    parser.add_argument("--preroll", type=int, default=config.DEFAULT_PREROLL,
                        help=f"frames read before each chunk to warm the model (default {config.DEFAULT_PREROLL})")
    parser.add_argument("--output", help="output frame pattern (default: beside the shot with _kino)")
    parser.add_argument("--method", choices=METHODS, help="colouriser (default: the session's, else model)")
    parser.add_argument("--model", help="model name or path")
    parser.add_argument("--device", help="auto | cpu | cuda | mps")
    parser.add_argument("--frames", help="frame range FIRST-LAST (default: the whole shot)")
    parser.add_argument("--bin", metavar="DIR",
                        help="folder holding kinochrome on the workers (default: this install's)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--overwrite", action="store_true",
                        help="tasks replace output frames already there (after a look change); default: tasks "
                             "--resume, keeping frames a retried task finished")


def add_parser(subparsers: Any) -> None:
    """Register ``kinochrome farm openjd|commands`` on the CLI's subparsers; sets ``func`` on each parser."""
    farm = subparsers.add_parser("farm", help="split a shot into chunks for a render farm",
                                 description="Render-farm distribution: OpenJD job bundles or plain commands.")
    sub = farm.add_subparsers(dest="farm_command", metavar="{openjd,commands}")
    sub.required = True

    openjd = sub.add_parser("openjd", help="write an OpenJD job bundle (Deadline Cloud, `openjd run`)")
    _common(openjd)
    openjd.add_argument("-o", "--job-dir", dest="job_dir", metavar="JOBDIR",
                        help="folder to write the job bundle into (default: SHOT.openjd beside the shot's frames)")
    openjd.set_defaults(func=_guarded(_run_openjd))

    commands = sub.add_parser("commands", help="print one kinochrome command per chunk")
    _common(commands)
    commands.add_argument("--review", action="store_true", help="also print the contact-sheet command")
    commands.set_defaults(func=_guarded(_run_commands))
