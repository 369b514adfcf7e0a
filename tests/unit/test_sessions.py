"""Which command starts an agent and which resumes it into its own session."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from bridge.config import RegistryModel
from bridge.config.registry import Agent, Registry
from bridge.errors import ConfigError
from bridge.profiles import load_profile
from bridge.sessions import Launch, resume_command, start_command, valid_session_id


def agent(**spec: Any) -> Agent:
    hosts = {"here": {"local": True}}
    agents = {"a": {"host": "here", "target": "s:0.0", **spec}}
    return Registry(RegistryModel.model_validate({"hosts": hosts, "agents": agents})).agent("a")


def test_a_start_that_takes_a_session_id_gets_a_new_one_each_time() -> None:
    claude = load_profile("claude-code")
    first, second = start_command(agent(profile="claude-code"), claude), start_command(agent(), claude)
    assert first is not None and second is not None and first.session_id != second.session_id
    assert first.command == f"claude --session-id {first.session_id}"
    assert uuid.UUID(str(first.session_id))
    # The registry's own start wins; without the placeholder no id is chosen (learnt later).
    assert start_command(agent(start="claude --verbose"), claude) == Launch("claude --verbose")
    assert start_command(agent(), load_profile("shell")) is None


def test_resume_goes_into_the_pane_s_own_session() -> None:
    claude = load_profile("claude-code")
    found = resume_command(agent(start="claude"), claude, "0b1e-77")
    assert found == Launch("claude --resume 0b1e-77", "0b1e-77")
    # No id known: the profile's resume_last (the newest session), never a guessed id.
    assert resume_command(agent(start="claude"), claude, "") == Launch("claude --continue")
    # An id that is not safe in a shell command is not used.
    assert resume_command(agent(), claude, "x; rm -rf ~").command == "claude --continue"
    # The registry's resume overrides the profile's, with the same placeholder.
    mine = agent(resume="claude --resume {session_id} --verbose")
    assert resume_command(mine, claude, "s1").command == "claude --resume s1 --verbose"


def test_resume_falls_back_to_start_and_says_what_is_missing() -> None:
    shell = load_profile("shell")
    assert resume_command(agent(start="htop"), shell, "") == Launch("htop")
    with pytest.raises(ConfigError, match="no command to restart a"):
        resume_command(agent(), shell, "")
    assert valid_session_id("4f0c2a1e-0c7e-4bbf-9d7b-1c7f3a0e9e11")
    assert not valid_session_id("") and not valid_session_id("-rf") and not valid_session_id("a b")


def test_an_agent_started_another_way_is_started_again_its_own_way() -> None:
    """The profile's resume fits the profile's program; `python3 -m bridge.demo --delay 2`
    is not `agent-bridge-demo`, so the agent's own start runs again (its flags kept)."""
    demo = load_profile("demo")
    mine = agent(profile="demo", start="/usr/bin/python3 -m bridge.demo --delay 2")
    assert resume_command(mine, demo, "s1") == Launch("/usr/bin/python3 -m bridge.demo --delay 2")
    assert resume_command(agent(profile="demo"), demo, "s1").command == "agent-bridge-demo --session-id s1"


def test_an_agent_s_own_resume_without_a_known_id_starts_it_afresh_its_own_way() -> None:
    mine = "mycli --log x --session-id {session_id}"
    launch = resume_command(agent(profile="demo", start=mine, resume=mine), load_profile("demo"), "")
    assert launch.session_id is not None
    assert launch.command == f"mycli --log x --session-id {launch.session_id}"
