"""THE one tmux failure mapper, and what the one runner raises with it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from bridge.errors import (
    AgentNotReadyError,
    BridgeError,
    CommandError,
    HostUnreachableError,
    TargetNotFoundError,
)
from bridge.tmux.commands import Tmux
from bridge.tmux.failures import attach_failure, channel_ended, channel_lost, failure
from bridge.transport.base import Completed


def failed(stderr: str, status: int = 1) -> Completed:
    return Completed(("tmux", "paste-buffer"), status, "", stderr)


def test_one_failure_mapper() -> None:
    assert isinstance(failure("h", failed("can't find pane: %9\n"), "%9"), TargetNotFoundError)
    assert isinstance(failure("h", failed("no server running on /tmp/x\n"), "%9"), TargetNotFoundError)
    dead = failure("h", failed("target pane has exited\n"), "%9")
    assert isinstance(dead, AgentNotReadyError) and dead.state == "dead" and "restart" in str(dead)
    missing = failure("h", failed("bash: tmux: command not found\n", 127), None)
    assert isinstance(missing, CommandError) and missing.hint == "install tmux on h"
    other = failure("h", failed("bad thing\n"), None)
    assert type(other) is CommandError and "bad thing" in str(other)


class FakeTransport:
    """A transport that answers every command with one canned result (unit tests only)."""

    host = "box"
    remote = False

    def __init__(self, status: int, stderr: str) -> None:
        self.status, self.stderr = status, stderr
        self.calls: list[tuple[str, ...]] = []

    async def run(
        self, argv: Sequence[str], stdin: bytes | str | None = None, *, timeout: float | None = None
    ) -> Completed:
        self.calls.append(tuple(argv))
        return Completed(tuple(argv), self.status, "", self.stderr)

    async def close(self) -> None:
        return None


@pytest.mark.parametrize(
    "stderr",
    [
        "can't find session: nosuch",
        "can't find pane: 7",
        "no server running on /tmp/x",
        "error connecting to /tmp/x (No such file or directory)",
    ],
)
def test_tmux_missing_target_maps_to_exit_4(stderr: str) -> None:
    tmux = Tmux(FakeTransport(1, stderr + "\n"), "/tmp/sock")
    with pytest.raises(TargetNotFoundError) as info:
        asyncio.run(tmux.capture("%1"))
    assert info.value.exit_code == 4 and info.value.target == "%1" and stderr in str(info.value)


def test_tmux_other_failure_is_command_error_with_data() -> None:
    transport = FakeTransport(127, "sh: 1: tmux: not found\n")
    with pytest.raises(CommandError) as info:
        asyncio.run(Tmux(transport).version())
    err = info.value
    assert err.exit_code == 1 and err.exit_status == 127 and err.argv == ["tmux", "-u", "-V"]
    assert "install tmux on box" in str(err)
    assert transport.calls == [("tmux", "-u", "-V")]


def test_only_the_last_line_of_stderr_counts() -> None:
    err = failure("h", failed("warning: can't find pane: %1 earlier\nsomething else broke\n"), "%1")
    assert type(err) is CommandError and err.stderr.startswith("warning") and "something else" in str(err)
    assert "no message" in str(failure("h", failed(""), None))


def test_a_control_client_that_cannot_attach() -> None:
    shell = attach_failure("h", "agents", "bash: line 1: tmux: not found", before_tmux=True)
    assert type(shell) is BridgeError and shell.hint == "install tmux on h"
    gone = attach_failure("h", "agents", "can't find session: agents")
    assert isinstance(gone, TargetNotFoundError) and gone.target == "agents"
    assert "can't find session" in str(gone)
    # tmux's own refusal is never read as "tmux not found", even when it says "not found"
    assert isinstance(attach_failure("h", "not found", "session not found"), TargetNotFoundError)
    assert "it is gone" in str(attach_failure("h", "agents", "", before_tmux=True))


def test_a_control_client_that_ended() -> None:
    link = channel_ended("h", "", exited=False, remote=True)
    assert isinstance(link, HostUnreachableError) and "without %exit" in str(link)
    killed = channel_ended("h", "server exited", exited=True, remote=True)
    assert type(killed) is BridgeError and "exited: server exited" in str(killed)
    assert type(channel_ended("h", "", exited=False, remote=False)) is BridgeError
    lost = channel_lost("h", BrokenPipeError(), remote=True)
    assert isinstance(lost, HostUnreachableError) and "BrokenPipeError" in str(lost)
    assert type(channel_lost("h", OSError("gone"), remote=False)) is BridgeError
    already = TargetNotFoundError("x")
    assert channel_lost("h", already, remote=True) is already
