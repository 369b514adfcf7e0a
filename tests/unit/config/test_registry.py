"""Registry loading and validation: every mistake is one line naming file, key and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.config.models import Target
from bridge.config.paths import find_registry
from bridge.config.registry import Registry
from bridge.errors import ConfigError, UnknownAgentError, UnknownHostError

GOOD = """
[hosts.vps]
address = "10.8.0.1"
user = "dax"
port = 2222
host_key_policy = "accept-new"
[hosts.laptop]
local = true
[agents.claude]
host = "vps"
target = "agents:claude.0"
profile = "claude-code"
start = "claude"
cwd = "~/project"
[agents.sh]
host = "laptop"
target = "work"
"""


def load(tmp_path: Path, text: str) -> Registry:
    path = tmp_path / "registry.toml"
    path.write_text(text)
    return Registry.load(path)


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    message = str(info.value)
    assert "\n" not in message, "errors are one line"
    assert str(tmp_path / "registry.toml") in message, "errors name the file"
    assert info.value.exit_code == 2
    return message


def test_good_registry_loads_with_defaults(tmp_path: Path) -> None:
    reg = load(tmp_path, GOOD)
    agent = reg.agent("claude")
    assert agent.host.address == "10.8.0.1" and agent.host.port == 2222
    assert agent.host.host_key_policy == "accept-new"
    assert agent.spec.permissions == "ask", "nothing auto-approves by default"
    assert reg.agent("sh").spec.profile == "shell"
    assert reg.host("vps").host_key_policy == "accept-new"
    assert reg.host("laptop").local and reg.host("laptop").host_key_policy == "strict"


def test_shipped_examples_are_valid() -> None:
    hosts = Path(__file__).resolve().parents[3] / "hosts"
    files = sorted(hosts.glob("*.toml"))
    assert {f.name for f in files} >= {"local.toml", "vps.toml"}
    for path in files:
        assert Registry.load(path).agents, path


def test_syntax_error(tmp_path: Path) -> None:
    msg = error_of(tmp_path, "[hosts.vps\naddress = 1")
    assert "TOML syntax error" in msg and "line 1" in msg


def test_missing_key(tmp_path: Path) -> None:
    msg = error_of(tmp_path, '[hosts.h]\nlocal = true\n[agents.a]\nhost = "h"\n')
    assert "agents.a.target: required key is missing" in msg


def test_wrong_type(tmp_path: Path) -> None:
    msg = error_of(tmp_path, '[hosts.h]\naddress = "x"\nport = "twenty-two"\n')
    assert "hosts.h.port" in msg and "twenty-two" in msg


def test_port_out_of_range(tmp_path: Path) -> None:
    assert "hosts.h.port" in error_of(tmp_path, '[hosts.h]\naddress = "x"\nport = 70000\n')


def test_unknown_key(tmp_path: Path) -> None:
    msg = error_of(tmp_path, '[hosts.h]\naddress = "x"\nadress = "typo"\n')
    assert "hosts.h.adress: unknown key" in msg


def test_unknown_top_level_table(tmp_path: Path) -> None:
    assert ": agent: unknown key" in error_of(tmp_path, '[agent.x]\nhost = "h"\n')


def test_bad_policy(tmp_path: Path) -> None:
    msg = error_of(tmp_path, '[hosts.h]\naddress = "x"\nhost_key_policy = "yolo"\n')
    assert "hosts.h.host_key_policy" in msg and "strict" in msg


def test_host_needs_address_or_local(tmp_path: Path) -> None:
    assert "needs address" in error_of(tmp_path, '[hosts.h]\nuser = "me"\n')
    assert "not both" in error_of(tmp_path, '[hosts.h]\nlocal = true\naddress = "x"\n')


def test_agent_names_unknown_host(tmp_path: Path) -> None:
    msg = error_of(tmp_path, '[hosts.h]\nlocal = true\n[agents.a]\nhost = "nope"\ntarget = "s"\n')
    assert "agents.a.host: no host 'nope'" in msg and "h" in msg


def test_bad_target(tmp_path: Path) -> None:
    msg = error_of(tmp_path, '[hosts.h]\nlocal = true\n[agents.a]\nhost = "h"\ntarget = "a:b:c"\n')
    assert "agents.a.target" in msg and "session:window.pane" in msg


def test_bad_name(tmp_path: Path) -> None:
    assert "name 'bad name'" in error_of(tmp_path, '[hosts."bad name"]\nlocal = true\n')


def test_bad_permissions_value(tmp_path: Path) -> None:
    text = '[hosts.h]\nlocal = true\n[agents.a]\nhost = "h"\ntarget = "s"\npermissions = "yes"\n'
    assert "agents.a.permissions" in error_of(tmp_path, text)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "registry.toml"
    path.write_bytes(b"[hosts.h]\nlocal = true # \xff\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        Registry.load(path)


def test_unknown_agent_and_host_list_known(tmp_path: Path) -> None:
    reg = load(tmp_path, GOOD)
    with pytest.raises(UnknownAgentError, match=r"unknown agent 'codex' \(known: claude, sh\)"):
        reg.agent("codex")
    with pytest.raises(UnknownHostError, match=r"unknown host 'x' \(known: laptop, vps\)") as info:
        reg.host("x")
    assert info.value.exit_code == 2


def test_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cli, env, xdg = tmp_path / "cli.toml", tmp_path / "env.toml", tmp_path / "xdg"
    for path in (cli, env):
        path.write_text("")
    (xdg / "agent-bridge").mkdir(parents=True)
    (xdg / "agent-bridge" / "registry.toml").write_text("")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    monkeypatch.setenv("AGENT_BRIDGE_CONFIG", str(env))
    assert find_registry(cli) == cli
    assert find_registry(None) == env
    monkeypatch.delenv("AGENT_BRIDGE_CONFIG")
    assert find_registry(None) == xdg / "agent-bridge" / "registry.toml"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "empty"))
    with pytest.raises(ConfigError, match=r"no registry file at .*default location"):
        find_registry(None)
    with pytest.raises(ConfigError, match=r"no registry file at .*nope.toml \(--config\)"):
        find_registry(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("agents", Target("agents")),
        ("agents:claude", Target("agents", "claude")),
        ("agents:claude.0", Target("agents", "claude", 0)),
        ("agents:1.2", Target("agents", "1", 2)),
    ],
)
def test_target_parse_roundtrip(text: str, parsed: Target) -> None:
    assert Target.parse(text) == parsed
    assert str(parsed) == text


@pytest.mark.parametrize("text", ["", "a:b:c", "a b", ":x", "a:b.c"])
def test_target_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        Target.parse(text)
