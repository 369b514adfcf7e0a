"""``agent-bridge --version`` (#16): the one version (bridge.__version__, which packaging reads too)."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

import bridge


def test_version() -> None:
    result = subprocess.run([sys.executable, "-m", "bridge", "--version"], capture_output=True, text=True,
                            timeout=30)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"agent-bridge {bridge.__version__}\n"
    assert version("agent-bridge") == bridge.__version__, "the installed metadata says the same"
