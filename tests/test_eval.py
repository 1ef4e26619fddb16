"""`kinochrome eval` on a small synthetic colour clip: every variant scored, files written, keyframe exact."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from kinochrome.core.evalrun import evaluate_clips
from kinochrome.plugin.cli import main


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """One clip: six 96x64 PNG frames of coloured shapes drifting right on a textured background."""
    root = tmp_path_factory.mktemp("clips")
    rng = np.random.default_rng(3)
    background = cv2.GaussianBlur(rng.random((64, 160, 3)).astype(np.float32), (0, 0), 3) * 0.4 + 0.3
    folder = root / "shapes"
    folder.mkdir()
    for t in range(6):
        img = np.ascontiguousarray(background[:, 2 * t:2 * t + 96].copy())
        cv2.circle(img, (30 + 3 * t, 30), 12, (0.1, 0.2, 0.9), -1)   # BGR: red disc
        cv2.rectangle(img, (60, 10 + t), (85, 40 + t), (0.2, 0.8, 0.2), -1)
        cv2.imwrite(str(folder / f"{t + 1:04d}.png"), (img * 255).astype(np.uint8))
    return root


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from kinochrome.core.model import build_tiny_model

    return str(build_tiny_model(tmp_path_factory.mktemp("m")))


def test_eval_scores_every_variant(clips, tiny, tmp_path):
    report = evaluate_clips(clips, tmp_path, None, 6, tiny, references="first-last", progress=False)
    mean = report["mean"]
    for name in ("gray", "auto", "auto-reset", "guided", "flow", "histogram", "reinhard", "knn", "guided-first-last",
                 "exemplar", "exemplar-reinhard"):
        assert name in mean and np.isfinite(mean[name]["psnr"])
    assert mean["gray"]["colourfulness_ratio"] < 0.05
    # A painted keyframe comes out with the reference's chroma.
    assert mean["guided"]["keyframe_ab_rmse_max"] < 1.0
    assert mean["guided"]["psnr"] > mean["gray"]["psnr"]
    assert (tmp_path / "eval.json").exists() and (tmp_path / "eval.md").exists()
    assert (tmp_path / "sheet_shapes.png").exists() and (tmp_path / "psnr_vs_distance.png").exists()


def test_eval_command_json(clips, tiny, tmp_path, capsys):
    assert main(["eval", str(clips), "-o", str(tmp_path), "--model", tiny, "--frames", "4",
                 "--variants", "gray", "auto", "--references", "none", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"gray", "auto"}


@pytest.mark.parametrize("case,words", [
    ("missing", "clips folder not found"),
    ("empty", "holds no clip folders"),
    ("name", "no clip named nosuch"),
    ("variant", "--variants: unknown bogus"),
    ("frames", "--frames 1: a clip needs at least 2 frames"),
    ("sizes", "frames of different sizes"),
    ("gray", "the clip is grayscale"),
    ("unreadable", "no clip with 2 or more readable colour frames"),
])
def test_eval_bad_input_is_one_line_and_writes_nothing(clips, tiny, tmp_path, capsys, case, words):
    root = tmp_path / "c"
    root.mkdir()
    args = ["eval", str(root), "-o", str(tmp_path / "out"), "--model", tiny, "--frames", "4",
            "--variants", "gray", "--references", "none"]
    if case == "missing":
        args[1] = str(tmp_path / "nope")
    elif case == "name":
        args[1] = str(clips)
        args += ["--clips-only", "nosuch"]
    elif case == "variant":
        args[1] = str(clips)
        args[args.index("gray")] = "bogus"
    elif case == "frames":
        args[1] = str(clips)
        args[args.index("4")] = "1"
    elif case in ("sizes", "gray", "unreadable"):
        clip = root / "clip"
        clip.mkdir()
        for i, size in enumerate([(64, 48), (64, 48) if case != "sizes" else (32, 24)]):
            img = np.full((size[1], size[0], 3), 128, np.uint8)
            if case != "gray":
                img[..., 0] = 40                                  # a colour frame (BGR: orange-ish)
            if case == "unreadable":
                (clip / f"{i:04d}.png").write_bytes(b"not a png")
            else:
                cv2.imwrite(str(clip / f"{i:04d}.png"), img)
    code = main(args)
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and words in err[-1], err
    assert not (tmp_path / "out" / "eval.json").exists()


def _with_heldout(model: str, names: list[str], tmp_path) -> str:
    """A copy of ``model`` whose card lists ``names`` as held-out photos."""
    import shutil

    from kinochrome.core.model.weights import card_path

    dst = tmp_path / "held.safetensors"
    shutil.copy(model, dst)
    card = json.loads(card_path(model).read_text())
    card.setdefault("training", {})["heldout_photos"] = names
    card_path(dst).write_text(json.dumps(card))
    return str(dst)


def test_eval_scores_the_models_held_out_photos_against_gray(clips, tiny, tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    frames = sorted((clips / "shapes").iterdir())
    names = []
    for i, f in enumerate(frames[:3]):
        (photos / f"p{i}.png").write_bytes(f.read_bytes())
        names.append(f"p{i}.png")
    (photos / "trained_on.png").write_bytes(frames[3].read_bytes())
    model = _with_heldout(tiny, names, tmp_path)
    assert main(["eval", "-", "--photos", str(photos), "-o", str(tmp_path / "out"), "--model", model,
                 "--json"]) == 0
    mean = json.loads(capsys.readouterr().out)
    assert mean["all"]["count"] == 3 and sum(mean[s]["count"] for s in ("tune", "test") if s in mean) == 3
    assert mean["all"]["gray"]["colourfulness_ratio"] < 0.05
    report = json.loads((tmp_path / "out" / "photos.json").read_text())
    assert sorted(report["photos"]) == names                   # only the held-out ones, not trained_on.png
    assert (tmp_path / "out" / "sheet_photos.png").exists()
    splits = {n: r["split"] for n, r in report["photos"].items()}
    assert main(["eval", "-", "--photos", str(photos), "-o", str(tmp_path / "tune"), "--model", model,
                 "--photo-split", "tune", "--json"]) == 0
    capsys.readouterr()
    tuned = json.loads((tmp_path / "tune" / "photos.json").read_text())["photos"]
    assert sorted(tuned) == sorted(n for n, s in splits.items() if s == "tune")


def test_eval_photos_needs_a_model_that_lists_its_held_out_photos(clips, tiny, tmp_path, capsys):
    assert main(["eval", "-", "--photos", str(clips / "shapes"), "-o", str(tmp_path), "--model", tiny]) != 0
    err = capsys.readouterr().err.strip()
    assert "lists no held-out photos" in err and len(err.splitlines()) == 1
    model = _with_heldout(tiny, ["gone.png"], tmp_path)
    assert main(["eval", "-", "--photos", str(clips / "shapes"), "-o", str(tmp_path), "--model", model]) != 0
    assert "gone.png" in capsys.readouterr().err
    assert main(["eval", "-", "--photos", str(tmp_path / "nowhere"), "-o", str(tmp_path), "--model", model]) != 0
    err = capsys.readouterr().err.strip()
    assert "nowhere: photos folder not found" in err and len(err.splitlines()) == 1
    (clips / "shapes" / "gone.png").write_bytes(b"not a png")
    try:
        assert main(["eval", "-", "--photos", str(clips / "shapes"), "-o", str(tmp_path), "--model", model]) != 0
        assert "gone.png: unreadable photo" in capsys.readouterr().err
    finally:
        (clips / "shapes" / "gone.png").unlink()
