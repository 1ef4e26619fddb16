"""Find DaVinci Resolve's scripting module and connect to a running Resolve.

The documented way: ``DaVinciResolveScript`` lives in ``$RESOLVE_SCRIPT_API/Modules`` and loads
``fusionscript`` from ``$RESOLVE_SCRIPT_LIB``; without those variables the per-OS install locations are
used. ``scriptapp("Resolve")`` returns None when Resolve is not running or external scripting is off
(Preferences > System > General > External scripting using: Local). Each failure raises a
:class:`ResolveError` subclass whose one-line message says what to do.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping, MutableMapping
from types import ModuleType
from typing import TYPE_CHECKING, cast

from kinochrome.core.errors import KinochromeError

if TYPE_CHECKING:
    from fusionscript import Resolve

ENV_API = "RESOLVE_SCRIPT_API"
ENV_LIB = "RESOLVE_SCRIPT_LIB"
#: Windows: the Python home fusionscript.dll loads (Resolve's README, "Windows" under external scripting; without
#: it, with several Pythons installed, fusionscript may load another one's DLL and crash).
ENV_PYTHON_HOME = "FUSION_PYTHON3_HOME"
MODULE_NAME = "DaVinciResolveScript"

#: (RESOLVE_SCRIPT_API, RESOLVE_SCRIPT_LIB) defaults per ``sys.platform`` family, from Resolve's README.
_DEFAULTS = {
    "darwin": (
        "/Library/Application Support/Blackmagic Design/DaVinci Resolve/Developer/Scripting",
        "/Applications/DaVinci Resolve/DaVinci Resolve.app/Contents/Libraries/Fusion/fusionscript.so",
    ),
    "win32": (
        r"%PROGRAMDATA%\Blackmagic Design\DaVinci Resolve\Support\Developer\Scripting",
        r"C:\Program Files\Blackmagic Design\DaVinci Resolve\fusionscript.dll",
    ),
    "linux": (
        "/opt/resolve/Developer/Scripting",
        "/opt/resolve/libs/Fusion/fusionscript.so",
    ),
}


class ResolveError(KinochromeError):
    """Something about Resolve itself: not reachable, no project/timeline, a render that failed."""

    exit_code = 3


class ResolveModuleMissing(ResolveError):
    """DaVinciResolveScript cannot be imported (Resolve not installed, or its paths not set)."""


class ResolveNotRunning(ResolveError):
    """scriptapp("Resolve") gave None: Resolve is not running or external scripting is off."""


def _family(platform: str) -> str:
    if platform.startswith("win"):
        return "win32"
    if platform == "darwin":
        return "darwin"
    return "linux"


def script_paths(environ: Mapping[str, str] | None = None, platform: str | None = None) -> tuple[str, str]:
    """(RESOLVE_SCRIPT_API, RESOLVE_SCRIPT_LIB): the environment's values, else the OS defaults."""
    env = os.environ if environ is None else environ
    api_default, lib_default = _DEFAULTS[_family(platform or sys.platform)]
    if "%PROGRAMDATA%" in api_default:
        api_default = api_default.replace("%PROGRAMDATA%", env.get("PROGRAMDATA", r"C:\ProgramData"))
    return env.get(ENV_API) or api_default, env.get(ENV_LIB) or lib_default


def load_module(environ: MutableMapping[str, str] | None = None, platform: str | None = None) -> ModuleType:
    """Import DaVinciResolveScript: as already importable, else from ``$RESOLVE_SCRIPT_API/Modules``.

    Sets ``RESOLVE_SCRIPT_LIB`` in the environment when unset (the module reads it to find fusionscript), and on
    Windows ``FUSION_PYTHON3_HOME`` to this Python's home, so fusionscript loads the Python that is running.
    Raises :class:`ResolveModuleMissing` naming the folder searched.
    """
    env = os.environ if environ is None else environ
    api, lib = script_paths(env, platform)
    if _family(platform or sys.platform) == "win32":
        env.setdefault(ENV_PYTHON_HOME, sys.base_prefix)
    try:
        return importlib.import_module(MODULE_NAME)
    except ImportError:
        pass
    modules = os.path.join(api, "Modules")
    if modules not in sys.path:
        sys.path.append(modules)
    env.setdefault(ENV_LIB, lib)
    try:
        return importlib.import_module(MODULE_NAME)
    except ImportError as exc:
        raise ResolveModuleMissing(
            f"{MODULE_NAME} not found in {modules} ({exc}); install DaVinci Resolve or set {ENV_API} "
            f"to its Developer/Scripting folder and {ENV_LIB} to fusionscript") from exc


def connect(environ: MutableMapping[str, str] | None = None, platform: str | None = None) -> Resolve:
    """The running Resolve's scripting object. Raises ResolveModuleMissing / ResolveNotRunning."""
    module = load_module(environ, platform)
    app = module.scriptapp("Resolve")
    if app is None:
        raise ResolveNotRunning(
            "cannot reach DaVinci Resolve: start it, and for scripts run outside Resolve set Preferences > "
            "System > General > External scripting using: Local (Resolve Studio)")
    return cast("Resolve", app)
