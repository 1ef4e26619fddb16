"""Frame sequences: the patterns artists type, folders holding a shot, single files, frame ranges.

Why two libraries:

* **fileseq** parses every pattern syntax artists type -- ``shot.####.exr``, ``shot.%04d.exr``,
  ``shot.@@@@.exr``, ``shot.$F4.exr`` and ``shot.1001-1100#.exr`` -- and turns a frame number into
  a path. pyseq cannot: it does not parse ``####`` or ``@`` (``uncompress`` returns None) and has no
  frame-to-path method. fileseq is configured with ``PAD_STYLE_HASH1`` so that each ``#`` is one
  digit, as in Nuke: ``####`` means 4-digit padding (fileseq's default HASH4 would read it as 16).
  As in Nuke, padding is a minimum width: ``shot.####.exr`` also matches ``shot.10000.exr``.
* **pyseq** discovers the sequences in a folder (``get_sequences``), which is what we need when the
  user points at a directory holding one shot. It skips dotfiles, so our temp files stay invisible.

Canonical form: every :class:`Shot` carries an absolute pattern with ``#`` padding (``/x/shot.####.exr``);
a single file's pattern is the file path itself.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import fileseq

from . import config
from .config import OUTPUT_SUFFIX
from .errors import OutputError, SequenceError, UsageError

PAD_STYLE = fileseq.PAD_STYLE_HASH1  # '#' = one digit, like Nuke
_TOKEN_RE = re.compile(r"#+|@+|%0?\d*d|\$F\d*")
_RANGE_RE = re.compile(r"^\s*(-?\d{1,15})\s*(?:-\s*(-?\d{1,15})\s*)?$")  # 15 digits: no absurd ints
_TRAILING_NUMBER_RE = re.compile(r"^(.*?)(\d+)(\.[^./\\]+)$")


@dataclass(frozen=True)
class Shot:
    """A shot on disk: a frame pattern and the frames found for a frame range.

    ``pattern`` is absolute and ``#``-padded (``/x/shot.####.exr``); for a single file it is the file
    path. ``first``/``last`` are the requested range (or what is on disk); ``frames`` are the frame
    numbers present within it and ``missing`` those absent.
    """

    pattern: str
    first: int
    last: int
    frames: tuple[int, ...]
    missing: tuple[int, ...]
    padding: int

    @property
    def is_single_file(self) -> bool:
        """True when the shot is one file with no frame token (a still or a lone frame)."""
        return not has_frame_token(self.pattern)

    @property
    def frame_range(self) -> range:
        """All frame numbers from ``first`` to ``last`` inclusive."""
        return range(self.first, self.last + 1)

    def path(self, frame: int) -> str:
        """The file path of frame number ``frame`` (for a single file: the file itself)."""
        if self.is_single_file:
            return self.pattern
        return frame_path(self.pattern, frame)

    def paths(self) -> list[str]:
        """The paths of the frames present on disk, in frame order."""
        return [self.path(f) for f in self.frames]


def has_frame_token(pattern: str) -> bool:
    """True if the file name of ``pattern`` holds a frame token (``####``, ``@@@@``, ``%04d``, ``$F4``)."""
    return bool(_TOKEN_RE.search(os.path.basename(pattern)))


@lru_cache(maxsize=256)
def _parse(pattern: str) -> fileseq.FileSequence:
    try:
        return fileseq.FileSequence(pattern, pad_style=PAD_STYLE)
    except fileseq.ParseException as exc:  # pragma: no cover - fileseq accepts nearly anything
        raise SequenceError(f"{pattern}: cannot parse as a frame pattern ({exc})") from exc


def _split(pattern: str) -> tuple[str, str, int, str]:
    """``pattern`` with a frame token -> (folder, head, padding, tail), e.g. ('/x', 'shot.', 4, '.exr').

    ``folder`` is '' for a bare file name.
    """
    # only the file name holds the frame token: a folder named "take #2" or "reel @5" is just a folder
    seq = _parse(os.path.basename(pattern))
    return os.path.dirname(pattern), seq.basename(), max(seq.zfill(), 1), seq.extension()


def canonical_pattern(pattern: str) -> str:
    """Any pattern syntax -> absolute ``#``-padded form; ``shot.%04d.exr`` -> ``/abs/shot.####.exr``."""
    pattern = os.path.abspath(os.path.expanduser(pattern))
    if not has_frame_token(pattern):
        return pattern
    folder, head, padding, tail = _split(pattern)
    return os.path.join(folder, f"{head}{'#' * padding}{tail}")


def frame_path(pattern: str, frame: int) -> str:
    """The path of ``frame`` in ``pattern`` (any syntax); padding is a minimum width, as in Nuke.

    A pattern without a frame token is returned unchanged.
    """
    if not has_frame_token(pattern):
        return pattern
    folder, head, padding, tail = _split(pattern)
    number = f"-{abs(frame):0{padding}d}" if frame < 0 else f"{frame:0{padding}d}"
    return os.path.join(folder, f"{head}{number}{tail}")


def parse_frame_range(text: str) -> tuple[int, int]:
    """``"1001-1100"`` -> (1001, 1100); ``"1001"`` -> (1001, 1001). UsageError otherwise."""
    match = _RANGE_RE.match(str(text)[:100])
    if not match:
        shown = repr(text) if len(str(text)) <= 40 else repr(str(text)[:30]) + f"... ({len(str(text))} characters)"
        raise UsageError(f"--frames: expected A-B (frame numbers of up to 15 digits), got {shown}")
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) is not None else first
    if last < first:
        raise UsageError(f"--frames: expected A-B with A <= B, got {text!r}")
    return first, last


def _frames_on_disk(folder: str, head: str, padding: int, tail: str) -> dict[int, str]:
    """Frame number -> file name for the files in ``folder`` matching head + digits + tail."""
    number = re.compile(rf"^{re.escape(head)}(-?\d+){re.escape(tail)}$")
    found: dict[int, str] = {}
    try:
        names = os.listdir(folder or ".")
    except OSError:
        return found
    for name in names:
        match = number.match(name)
        if not match or len(match.group(1)) > 15 or not os.path.isfile(os.path.join(folder or ".", name)):
            continue  # a folder named like a frame is not a frame
        digits = match.group(1).lstrip("-")
        # Nuke semantics: exactly `padding` digits, or more digits without a leading zero (10000 in ####).
        if len(digits) == padding or (len(digits) > padding and not digits.startswith("0")):
            found.setdefault(int(match.group(1)), name)
    return found


def check_frame_range(first: int, last: int, shown: str, on_disk: set[int] | None = None) -> None:
    """SequenceError for a range longer than :func:`config.max_frames` (a typo such as 1001-1000000000000,
    which would otherwise be walked frame by frame), naming the range, the limit and what is on disk."""
    limit = config.max_frames()
    if last - first + 1 > limit:
        disk = f"; on disk: {min(on_disk)}-{max(on_disk)}" if on_disk else ""
        raise SequenceError(f"{shown}: frames {first}-{last} are {last - first + 1} frames, over the limit of "
                            f"{limit} (set {config.ENV_MAX_FRAMES} to raise it){disk}")


def _make_shot(pattern: str, on_disk: set[int], frames: tuple[int, int] | None, padding: int) -> Shot:
    if frames is None:
        first, last = min(on_disk), max(on_disk)
    else:
        first, last = frames
    check_frame_range(first, last, pattern, on_disk)
    present = tuple(sorted(f for f in on_disk if first <= f <= last))
    have = set(present)
    missing = tuple(f for f in range(first, last + 1) if f not in have)
    return Shot(pattern=pattern, first=first, last=last, frames=present, missing=missing, padding=padding)


def _open_pattern(pattern: str, frames: tuple[int, int] | None, shown: str) -> Shot:
    seq = _parse(os.path.basename(pattern))
    if frames is None and seq.frameRange():
        # `shot.1001-1100#.exr` carries its own range.
        frame_set = seq.frameSet()
        frames = (min(frame_set), max(frame_set))
    folder, head, padding, tail = _split(pattern)
    on_disk = _frames_on_disk(folder, head, padding, tail)
    if not on_disk:
        raise SequenceError(f"{shown}: matches no files")
    canonical = os.path.join(folder, f"{head}{'#' * padding}{tail}")
    return _make_shot(canonical, set(on_disk), frames, padding)


def _image_extensions() -> set[str]:
    """File extensions OpenImageIO can read, lower case with the dot."""
    import OpenImageIO as oiio  # local: sequence parsing must not need OIIO loaded

    exts: set[str] = set()
    for entry in oiio.get_string_attribute("extension_list").split(";"):
        _, _, names = entry.partition(":")
        exts.update("." + e.lower() for e in names.split(",") if e)
    return exts


def _single_file_shot(path: str, frames: tuple[int, int] | None) -> Shot:
    """A lone file: frame number from the trailing digits of its name, 1 if none."""
    match = _TRAILING_NUMBER_RE.match(os.path.basename(path))
    frame, padding = (int(match.group(2)), len(match.group(2))) if match else (1, 0)
    return _make_shot(path, {frame}, frames, padding)


def _open_folder(folder: str, frames: tuple[int, int] | None, shown: str) -> Shot:
    import pyseq

    exts = _image_extensions()
    found = [s for s in pyseq.get_sequences(folder) if os.path.splitext(s[0].name)[1].lower() in exts]
    multi = [s for s in found if len(s) > 1]
    if len(multi) == 1:
        seq = multi[0]
        digits = min(len(str(item.name)[len(seq.head()):len(str(item.name)) - len(seq.tail())]) for item in seq)
        pattern = os.path.join(folder, f"{seq.head()}{'#' * digits}{seq.tail()}")
        return _open_pattern(pattern, frames, shown)
    if len(multi) > 1:
        names = ", ".join(sorted(s.format("%h%p%t") for s in multi))
        raise SequenceError(f"{shown}: folder holds {len(multi)} sequences ({names}); pass a pattern")
    if len(found) == 1:
        return _single_file_shot(os.path.join(folder, found[0][0].name), frames)
    if found:
        raise SequenceError(f"{shown}: folder holds {len(found)} single images and no sequence; pass a pattern")
    raise SequenceError(f"{shown}: matches no files")


def open_shot(path: str, frames: tuple[int, int] | None = None) -> Shot:
    """Find a shot: a pattern (``####``, ``%04d``, ``@@@@``), a folder holding one sequence, or one file.

    ``frames`` (first, last) is the requested range; frames in it that are not on disk are reported in
    ``Shot.missing`` (deciding what to do about them is the caller's business). Without ``frames`` the
    range is what is on disk. SequenceError ``"shot.####.exr: matches no files"`` when nothing matches.
    """
    shown = path
    path = os.path.abspath(os.path.expanduser(path))
    if os.path.isdir(path):
        return _open_folder(path, frames, shown)
    if os.path.isfile(path):
        return _single_file_shot(path, frames)
    if has_frame_token(path):
        return _open_pattern(path, frames, shown)
    raise SequenceError(f"{shown}: matches no files")


def _default_output(shot: Shot) -> str:
    """``/x/shot.####.exr`` -> ``/x/shot_kino.####.exr``; ``/x/photo.jpg`` -> ``/x/photo_kino.jpg``."""
    if shot.is_single_file:
        match = _TRAILING_NUMBER_RE.match(os.path.basename(shot.pattern))
        if match and match.group(1)[-1:] in "._-" and match.group(1):
            head, number, tail = match.groups()
            sep = head[-1]
            stem = head[:-1] + OUTPUT_SUFFIX + sep
            return os.path.join(os.path.dirname(shot.pattern), f"{stem}{number}{tail}")
        stem, ext = os.path.splitext(shot.pattern)
        return f"{stem}{OUTPUT_SUFFIX}{ext}"
    folder, head, padding, tail = _split(shot.pattern)
    sep = head[-1] if head[-1:] in "._-" else ""
    stem = head[: len(head) - len(sep)]
    stem = f"{stem}{OUTPUT_SUFFIX}" if stem else OUTPUT_SUFFIX.lstrip("_")
    return os.path.join(folder, f"{stem}{sep or '.'}{'#' * padding}{tail}")


def same_file(a: str, b: str) -> bool:
    """True when two paths name the same file (symlinks and ``..`` resolved; either may not exist)."""
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def output_shot_pattern(output: str | None, shot: Shot) -> str:
    """The canonical output pattern for ``shot``.

    ``output`` None -> beside the input with the ``_kino`` suffix (``shot.####.exr`` ->
    ``shot_kino.####.exr``). An existing folder (or a path ending in ``/``) -> the input's file name in
    that folder. ``####``, ``%04d``, ``@@@@`` are accepted and returned ``#``-padded. OutputError when
    the output has no frame token but the input has several frames, or when any output frame path is
    an input frame path.
    """
    if output is None:
        result = _default_output(shot)
    else:
        expanded = os.path.abspath(os.path.expanduser(output))
        if os.path.isdir(expanded) or output.endswith(("/", os.sep)):
            expanded = os.path.join(expanded, os.path.basename(shot.pattern))
        if has_frame_token(expanded):
            result = canonical_pattern(expanded)
        elif shot.first != shot.last:
            raise OutputError(
                f"{output}: no frame token (####, %04d or @@@@) for a {shot.last - shot.first + 1}-frame input")
        else:
            result = expanded
    for frame in shot.frames:
        if same_file(frame_path(result, frame), shot.path(frame)):
            raise OutputError(f"{output or result}: output is the input ({shot.path(frame)}); choose another output")
    return result


def pattern_frame(pattern: str, path: str) -> int | None:
    """The frame number ``path`` has in ``pattern`` (folders compared resolved), None when it is not one of
    its frames. For a pattern without a frame token: 0 when ``path`` is that file."""
    if not has_frame_token(pattern):
        return 0 if same_file(pattern, path) else None
    folder, head, padding, tail = _split(pattern)
    if os.path.normcase(os.path.realpath(folder or ".")) != os.path.normcase(os.path.realpath(os.path.dirname(
            os.path.abspath(path)))):
        return None
    match = re.match(rf"^{re.escape(head)}(-?\d+){re.escape(tail)}$", os.path.basename(path))
    if not match:
        return None
    digits = match.group(1).lstrip("-")
    if len(digits) == padding or (len(digits) > padding and not digits.startswith("0")):
        return int(match.group(1))
    return None


def format_frames(frames: Iterable[int], limit: int | None = 12, sep: str = ", ") -> str:
    """Frame numbers as a compact list, the one formatter of frame lists: ``[1001, 1002, 1003, 1007]`` ->
    ``'1001-1003, 1007'``; past ``limit`` runs the rest is ``'... (N frames)'`` (None: no limit)."""
    frames = sorted(frames)
    parts: list[str] = []
    i = 0
    while i < len(frames):
        j = i
        while j + 1 < len(frames) and frames[j + 1] == frames[j] + 1:
            j += 1
        parts.append(str(frames[i]) if i == j else f"{frames[i]}-{frames[j]}")
        i = j + 1
    if limit is not None and len(parts) > limit:
        parts = parts[:limit] + [f"... ({len(frames)} frames)"]
    return sep.join(parts)


def format_span(first: int, last: int) -> str:
    """``'frame 1001'`` or ``'frames 1001-1010'``: a run of frames in a message."""
    return f"frame {first}" if first == last else f"frames {format_frames(range(first, last + 1))}"
