"""Register Kinochrome with Nuke for this user: a guarded, removable block in ``~/.nuke/init.py``.

Standard library only: ``install.py`` imports this file by path with the system Python, before (or without)
the venv. The block it writes (between ``# >>> kinochrome >>>`` and ``# <<< kinochrome <<<``):

* records the venv in ``KINOCHROME_VENV`` (unless the studio already set it), and
* calls ``nuke.pluginAddPath(<package>/nuke, addToSysPath=False)``, which makes Nuke run Kinochrome's
  ``nuke/init.py`` at once (it puts the venv's site-packages for Nuke's Python version on ``sys.path`` with
  ``site.addsitedir``) and, in GUI sessions, ``nuke/menu.py`` (the Nodes toolbar menu).

``register`` twice adds nothing twice (a block pointing elsewhere is replaced); ``unregister`` removes exactly
that block and leaves the rest of the user's init.py as it was. Studios can skip this and set
``NUKE_PATH=<package>/nuke`` and ``KINOCHROME_VENV=<venv>`` instead (see docs/nuke.md).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

BEGIN = "# >>> kinochrome >>>"
END = "# <<< kinochrome <<<"
ENV_VENV = "KINOCHROME_VENV"


def nuke_home(environ: dict[str, str] | None = None, platform: str | None = None) -> Path:
    """The folder Nuke reads ``.nuke`` from. On Windows Nuke uses ``%HOME%\\.nuke`` when HOME is set, else
    ``%USERPROFILE%\\.nuke`` (Foundry, "Loading Gizmos, NDK Plug-ins, and Python and Tcl Scripts"); Python's
    ``Path.home()`` ignores HOME on Windows since 3.8, so it is read here. Elsewhere ``$HOME``."""
    env = os.environ if environ is None else environ
    if (platform or sys.platform).startswith("win"):
        for name in ("HOME", "USERPROFILE"):
            if env.get(name):
                return Path(env[name])
    elif env.get("HOME"):
        return Path(env["HOME"])
    return Path.home()


def init_path(home: Path | None = None, environ: dict[str, str] | None = None, platform: str | None = None) -> Path:
    """The user's Nuke start-up file: ``~/.nuke/init.py`` (Windows: under %HOME% when set, else %USERPROFILE%)."""
    return Path(home if home is not None else nuke_home(environ, platform)) / ".nuke" / "init.py"


def block(venv: Path, package_dir: Path) -> str:
    """The start-up block, paths written as Python string literals (safe for spaces, quotes, backslashes)."""
    plugin_dir = str(Path(package_dir).resolve() / "nuke")
    return "\n".join([
        BEGIN,
        "# Added by Kinochrome's install.py --hosts nuke; `python3 install.py --uninstall --hosts nuke` removes it.",
        "try:",
        "    import os as _kino_os",
        "    import nuke as _kino_nuke",
        f"    _kino_os.environ.setdefault({ENV_VENV!r}, {str(Path(venv).resolve())!r})",
        f"    _kino_nuke.pluginAddPath({plugin_dir!r}, addToSysPath=False)",
        "except Exception as _kino_exc:  # never stop Nuke from starting",
        "    print('Kinochrome: start-up failed: %s' % (_kino_exc,))",
        END,
    ]) + "\n"


def _split(text: str) -> tuple[str, str | None, str]:
    """(before, block or None, after) of a file's text; the block includes its marker lines."""
    start = text.find(BEGIN)
    if start < 0:
        return text, None, ""
    end = text.find(END, start)
    if end < 0:
        raise ValueError(f"found {BEGIN!r} without {END!r}: fix the file by hand")
    end += len(END)
    if text[end:end + 1] == "\n":
        end += 1
    return text[:start], text[start:end], text[end:]


def _read(path: Path) -> str:
    """The file's text with its own line endings (CRLF stays CRLF); ValueError for a file that is not UTF-8."""
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            return fh.read()
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text, so it is left alone: add the block by hand (docs/nuke.md)") from None


def _write(path: Path, text: str) -> None:
    """Write atomically (temp file beside it, then rename), keeping the file's permissions; a symlinked
    init.py (a studio's shared one) is written through, so the link stays a link."""
    if path.is_symlink():
        path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o7777 if path.exists() else None
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".kino.tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def register(venv: Path, package_dir: Path, home: Path | None = None, dry_run: bool = False) -> list[str]:
    """Add (or update) the Kinochrome block in ``~/.nuke/init.py``. Returns what it did, one line each."""
    path = init_path(home)
    plugin_dir = Path(package_dir).resolve() / "nuke"
    if not (plugin_dir / "menu.py").is_file():
        raise FileNotFoundError(f"{plugin_dir}: no menu.py; is {package_dir} the Kinochrome package folder?")
    wanted = block(Path(venv), Path(package_dir))
    text = _read(path) if path.exists() else ""
    before, current, after = _split(text)
    would = "would " if dry_run else ""
    if current == wanted:
        return [f"{path}: Kinochrome block already present (plugin path {plugin_dir})"]
    if current is not None:
        new = before + wanted + after
        action = f"{would}update the Kinochrome block in {path}"
    else:
        sep = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
        new = text + sep + wanted
        action = f"{would}add the Kinochrome block to {path}"
    if not dry_run:
        _write(path, new)
    return [f"{action} (plugin path {plugin_dir}, venv {Path(venv).resolve()})"]


def unregister(home: Path | None = None, dry_run: bool = False) -> list[str]:
    """Remove the Kinochrome block from ``~/.nuke/init.py``, leaving everything else as it was."""
    path = init_path(home)
    if not path.exists():
        return [f"{path}: not present, nothing to remove"]
    text = _read(path)
    before, current, after = _split(text)
    if current is None:
        return [f"{path}: no Kinochrome block, nothing to remove"]
    # drop the blank line register() put before the block
    if before.endswith("\n\n") and not after.strip():
        before = before[:-1]
    if not dry_run:
        _write(path, before + after)
    return [f"{'would remove' if dry_run else 'removed'} the Kinochrome block from {path}"]
