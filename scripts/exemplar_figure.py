"""Figure for docs/references.md: an exemplar reference (a different still of similar content) steers colour.

    .venv/bin/python scripts/exemplar_figure.py [--model NAME|PATH] [-o docs/images/exemplar_steering.png]

Uses the sample shot (juggle). Exemplars are a colour frame from later in the same clip (1030, so not the
frame being coloured) as it is, and the same still with its hues rotated (a "costume still" with other
colours). Each is given as the exemplar for keyframe 1001 (kind ``exemplar``); the figure shows frames 1001 and
1012 of the automatic run and of both exemplar runs, with the exemplars themselves.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from kinochrome.core import frameio, sequence
from kinochrome.core.colour import to_display_srgb
from kinochrome.core.contact import burn_label, grid, write_png
from kinochrome.core.job import JobSettings, run_job
from kinochrome.core.session import Keyframe

ROOT = Path(__file__).resolve().parents[1]
SHOT = ROOT / "core/samples/juggle/juggle.####.exr"
CLIP = ROOT.parent / "shared/data/train/clips/sam2_juggle"


def tile(srgb: np.ndarray, label: str, width: int = 288) -> np.ndarray:
    h = round(srgb.shape[0] * width / srgb.shape[1])
    t = np.ascontiguousarray((np.clip(cv2.resize(srgb, (width, h), interpolation=cv2.INTER_AREA), 0, 1) * 255)
                             .astype(np.uint8))
    return burn_label(t, label, (5, 15))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model")
    parser.add_argument("-o", "--output", default=str(ROOT / "docs/images/exemplar_steering.png"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kino-exemplar-"))
    bgr = cv2.imread(str(CLIP / "0030.jpg"))
    if bgr is None:
        raise SystemExit(f"{CLIP}/0030.jpg: not found (needs ../shared/data/train)")
    hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)
    hsv[:, :, 0] = (hsv[:, :, 0].astype(int) + 60) % 180          # rotate hues by 120 degrees
    rotated = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    exemplars = {"exemplar": work / "exemplar.png", "exemplar, hues rotated": work / "rotated.png"}
    cv2.imwrite(str(exemplars["exemplar"]), bgr)
    cv2.imwrite(str(exemplars["exemplar, hues rotated"]), rotated)

    results: dict[str, str] = {}
    runs = {"automatic": None, **exemplars}
    for name, ref in runs.items():
        out = str(work / name.replace(" ", "_").replace(",", "") / "j.####.exr")
        keyframes = [Keyframe(frame=1001, reference=str(ref), kind="exemplar")] if ref else []
        run_job(JobSettings(input=str(SHOT), output=out, model=args.model, keyframes=keyframes,
                            frames=(1001, 1012), mode="overwrite"))
        results[name] = out
    rows = []
    for f in (1001, 1012):
        gray = frameio.read_frame(sequence.frame_path(str(SHOT), f))
        row = [tile(to_display_srgb(gray.rgb, "lin_rec709"), f"input {f}")]
        for name, out in results.items():
            rgb = frameio.read_frame(sequence.frame_path(out, f)).rgb
            row.append(tile(to_display_srgb(rgb, "lin_rec709"), f"{name} {f}"))
        rows.append(row)
    blank = np.full_like(rows[0][0], 32)
    rows.append([blank, blank] + [tile(cv2.imread(str(p))[:, :, ::-1].astype(np.float32) / 255, f"given: {n}")
                                  for n, p in exemplars.items()])
    print(write_png(grid(rows), args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
