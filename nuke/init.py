"""Nuke's init.py for Kinochrome (runs in every mode, ``nuke -t`` included; no UI here).

Puts the Kinochrome venv's site-packages on ``sys.path`` so that ``kinochrome`` (and fileseq) import, if the
venv was made with this Nuke's Python version. Only pure-Python parts are imported into Nuke: torch, cv2 and
OpenImageIO never are (Nuke 15.1+ ships its own torch); the work runs in the venv's own Python (docs/nuke.md). The venv comes from ``KINOCHROME_VENV``, set by the block ``install.py --hosts nuke`` adds to
~/.nuke/init.py, or by the studio alongside ``NUKE_PATH``.
"""
import glob
import os
import re
import site
import sys


def _kinochrome_site_packages(venv):
    """(site-packages folder or None, reason when None) for Nuke's Python."""
    ours = f"{sys.version_info[0]}.{sys.version_info[1]}"
    try:
        with open(os.path.join(venv, "pyvenv.cfg")) as fh:
            found = re.search(r"^version(?:_info)?\s*=\s*(\d+\.\d+)", fh.read(), re.MULTILINE)
    except OSError:
        return None, f"{venv} is not a venv (no pyvenv.cfg)"
    if found and found.group(1) != ours:
        return None, f"{venv} was made with Python {found.group(1)} but this Nuke runs Python {ours}"
    hits = glob.glob(os.path.join(venv, "Lib", "site-packages")) + glob.glob(
        os.path.join(venv, "lib", "python" + ours, "site-packages"))
    return (hits[0], "") if hits else (None, f"{venv} has no site-packages for Python {ours}")


if os.environ.get("KINOCHROME_VENV"):
    _path, _why = _kinochrome_site_packages(os.environ["KINOCHROME_VENV"])
    if _path:
        site.addsitedir(_path)
    else:
        print(f"Kinochrome: {_why}; re-run `python3 install.py --hosts nuke` with a Python of Nuke's version "
              "(see docs/nuke.md).")
    del _path, _why
