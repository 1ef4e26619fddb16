"""Defaults and the environment variables Kinochrome reads, in one place."""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variables.
ENV_MODEL = "KINOCHROME_MODEL"          # default model name or path
ENV_MODELS_DIR = "KINOCHROME_MODELS"    # extra folder searched for *.safetensors models
ENV_THREADS = "KINOCHROME_THREADS"      # torch/OIIO thread count
ENV_DEVICE = "KINOCHROME_DEVICE"        # auto | cpu | cuda | mps
ENV_OCIO = "OCIO"                       # the user's OCIO config (OpenImageIO reads it itself)

PACKAGE_DIR = Path(__file__).resolve().parent
BUILTIN_MODELS_DIR = PACKAGE_DIR / "models"
SAMPLES_DIR = PACKAGE_DIR / "samples"

DEFAULT_MODEL = "kino-small"
DEFAULT_METHOD = "model"
DEFAULT_WORKING_SIZE = 384        # long side, pixels, the network runs at
DEFAULT_REF_STRENGTH = 1.0        # 0 = hints ignored, 1 = hints followed
DEFAULT_REACH = 48                # frames a keyframe may travel
DEFAULT_PREROLL = 12
DEFAULT_QUEUE = 4                 # frames in flight between reader, model and writer
DEFAULT_KNN_K = 8
DEVICES = ("auto", "cpu", "cuda", "mps")
#: Output bit depths (``--out-bit-depth``, session ``output.bit_depth``); frameio maps them to pixel types.
BIT_DEPTH_NAMES = ("uint8", "uint10", "uint12", "uint16", "half", "float")
OUTPUT_SUFFIX = "_kino"

#: Limits that keep a mistyped or hostile input from eating the machine; each can be raised by its variable.
ENV_MAX_PIXELS = "KINOCHROME_MAX_PIXELS"        # largest image decoded (frames and references), pixels
ENV_MAX_FRAMES = "KINOCHROME_MAX_FRAMES"        # longest frame range a run or `info` accepts, frames
DEFAULT_MAX_PIXELS = 150_000_000                 # 16K x 9K; an 8K scan is 35 megapixels
DEFAULT_MAX_FRAMES = 1_000_000                   # 11.5 hours at 24 fps
MAX_THREADS = 1024                               # --threads / $KINOCHROME_THREADS above this is a typo
MAX_SESSION_BYTES = 16_000_000                   # a session file is a few kB; a bigger one is not a session


def _env_limit(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip().replace("_", "")
    return int(value) if value.isdigit() and 0 < len(value) < 19 and int(value) > 0 else default


def max_pixels() -> int:
    """Largest image (width x height) decoded; ``$KINOCHROME_MAX_PIXELS`` raises it."""
    return _env_limit(ENV_MAX_PIXELS, DEFAULT_MAX_PIXELS)


def max_frames() -> int:
    """Longest frame range (last - first + 1) accepted; ``$KINOCHROME_MAX_FRAMES`` raises it."""
    return _env_limit(ENV_MAX_FRAMES, DEFAULT_MAX_FRAMES)


def env_threads() -> int | None:
    value = os.environ.get(ENV_THREADS)
    # an absurd value (100000) is ignored like a non-number: OpenImageIO fails, then crashes, on it
    return int(value) if value and value.isdigit() and 0 < int(value[:10]) <= MAX_THREADS else None


def env_device() -> str:
    return os.environ.get(ENV_DEVICE, "auto")


def _read_umask() -> int:
    """The process umask. Linux says it in /proc; elsewhere it can only be read by setting it (and back)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: Read once at import (setting it to read it would race with files other threads create).
_UMASK = _read_umask()


def new_file_mode() -> int:
    """Permission bits a file created here would get (0o666 less the umask).

    Temp files from ``tempfile.mkstemp`` are private (0o600) and a rename keeps that, so an atomic write sets
    these bits before the rename: outputs stay readable by farm workers, review tools and other artists as
    any file written in place would be.
    """
    return 0o666 & ~_UMASK
