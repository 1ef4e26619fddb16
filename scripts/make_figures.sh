#!/usr/bin/env bash
# Regenerate every figure quoted in docs/ (run from the repository root, ../shared beside it).
# Takes about 30-40 minutes on a 2-core CPU. Each step writes where the docs link.
set -euo pipefail
cd "$(dirname "$0")/.."
K=.venv/bin/kinochrome
PY=.venv/bin/python
CLIPS=../shared/data/train/clips
# Held-out validation clips: never seen in training (configs/kino-small.json "val_clips").
VAL="sam2_juggle opencv_vtest_b intel_person_b mmaction_pool dvp_haze_canal"

# docs/model.md and docs/references.md: scores, contact sheets, PSNR against distance from the keyframe.
$K eval "$CLIPS" --clips-only $VAL --frames 24 --references first-last -o docs/eval
# README and docs/references.md: the CDC of the colour originals themselves (the CDC column's reference line).
$PY scripts/originals_cdc.py "$CLIPS" --frames 24 --clips $VAL
# docs/model.md: automatic mode against gray on the default model's held-out photos (test half; the tune half
# chose the decoding settings), and the blue check on held-out skies and water.
$K eval - --photos ../shared/data/train/photos --photo-split test -o docs/eval/photos
$PY scripts/blue_check.py kino-small
# docs/model.md: before/after sheet of automatic colour, the kino-small before the semantic encoder against this one.
OLD=$(mktemp -d)
git show dfaf394:core/models/kino-small.safetensors > "$OLD/kino-small-prev.safetensors"
git show dfaf394:core/models/kino-small.json > "$OLD/kino-small-prev.json"
$PY scripts/before_after.py "$OLD/kino-small-prev.safetensors" kino-small docs/eval/before_after_auto.png --count 6
# docs/references.md: an exemplar reference steers the colours.
$PY scripts/exemplar_figure.py -o docs/images/exemplar_steering.png
# docs/benchmarks.md: speed against the I/O floor, memory against shot length.
$PY bench/bench.py --frames 16 --repeats 3 --json docs/benchmarks.json
# docs/panel.md: screenshots of the panel.
QT_QPA_PLATFORM=offscreen $PY scripts/panel_screenshots.py
