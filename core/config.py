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
OUTPUT_SUFFIX = "_kino"


def env_threads() -> int | None:
    value = os.environ.get(ENV_THREADS)
    return int(value) if value and value.isdigit() else None


def env_device() -> str:
    return os.environ.get(ENV_DEVICE, "auto")
