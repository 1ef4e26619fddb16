"""Install / remove the Kinochrome Workspace script in Resolve's per-user Fusion/Scripts/Utility folder.

Standard library only: install.py imports this file by path with the system Python, before the venv exists.
``register`` writes ``Kinochrome.py`` (this folder's template with the venv and package paths baked in) so
Resolve lists it under Workspace > Scripts on every page; ``unregister`` removes exactly that file. Both are
idempotent and return what they did, one line each.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

SCRIPT_NAME = "Kinochrome.py"
MARKER = "# kinochrome-workspace-script"          # first line of an installed script: ours to remove
_VENV_LINE = "KINOCHROME_VENV = None"
_PACKAGE_LINE = "KINOCHROME_PACKAGE = None"
_TEMPLATE = Path(__file__).resolve().with_name(SCRIPT_NAME)


def utility_folder(home: Path | None = None, platform: str | None = None) -> Path:
    """Resolve's per-user Fusion/Scripts/Utility folder (scripts there show on every page).

    ``home`` replaces the user's home folder (tests, staging); on Windows the folder is under %APPDATA%
    (``home/AppData/Roaming`` when ``home`` is given).
    """
    platform = platform or sys.platform
    if platform.startswith("win"):
        appdata = Path(home, "AppData", "Roaming") if home else Path(os.environ.get("APPDATA")
                                                                       or Path.home() / "AppData" / "Roaming")
        return appdata / "Blackmagic Design" / "DaVinci Resolve" / "Support" / "Fusion" / "Scripts" / "Utility"
    base = Path(home) if home else Path.home()
    if platform == "darwin":
        return (base / "Library" / "Application Support" / "Blackmagic Design" / "DaVinci Resolve" / "Fusion"
                / "Scripts" / "Utility")
    return base / ".local" / "share" / "DaVinciResolve" / "Fusion" / "Scripts" / "Utility"


def script_text(venv: Path, package_dir: Path) -> str:
    """The package's Workspace script (``resolve/Kinochrome.py``) with ``venv`` and ``package_dir`` baked in."""
    template = Path(package_dir) / "resolve" / SCRIPT_NAME
    template = template if template.is_file() else _TEMPLATE
    text = template.read_text(encoding="utf-8")
    if _VENV_LINE not in text or _PACKAGE_LINE not in text or not text.startswith(MARKER):
        raise RuntimeError(f"{template}: not the Kinochrome workspace template")
    text = text.replace(_VENV_LINE, f"KINOCHROME_VENV = {str(Path(venv).absolute())!r}", 1)
    return text.replace(_PACKAGE_LINE, f"KINOCHROME_PACKAGE = {str(Path(package_dir).absolute())!r}", 1)


def register(venv: Path, package_dir: Path, home: Path | None = None, dry_run: bool = False) -> list[str]:
    """Write the Workspace script into Resolve's Utility folder; a second run changes nothing."""
    target = utility_folder(home) / SCRIPT_NAME
    text = script_text(Path(venv), Path(package_dir))
    if target.is_file():
        current = target.read_text(encoding="utf-8", errors="replace")
        if current == text:
            return [f"{target} up to date"]
        if not current.startswith(MARKER):
            return [f"{target} exists and is not Kinochrome's; left alone (move it, then run again)"]
    if dry_run:
        return [f"would write {target}"]
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{SCRIPT_NAME}.tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, target)
    return [f"wrote {target} (Workspace > Scripts > Kinochrome)"]


def unregister(home: Path | None = None, dry_run: bool = False) -> list[str]:
    """Remove the Workspace script written by :func:`register`; nothing else."""
    target = utility_folder(home) / SCRIPT_NAME
    if not target.is_file():
        return [f"{target} not installed"]
    if not target.read_text(encoding="utf-8", errors="replace").startswith(MARKER):
        return [f"{target} is not Kinochrome's; left alone"]
    if dry_run:
        return [f"would remove {target}"]
    target.unlink()
    return [f"removed {target}"]
