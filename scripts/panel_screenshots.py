"""Render the panel screenshots in docs/ (offscreen, ``widget.grab()``).

    .venv/bin/python scripts/panel_screenshots.py [--out docs/images] [--method auto|model|knn|reinhard|histogram]

Writes ``panel_empty.png``, ``panel_wipe.png`` (shot loaded, before/after wipe on a run result),
``panel_keyframe_points.png`` (a keyframe with a reference and colour points) and ``panel_running.png`` (a run in
progress). The shot is the repository's sample (core/samples/juggle), copied to a temporary folder so that the
run writes nothing into the repository; without it, a grayscale sequence is made from the shared clip
``../shared/data/train/clips/opencv_vtest_b``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "core" / "samples" / "juggle"
SHARED_CLIP = REPO.parent / "shared" / "data" / "train" / "clips" / "opencv_vtest_b"
SIZE = (1480, 900)


def prepare_shot(folder: Path) -> tuple[str, str]:
    """(shot pattern, colour reference for its first frame) inside ``folder``."""
    if SAMPLE.is_dir() and any(SAMPLE.glob("juggle.*.exr")):
        dst = folder / "juggle"
        shutil.copytree(SAMPLE, dst)
        return str(dst / "juggle.####.exr"), str(dst / "juggle_ref.1001.png")
    import cv2
    import numpy as np
    import OpenImageIO as oiio

    files = sorted(SHARED_CLIP.glob("*.jpg"))[:24]
    if not files:
        raise SystemExit(f"no sample shot in {SAMPLE} and no frames in {SHARED_CLIP}")
    dst = folder / "vtest"
    dst.mkdir()
    for i, f in enumerate(files):
        bgr = cv2.resize(cv2.imread(str(f)), (480, 360), interpolation=cv2.INTER_AREA)
        if i == 0:
            cv2.imwrite(str(dst / "vtest_ref.1001.png"), bgr)
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255.0
        linear = np.where(gray <= 0.04045, gray / 12.92, ((gray + 0.055) / 1.055) ** 2.4).astype(np.float32)
        spec = oiio.ImageSpec(480, 360, 3, "half")
        spec.attribute("FramesPerSecond", oiio.TypeDesc("rational"), (24, 1))
        out = oiio.ImageOutput.create(str(dst / f"vtest.{1001 + i}.exr"))
        out.open(str(dst / f"vtest.{1001 + i}.exr"), spec)
        out.write_image(np.repeat(linear[..., None], 3, axis=2))
        out.close()
    return str(dst / "vtest.####.exr"), str(dst / "vtest_ref.1001.png")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(REPO / "docs" / "images"))
    ap.add_argument("--method", default="auto",
                    help="colourisation method for the run; auto (default): the model when one is installed, "
                         "else knn")
    args = ap.parse_args(argv)
    if args.method == "auto":
        from kinochrome.core.model import list_models

        args.method = "model" if list_models() else "knn"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from kinochrome.plugin.panel import KinochromePanel
    from kinochrome.plugin.panel.theme import apply_dark_theme
    from kinochrome.plugin.panel.workers import warm_up

    app = QApplication.instance() or QApplication(["kinochrome-screenshots"])
    apply_dark_theme(app)
    warm_up()

    def spin(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def wait(signal, timeout_ms: int = 300000) -> list:
        got: list = []
        loop = QEventLoop()

        def done(*a) -> None:
            got.extend(a)
            loop.quit()

        signal.connect(done)
        QTimer.singleShot(timeout_ms, loop.quit)
        loop.exec()
        signal.disconnect(done)
        return got

    def settle(panel: KinochromePanel) -> None:
        for _ in range(40):                      # let pool reads land and repaint
            spin(50)
            if panel.loader.pool.activeThreadCount() == 0:
                break
        spin(150)

    def save(panel: KinochromePanel, name: str) -> None:
        path = out / name
        panel.grab().save(str(path))
        print(f"wrote {path}")

    with tempfile.TemporaryDirectory(prefix="kinochrome-shots-") as tmp:
        tmp_path = Path(tmp)
        pattern, ref = prepare_shot(tmp_path)
        settings = QSettings(str(tmp_path / "panel.ini"), QSettings.Format.IniFormat)
        panel = KinochromePanel(settings=settings, autosave_dir=tmp_path / "autosave")
        panel.resize(*SIZE)
        panel.show()
        spin(200)
        save(panel, "panel_empty.png")

        panel.open_path(pattern)
        wait(panel.shotOpened)
        panel.set_session_field("method", args.method)
        panel.add_keyframe()
        panel.set_reference(ref)
        wait(panel.referenceLoaded)
        w, h = panel.frame_size
        # points on the shirt, the trousers, the grass and the ball, coloured from the reference
        for fx, fy in ((0.52, 0.40), (0.53, 0.72), (0.20, 0.85), (0.78, 0.62), (0.47, 0.44)):
            panel.add_point(fx * w, fy * h)
        panel.act_points.setChecked(True)
        panel._select_point(1)
        panel.viewer.set_mode("wipe")
        panel.preview_current_frame()
        wait(panel.previewReady)
        panel.viewer.wipe = 0.62
        settle(panel)
        save(panel, "panel_keyframe_points.png")

        # run in progress: grab when about 40% of the frames have landed
        panel.act_points.setChecked(False)
        panel.act_follow.setChecked(True)
        total = panel.last - panel.first + 1
        grabbed: list[bool] = []

        def on_frame(frame: int, status: str) -> None:
            if not grabbed and frame - panel.first + 1 >= int(total * 0.4):
                grabbed.append(True)
                panel.viewer.wipe = 0.5
                QTimer.singleShot(0, lambda: (spin(300), save(panel, "panel_running.png")))

        panel.frameFinished.connect(on_frame)
        panel.run()
        outcome = wait(panel.runFinished)[0]
        if outcome.error:
            print(f"run failed: {outcome.error}", file=sys.stderr)
            return 1
        panel.frameFinished.disconnect(on_frame)

        panel.act_follow.setChecked(False)
        panel.set_frame(panel.first + (panel.last - panel.first) * 2 // 3)
        panel.viewer.set_mode("wipe")
        panel.viewer.wipe = 0.5
        panel.tabs.setCurrentWidget(panel.settings_form)
        settle(panel)
        save(panel, "panel_wipe.png")
        panel.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
