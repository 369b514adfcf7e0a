"""An unexpected dialog stops an ask at once, with what it says (real tmux, a shell agent whose
user profile knows a dialog). Issue #15 asks for exit 4 there; #14's rule wins: the prompt was
delivered, so it is exit 6 and ``delivered: true`` (exit 4 always means nothing was typed)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bridge.profiles import BUILTIN_DIR
from tests.helpers.fixtures import TmuxServer, agent_toml, local_host_toml, run_cli

pytestmark = pytest.mark.integration


def test_a_dialog_while_answering_stops_the_ask_at_once(
    tmux_server: TmuxServer, make_registry: Callable[..., Path], tmp_path: Path
) -> None:
    xdg = tmp_path / "xdg"
    profiles = xdg / "agent-bridge" / "profiles"
    profiles.mkdir(parents=True)
    shell = (BUILTIN_DIR / "shell.toml").read_text()
    dialog = shell.replace('order = ["dead", "idle", "busy"]', 'order = ["dead", "dialog", "idle", "busy"]')
    dialog += "\n[[states.dialog.any]]\nregex = '^\\[DIALOG\\] '\nrows = 5\n"
    (profiles / "asking-shell.toml").write_text(dialog)
    tmux_server.new_pane("sh")
    registry = make_registry(local_host_toml("here", tmux_server.socket),
                             agent_toml("sh", "here", "sh:0.0", profile="asking-shell"))  # fmt: skip
    began = time.monotonic()
    result = run_cli("--config", str(registry), "--json", "ask", "sh", "--timeout", "60",
                     "printf '[DIALOG] Overwrite the file? (y/n)\\n'; read answer",
                     env={"XDG_CONFIG_HOME": str(xdg)})  # fmt: skip
    took = time.monotonic() - began
    # exit 6, not 4: the prompt was typed before the dialog came (a retry would type it again)
    assert result.returncode == 6, result.stderr
    error = json.loads(result.stdout)
    assert error["state"] == "dialog" and error["delivered"] is True
    assert "[DIALOG] Overwrite the file? (y/n)" in error["message"]
    assert took < 20, "stopped at once, not at the 60 s timeout"
