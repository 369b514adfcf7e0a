"""api.Bridge: an agent is resolved once (name -> registry entry -> pane -> driver), mistakes are
reported before anything reaches tmux, and a remembered pane must be confirmed. Real tmux."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from bridge.api import AgentPane, Bridge, Pane
from bridge.attach import ssh_argv
from bridge.config import HostSpec, RegistryModel
from bridge.config.registry import Agent, Registry
from bridge.errors import ConfigError, ProfileError, TargetNotFoundError, UnknownAgentError
from bridge.profiles import load_profile
from tests.helpers.fixtures import TmuxServer, wait_for


def registry(socket: str, **agents: dict[str, Any]) -> Registry:
    hosts = {"here": {"local": True, "tmux_socket": socket},
             "far": {"address": "192.0.2.7", "port": 2222, "user": "me", "host_key_policy": "accept-new"}}
    return Registry(RegistryModel.model_validate({"hosts": hosts, "agents": agents}))  # fmt: skip


SH = {"host": "here", "target": "work:0.0", "profile": "shell", "permissions": "deny"}


async def test_an_unknown_agent_is_named_before_any_tmux_call(tmp_path: Any) -> None:
    nowhere = str(tmp_path / "no-server")  # any tmux call would fail another way
    async with Bridge(registry(nowhere, sh=SH)) as bridge:
        calls = [
            bridge.pane("ghost"), bridge.driver("ghost"), bridge.state("ghost"), bridge.screen("ghost"),
            bridge.facts("ghost"), bridge.keys("ghost", ["Enter"]), bridge.send("ghost", "hi"),
            bridge.ask("ghost", "hi"), bridge.start("ghost"), bridge.restart("ghost"),
            bridge.approve("ghost"), bridge.switch_model("ghost", "opus"),
        ]  # fmt: skip
        for call in calls:
            with pytest.raises(UnknownAgentError, match=r"unknown agent 'ghost' \(known: sh\)") as raised:
                await call
            assert raised.value.exit_code == 2
        with pytest.raises(UnknownAgentError):
            bridge.attach_argv("ghost")


async def test_a_bad_prompt_or_profile_is_refused_before_the_pane_is_looked_up(tmp_path: Any) -> None:
    nowhere = str(tmp_path / "no-server")
    bad = {**SH, "profile": "no-such-profile"}
    async with Bridge(registry(nowhere, sh=SH, bad=bad)) as bridge:
        with pytest.raises(ConfigError, match="contains ESC") as raised:
            await bridge.ask("ghost", "up\x1b[A")  # the prompt first, then the agent
        assert not isinstance(raised.value, UnknownAgentError)
        with pytest.raises(ProfileError, match="no profile named 'no-such-profile'"):
            await bridge.driver("bad")
        with pytest.raises(TargetNotFoundError):  # only now tmux is asked
            await bridge.driver("sh")


async def test_an_agent_resolves_to_its_pane_which_is_remembered(tmux_server: TmuxServer) -> None:
    pane_id = tmux_server.new_pane("work")
    async with Bridge(registry(tmux_server.socket, sh=SH)) as bridge:
        pane = await bridge.pane("sh")
        assert isinstance(pane, AgentPane) and isinstance(pane, Pane)
        assert pane.agent == bridge.registry.agent("sh")
        assert pane.pane_id == pane_id and pane.facts is not None and pane.facts.pane_id == pane_id
        assert not pane.remembered and pane.expect() is None

        again = await bridge.pane("sh", remembered=True)
        assert again.remembered and again.facts == pane.facts
        expect = again.expect()
        assert expect is not None and expect(pane.facts)
        assert not expect(dataclasses.replace(pane.facts, server_pid=pane.facts.server_pid + 1))
        assert not expect(dataclasses.replace(pane.facts, pane_id="%999"))

        bridge.panes.forget(bridge.registry.agent("sh"))
        assert not (await bridge.pane("sh", remembered=True)).remembered


async def test_the_driver_gets_the_resolved_agent_pane_and_profile(tmux_server: TmuxServer) -> None:
    pane_id = tmux_server.new_pane("work")
    async with Bridge(registry(tmux_server.socket, sh=SH)) as bridge:
        driver = await bridge.driver("sh")
        assert (driver.agent, driver.pane, driver.permissions) == ("sh", pane_id, "deny")
        assert driver.profile is load_profile("shell", bridge.profiles_dir)
        assert driver.facts is not None and driver.facts.pane_id == pane_id and driver.expect is None
        remembered = await bridge.driver("sh", remembered=True)
        assert remembered.expect is not None
        assert (await remembered.observe()).facts.pane_id == pane_id
        assert remembered.expect is None, "the first look confirmed the pane"
        assert (await bridge.state("sh")).facts.pane_id == pane_id


class CountingRegistry(Registry):
    """A registry that counts its agent lookups."""

    looked_up: list[str]

    def agent(self, name: str) -> Agent:
        self.looked_up.append(name)
        return super().agent(name)


async def test_each_call_looks_its_agent_up_once(tmux_server: TmuxServer) -> None:
    tmux_server.new_pane("work")
    reg = CountingRegistry(registry(tmux_server.socket, sh=SH).model)
    reg.looked_up = []
    async with Bridge(reg) as bridge:
        assert (await bridge.ask("sh", "echo asked-$((3*3))", timeout=20)).reply == "asked-9"
        assert reg.looked_up == ["sh"]
        for call in (bridge.state("sh"), bridge.send("sh", "true"), bridge.driver("sh"), bridge.pane("sh")):
            reg.looked_up.clear()
            await call
            assert reg.looked_up == ["sh"]


async def test_a_target_that_is_missing_is_not_remembered(tmux_server: TmuxServer) -> None:
    tmux_server.new_pane("work")
    gone = {**SH, "target": "elsewhere:0.0"}
    async with Bridge(registry(tmux_server.socket, gone=gone)) as bridge:
        with pytest.raises(TargetNotFoundError, match="elsewhere"):
            await bridge.pane("gone")
        with pytest.raises(TargetNotFoundError):
            await bridge.pane("gone", remembered=True)


async def test_send_keys_screen_and_facts_reach_the_agents_pane(tmux_server: TmuxServer) -> None:
    pane_id = tmux_server.new_pane("work")
    async with Bridge(registry(tmux_server.socket, sh=SH)) as bridge:
        assert await bridge.send("sh", "echo sent-$((2*3))") == 0
        wait_for(lambda: "sent-6" in tmux_server.capture(pane_id), 10)
        await bridge.keys("sh", ["e", "c", "h", "o", "Space", "k", "Enter"])
        wait_for(lambda: "\nk\n" in tmux_server.capture(pane_id), 10)
        assert "sent-6" in await bridge.screen("sh")
        assert (await bridge.facts("sh")).pane_id == pane_id
        assert await bridge.send("sh", "x\x07y", enter=False, strip_controls=True) == 1


def test_attach_argv(tmp_path: Any) -> None:
    reg = registry("/run/tmux.sock", sh=SH, far={"host": "far", "target": "a:0", "start": "claude"})
    bridge = Bridge(reg)
    assert bridge.attach_argv("sh") == ["tmux", "-S", "/run/tmux.sock", "attach-session", "-t", "work:0.0"]
    assert bridge.attach_argv("far", read_only=True) == [
        "ssh", "-p", "2222", "-l", "me", "-o", "StrictHostKeyChecking=accept-new", "192.0.2.7",
        "-t", "--",
        "tmux set-option -w -t a:0 window-size manual ';' attach-session -t a:0 -r -f ignore-size",
    ]  # fmt: skip
    assert ssh_argv(HostSpec(address="h.example")) == ["ssh", "-o", "StrictHostKeyChecking=yes", "h.example"]


def test_timeout_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    bridge = Bridge(Registry(RegistryModel.model_validate({"settings": {"timeout": 42}})))
    monkeypatch.delenv("AGENT_BRIDGE_TIMEOUT", raising=False)
    assert bridge.timeout(None) == 42
    monkeypatch.setenv("AGENT_BRIDGE_TIMEOUT", "7.5")
    assert bridge.timeout(None) == 7.5
    assert bridge.timeout(3) == 3
