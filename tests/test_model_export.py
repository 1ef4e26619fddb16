"""TorchScript export for Nuke matches the eager network."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kinochrome.core.model import build_tiny_model, load_model
from kinochrome.core.model.export import GuidedFrame, export_torchscript
from kinochrome.core.model.weights import load_network


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_torchscript_matches_eager(tmp_path):
    weights = build_tiny_model(tmp_path)
    out = export_torchscript(weights, tmp_path / "kino.pt")
    scripted = torch.jit.load(str(out))
    net, _ = load_network(weights)
    eager = GuidedFrame(net)
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.random((1, 4, 37, 50)).astype(np.float32))
    x[:, 1:3] = (x[:, 1:3] - 0.5) * (x[:, 3:4] > 0.8)
    x[:, 3] = (x[:, 3] > 0.8).float()
    with torch.no_grad():
        a, b = scripted(x), eager(x)
    assert a.shape == (1, 3, 37, 50)
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(a[:, 0], x[:, 0])
    # and agrees with the Colouriser on the same frame (single image, zero state)
    model = load_model(str(weights), "cpu")
    lum = x[0, 0].numpy() * 100
    hint = np.moveaxis(x[0, 1:3].numpy(), 0, -1) * 110
    ab = model.predict_ab(lum, hint, x[0, 3].numpy())
    np.testing.assert_allclose(np.moveaxis(a[0, 1:].numpy(), 0, -1) * 110, ab, atol=1e-3)


def test_export_refuses_a_folder_and_never_leaves_half_a_file(tmp_path, monkeypatch):
    from kinochrome.core.errors import OutputError, UsageError

    weights = build_tiny_model(tmp_path)
    with pytest.raises(UsageError, match="is a folder"):
        export_torchscript(weights, tmp_path)
    out = tmp_path / "kino.pt"
    export_torchscript(weights, out)
    good = out.read_bytes()

    def full_disk(self, path, *args, **kwargs):
        with open(path, "wb") as fh:
            fh.write(b"half")
        raise RuntimeError("[enforce fail at inline_container.cc] file write failed")

    monkeypatch.setattr(torch.jit.RecursiveScriptModule, "save", full_disk)
    with pytest.raises(OutputError, match="kino.pt: cannot write"):
        export_torchscript(weights, out)
    assert out.read_bytes() == good                                 # the previous export survives
    assert sorted(p.name for p in tmp_path.iterdir() if "kino.pt" in p.name) == ["kino.pt"]
