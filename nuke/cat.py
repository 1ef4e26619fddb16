"""Make a .cat file for Nuke's Inference node from Kinochrome's TorchScript export, with CatFileCreator.

Runs inside NukeX or Nuke Studio (CatFileCreator and Inference are not in plain Nuke), either from the toolbar's
"Export for Inference" or in terminal mode::

    nuke -t /path/to/kinochrome/nuke/cat.py model.pt model.cat [model-id]

CatFileCreator knobs set here: ``torchScriptFile``, ``catFile``, ``channelsIn``, ``channelsOut``, ``modelId``,
``outputScale``; the ``createCatFile`` button writes the .cat. The channel lists say which Nuke channels fill the
input tensor's C dimension (in order) and where the output channels go. The export
(``kinochrome.core.model.export``) takes ``(1, 4, H, W)`` = L*/100, a_hint/110, b_hint/110, hint mask and returns
``(1, 3, H, W)`` = L*/100, a*/110, b*/110; so by default rgba feeds the four inputs and the result lands in rgb
(Lab, to be turned back into RGB downstream; docs/nuke.md has the node recipe). If the export module ever states
its layout as ``CHANNELS_IN``/``CHANNELS_OUT`` (comma-separated Nuke channel names), those win.
The .pt must load in *Nuke's* torch (Nuke 13: 1.6; 14/15: 1.12.1): export with a matching torch (docs/nuke.md).
"""

from __future__ import annotations

import os
import sys
from typing import Any, cast

import nuke

#: The export's layout: the 4-channel guided input (L*/100, a_hint/110, b_hint/110, hint mask) from rgba,
#: the 3-channel result (L*/100, a*/110, b*/110) into rgb.
DEFAULT_CHANNELS_IN = "rgba.red,rgba.green,rgba.blue,rgba.alpha"
DEFAULT_CHANNELS_OUT = "rgba.red,rgba.green,rgba.blue"


def channel_layout() -> tuple[str, str]:
    """(channelsIn, channelsOut) from ``kinochrome.core.model.export`` when it states them, else the defaults."""
    try:
        from kinochrome.core.model import export
    except ImportError:
        return DEFAULT_CHANNELS_IN, DEFAULT_CHANNELS_OUT
    return (str(getattr(export, "CHANNELS_IN", DEFAULT_CHANNELS_IN)),
            str(getattr(export, "CHANNELS_OUT", DEFAULT_CHANNELS_OUT)))


def make_cat_file(torchscript: str, cat_path: str, model_id: str = "kinochrome", channels_in: str | None = None,
                  channels_out: str | None = None, output_scale: int = 1) -> str:
    """Create ``cat_path`` from the TorchScript file with a temporary CatFileCreator node; returns the path.

    RuntimeError when CatFileCreator is unavailable (plain Nuke) or writes nothing.
    """
    torchscript = os.path.abspath(torchscript)
    cat_path = os.path.abspath(cat_path)
    if not os.path.isfile(torchscript):
        raise FileNotFoundError(f"{torchscript}: TorchScript file not found")
    layout_in, layout_out = channel_layout()
    try:
        creator = nuke.nodes.CatFileCreator()
    except RuntimeError as exc:
        raise RuntimeError(f"CatFileCreator is not available ({exc}); it needs NukeX or Nuke Studio") from None
    try:
        creator["torchScriptFile"].setValue(torchscript)
        creator["catFile"].setValue(cat_path)
        creator["channelsIn"].setValue(channels_in or layout_in)
        creator["channelsOut"].setValue(channels_out or layout_out)
        creator["modelId"].setValue(model_id)
        creator["outputScale"].setValue(output_scale)
        if os.path.exists(cat_path):
            os.unlink(cat_path)
        cast("nuke.PyScript_Knob", creator["createCatFile"]).execute()
    finally:
        nuke.delete(creator)
    if not os.path.isfile(cat_path):
        raise RuntimeError(f"CatFileCreator wrote no {cat_path}; see the Script Editor / terminal for its error")
    return cat_path


def create_inference_node(cat_path: str) -> Any:
    """An Inference node reading ``cat_path`` (its ``modelFile`` knob)."""
    node = nuke.nodes.Inference()
    knob = node.knob("modelFile")
    if knob is not None:
        knob.setValue(cat_path)
    return node


def main(argv: list[str]) -> int:
    """``nuke -t cat.py MODEL.pt OUT.cat [MODEL_ID]``."""
    if len(argv) not in (2, 3):
        print("usage: nuke -t cat.py MODEL.pt OUT.cat [MODEL_ID]", file=sys.stderr)
        return 2
    try:
        path = make_cat_file(argv[0], argv[1], argv[2] if len(argv) == 3 else "kinochrome")
    except (OSError, RuntimeError) as exc:
        print(f"kinochrome cat: {exc}", file=sys.stderr)
        return 1
    print(f"kinochrome cat: wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
