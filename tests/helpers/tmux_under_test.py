"""Which tmux a test run uses, and how to hand it to what does not inherit the run's PATH.

CI runs the suite once per tmux version it tests by putting that version's folder first on PATH;
panes started with a clean environment, sshd's sessions and the Claude Code fixture's tmux get it
from here.
"""

from __future__ import annotations

import os
import shutil
import sys

STD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Where this interpreter's console scripts are (`agent-bridge`, `agent-bridge-demo`): on PATH, as
# an install puts them there, for panes and sshd sessions that start agents by those names.
INSTALLED_BIN = os.path.dirname(sys.executable)


def tmux_dir() -> str | None:
    """The folder of the ``tmux`` this test run uses: the first on PATH (CI puts each tmux
    version it tests there in turn)."""
    found = shutil.which("tmux")
    return os.path.dirname(found) if found else None


def tested_path(base: str = STD_PATH) -> str:
    """``base`` with the tested tmux's folder first: for panes, sshd sessions and clients that
    do not inherit the test run's PATH (sshd gives commands its own default PATH)."""
    parts = base.split(":")
    for folder in (INSTALLED_BIN, tmux_dir()):  # the tested tmux ends up first
        if folder is not None and folder not in parts:
            parts.insert(0, folder)
    return ":".join(parts)


def sshd_setenv() -> str:
    """The sshd_config line that makes commands over SSH find the tested tmux."""
    return f"SetEnv PATH={tested_path()}"
