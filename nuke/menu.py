"""Nuke's menu.py for Kinochrome (GUI sessions only): the Nodes toolbar menu. The logic is in
``kinochrome.nuke.adapter``; if it cannot be imported the menu says why instead of failing silently."""
import traceback

import nuke

try:
    from kinochrome.nuke import adapter
except Exception as _exc:  # noqa: BLE001 - kinochrome (or its venv) is not importable from Nuke's Python
    traceback.print_exc()
    _why = (f"Kinochrome is not importable from Nuke's Python ({_exc}). Run `python3 install.py --hosts nuke` "
            "with a Python of the same version as Nuke's, then restart Nuke (see docs/nuke.md).")
    nuke.menu("Nodes").addMenu("Kinochrome").addCommand("Not installed - why?", lambda: nuke.message(_why))
else:
    try:
        adapter.add_menus()
    except Exception:  # noqa: BLE001 - menu.py must never stop Nuke starting (Deadline's pattern)
        traceback.print_exc()
