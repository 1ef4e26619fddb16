"""The colourisation model: API shapes, LSTM state, weights I/O errors, bins and loss sanity."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from kinochrome.core.errors import ModelError, UsageError
from kinochrome.core.model import build_tiny_model, list_models, load_model, resolve_model, select_device
from kinochrome.core.model.bins import (
    bins_from_histogram,
    grid_centres,
    histogram,
    in_gamut,
    rebalance_weights,
    smooth_prior,
    soft_encode,
)
from kinochrome.core.model.losses import ColourLoss
from kinochrome.core.model.network import TINY_CONFIG, KinoNet
from kinochrome.core.model.weights import load_network, save_model


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("models"))


def _frame(h: int = 37, w: int = 53, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((h, w)) * 100).astype(np.float32)


def test_predict_shapes_any_size(tiny):
    model = load_model(str(tiny), "cpu")
    for h, w in [(37, 53), (16, 16), (70, 9)]:
        ab = model.predict_ab(_frame(h, w))
        assert ab.shape == (h, w, 2) and ab.dtype == np.float32
        assert np.isfinite(ab).all()
        model.reset_state()
    feats = model.features(_frame(37, 53))
    assert feats.shape[:2] == (10, 14) and feats.dtype == np.float32


def test_state_carried_until_reset(tiny):
    model = load_model(str(tiny), "cpu")
    a, b = _frame(seed=1), _frame(seed=2)
    fresh = model.predict_ab(b)
    model.reset_state()
    model.predict_ab(a)
    carried = model.predict_ab(b)
    model.reset_state()
    again = model.predict_ab(b)
    assert not np.allclose(carried, fresh, atol=1e-4), "the LSTM state should change the next frame"
    np.testing.assert_allclose(again, fresh, atol=1e-5)


def test_hints_are_followed_where_mask_is_one(tiny):
    model = load_model(str(tiny), "cpu")
    lum = _frame(32, 32)
    hint = np.zeros((32, 32, 2), np.float32)
    hint[...] = (40.0, -30.0)
    mask = np.zeros((32, 32), np.float32)
    mask[8:16, 8:16] = 1.0
    free = model.predict_ab(lum)
    model.reset_state()
    guided = model.predict_ab(lum, hint, mask)
    with pytest.raises(UsageError, match="both or neither"):
        model.predict_ab(lum, hint)
    err_guided = np.abs(guided[9:15, 9:15] - hint[9:15, 9:15]).mean()
    err_free = np.abs(free[9:15, 9:15] - hint[9:15, 9:15]).mean()
    assert err_guided < 0.5 * err_free


def test_round_trip_equality(tiny, tmp_path):
    net, card = load_network(tiny)
    copy = save_model(net, tmp_path / "copy.safetensors", card)
    plain = tmp_path / "plain.txt"
    plain.write_text("written in place")
    for written in (copy, copy.with_suffix(".json")):     # farm accounts must be able to read shipped models
        assert written.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.json", "copy.safetensors", "plain.txt"]
    net2, card2 = load_network(copy)
    for (k1, v1), (k2, v2) in zip(net.state_dict().items(), net2.state_dict().items()):
        assert k1 == k2 and torch.equal(v1, v2)
    assert card2["bins"] == card["bins"]
    m1, m2 = load_model(str(tiny), "cpu"), load_model(str(copy), "cpu")
    np.testing.assert_array_equal(m1.predict_ab(_frame()), m2.predict_ab(_frame()))


def test_card_embedded_in_safetensors(tiny, tmp_path):
    lone = tmp_path / "lone.safetensors"
    lone.write_bytes(tiny.read_bytes())
    assert load_model(str(lone), "cpu").card["config"]["enc"] == TINY_CONFIG["enc"]


def test_missing_file(tmp_path):
    path = tmp_path / "nope.safetensors"
    with pytest.raises(ModelError, match="nope.safetensors.*not found"):
        load_model(str(path), "cpu")


def test_truncated_file(tiny, tmp_path):
    path = tmp_path / "cut.safetensors"
    path.write_bytes(tiny.read_bytes()[:-500])
    with pytest.raises(ModelError, match="cut.safetensors.*truncated"):
        load_model(str(path), "cpu")
    path.write_bytes(tiny.read_bytes()[:5])
    with pytest.raises(ModelError, match="cut.safetensors"):
        load_model(str(path), "cpu")


def test_not_safetensors(tmp_path):
    path = tmp_path / "junk.safetensors"
    path.write_bytes(b"\x80\x04\x95 this is a pickle, or anything else, but not safetensors" * 20)
    with pytest.raises(ModelError, match="junk.safetensors.*not a safetensors"):
        load_model(str(path), "cpu")


def _with_header(path: Path, header: dict, body: bytes = b"") -> None:
    """A safetensors container with this JSON header (and body)."""
    import struct

    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + body)


@pytest.mark.parametrize("case", ["card_list", "config_string", "embedded_not_json", "bad_offsets", "card_latin1"])
def test_malformed_cards_and_headers_are_model_errors(tiny, tmp_path, case):
    path = tmp_path / "odd.safetensors"
    path.write_bytes(tiny.read_bytes())
    card = json.loads(tiny.with_suffix(".json").read_text())
    if case == "card_list":
        path.with_suffix(".json").write_text("[1, 2]")
    elif case == "config_string":
        path.with_suffix(".json").write_text(json.dumps(dict(card, config="big")))
    elif case == "card_latin1":
        path.with_suffix(".json").write_bytes('{"description": "caf\xe9"}'.encode("latin-1"))
    elif case == "embedded_not_json":
        _with_header(path, {"__metadata__": {"kinochrome_card": "{not json"}})
    else:
        _with_header(path, {"__metadata__": {}, "w": {"dtype": "F32", "shape": [1], "data_offsets": ["a", "b"]}})
    with pytest.raises(ModelError, match="odd"):
        load_model(str(path), "cpu")


def test_models_listing_flags_broken_files(tiny, tmp_path, monkeypatch, capsys):
    from kinochrome.core.cli import main

    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "good.safetensors").write_bytes(tiny.read_bytes())
    (folder / "cut.safetensors").write_bytes(tiny.read_bytes()[:-500])
    (folder / "listcard.safetensors").write_bytes(tiny.read_bytes())
    (folder / "listcard.json").write_text("[1, 2]")
    monkeypatch.setenv("KINOCHROME_MODELS", str(folder))
    listed = {m["name"]: m for m in list_models()}
    assert listed["good"]["problem"] is None and listed["good"]["card"]["bins"] > 0
    assert "truncated" in listed["cut"]["problem"] and "not a Kinochrome card" in listed["listcard"]["problem"]
    assert main(["models"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "BROKEN" in lines["cut"] and "BROKEN" not in lines["good"]


def test_other_architecture(tiny, tmp_path):
    # weights of the tiny net with a card that describes a different width
    other = tmp_path / "other.safetensors"
    other.write_bytes(tiny.read_bytes())
    card = json.loads(tiny.with_suffix(".json").read_text())
    card["config"]["enc"] = [8, 8, 8, 8, 8]
    other.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="other.safetensors.*architecture"):
        load_model(str(other), "cpu")
    card["config"]["arch"] = "someone-elses-unet"
    other.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="other.safetensors.*another architecture"):
        load_model(str(other), "cpu")


def test_registry(tiny, monkeypatch):
    monkeypatch.setenv("KINOCHROME_MODELS", str(tiny.parent))
    names = [m["name"] for m in list_models()]
    assert "kino-tiny" in names
    entry = next(m for m in list_models() if m["name"] == "kino-tiny")
    assert entry["card"]["config"]["enc"] == TINY_CONFIG["enc"]
    assert resolve_model("kino-tiny") == tiny
    with pytest.raises(ModelError, match="no-such-model"):
        resolve_model("no-such-model")


def test_select_device():
    assert select_device("cpu").type == "cpu"
    assert select_device("auto").type in {"cpu", "cuda"}
    with pytest.raises(UsageError, match="tpu"):
        select_device("tpu")


# ------------------------------------------------------------------------------------- bins and loss

def test_annealed_mean():
    bins = torch.tensor([[0.0, 0.0], [50.0, 0.0], [0.0, -60.0]])
    net = KinoNet(TINY_CONFIG, bins)
    peaked = torch.tensor([0.0, 10.0, 0.0]).view(1, 3, 1, 1)
    np.testing.assert_allclose(net.annealed_mean(peaked)[0, :, 0, 0].numpy(), [50.0, 0.0], atol=1e-3)
    uniform = torch.zeros(1, 3, 1, 1)
    np.testing.assert_allclose(net.annealed_mean(uniform)[0, :, 0, 0].numpy(), [50 / 3, -20.0], atol=1e-4)
    # lower temperature pulls a soft distribution towards its mode (less sepia averaging)
    soft = torch.tensor([0.0, 1.0, 0.5]).view(1, 3, 1, 1)
    net.temperature = 1.0
    mean_t1 = net.annealed_mean(soft)[0, 0, 0, 0].item()
    net.temperature = 0.38
    assert net.annealed_mean(soft)[0, 0, 0, 0].item() > mean_t1


def test_bins_and_rebalancing():
    rng = np.random.default_rng(0)
    ab = np.concatenate([rng.normal(0, 3, (5000, 2)), rng.normal((40, 40), 3, (200, 2))]).astype(np.float32)
    counts = histogram(ab)
    bins, prior = bins_from_histogram(counts)
    assert np.isclose(prior.sum(), 1.0) and len(bins) == len(prior)
    assert in_gamut()[np.argmin(np.abs(grid_centres() - np.array([0, 0])).sum(1))]
    w = rebalance_weights(bins, prior)
    assert np.isclose((w * smooth_prior(bins, prior)).sum(), 1.0, atol=1e-4)
    gray = np.argmin(np.abs(bins).sum(1))
    red = np.argmin(np.abs(bins - np.array([40, 40])).sum(1))
    assert w[red] > w[gray], "rare saturated colours must weigh more than the grey mode"


def test_soft_encode():
    bins = torch.from_numpy(grid_centres()[in_gamut()])
    ab = torch.tensor([[12.0, -31.0], [0.0, 0.0]]).T.reshape(1, 2, 2, 1)
    target, nearest = soft_encode(ab, bins)
    torch.testing.assert_close(target.sum(1), torch.ones(1, 2, 1))
    np.testing.assert_allclose(bins[nearest[0, 0, 0]].numpy(), [10.0, -30.0])


def test_loss_decreases_towards_truth():
    bins = torch.from_numpy(grid_centres()[in_gamut()])
    loss = ColourLoss(bins, torch.ones(len(bins)))
    truth = torch.full((1, 2, 8, 8), 20.0)
    idx = int(torch.cdist(torch.tensor([[20.0, 20.0]]), bins).argmin())
    good = torch.zeros(1, len(bins), 2, 2)
    good[:, idx] = 8.0
    bad = torch.zeros(1, len(bins), 2, 2)
    mask = torch.zeros(1, 1, 8, 8)
    assert loss(good, truth, truth, mask)["loss"] < loss(bad, truth * 0, truth, mask)["loss"]


def test_ship_updates_card(tiny, tmp_path):
    from kinochrome.core.model.ship import ship, time_inference

    run = tmp_path / "run"
    run.mkdir()
    (run / "best.safetensors").write_bytes(tiny.read_bytes())
    (run / "best.json").write_text(tiny.with_suffix(".json").read_text())
    timings = time_inference(run / "best.safetensors", [(16, 32)], repeats=1)
    out = ship(run, "shipped", tmp_path / "models", extra={"inference_ms_cpu": timings, "validation": {"x": 1}})
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["name"] == "shipped" and card["validation"]["x"] == 1 and "32x16" in card["inference_ms_cpu"]
    assert load_model(str(out), "cpu").name == "shipped"


def test_ship_command_places_nothing_when_scoring_fails(tiny, tmp_path, monkeypatch, capsys):
    from kinochrome.core.model import ship as ship_mod

    run = tmp_path / "run"
    run.mkdir()
    (run / "best.safetensors").write_bytes(tiny.read_bytes())
    card = json.loads(tiny.with_suffix(".json").read_text())
    card.setdefault("training", {})["val_clips"] = ["clip_a"]
    (run / "best.json").write_text(json.dumps(card))
    models = tmp_path / "models"
    models.mkdir()
    monkeypatch.setattr(ship_mod, "BUILTIN_MODELS_DIR", models)
    assert ship_mod.main([str(run), "shipped", "--score", str(tmp_path / "no_clips")]) == 1
    assert "ship: error:" in capsys.readouterr().err
    assert list(models.iterdir()) == []                      # no unmeasured model was put in place
    assert ship_mod.main([str(run), "shipped"]) == 0
    assert sorted(p.name for p in models.iterdir()) == ["shipped.json", "shipped.safetensors"]
    # a candidate goes where it is asked, with its decoding setting, and the built-in models stay as they were
    elsewhere = tmp_path / "candidates"
    elsewhere.mkdir()
    assert ship_mod.main([str(run), "cand", "--prior-correction", "0.1", "--out-dir", str(elsewhere)]) == 0
    assert sorted(p.name for p in models.iterdir()) == ["shipped.json", "shipped.safetensors"]
    assert json.loads((elsewhere / "cand.json").read_text())["config"]["prior_correction"] == 0.1


def test_ship_puts_the_data_sources_and_licences_in_the_card(tiny, tmp_path, monkeypatch, capsys):
    from kinochrome.core.model import ship as ship_mod

    run = tmp_path / "run"
    run.mkdir()
    (run / "last.safetensors").write_bytes(tiny.read_bytes())
    (run / "last.json").write_text(tiny.with_suffix(".json").read_text())
    manifest = tmp_path / "MANIFEST.tsv"
    manifest.write_text("part\tsource_kind\tsource\tfiles_taken\tlicence_as_stated\n"
                        "photos\tgithub\tsome/imagenet-samples\t920\tImageNet terms: non-commercial research\n")
    models = tmp_path / "models"
    models.mkdir()
    monkeypatch.setattr(ship_mod, "BUILTIN_MODELS_DIR", models)
    assert ship_mod.main([str(run), "shipped", "--which", "last", "--manifest", str(manifest)]) == 0
    card = json.loads((models / "shipped.json").read_text())
    assert card["training"]["data_sources"] == [{"part": "photos", "source_kind": "github",
                                                 "source": "some/imagenet-samples", "files_taken": "920",
                                                 "licence_as_stated": "ImageNet terms: non-commercial research"}]
    assert "research" in card["training"]["data_licence_note"]
    manifest.write_text("not a manifest\n")
    assert ship_mod.main([str(run), "other", "--which", "last", "--manifest", str(manifest)]) == 1
    assert "not a data manifest" in capsys.readouterr().err


def test_prior_correction_from_card(tiny, tmp_path):
    card = json.loads(tiny.with_suffix(".json").read_text())
    k = len(card["bins"])
    weights = np.ones(k, np.float32)
    weights[0] = 100.0  # a colour the rebalancing pushed up a lot
    card["rebalance_weights"] = weights.tolist()
    card["config"]["prior_correction"] = 1.0
    path = tmp_path / "corrected.safetensors"
    path.write_bytes(tiny.read_bytes())
    path.with_suffix(".json").write_text(json.dumps(card))
    plain, _ = load_network(tiny)
    corrected, _ = load_network(path)
    logits = torch.zeros(1, k, 1, 1)
    logits[:, 0] = 3.0
    far = plain.annealed_mean(logits)[0, :, 0, 0]
    near = corrected.annealed_mean(logits)[0, :, 0, 0]
    bin0 = plain.bins[0]
    assert (near - bin0).norm() > (far - bin0).norm()  # the corrected decode trusts bin 0 less
    assert "logit_bias" not in corrected.state_dict()  # weights files stay the same
