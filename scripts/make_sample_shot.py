"""Make the sample shot shipped in core/samples/juggle/ from a redistributable colour clip.

Source: ../shared/data/train/clips/sam2_juggle (facebookresearch/sam2, Apache-2.0; see SOURCE.md).
Writes a grayscale half-float single-channel (Y) scene-linear EXR sequence juggle.1001-1036.exr with
timecode and frame rate, plus the colour keyframe reference juggle_ref.1001.png (sRGB) - the frame as the
artist would have painted it. The clip is held out of model training, so the demo is honest.

    .venv/bin/python scripts/make_sample_shot.py [--clips ../shared/data/train/clips]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import OpenImageIO as oiio

from kinochrome.core.lab import REC709_LUMA, srgb_to_linear

FIRST = 1001
COUNT = 36


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", default=str(Path(__file__).resolve().parents[2] / "shared/data/train/clips"))
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "core/samples/juggle"))
    args = parser.parse_args()
    src = Path(args.clips) / "sam2_juggle"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for i in range(COUNT):
        bgr = cv2.imread(str(src / f"{i + 1:04d}.jpg"), cv2.IMREAD_COLOR)
        srgb = bgr[:, :, ::-1].astype(np.float32) / 255.0
        y = srgb_to_linear(srgb) @ REC709_LUMA
        frame = FIRST + i
        spec = oiio.ImageSpec(y.shape[1], y.shape[0], 1, "half")
        spec.channelnames = ("Y",)
        spec.attribute("compression", "piz")
        spec.attribute("FramesPerSecond", oiio.TypeDesc("rational2i"), (24, 1))
        # 01:00:00:00 + frame offset at 24 fps, packed SMPTE BCD as OpenEXR stores it.
        ff = i % 24
        ss = i // 24
        tc = (0x01 << 24) | ((ss // 10) << 12 | (ss % 10) << 8) << 8 | ((ff // 10) << 4 | ff % 10)
        spec.attribute("smpte:TimeCode", oiio.TypeDesc("timecode"), (tc, 0))
        spec.attribute("oiio:ColorSpace", "lin_rec709")
        spec.attribute("Copyright", "sam2 demo clip, Apache-2.0 (facebookresearch/sam2)")
        buf = oiio.ImageBuf(spec)
        buf.set_pixels(oiio.ROI(), y[:, :, None].astype(np.float16))
        if not buf.write(str(out / f"juggle.{frame}.exr")):
            raise SystemExit(buf.geterror())
        if i == 0:
            cv2.imwrite(str(out / f"juggle_ref.{frame}.png"), bgr)
    print(f"wrote {COUNT} frames to {out}")


if __name__ == "__main__":
    main()
