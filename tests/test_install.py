"""install.py: dry run, host registration dispatch and idempotence in a temporary HOME, bad host names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_install(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, HOME=str(home), APPDATA=str(home / "AppData"))
    return subprocess.run([sys.executable, str(ROOT / "install.py"), *args], capture_output=True, text=True,
                          env=env, check=False)


def test_dry_run_prints_the_plan_and_changes_nothing(tmp_path):
    venv = tmp_path / "venv"
    done = run_install("--dry-run", "--dev", "--venv", str(venv), "--hosts", "nuke,resolve", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "torch==2.13.0" in done.stdout and "[panel,farm,train,dev]" in done.stdout
    assert "pixelops.warm_up()" in done.stdout  # the kernels are compiled at install, not on the first run
    assert not venv.exists()
    assert not (tmp_path / ".nuke").exists() or not any((tmp_path / ".nuke").iterdir())


def test_host_registration_is_idempotent_and_removable(tmp_path):
    venv = Path(sys.prefix)  # the test venv stands in for the one install.py would make
    first = run_install("--venv", str(venv), "--hosts", "nuke,resolve", "--dry-run", home=tmp_path)
    assert first.returncode == 0
    from importlib import util

    spec = util.spec_from_file_location("nuke_registration", ROOT / "nuke" / "registration.py")
    module = util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.register(venv, ROOT, home=tmp_path)
    once = (tmp_path / ".nuke" / "init.py").read_text()
    module.register(venv, ROOT, home=tmp_path)
    assert (tmp_path / ".nuke" / "init.py").read_text() == once, "registering twice added twice"
    done = run_install("--uninstall", "--hosts", "nuke", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "kinochrome" not in (tmp_path / ".nuke" / "init.py").read_text()


def test_unknown_host_is_refused(tmp_path):
    done = run_install("--dry-run", "--hosts", "houdini", home=tmp_path)
    assert done.returncode != 0
    assert "houdini" in done.stderr
