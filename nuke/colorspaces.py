"""Nuke colorspace names -> the names Kinochrome's colour module accepts (no Nuke import; pure functions).

A Read node's ``colorspace`` knob decides the input transform. Its value is one of:

* ``default`` / ``default (linear)``: Nuke picks by file type. ``default (X)`` maps X; a bare ``default`` maps to
  ``auto``, where Kinochrome decides from the file's metadata the same way (EXR/float -> linear, DPX with a
  logarithmic transfer -> Cineon, 8/16-bit integer -> sRGB).
* a nuke-default name (Nuke's own LUTs, the default config up to Nuke 15): mapped by :data:`NUKE_DEFAULT`.
* a role (``scene_linear``, ``compositing_log``, ...): under the nuke-default config mapped by :data:`ROLES`.
  Shown with what it stands for (``matte_paint (sRGB - Texture)``), the shown colourspace is used, under any
  config: OpenImageIO's built-in config maps some ACES roles differently from Nuke's ACES configs. A bare role
  under another config is passed through (right when ``$OCIO`` is the config Nuke uses).
* an OCIO colourspace name or alias (``ACES - ACEScg``, ``Utility - Linear - Rec.709``, ``Linear Rec.709
  (sRGB)``): passed through; Kinochrome's ``check_colourspace`` validates it.
"""

from __future__ import annotations

import re

AUTO = "auto"

#: Nuke's built-in (nuke-default) colorspaces -> Kinochrome names. Logs without an equivalent in OpenImageIO's
#: built-in config (Panalog, REDLog, SLog..., AlexaV3LogC) are passed through: they work with an ``$OCIO``
#: config that defines them, otherwise Kinochrome says so and the node's colourspace override is the fix.
NUKE_DEFAULT: dict[str, str] = {
    "linear": "lin_rec709",
    "sRGB": "sRGB",
    "rec709": "g22_rec709",       # Rec.709 camera OETF; nearest in the built-in config is gamma 2.2 Rec.709
    "Cineon": "Cineon log",
    "Gamma1.8": "g18_rec709",
    "Gamma2.2": "g22_rec709",
    "Gamma2.4": "g24_rec709",
    "BT1886": "g24_rec709",
    "raw": "Raw",
}

#: OCIO roles as the nuke-default config defines them.
ROLES: dict[str, str] = {
    "scene_linear": "lin_rec709",
    "reference": "lin_rec709",
    "rendering": "lin_rec709",
    "compositing_linear": "lin_rec709",
    "compositing_log": "Cineon log",
    "color_timing": "Cineon log",
    "color_picking": "sRGB",
    "texture_paint": "sRGB",
    "matte_paint": "sRGB",
    "data": "Raw",
}

#: ``id (shown)``; ``shown`` may hold brackets itself: ``default (Linear Rec.709 (sRGB))``
_WITH_DISPLAY = re.compile(r"^(?P<id>[\w.\-]+) \((?P<shown>.+)\)$")


def is_nuke_default(config: str | None) -> bool:
    """True for Nuke's own config (the Root's ``OCIO_config`` knob says ``nuke-default``, or there is none)."""
    return not config or config.strip().lower() == "nuke-default"


def to_kinochrome(name: str, config: str | None = "nuke-default") -> str:
    """A Read's ``colorspace`` value -> a Kinochrome colourspace name (``auto`` for Nuke's default).

    ``config`` is the Root's ``OCIO_config`` value (None when the knob does not exist: nuke-default).
    """
    name = (name or "").strip()
    if not name or name == "default":
        return AUTO
    shown = _WITH_DISPLAY.match(name)
    if shown and (shown["id"] == "default" or shown["id"] in ROLES):
        # 'default (linear)' or a role shown with what it stands for: 'scene_linear (linear)'
        inner = shown["shown"].strip()
        # Nuke shows the colourspace the role stands for in its config: that name is exact, while the role
        # would be looked up in OpenImageIO's config, whose ACES roles differ (matte_paint is ACEScct there)
        return to_kinochrome(inner, config)
    if name in NUKE_DEFAULT:
        return NUKE_DEFAULT[name]
    if name in ROLES:
        return ROLES[name] if is_nuke_default(config) else name
    return name
