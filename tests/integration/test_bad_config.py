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


def test_agents_says_what_would_fail_on_use(tmp_path: Path) -> None:
    """`agents` does not say ok for a registry whose agents cannot be used: an unknown profile
    (named with the file and key), a missing or world-readable identity file, no agents at all;
    a directory given as --config is called a directory."""
    registry = tmp_path / "registry.toml"
    key = tmp_path / "id_test"
    remote = f'[hosts.r]\naddress = "127.0.0.1"\nidentity_file = "{key}"\n'
    good = '[agents.ok]\nhost = "h"\ntarget = "s:0.0"\nprofile = "demo"\n'

    def agents(text: str) -> tuple[int, str, str]:
        registry.write_text(text)
        result = run_cli("--config", str(registry), "agents", timeout=30)
        return result.returncode, result.stdout.decode(), result.stderr.decode()

    assert agents(HOST + good)[0] == 0
    code, out, _ = agents(HOST + good + AGENT + 'profile = "claude-cod"\n')
    assert code == 2, out
    assert f"{registry}: agents.a.profile: no profile named 'claude-cod'" in out and "claude-code" in out
    assert out.splitlines()[0].startswith("ok") and "(" not in out.splitlines()[0], "the good one is fine"
    for mode, needle in ((None, "cannot be read"), (0o644, "readable by others")):
        if mode is not None:
            key.write_text("not really a key\n")
            key.chmod(mode)
        code, out, _ = agents(HOST + remote + '[agents.a]\nhost = "r"\ntarget = "s:0.0"\n')
        assert code == 2 and f"identity_file {key}" in out and needle in out, out
    code, _, err = agents(HOST)
    assert code == 2 and "no agents" in _one_line(err.encode())
    result = run_cli("--config", str(tmp_path), "agents", timeout=30)
    assert result.returncode == 2 and "is a directory" in _one_line(result.stderr)


def test_doctor_says_what_agents_says(tmp_path: Path) -> None:
    registry = tmp_path / "registry.toml"
    registry.write_text(HOST)
    result = run_cli("--config", str(registry), "doctor", timeout=60)
    assert result.returncode == 2 and b"no agents" in result.stdout, result.stdout
    registry.write_text(HOST + AGENT + 'profile = "claude-cod"\n')
    result = run_cli("--config", str(registry), "doctor", "a", timeout=60)
    assert result.returncode != 0, result.stdout  # its first failure may be the pane's
    assert f"{registry}: agents.a.profile: no profile named 'claude-cod'".encode() in result.stdout
