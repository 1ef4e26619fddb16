"""The session file: one versioned JSON format shared by the CLI, the panel, Nuke, Resolve and farm jobs.

A session (``SHOT.kinochrome.json``) names the shot, its colourspace, the keyframes with their colour
references and colour points, the output and the model settings. Relative paths inside it are relative
to the session file's folder. ``load_session`` validates every field and raises :class:`SessionError`
whose message names the file and the bad field, e.g.
``shot.kinochrome.json: keyframes[0].points[1].x: expected a number, got 'abc'``.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import config
from .errors import SessionError
from .jsonfile import read_json_file

SESSION_VERSION = 1
SESSION_SUFFIX = ".kinochrome.json"
METHODS = ("model", "histogram", "reinhard", "knn")
REFERENCE_KINDS = ("auto", "painted", "exemplar")
#: Largest point or stroke radius, pixels (a 16K frame's diagonal is under 20000).
MAX_RADIUS = 100_000.0
#: Largest coordinate accepted before the frame-size check (which needs the shot) runs.
MAX_COORDINATE = 1e9


@dataclass
class ColourPoint:
    """A colour hint at image coordinates (pixels of the full-resolution frame, origin top-left).

    ``colour`` is display sRGB-encoded RGB in [0, 1]; ``radius`` in pixels.
    """

    x: float
    y: float
    colour: tuple[float, float, float]
    radius: float = 8.0


@dataclass
class Stroke:
    """A painted stroke: a polyline of ``(x, y)`` points with one sRGB colour and a radius in pixels."""

    points: list[tuple[float, float]]
    colour: tuple[float, float, float]
    radius: float = 4.0


@dataclass
class Keyframe:
    """A frame the artist gave colour to.

    ``reference``: a colour image; ``kind`` says whether it is the painted keyframe itself (``painted``),
    a different still of similar content (``exemplar``), or to be decided from its content (``auto``).
    """

    frame: int
    reference: str | None = None
    kind: str = "auto"
    points: list[ColourPoint] = field(default_factory=list)
    strokes: list[Stroke] = field(default_factory=list)


@dataclass
class Session:
    shot: str                                   # pattern, folder or file
    frames: tuple[int, int] | None = None       # inclusive range; None = whole shot
    colourspace: str = "auto"
    layer: str | None = None
    output: str | None = None                   # output pattern; None = beside the shot with _kino
    out_bit_depth: str | None = None
    keyframes: list[Keyframe] = field(default_factory=list)
    method: str = config.DEFAULT_METHOD
    model: str | None = None
    working_size: int = config.DEFAULT_WORKING_SIZE
    ref_strength: float = config.DEFAULT_REF_STRENGTH
    reach: int = config.DEFAULT_REACH
    device: str = "auto"
    path: Path | None = field(default=None, compare=False)   # where it was loaded from / saved to

    def keyframe(self, frame: int) -> Keyframe | None:
        return next((k for k in self.keyframes if k.frame == frame), None)

    def resolve(self, value: str | None) -> str | None:
        """A path from the session made absolute against the session file's folder."""
        return resolve_path(value, self.path.parent) if self.path is not None else value


def resolve_path(value: str | None, base_dir: str | os.PathLike[str] | None) -> str | None:
    """The one resolver for paths relative to a session file: ``value`` made absolute against ``base_dir``
    (the session file's folder; None: the current folder) unless it is absolute already; None stays None.
    Symlinks are kept (``Path.resolve()`` raises on a loop, and readers name the file as given)."""
    if value is None or os.path.isabs(value):
        return value
    return os.path.abspath(os.path.join(base_dir if base_dir is not None else os.getcwd(), value))


def session_to_dict(session: Session) -> dict[str, Any]:
    """The JSON document of a session (version stamped, paths as stored)."""
    keyframes = []
    for k in sorted(session.keyframes, key=lambda k: k.frame):
        d = asdict(k)
        d["points"] = [dict(p, colour=list(p["colour"])) for p in d["points"]]
        d["strokes"] = [dict(s, points=[list(p) for p in s["points"]], colour=list(s["colour"]))
                        for s in d["strokes"]]
        keyframes.append(d)
    return {
        "kinochrome_session": SESSION_VERSION,
        "shot": {"path": session.shot, "frames": list(session.frames) if session.frames else None,
                 "colourspace": session.colourspace, "layer": session.layer},
        "output": {"path": session.output, "bit_depth": session.out_bit_depth},
        "keyframes": keyframes,
        "settings": {"method": session.method, "model": session.model, "working_size": session.working_size,
                     "ref_strength": session.ref_strength, "reach": session.reach, "device": session.device},
    }


def save_session(session: Session, path: str | os.PathLike[str]) -> Path:
    """Write the session atomically (temp file in the same folder, then rename). Returns the path."""
    path = Path(path)
    text = json.dumps(session_to_dict(session), indent=2, ensure_ascii=False) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, config.new_file_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    session.path = path
    return path


def load_session(path: str | os.PathLike[str]) -> Session:
    """Read and validate a session file; raises SessionError naming the file and field."""
    path = Path(path)
    doc = read_json_file(path, SessionError, "session file", config.MAX_SESSION_BYTES)
    session = session_from_dict(doc, source=path.name)
    session.path = path.resolve()
    return session


class _Reader:
    """Typed field access that raises SessionError naming the field path."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, where: str, what: str, got: Any) -> SessionError:
        try:
            shown = repr(got)
        except ValueError:  # an int too long to print
            shown = f"an integer of over {4300} digits"
        if len(shown) > 80:  # a whole document where an object belongs would not make a one-line error
            shown = shown[:60] + f"... ({type(got).__name__})"
        return SessionError(f"{self.source}: {where}: {what}, got {shown}")

    def obj(self, doc: Any, where: str) -> dict[str, Any]:
        if not isinstance(doc, dict):
            raise self.fail(where, "expected an object", doc)
        return doc

    def known(self, doc: dict[str, Any], where: str, fields: tuple[str, ...]) -> None:
        """SessionError for a field this format does not have (a typo would otherwise be dropped silently:
        ``"refrence"`` would colour the shot without its reference). Names starting with ``_`` are the
        user's own (notes, pipeline tags) and are kept out of the way."""
        for key in doc:
            if key in fields or (isinstance(key, str) and key.startswith("_")):
                continue
            here = f"{where}.{key}" if where else key
            close = difflib.get_close_matches(str(key), fields, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known fields: {', '.join(fields)}"
            raise SessionError(f"{self.source}: {here}: unknown field ({hint})")

    def xy(self, value: Any, where: str) -> tuple[float, float]:
        if (isinstance(value, list) and len(value) == 2
                and all(isinstance(c, (int, float)) and not isinstance(c, bool) and abs(c) <= MAX_COORDINATE
                        for c in value)):  # NaN fails the comparison, so it is refused too
            return float(value[0]), float(value[1])
        raise self.fail(where, f"expected [x, y] finite numbers within +-{MAX_COORDINATE:g}", value)

    def get(self, doc: dict[str, Any], key: str, where: str, kind: str, default: Any = ...,
            choices: tuple[str, ...] | None = None) -> Any:
        here = f"{where}.{key}" if where else key
        if key not in doc or doc[key] is None:
            if default is ...:
                raise SessionError(f"{self.source}: {here}: required field is missing")
            return default
        value = doc[key]
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, int) or abs(value) >= 10 ** 15:
                raise self.fail(here, "expected an integer (up to 15 digits)", value)
        elif kind == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.fail(here, "expected a number", value)
            try:
                value = float(value)
            except OverflowError:
                value = math.inf
            if not math.isfinite(value) or abs(value) > MAX_COORDINATE:
                raise self.fail(here, f"expected a finite number within +-{MAX_COORDINATE:g}", value)
        elif kind == "str":
            if not isinstance(value, str) or not value:
                raise self.fail(here, "expected a non-empty string", value)
            if choices and value not in choices:
                raise self.fail(here, f"expected one of {', '.join(choices)}", value)
        elif kind == "list":
            if not isinstance(value, list):
                raise self.fail(here, "expected a list", value)
        elif kind == "obj":
            value = self.obj(value, here)
        return value

    def colour(self, value: Any, where: str) -> tuple[float, float, float]:
        if isinstance(value, str) and value.startswith("#") and len(value) == 7:
            try:
                return tuple(int(value[i:i + 2], 16) / 255.0 for i in (1, 3, 5))  # type: ignore[return-value]
            except ValueError:
                pass
        if (isinstance(value, list) and len(value) == 3
                and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in value)
                and all(0.0 <= c <= 1.0 for c in value)):
            return (float(value[0]), float(value[1]), float(value[2]))
        raise self.fail(where, "expected [r, g, b] in 0..1 or '#rrggbb'", value)


def _radius(r: _Reader, d: dict[str, Any], where: str, default: float) -> float:
    radius = r.get(d, "radius", where, "number", default)
    if not 0 < radius <= MAX_RADIUS:
        raise r.fail(f"{where}.radius", f"expected a radius in (0, {MAX_RADIUS:g}] pixels", radius)
    return radius


def _keyframe_from_dict(r: _Reader, kd: Any, where: str) -> Keyframe:
    """One keyframe of a session document (its points and strokes validated), errors naming ``where``."""
    kd = r.obj(kd, where)
    r.known(kd, where, ("frame", "reference", "kind", "points", "strokes"))
    frame = r.get(kd, "frame", where, "int")
    points = []
    for j, pd in enumerate(r.get(kd, "points", where, "list", [])):
        pw = f"{where}.points[{j}]"
        pd = r.obj(pd, pw)
        r.known(pd, pw, ("x", "y", "colour", "radius"))
        radius = _radius(r, pd, pw, 8.0)
        points.append(ColourPoint(x=r.get(pd, "x", pw, "number"), y=r.get(pd, "y", pw, "number"),
                                  colour=r.colour(pd.get("colour"), f"{pw}.colour"), radius=radius))
    strokes = []
    for j, sd in enumerate(r.get(kd, "strokes", where, "list", [])):
        sw = f"{where}.strokes[{j}]"
        sd = r.obj(sd, sw)
        r.known(sd, sw, ("points", "colour", "radius"))
        pts = r.get(sd, "points", sw, "list")
        if not pts:
            raise r.fail(f"{sw}.points", "expected a list of [x, y]", pts)
        radius = _radius(r, sd, sw, 4.0)
        strokes.append(Stroke(points=[r.xy(p, f"{sw}.points[{n}]") for n, p in enumerate(pts)],
                              colour=r.colour(sd.get("colour"), f"{sw}.colour"), radius=radius))
    return Keyframe(frame=frame, reference=r.get(kd, "reference", where, "str", None),
                    kind=r.get(kd, "kind", where, "str", "auto", REFERENCE_KINDS), points=points, strokes=strokes)


def session_from_dict(doc: Any, source: str = "session") -> Session:
    """Validate a parsed session document and build a Session; errors name ``source`` and the field."""
    r = _Reader(source)
    doc = r.obj(doc, "document")
    version = doc.get("kinochrome_session")
    if isinstance(version, bool) or not isinstance(version, int):
        raise r.fail("kinochrome_session", "expected the format version (an integer)", version)
    if version > 1_000_000:
        raise r.fail("kinochrome_session", "expected the format version (a small integer)", version)
    if version > SESSION_VERSION:
        raise SessionError(f"{source}: written by a newer Kinochrome (session format {version}; "
                           f"this version reads up to {SESSION_VERSION}): upgrade Kinochrome")
    if version < 1:
        raise r.fail("kinochrome_session", "expected a version >= 1", version)

    r.known(doc, "", ("kinochrome_session", "shot", "output", "keyframes", "settings"))
    shot = r.get(doc, "shot", "", "obj")
    r.known(shot, "shot", ("path", "frames", "colourspace", "layer"))
    frames = r.get(shot, "frames", "shot", "list", None)
    if frames is not None:
        if (len(frames) != 2 or any(isinstance(f, bool) or not isinstance(f, int) or abs(f) >= 10 ** 15
                                    for f in frames) or frames[0] > frames[1]):
            raise r.fail("shot.frames", "expected [first, last] integers (up to 15 digits) with first <= last",
                         frames)
        frames = (frames[0], frames[1])
    output = r.get(doc, "output", "", "obj", {})
    r.known(output, "output", ("path", "bit_depth"))
    settings = r.get(doc, "settings", "", "obj", {})
    r.known(settings, "settings", ("method", "model", "working_size", "ref_strength", "reach", "device"))

    keyframes: list[Keyframe] = []
    seen: set[int] = set()
    for i, kd in enumerate(r.get(doc, "keyframes", "", "list", [])):
        keyframe = _keyframe_from_dict(r, kd, f"keyframes[{i}]")
        if keyframe.frame in seen:
            raise r.fail(f"keyframes[{i}].frame", "duplicate keyframe", keyframe.frame)
        seen.add(keyframe.frame)
        keyframes.append(keyframe)

    working_size = r.get(settings, "working_size", "settings", "int", config.DEFAULT_WORKING_SIZE)
    if not 64 <= working_size <= 4096:
        raise r.fail("settings.working_size", "expected 64..4096 pixels", working_size)
    ref_strength = r.get(settings, "ref_strength", "settings", "number", config.DEFAULT_REF_STRENGTH)
    if not 0.0 <= ref_strength <= 1.0:
        raise r.fail("settings.ref_strength", "expected 0..1", ref_strength)
    reach = r.get(settings, "reach", "settings", "int", config.DEFAULT_REACH)
    if reach < 0:
        raise r.fail("settings.reach", "expected a non-negative number of frames", reach)
    return Session(
        shot=r.get(shot, "path", "shot", "str"),
        frames=frames,
        colourspace=r.get(shot, "colourspace", "shot", "str", "auto"),
        layer=r.get(shot, "layer", "shot", "str", None),
        output=r.get(output, "path", "output", "str", None),
        out_bit_depth=r.get(output, "bit_depth", "output", "str", None, config.BIT_DEPTH_NAMES),
        keyframes=sorted(keyframes, key=lambda k: k.frame),
        method=r.get(settings, "method", "settings", "str", config.DEFAULT_METHOD, METHODS),
        model=r.get(settings, "model", "settings", "str", None),
        working_size=working_size,
        ref_strength=ref_strength,
        reach=reach,
        device=r.get(settings, "device", "settings", "str", "auto", config.DEVICES),
    )


def session_path_for(shot_pattern: str) -> Path:
    """Default session path beside a shot: ``/x/shot.####.exr`` -> ``/x/shot.kinochrome.json``."""
    p = Path(shot_pattern)
    if p.is_dir():
        return p / ("shot" + SESSION_SUFFIX)
    stem = p.name.split("#")[0].split("%")[0].split("@")[0].rstrip("._-") or "shot"
    if stem == p.name:
        stem = p.stem
    return p.parent / (stem + SESSION_SUFFIX)
