"""CDC of the colour originals themselves: the reference line of the CDC column (docs/references.md, README).

Scores each held-out clip's own colour frames as ``kinochrome eval`` scores a variant (the same frames, the first
and last left out; ``evalrun.score`` of the truth against itself), so the figure sits beside the eval table's.

    .venv/bin/python scripts/originals_cdc.py [CLIPS_DIR] [--frames 24] [--clips NAME ...]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from kinochrome.core.evalrun import load_clip, score

#: The held-out validation clips of scripts/make_figures.sh (configs/kino-small.json "val_clips").
HELD_OUT = ["sam2_juggle", "opencv_vtest_b", "intel_person_b", "mmaction_pool", "dvp_haze_canal"]


def originals_cdc(clips_dir: Path, names: list[str], frames: int) -> dict[str, float]:
    """Clip name -> CDC (x1e-3) of its first ``frames`` colour frames, and ``"mean"`` over the clips."""
    out = {}
    for name in names:
        truth = load_clip(clips_dir / name, frames)
        out[name] = score(truth, truth)["cdc"] * 1e3
    out["mean"] = float(np.mean([out[n] for n in names]))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("clips_dir", nargs="?", default="../shared/data/train/clips", type=Path)
    p.add_argument("--frames", type=int, default=24)
    p.add_argument("--clips", nargs="+", default=HELD_OUT)
    a = p.parse_args(argv)
    print(json.dumps({k: round(v, 2) for k, v in originals_cdc(a.clips_dir, a.clips, a.frames).items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
