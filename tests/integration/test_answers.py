"""Never a wrong "ok", never an ambiguous failure (issue 14): what ``ask`` answers when a reply
outgrows the pane, when the agent answers before the first look, when time runs short, when a
lock keeper hangs, and what bytes it refuses. Real tmux, the real demo agent and shell, the CLI
as a user runs it (through the broker unless said otherwise)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.fixtures import TmuxServer, agent_toml, local_host_toml, run_cli

pytestmark = pytest.mark.integration

CLI = Callable[..., tuple[int, str, str]]


def logged(log: Path) -> list[str]:
    return [json.loads(line)["prompt"] for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture
def cli(demo: tuple[str, Path], tmux_server: TmuxServer, make_registry: Callable[..., Path]) -> CLI:
    """The CLI on a registry with the demo agent (``demo``) and a shell (``sh``) on this machine."""
    tmux_server.new_pane("sh")
    registry = make_registry(
        local_host_toml("here", tmux_server.socket),
        agent_toml("demo", "here", "demo:0.0", profile="demo"),
        agent_toml("sh", "here", "sh:0.0"),
    )

    def call(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
             ) -> tuple[int, str, str]:  # fmt: skip
        result = run_cli("--config", str(registry), *args, input=stdin, env=env, timeout=120)
        return result.returncode, result.stdout.decode(), result.stderr.decode()

    return call


def test_a_reply_longer_than_the_scrollback_is_an_error_never_an_empty_ok(cli: CLI) -> None:
    """tmux keeps 2,000 lines of scrollback: a reply that fits is read whole; one that does not
    fails with exit 6 (delivered) saying what was lost, never ``"reply": ""`` with exit 0."""
    code, out, err = cli("--json", "ask", "sh", "seq 1 1990")
    assert code == 0, err
    assert json.loads(out)["reply"].split("\n") == [str(n) for n in range(1, 1991)]

    code, out, err = cli("--json", "ask", "sh", "seq 1 2100")
    assert code == 6, (code, out[:300], err)
    data = json.loads(out)
    assert data["error"] == "ReplyLostError" and data["delivered"] is True
    assert "scrollback" in err and "longer than the pane keeps" in err

