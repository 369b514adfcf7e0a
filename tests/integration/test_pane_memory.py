"""A warm Bridge remembers which pane an agent's target named; the first look confirms it.

Skipping the resolve saves a round trip per ask. These tests show the memory is never trusted
blindly: a pane that is gone, or a target that names another pane now, is resolved again before
anything is typed, and the prompt lands exactly once in the right pane.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from bridge.api import Bridge
from bridge.errors import AgentNotReadyError
from tests.helpers.fixtures import Sshd, TmuxServer, agent_toml, local_host_toml, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def registry(tmux_server: TmuxServer, make_registry: Callable[..., Path]) -> Path:
    tmux_server.new_pane("work")
    return make_registry(local_host_toml("here", tmux_server.socket), agent_toml("sh", "here", "work:0.0"))


def _resolves(caplog: pytest.LogCaptureFixture) -> int:
    """tmux commands that looked the target up by name (a resolve), since the last clear."""
    return sum("-t work:0.0" in r.getMessage() for r in caplog.records if r.name == "bridge.tmux")


async def test_second_ask_skips_the_resolve(registry: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="bridge.tmux")
    async with Bridge.from_config(registry) as bridge:
        assert (await bridge.ask("sh", "echo one-$((1))", timeout=20)).reply == "one-1"
        assert _resolves(caplog) == 1
        caplog.clear()
        assert (await bridge.ask("sh", "echo two-$((2))", timeout=20)).reply == "two-2"
        assert (await bridge.state("sh")).state.value == "idle"
        assert _resolves(caplog) == 0


def _resolved_again(caplog: pytest.LogCaptureFixture) -> bool:
    return any("resolving its target again" in r.getMessage() for r in caplog.records)


async def test_a_pane_that_is_gone_is_resolved_again(
    registry: Path, tmux_server: TmuxServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bridge.api")
    async with Bridge.from_config(registry) as bridge:
        first = await bridge.pane("sh")
        assert (await bridge.ask("sh", "echo before", timeout=20)).reply == "before"
        # The agent's window is replaced: same target, a new pane id.
        tmux_server.tmux("new-window", "-d", "-t", "work:1")
        tmux_server.tmux("kill-window", "-t", "work:0")
        tmux_server.tmux("move-window", "-s", "work:1", "-t", "work:0")
        new_pane = tmux_server.tmux("display-message", "-p", "-t", "work:0.0", "#{pane_id}").stdout.strip()
        assert new_pane != first.pane_id
        wait_for(lambda: "$" in tmux_server.capture(new_pane), 10)
        assert not _resolved_again(caplog)
        assert (await bridge.ask("sh", "echo after-$((3))", timeout=20)).reply == "after-3"
        assert _resolved_again(caplog)
        assert (await bridge.pane("sh")).pane_id == new_pane


async def test_a_target_that_names_another_pane_now_is_resolved_again(
    registry: Path, tmux_server: TmuxServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bridge.api")
    async with Bridge.from_config(registry) as bridge:
        old = (await bridge.pane("sh")).pane_id
        assert (await bridge.ask("sh", "echo before", timeout=20)).reply == "before"
        # A second pane is split off and swapped in: the old pane still exists, as work:0.1.
        other = tmux_server.tmux("split-window", "-d", "-t", old, "-P", "-F", "#{pane_id}").stdout.strip()
        tmux_server.tmux("swap-pane", "-d", "-s", old, "-t", other)
        wait_for(lambda: "$" in tmux_server.capture(other), 10)
        assert (await bridge.ask("sh", "echo moved-$((4))", timeout=20)).reply == "moved-4"
        assert _resolved_again(caplog)
        assert "moved-4" in tmux_server.capture(other)
        assert "moved-4" not in tmux_server.capture(old), "typed into the pane the target names now"


def _looked_before_typing(caplog: pytest.LogCaptureFixture) -> bool:
    """Since the last clear: was the screen captured before the first paste?"""
    said = [r.getMessage() for r in caplog.records if r.name == "bridge.tmux"]
    typed = next(i for i, message in enumerate(said) if ": paste " in message)
    return any("capture-pane" in message for message in said[:typed])


async def test_an_ask_right_after_an_ask_types_at_once_unless_the_pane_changed(
    registry: Path, tmux_server: TmuxServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The first ask keeps its lock and its last look; the next one types without taking the
    lock or looking again, while tmux's events say the pane did not change. When someone else
    typed into the pane meanwhile, it looks again and sees it (here: a busy shell)."""
    caplog.set_level(logging.DEBUG, logger="bridge.tmux")
    async with Bridge.from_config(registry) as bridge:
        assert (await bridge.ask("sh", "echo one-$((1))", timeout=20)).reply == "one-1"
        (locks,) = bridge.holding.locks.values()
        (key,) = bridge.holding.seen
        assert locks.keeps(key)
        count = locks._count[key]
        caplog.clear()
        assert (await bridge.ask("sh", "echo two-$((2))", timeout=20)).reply == "two-2"
        assert not _looked_before_typing(caplog)
        assert locks._count[key] == count, "the kept lock was not taken again"

        pane = (await bridge.pane("sh")).pane_id
        tmux_server.tmux("send-keys", "-t", pane, "sleep 3", "Enter")  # a person, while the lock is kept
        wait_for(lambda: "sleep 3" in tmux_server.capture(pane), 10)
        await asyncio.sleep(0.2)
        with pytest.raises(AgentNotReadyError, match="busy, not idle"):
            await bridge.ask("sh", "echo typed-into-sleep", timeout=20)
        wait_for(lambda: tmux_server.capture(pane).rstrip().endswith("$"), 10)
        assert "typed-into-sleep" not in tmux_server.capture(pane)
        assert (await bridge.ask("sh", "echo three-$((3))", timeout=20)).reply == "three-3"


@pytest.mark.parametrize("control", [True, False], ids=["control", "exec"])
async def test_a_reused_look_is_checked_by_tmux_itself_when_the_paste_is_due(
    registry: Path, tmux_server: TmuxServer, control: bool
) -> None:
    """tmux's events may still be on their way when an ask starts from a reused look, so the
    paste carries the look's facts and tmux pastes only if the pane still has them: a pane that
    changed gets nothing typed, and the ask goes back to resolve and look again."""
    import dataclasses

    from bridge.driver import StalePane

    async with Bridge.from_config(registry) as bridge:
        bridge.control = control
        driver = await bridge.driver("sh")
        seen = dataclasses.replace(await driver.observe(), reused=True)
        tmux_server.tmux("send-keys", "-t", driver.pane, "sleep 3", "Enter")
        wait_for(lambda: tmux_server.current_command(driver.pane) == "sleep", 10)
        with pytest.raises(StalePane, match="changed since the last look"):
            await driver.submit("echo typed-into-sleep", before=seen)
        await asyncio.sleep(0.3)
        assert "typed-into-sleep" not in tmux_server.capture(driver.pane)
        buffers = tmux_server.tmux("list-buffers", "-F", "#{buffer_name}").stdout
        assert "agent-bridge" not in buffers, "the unpasted buffer was deleted"

        wait_for(lambda: tmux_server.current_command(driver.pane) == "bash", 10)
        seen = dataclasses.replace(await driver.observe(), reused=True)
        await driver.submit("echo guarded-$((5))", before=seen)  # unchanged: typed at once
        await driver.wait_for(lambda o: "guarded-5" in o.text, 10, what="the command's output")


async def test_over_ssh_a_look_is_reused_only_while_the_host_was_heard_from_lately(
    sshd: Sshd, tmux_server: TmuxServer, make_registry: Callable[..., Path],
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A link that died silently tells no changes: over SSH the last look counts only while the
    host sent something within HEARD_S; otherwise the ask takes the lock and looks first (and
    fails fast if the host is gone, rather than typing into a dead link)."""
    monkeypatch.setattr("bridge.tmux.channel.HEARD_S", 0.5)
    tmux_server.new_pane("work")
    registry = make_registry(
        sshd.host_toml("vps", tmux_socket=tmux_server.socket), agent_toml("sh", "vps", "work:0.0")
    )
    caplog.set_level(logging.DEBUG, logger="bridge.tmux")
    async with Bridge.from_config(registry) as bridge:
        assert (await bridge.ask("sh", "echo one-$((1))", timeout=20)).reply == "one-1"
        caplog.clear()
        assert (await bridge.ask("sh", "echo two-$((2))", timeout=20)).reply == "two-2"
        assert not _looked_before_typing(caplog), "heard from just now: typed at once"
        await asyncio.sleep(1.0)
        caplog.clear()
        assert (await bridge.ask("sh", "echo three-$((3))", timeout=20)).reply == "three-3"
        assert _looked_before_typing(caplog), "silent for longer than HEARD_S: looked first"
