"""``kinochrome demo``: colourise the bundled sample shot and write a before/after contact sheet."""

from __future__ import annotations

from pathlib import Path

from . import config
from .contact import sequences_sheet
from .job import JobSettings
from .report import run_with_reporting
from .session import Keyframe

SAMPLE = config.SAMPLES_DIR / "juggle"
SAMPLE_PATTERN = str(SAMPLE / "juggle.####.exr")
SAMPLE_REFERENCE = str(SAMPLE / "juggle_ref.1001.png")


def run_demo(out: Path, method: str | None = None, json_lines: bool = False, quiet: bool = False) -> int:
    """Colourise the sample twice (automatic, and with its keyframe reference), then write the sheet.

    Writes ``out/auto/juggle.####.exr``, ``out/keyframe/juggle.####.exr`` and ``out/contact_sheet.png``.
    """
    out = out.resolve()
    runs = [("auto", [])] if method in (None, "model") else []
    runs.append(("keyframe", [Keyframe(frame=1001, reference=SAMPLE_REFERENCE, kind="painted")]))
    patterns = [SAMPLE_PATTERN]
    for name, keyframes in runs:
        settings = JobSettings(input=SAMPLE_PATTERN, output=str(out / name / "juggle.####.exr"),
                               method=method or config.DEFAULT_METHOD, keyframes=keyframes, mode="overwrite")
        code = run_with_reporting(settings, json_lines, quiet)
        if code:
            return code
        patterns.append(settings.output)
    sheet = sequences_sheet(patterns, out / "contact_sheet.png", count=5,
                            labels=["input"] + [f"kinochrome {n}" for n, _ in runs])
    print(f"kinochrome demo: frames in {out}, contact sheet {sheet}")
    return 0
