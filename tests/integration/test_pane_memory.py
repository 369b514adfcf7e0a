"""A warm Bridge remembers which pane an agent's target named; the first look confirms it.

Skipping the resolve saves a round trip per ask. These tests show the memory is never trusted
blindly: a pane that is gone, or a target that names another pane now, is resolved again before
anything is typed, and the prompt lands exactly once in the right pane.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from bridge.api import Bridge
from tests.conftest import TmuxServer, agent_toml, local_host_toml, wait_for

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
