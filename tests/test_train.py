"""Training: data validation errors, a tiny end-to-end run, checkpoints and --resume."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from kinochrome.core.errors import TrainingDataError, UsageError
from kinochrome.core.model import load_model
from kinochrome.core.model.data import SequenceSampler, load_clips, load_photos
from kinochrome.core.model.network import TINY_CONFIG
from kinochrome.core.model.train import load_config, train


def _colour_image(rng: np.random.Generator, h: int = 48, w: int = 64) -> np.ndarray:
    """Smooth random colour blobs, uint8 BGR."""
    small = (rng.random((3, 4, 3)) * 255).astype(np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    (root / "photos").mkdir()
    for i in range(6):
        cv2.imwrite(str(root / "photos" / f"p{i}.jpg"), _colour_image(rng))
    for name in ("clip_a", "clip_b"):
        (root / "clips" / name).mkdir(parents=True)
        base = _colour_image(rng)
        for i in range(6):
            cv2.imwrite(str(root / "clips" / name / f"{i:04d}.jpg"), np.roll(base, 2 * i, axis=1))
    return root


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(TrainingDataError, match=str(tmp_path)):
        load_photos(tmp_path)


def test_grayscale_only_folder_is_an_error(tmp_path):
    rng = np.random.default_rng(1)
    for i in range(3):
        gray = cv2.cvtColor(_colour_image(rng), cv2.COLOR_BGR2GRAY)
        cv2.imwrite(str(tmp_path / f"g{i}.jpg"), cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(TrainingDataError, match=f"{tmp_path}.*grayscale"):
        load_photos(tmp_path)
    (tmp_path / "clipx").mkdir()
    for i in range(3):
        cv2.imwrite(str(tmp_path / "clipx" / f"{i}.jpg"), cv2.imread(str(tmp_path / "g0.jpg")))
    with pytest.raises(TrainingDataError, match=str(tmp_path)):
        load_clips(tmp_path)


def test_a_validation_clip_that_is_not_there_is_named(data_dir):
    with pytest.raises(TrainingDataError, match="no clip named nosuchclip"):
        load_clips(data_dir / "clips", names=["clip_b", "nosuchclip"])


def test_sampler_batch_encoding(data_dir):
    sampler = SequenceSampler(load_photos(data_dir / "photos"), load_clips(data_dir / "clips"), crop=32, length=3)
    x, ab = sampler.batch(np.random.default_rng(0), 4)
    assert x.shape == (4, 3, 4, 32, 32) and ab.shape == (4, 3, 2, 32, 32)
    assert 0 <= x[:, :, 0].min() and x[:, :, 0].max() <= 1.0
    assert 0 <= x[:, :, 3].min() and x[:, :, 3].max() <= 1.0
    # hints are zero wherever the mask is zero
    assert np.all(x[:, :, 1:3][np.broadcast_to(x[:, :, 3:4] == 0, x[:, :, 1:3].shape)] == 0)
    x2, _ = sampler.batch(np.random.default_rng(0), 4)
    np.testing.assert_array_equal(x, x2)  # deterministic per seed


def _config(data_dir: Path, tmp_path: Path, steps: int) -> Path:
    cfg = {"name": "t", "seed": 3, "model": TINY_CONFIG, "photos": str(data_dir / "photos"),
           "clips": str(data_dir / "clips"), "val_clips": ["clip_b"], "crop": 32, "seq_len": 3, "batch": 2,
           "steps": steps, "warmup": 2, "batch_single": 2, "val_every": 3, "val_sequences": 2, "output_dir": str(tmp_path / "run")}
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(cfg))
    return path


def test_tiny_training_run_and_resume(data_dir, tmp_path):
    cfg = _config(data_dir, tmp_path, steps=4)
    best = train(cfg)
    run = tmp_path / "run"
    assert best.is_file() and (run / "last.safetensors").is_file() and (run / "optim.safetensors").is_file()
    state = json.loads((run / "state.json").read_text())
    assert state["step"] == 4
    card = json.loads((run / "last.json").read_text())
    assert card["training"]["val_clips"] == ["clip_b"] and "clip_b" not in card["training"]["clips"]
    assert "kinochrome.core.model.train" in card["training"]["command"]
    assert len(card["bins"]) == card["training"]["bins"] > 0
    assert load_model(str(best), "cpu").predict_ab(np.full((20, 30), 50.0, np.float32)).shape == (20, 30, 2)
    # resume to a longer schedule continues from step 4, not from scratch
    before = (run / "last.safetensors").read_bytes()
    with pytest.raises(UsageError, match="holds a run already"):    # not resumed: the run is not overwritten
        train(cfg)
    assert (run / "last.safetensors").read_bytes() == before
    assert not [p.name for p in run.iterdir() if p.name.endswith(".tmp")]
    cfg.write_text(cfg.read_text().replace('"steps": 4', '"steps": 6'))
    train(cfg, resume=True)
    assert json.loads((run / "state.json").read_text())["step"] == 6
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [3, 4, 6]


@pytest.mark.parametrize("damage,words", [
    ("state_missing", "state.json: missing from the run"),
    ("state_bad", "cannot resume from its checkpoint"),
    ("last_cut", "cannot resume: "),
    ("optim_cut", "cannot resume: "),
    ("bins_empty", "bins.json: damaged"),
    ("step_mismatch", "the last checkpoint was cut short (weights at step 2, state.json at step 1)"),
])
def test_resume_from_a_damaged_checkpoint_is_one_line(data_dir, tmp_path, damage, words):
    cfg = _config(data_dir, tmp_path, steps=2)
    train(cfg)
    run = tmp_path / "run"
    if damage == "state_missing":
        (run / "state.json").unlink()
    elif damage == "state_bad":
        (run / "state.json").write_text("[]")
    elif damage == "last_cut":
        (run / "last.safetensors").write_bytes((run / "last.safetensors").read_bytes()[:-300])
    elif damage == "optim_cut":
        (run / "optim.safetensors").write_bytes((run / "optim.safetensors").read_bytes()[:-300])
    elif damage == "bins_empty":
        (run / "bins.json").write_text("{}")
    else:
        (run / "state.json").write_text(json.dumps({**json.loads((run / "state.json").read_text()), "step": 1}))
    with pytest.raises(UsageError) as err:
        train(cfg, resume=True)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_a_checkpoint_killed_between_its_renames_is_completed_on_resume(data_dir, tmp_path):
    cfg = _config(data_dir, tmp_path, steps=2)
    train(cfg)
    run = tmp_path / "run"
    # as if killed right after the weights' rename: the step-2 state and optimiser are still aside
    (run / "state.json").replace(run / "state.json.tmp")
    (run / "optim.safetensors").replace(run / "optim.safetensors.tmp")
    (run / "state.json").write_text(json.dumps({**json.loads((run / "state.json.tmp").read_text()), "step": 1}))
    cfg.write_text(cfg.read_text().replace('"steps": 2', '"steps": 3'))
    train(cfg, resume=True)
    assert json.loads((run / "state.json").read_text())["step"] == 3
    assert not list(run.glob("*.tmp"))


def test_resume_without_checkpoint(data_dir, tmp_path):
    with pytest.raises(UsageError, match="nothing to resume"):
        train(_config(data_dir, tmp_path, steps=2), resume=True)


@pytest.mark.parametrize("text,words", [
    ('{"stepz": 3}', "stepz"),
    ('[1, 2]', "expected a JSON object"),
    ('{"steps": "3"}', "steps: expected an integer"),
    ('{"lr": "fast"}', "lr: expected a number"),
    ('{"steps": 0}', "steps: expected a positive integer"),
    ('{"crop": 40}', "crop: expected a multiple of 16"),
    ('{"model": {"widths": [1]}}', "model: unknown keys ['widths']"),
    ('{"model": {"enc": [8, 8]}}', "model.enc: expected 5 positive integer widths"),
    ('{"hints": {"p_point": 0.5}}', "hints: unknown keys ['p_point']"),
    ('{"val_clips": "clip_b"}', "val_clips: expected a list"),
    ('{"max_minutes": "soon"}', "max_minutes: expected null or a number"),
    ('{"unfreeze_blocks": -1}', "unfreeze_blocks: expected 0 or more"),
    ('{"trunk_lr_scale": 0}', "trunk_lr_scale: expected a positive number"),
])
def test_bad_config(tmp_path, text, words):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(UsageError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}: ") and words in str(err.value)


def test_config_that_is_a_folder_or_binary(tmp_path):
    with pytest.raises(UsageError, match="a folder; expected a training config"):
        load_config(tmp_path)
    binary = tmp_path / "b.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(UsageError, match="b.json"):
        load_config(binary)


def test_temporal_consistency_sees_drift_and_flicker_not_colour_errors():
    import torch

    from kinochrome.core.model.losses import temporal_consistency

    g = torch.randn(2, 6, 2, 16, 16) * 20
    assert float(temporal_consistency(g, g)) == 0.0
    assert float(temporal_consistency(g + 15.0, g)) < 1e-6          # a steady colour error is the CE's business
    drift = g + torch.arange(6, dtype=torch.float32).view(1, 6, 1, 1, 1) * 3.0
    flicker = g + torch.tensor([0.0, 6.0] * 3).view(1, 6, 1, 1, 1)
    assert float(temporal_consistency(drift, g)) > 0.05
    assert float(temporal_consistency(flicker, g)) > 0.05
    assert float(temporal_consistency(g[:, :1], g[:, :1])) == 0.0   # single frames: nothing to compare


def test_training_with_the_temporal_loss_logs_it(data_dir, tmp_path):
    cfg = _config(data_dir, tmp_path, steps=3)
    cfg.write_text(cfg.read_text().replace('"steps": 3', '"steps": 3, "temporal": 2.0'))
    train(cfg)
    record = json.loads((tmp_path / "run" / "log.jsonl").read_text().splitlines()[-1])
    assert record["train_temporal"] > 0 and record["temporal_auto"] >= 0


def test_fine_tuning_adds_scene_context_without_changing_the_start(data_dir, tmp_path):
    import torch

    from kinochrome.core.model.network import KinoNet
    from kinochrome.core.model.train import init_from_weights
    from kinochrome.core.model.weights import load_network

    (tmp_path / "a").mkdir()
    cfg = _config(data_dir, tmp_path / "a", steps=2)
    cfg.write_text(json.dumps({**json.loads(cfg.read_text()), "model": {**TINY_CONFIG, "global": 0}}))
    first = train(cfg)
    before, card = load_network(first)
    with_context = {**TINY_CONFIG, "global": 8}
    # the new branch starts at zero, so the network computes what its source did
    net = KinoNet(with_context, torch.tensor(card["bins"])).eval()
    info = init_from_weights(net, first, np.asarray(card["bins"], np.float32))
    assert info["new_tensors"] == ["context.fc1.bias", "context.fc1.weight", "context.fc2.bias", "context.fc2.weight"]
    x = torch.rand(1, 4, 32, 48)
    with torch.no_grad():
        torch.testing.assert_close(net.step(x)[1], before.step(x)[1])
    # a fine-tuning run records where it started, and the branch trains (moves off zero)
    (tmp_path / "b").mkdir()
    cfg = _config(data_dir, tmp_path / "b", steps=2)
    cfg.write_text(json.dumps({**json.loads(cfg.read_text()), "model": with_context, "init_from": str(first)}))
    tuned, tuned_card = load_network(train(cfg))
    assert tuned_card["config"]["global"] == 8 and tuned_card["training"]["init_from"]["path"] == str(first)
    init = json.loads((tmp_path / "b" / "run" / "state.json").read_text())["init_from"]
    assert init["path"] == str(first) and init["optimizer_moments"] is True
    assert float(tuned.context.fc2.weight.detach().abs().sum()) > 0


def test_fine_tuning_takes_the_source_runs_adam_moments_by_name(data_dir, tmp_path):
    import torch
    from safetensors.torch import load_file

    from kinochrome.core.model.network import KinoNet
    from kinochrome.core.model.train import init_from_weights, init_optimizer_from

    (tmp_path / "a").mkdir()
    cfg = _config(data_dir, tmp_path / "a", steps=2)
    cfg.write_text(json.dumps({**json.loads(cfg.read_text()), "model": {**TINY_CONFIG, "global": 0}}))
    first = train(cfg)
    card = json.loads(first.with_suffix(".json").read_text())
    # the new branch sits before the LSTM, so parameter indices shift: moments must follow names, not indices
    net = KinoNet({**TINY_CONFIG, "global": 8}, torch.tensor(card["bins"]))
    init_from_weights(net, first, np.asarray(card["bins"], np.float32))
    opt = torch.optim.Adam(net.parameters())
    assert init_optimizer_from(opt, net, first)
    names = [n for n, _ in net.named_parameters()]
    state = opt.state_dict()["state"]
    source_names = [n for n, _ in KinoNet({**TINY_CONFIG, "global": 0}, torch.tensor(card["bins"])).named_parameters()]
    moments = load_file(str(first.parent / "optim.safetensors"))
    lstm = names.index("lstm.gates.weight")
    torch.testing.assert_close(state[lstm]["exp_avg_sq"],
                               moments[f"{source_names.index('lstm.gates.weight')}.exp_avg_sq"])
    assert names.index("context.fc1.weight") not in state
    # no moments file beside the weights: nothing loaded, a fresh Adam
    lone = tmp_path / "lone.safetensors"
    lone.write_bytes(first.read_bytes())
    assert not init_optimizer_from(torch.optim.Adam(net.parameters()), net, lone)


def test_fine_tuning_from_another_shape_is_an_error(data_dir, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = train(_config(data_dir, tmp_path / "a", steps=1))
    cfg = _config(data_dir, tmp_path / "b", steps=1)
    data = json.loads(cfg.read_text())
    cfg.write_text(json.dumps({**data, "model": {**TINY_CONFIG, "lstm": 12}, "init_from": str(first)}))
    with pytest.raises(UsageError, match=f"{first.name}.*shape"):
        train(cfg)


def test_fine_tuning_from_an_unusable_source_is_an_error(data_dir, tmp_path):
    import torch

    from kinochrome.core.errors import ModelError
    from kinochrome.core.model.network import KinoNet
    from kinochrome.core.model.train import init_from_weights

    (tmp_path / "a").mkdir()
    with_context = train(_config(data_dir, tmp_path / "a", steps=1))      # TINY_CONFIG has the branch
    card = json.loads(with_context.with_suffix(".json").read_text())
    bins = np.asarray(card["bins"], np.float32)
    plain = KinoNet({**TINY_CONFIG, "global": 0}, torch.from_numpy(bins))
    # the source has a tensor this network has not: dropping learned weights silently would be wrong
    with pytest.raises(UsageError, match=f"{with_context.name}.*does not have.*context"):
        init_from_weights(plain, with_context, bins)
    with pytest.raises(UsageError, match=f"{with_context.name}.*bins differ"):
        init_from_weights(KinoNet(TINY_CONFIG, torch.from_numpy(bins[:-1])), with_context, bins[:-1])
    with pytest.raises(ModelError, match="missing.safetensors.*not found"):
        init_from_weights(plain, tmp_path / "missing.safetensors", bins)



def test_a_run_can_fine_tune_the_trunks_last_blocks_at_a_scaled_rate(data_dir, tmp_path):
    import torch
    from safetensors.torch import load_file

    from kinochrome.core.model.semantic import pretrained_state

    cfg = _config(data_dir, tmp_path, steps=2)
    data = json.loads(cfg.read_text())
    cfg.write_text(json.dumps({**data, "model": {**TINY_CONFIG, "semantic": "lite0"}, "crop": 64,
                               "unfreeze_blocks": 2, "trunk_lr_scale": 0.5}))
    last = train(cfg).parent / "last.safetensors"
    imagenet, trained = pretrained_state("lite0"), load_file(str(last))
    changed = {k.split(".")[1] for k in imagenet if k.startswith("_blocks.")
               and not torch.equal(trained[f"semantic.{k}"], imagenet[k])}
    assert changed == {"14", "15"}                   # the last two of Lite0's 16 blocks, nothing before them
    assert all(torch.equal(trained[f"semantic.{k}"], v) for k, v in imagenet.items() if "running" in k)
    card = json.loads(last.with_suffix(".json").read_text())
    assert card["training"]["semantic_encoder"]["trained_blocks"] == 2
    assert not card["training"]["semantic_encoder"]["frozen"]
    # resuming rebuilds the same Adam groups, so the saved moments go back to their parameters
    cfg.write_text(cfg.read_text().replace('"steps": 2', '"steps": 3'))
    train(cfg, resume=True)
    assert json.loads((tmp_path / "run" / "state.json").read_text())["step"] == 3


def test_adam_groups_keep_the_parameter_order_and_the_trunk_alone_learns_slower():
    import torch

    from kinochrome.core.model.network import KinoNet
    from kinochrome.core.model.train import param_groups, set_lr

    net = KinoNet({**TINY_CONFIG, "semantic": "lite0"}, torch.zeros(4, 2))
    groups = param_groups(net, 0.1)
    opt = torch.optim.Adam(groups)
    set_lr(opt, 4e-4)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([4e-4, 4e-5, 4e-4])
    assert [id(p) for g in groups for p in g["params"]] == [id(p) for p in net.parameters()]
    names = {id(p): n for n, p in net.named_parameters()}
    for g in groups:
        assert all(names[id(p)].startswith("semantic.") == (g["lr_scale"] == 0.1) for p in g["params"])
    assert len(groups) == 3                          # before the trunk, the trunk, after it


@pytest.mark.parametrize("model, unfreeze, words", [
    (TINY_CONFIG, 2, "unfreeze_blocks needs a semantic trunk"),
    ({**TINY_CONFIG, "semantic": "lite0"}, 40, "unfreeze_blocks: 40 is not between 0 and 16"),
])
def test_unfreezing_what_is_not_there_is_one_line_naming_the_config(data_dir, tmp_path, model, unfreeze, words):
    cfg = _config(data_dir, tmp_path, steps=1)
    cfg.write_text(json.dumps({**json.loads(cfg.read_text()), "model": model, "unfreeze_blocks": unfreeze}))
    with pytest.raises(UsageError) as err:
        train(cfg)
    assert str(err.value).startswith(f"{cfg}: ") and words in str(err.value) and "\n" not in str(err.value)
