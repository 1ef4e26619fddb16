"""core/memory.py: glibc accepts the allocator settings; elsewhere nothing is touched."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from kinochrome.core import memory


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
                    reason="glibc's mallopt only")
def test_glibc_accepts_every_setting():
    # in a process of its own: the settings are process-wide
    code = "from kinochrome.core import memory; print(memory.tune_allocator())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"   # mallopt returned 1 for each (0 for a setting it refuses)


def test_nothing_is_set_off_linux(monkeypatch):
    monkeypatch.setattr(memory.sys, "platform", "darwin")
    assert memory.tune_allocator() is False
