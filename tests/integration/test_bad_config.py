"""Bad configuration through the real CLI: one line naming the file, the key and the fix; exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.fixtures import run_cli

pytestmark = pytest.mark.integration

HOST = '[hosts.h]\nlocal = true\n'
AGENT = '[agents.a]\nhost = "h"\ntarget = "s:0.0"\n'

# (registry text, what the one line must contain)
REGISTRIES = [
    ("[hosts.h\nlocal = true\n", ["TOML syntax error", "line 1"]),
    ('[hosts.h]\nlocal = true\nlocal = false\n', ["TOML syntax error"]),
    (HOST + '[agents.a]\nhost = "h"\n', ["agents.a.target", "required key is missing"]),
    (HOST + AGENT + 'profle = "demo"\n', ["agents.a.profle", "unknown key"]),
    ('[hosts.h]\naddress = "x"\nport = "22"\n', ["hosts.h.port", "'22'"]),  # strict: no guessing
    ('[hosts.h]\naddress = "x"\nport = 0\n', ["hosts.h.port", "greater than or equal to 1"]),
    ('[hosts.h]\naddress = "x"\nconnect_timeout = -1\n', ["hosts.h.connect_timeout"]),
    ('[hosts.h]\naddress = "x"\nhost_key_policy = "none"\n', ["hosts.h.host_key_policy", "strict"]),
    ('[hosts.h]\nuser = "me"\n', ["hosts.h", "needs address"]),
    ('[hosts.h]\nlocal = true\naddress = "x"\n', ["hosts.h", "not both"]),
    ('[hosts.h]\nlocal = "yes"\n', ["hosts.h.local"]),
    (HOST + '[agents.a]\nhost = "nope"\ntarget = "s"\n', ["agents.a.host", "no host 'nope'"]),
    (HOST + '[agents.a]\nhost = "h"\ntarget = "s:w:p"\n', ["agents.a.target", "session:window.pane"]),
    (HOST + AGENT + 'permissions = "always"\n', ["agents.a.permissions", "'ask' or 'deny'"]),
    (HOST + AGENT + 'restart = "yes"\n', ["agents.a.restart", "'manual' or 'auto'"]),
    ('[hosts."my host"]\nlocal = true\n', ["hosts", "'my host'", "letters, digits"]),
    ('[settings]\ntimeout = 0\n', ["settings.timeout", "greater than 0"]),
    ('[setings]\ntimeout = 5\n', ["setings", "unknown key"]),
    ('hosts = 3\n', ["hosts", "dictionary"]),
]

# (a user profile named "demo" that overrides the built-in, what the line must contain)
BUILTIN_DEMO = (Path(__file__).resolve().parents[2] / "bridge" / "profiles" / "demo.toml").read_text()
PROFILES = [
    ("agent = 'x'\nversion = '1'\n[process\n", ["TOML", "demo.toml"]),
    (BUILTIN_DEMO.replace('interrupt_key = "Escape"', 'interupt_key = "Escape"'), ["interupt_key"]),
    (BUILTIN_DEMO.replace("[submit]\ngap_ms = 100", "[submit]\ngap_ms = -5"), ["submit.gap_ms"]),
    (BUILTIN_DEMO.replace("regex = '^ Do you want to .+\\?$'", "regex = '^ Do you want ('"),
     ["regex", "Do you want ("]),
    (BUILTIN_DEMO.replace('names = ["python",', 'names = "python" # [', 1), ["process.names"]),
    (BUILTIN_DEMO.replace('[submit]\n', '[sumbit]\n', 1), ["sumbit"]),
    (BUILTIN_DEMO.replace('version = "0.1.0"\n', '', 1), ["version"]),
]


def _one_line(stderr: bytes) -> str:
    text = stderr.decode()
    assert text.count("\n") == 1, f"not one line: {text!r}"
    assert text.startswith("agent-bridge: error: ")
    return text


@pytest.mark.parametrize(("text", "needles"), REGISTRIES, ids=[f"reg{i}" for i in range(len(REGISTRIES))])
def test_malformed_registry(tmp_path: Path, text: str, needles: list[str]) -> None:
    path = tmp_path / "registry.toml"
    path.write_text(text)
    result = run_cli("--config", str(path), "agents", timeout=30)
    assert result.returncode == 2, result.stderr
    line = _one_line(result.stderr)
    assert str(path) in line
    for needle in needles:
        assert needle in line, (needle, line)


@pytest.mark.parametrize(("text", "needles"), PROFILES, ids=[f"profile{i}" for i in range(len(PROFILES))])
def test_malformed_user_profile(tmp_path: Path, text: str, needles: list[str]) -> None:
    config = tmp_path / "xdg" / "agent-bridge"
    (config / "profiles").mkdir(parents=True)
    profile = config / "profiles" / "demo.toml"
    profile.write_text(text)
    registry = tmp_path / "registry.toml"
    registry.write_text(HOST + '[agents.a]\nhost = "h"\ntarget = "s"\nprofile = "demo"\n')
    result = run_cli("--config", str(registry), "state", "a", env={"XDG_CONFIG_HOME": str(tmp_path / "xdg")},
                     timeout=30)
    assert result.returncode == 2, result.stderr
    line = _one_line(result.stderr)
    assert "demo.toml" in line
    for needle in needles:
        assert needle in line, (needle, line)


def test_unknown_profile_name(tmp_path: Path) -> None:
    registry = tmp_path / "registry.toml"
    registry.write_text(HOST + '[agents.a]\nhost = "h"\ntarget = "s"\nprofile = "claude-cod"\n')
    result = run_cli("--config", str(registry), "state", "a", timeout=30)
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert "claude-cod" in line and "claude-code" in line


def test_missing_registry_says_where_to_start(tmp_path: Path) -> None:
    result = run_cli("agents", env={"AGENT_BRIDGE_CONFIG": str(tmp_path / "nope.toml")}, timeout=30)
    assert result.returncode == 2
    assert "agent-bridge init" in _one_line(result.stderr)
