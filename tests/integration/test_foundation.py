"""The foundation through real parts: tmux on a private socket, reached over a real sshd."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bridge.api import Bridge
from bridge.config.registry import Registry
from tests.helpers.fixtures import (
    Sshd,
    TmuxServer,
    agent_toml,
    free_port,
    keygen,
    local_host_toml,
    received,
    run_cli,
    wait_for,
)
from tests.helpers.texts import nasty_text

pytestmark = pytest.mark.integration


@pytest.fixture
def ssh_registry(sshd: Sshd, tmux_server: TmuxServer, make_registry: Callable[..., Path]) -> Path:
    return make_registry(
        sshd.host_toml("box", tmux_socket=tmux_server.socket),
        agent_toml("recv", "box", "recv:0.0"),
        agent_toml("fresh", "box", "fresh:work.0", start=f"{sys.executable} -c 'input()'"),
        agent_toml("ghost", "box", "nosuch:0.0"),
    )


def test_send_200_nasty_lines_over_ssh_byte_exact(
    ssh_registry: Path, receiver_pane: tuple[str, Path]
) -> None:
    _, out = receiver_pane
    text = nasty_text(200)
    result = run_cli("--config", str(ssh_registry), "send", "recv", "-", input=text.encode())
    assert result.returncode == 0, result.stderr
    assert received(out) == [text]


def test_send_16k_and_more_over_ssh(ssh_registry: Path, receiver_pane: tuple[str, Path]) -> None:
    _, out = receiver_pane
    text = nasty_text(600)
    assert len(text.encode()) > 16 * 1024
    result = run_cli("--config", str(ssh_registry), "send", "recv", text)
    assert result.returncode == 0, result.stderr
    assert received(out) == [text]


def test_send_strips_key_like_controls_and_says_so(
    ssh_registry: Path, receiver_pane: tuple[str, Path]
) -> None:
    _, out = receiver_pane
    hostile = "a\x1b[201~b\x03c\x04d\r\ne"
    refused = run_cli("--config", str(ssh_registry), "send", "recv", "-", input=hostile.encode())
    assert refused.returncode == 2
    assert b"contains ESC (U+001B) at character 1" in refused.stderr and b"--strip-controls" in refused.stderr
    result = run_cli(
        "--config", str(ssh_registry), "send", "--strip-controls", "recv", "-", input=hostile.encode()
    )
    assert result.returncode == 0, result.stderr
    assert b"removed 3 control character(s)" in result.stderr
    assert received(out) == ["a[201~bcd\ne"]


def test_send_refuses_invalid_utf8(ssh_registry: Path, receiver_pane: tuple[str, Path]) -> None:
    _, out = receiver_pane
    result = run_cli("--config", str(ssh_registry), "send", "recv", "-", input=b"ok \xff bad")
    assert result.returncode == 2
    assert b"not valid UTF-8 (byte 3" in result.stderr
    assert not out.exists()


def test_no_enter_then_keys(ssh_registry: Path, receiver_pane: tuple[str, Path]) -> None:
    _, out = receiver_pane
    cfg = str(ssh_registry)
    assert run_cli("--config", cfg, "send", "--no-enter", "recv", "first;").returncode == 0
    assert run_cli("--config", cfg, "keys", "recv", "x", "Enter").returncode == 0
    assert received(out) == ["first;x"]


def test_screen_over_ssh(ssh_registry: Path, receiver_pane: tuple[str, Path]) -> None:
    result = run_cli("--config", str(ssh_registry), "screen", "recv")
    assert result.returncode == 0, result.stderr
    assert "READY" in result.stdout.decode()
    ansi = run_cli("--config", str(ssh_registry), "--json", "screen", "recv", "--ansi")
    assert "READY" in json.loads(ansi.stdout)["screen"]


async def test_pane_facts_and_pooled_connection(ssh_registry: Path, receiver_pane: tuple[str, Path]) -> None:
    pane, _ = receiver_pane
    async with Bridge(Registry.load(ssh_registry)) as bridge:
        facts = await bridge.facts("recv")
        assert facts.pane_id == pane
        assert facts.current_command.startswith("python")
        assert (facts.width, facts.height) == (200, 50)
        assert not facts.dead and not facts.alternate_on
        transport = bridge.pool.get("box", bridge.registry.host("box"))
        conn = await transport.connection()  # type: ignore[attr-defined]
        await bridge.screen("recv")
        await bridge.facts("recv")
        assert await transport.connection() is conn, "one connection per host, reused"  # type: ignore[attr-defined]


def test_start_creates_session_and_runs_command(ssh_registry: Path, tmux_server: TmuxServer) -> None:
    result = run_cli("--config", str(ssh_registry), "--json", "start", "fresh")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["created"] and info["started"]
    wait_for(lambda: tmux_server.current_command(info["pane"]).startswith("python"), 10)
    again = json.loads(run_cli("--config", str(ssh_registry), "--json", "start", "fresh").stdout)
    assert again["already_running"] and again["pane"] == info["pane"]
    names = tmux_server.tmux("list-windows", "-t", "fresh", "-F", "#{window_name}").stdout.split()
    assert names == ["work"]


def test_missing_target_is_exit_4(ssh_registry: Path, tmux_server: TmuxServer) -> None:
    result = run_cli("--config", str(ssh_registry), "screen", "ghost")
    assert result.returncode == 4
    err = result.stderr.decode()
    assert "nosuch:0.0 not found" in err and err.count("\n") == 1


def test_unknown_agent_is_exit_2(ssh_registry: Path) -> None:
    result = run_cli("--config", str(ssh_registry), "screen", "nobody")
    assert result.returncode == 2
    assert b"unknown agent 'nobody'" in result.stderr


def test_malformed_registry_is_exit_2(make_registry: Callable[..., Path]) -> None:
    bad = make_registry("[hosts.h]\nlocal = true\nbogus = 1\n")
    result = run_cli("--config", str(bad), "agents")
    assert result.returncode == 2
    assert b"hosts.h.bogus: unknown key" in result.stderr


def test_closed_port_fails_fast_exit_3(make_registry: Callable[..., Path], sshd: Sshd) -> None:
    port = free_port()  # nothing listens there
    reg = make_registry(
        f'[hosts.dead]\naddress = "127.0.0.1"\nport = {port}\nconnect_timeout = 3\n'
        f'known_hosts = "{sshd.known_hosts}"\n',
        agent_toml("a", "dead", "s:0.0"),
    )
    began = time.monotonic()
    result = run_cli("--config", str(reg), "screen", "a")
    assert result.returncode == 3
    assert time.monotonic() - began < 10
    assert b"cannot reach host dead" in result.stderr


def test_unknown_host_key_refused_under_strict(
    sshd: Sshd, make_registry: Callable[..., Path], tmp_path: Path
) -> None:
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    reg = make_registry(
        sshd.host_toml("box").replace(str(sshd.known_hosts), str(empty)),
        agent_toml("a", "box", "s:0.0"),
    )
    result = run_cli("--config", str(reg), "screen", "a")
    assert result.returncode == 3
    err = result.stderr.decode()
    assert "is not in" in err and "SHA256:" in err
    assert empty.read_text() == "", "strict never writes known_hosts"


def test_accept_new_records_key_then_works(
    sshd: Sshd, tmux_server: TmuxServer, make_registry: Callable[..., Path], tmp_path: Path
) -> None:
    tmux_server.new_pane("s")
    fresh = tmp_path / "kh" / "known_hosts"
    reg = make_registry(
        sshd.host_toml("box", host_key_policy="accept-new", tmux_socket=tmux_server.socket).replace(
            str(sshd.known_hosts), str(fresh)
        ),
        agent_toml("a", "box", "s:0.0"),
    )
    result = run_cli("--config", str(reg), "screen", "a")
    assert result.returncode == 0, result.stderr
    assert sshd.host_pubkey.split()[1] in fresh.read_text()
    assert fresh.stat().st_mode & 0o777 == 0o600


def test_changed_host_key_refused_even_with_accept_new(
    sshd: Sshd, make_registry: Callable[..., Path], tmp_path: Path
) -> None:
    other = tmp_path / "other"
    keygen(other)
    forged = tmp_path / "known_hosts"
    forged.write_text(
        f"[127.0.0.1]:{sshd.port} {Path(f'{other}.pub').read_text().split()[0]} "
        f"{Path(f'{other}.pub').read_text().split()[1]}\n"
    )
    for policy in ("strict", "accept-new"):
        reg = make_registry(
            sshd.host_toml("box", host_key_policy=policy).replace(str(sshd.known_hosts), str(forged)),
            agent_toml("a", "box", "s:0.0"),
        )
        result = run_cli("--config", str(reg), "screen", "a")
        assert result.returncode == 3, policy
        assert b"has CHANGED" in result.stderr and b"ssh-keygen -R" in result.stderr


def test_private_key_readable_by_others_is_refused(
    sshd: Sshd, make_registry: Callable[..., Path], tmp_path: Path
) -> None:
    loose = tmp_path / "loose_key"
    loose.write_bytes(sshd.client_key.read_bytes())
    loose.chmod(0o644)
    reg = make_registry(
        sshd.host_toml("box").replace(str(sshd.client_key), str(loose)),
        agent_toml("a", "box", "s:0.0"),
    )
    result = run_cli("--config", str(reg), "screen", "a")
    assert result.returncode == 2
    assert b"chmod 600" in result.stderr


def test_local_host_without_ssh(
    tmux_server: TmuxServer, make_registry: Callable[..., Path], receiver_pane: tuple[str, Path]
) -> None:
    _, out = receiver_pane
    reg = make_registry(local_host_toml("here", tmux_server.socket), agent_toml("r", "here", "recv"))
    assert run_cli("--config", str(reg), "send", "r", "local hello").returncode == 0
    assert received(out) == ["local hello"]
    hosts = json.loads(run_cli("--config", str(reg), "--json", "hosts", "--check").stdout)
    assert hosts[0]["reachable"] and hosts[0]["tmux"].startswith("tmux ")


def test_checks_that_find_a_failure_exit_non_zero(
    tmux_server: TmuxServer, make_registry: Callable[..., Path], receiver_pane: tuple[str, Path]
) -> None:
    """hosts --check on an unreachable host: exit 3; agents --check on a missing pane: exit 4 (was 0)."""
    dead_port = free_port()
    reg = make_registry(
        local_host_toml("here", tmux_server.socket),
        f'[hosts.gone]\naddress = "127.0.0.1"\nport = {dead_port}\nconnect_timeout = 2\n',
        agent_toml("r", "here", "recv"),
        agent_toml("nowhere", "here", "missing:0.0"),
    )
    hosts = run_cli("--config", str(reg), "--json", "hosts", "--check")
    assert hosts.returncode == 3, hosts.stderr
    rows = {row["host"]: row for row in json.loads(hosts.stdout)}
    assert rows["here"]["reachable"] and "exit_code" not in rows["here"]
    assert rows["gone"]["reachable"] is False and rows["gone"]["exit_code"] == 3
    agents = run_cli("--config", str(reg), "--json", "agents", "--check")
    assert agents.returncode == 4, agents.stderr
    rows = {row["agent"]: row for row in json.loads(agents.stdout)}
    assert "exit_code" not in rows["r"] and (rows["nowhere"]["state"], rows["nowhere"]["exit_code"]) == (
        "missing",
        4,
    )
    ok = make_registry(
        local_host_toml("here", tmux_server.socket), agent_toml("r", "here", "recv"), name="ok.toml"
    )
    assert run_cli("--config", str(ok), "agents", "--check").returncode == 0


def test_attach_command_line(sshd: Sshd, make_registry: Callable[..., Path]) -> None:
    reg = make_registry(sshd.host_toml("box"), agent_toml("a", "box", "agents:claude.0"))
    result = run_cli("--config", str(reg), "attach", "a", "--read-only", "--print")
    line = result.stdout.decode().strip()
    assert line.startswith("ssh -p ")
    assert "StrictHostKeyChecking=yes" in line
    remote = shlex.split(shlex.split(line)[-1])
    assert remote == ["tmux", "set-option", "-w", "-t", "agents:claude.0", "window-size", "manual", ";",
                      "attach-session", "-t", "agents:claude.0", "-r", "-f", "ignore-size"]  # fmt: skip


def test_read_only_attach_never_resizes_the_agent(
    tmux_server: TmuxServer, make_registry: Callable[..., Path]
) -> None:
    """#16 item 11: a watcher in a 100x29 terminal leaves the agent's 200x50 window as it was."""
    tmux_server.tmux("new-session", "-d", "-s", "agents", "-x", "200", "-y", "50")
    reg = make_registry(local_host_toml("here", tmux_server.socket), agent_toml("a", "here", "agents:0.0"))
    argv = json.loads(run_cli("--config", str(reg), "attach", "a", "--read-only", "--json").stdout)["argv"]
    outer = Path(tmux_server.socket).with_name("outer")  # the watcher's own terminal: 100x29
    try:
        subprocess.run(["tmux", "-S", str(outer), "-f", "/dev/null", "new-session", "-d", "-x", "100",
                        "-y", "29", shlex.join(["env", "TERM=xterm-256color", *argv])],
                       check=True, timeout=10)  # fmt: skip
        flags = wait_for(lambda: tmux_server.tmux("list-clients", "-F", "#{client_flags}").stdout.strip())
        assert "read-only" in flags and "ignore-size" in flags
        time.sleep(0.5)  # give tmux the chance to resize, as it did before
        size = tmux_server.tmux("display-message", "-p", "-t", "agents", "#{window_width}x#{window_height}")
        assert size.stdout.strip() == "200x50"
    finally:
        subprocess.run(["tmux", "-S", str(outer), "kill-server"], capture_output=True, timeout=10)


def test_verbose_says_what_happens_on_a_local_host(
    tmux_server: TmuxServer, make_registry: Callable[..., Path]
) -> None:
    """#16: `-v` printed nothing for a local host; it names the pane it found and where."""
    pane = tmux_server.new_pane("work")
    reg = make_registry(local_host_toml("here", tmux_server.socket), agent_toml("a", "here", "work:0.0"))
    result = run_cli("--config", str(reg), "-v", "state", "a")
    assert result.returncode == 0, result.stderr
    assert f"a: work:0.0 is pane {pane} on this machine, running bash" in result.stderr.decode()


def test_help_is_fast_and_complete() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bridge", "--help"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0
    for command in ("hosts", "agents", "screen", "send", "keys", "start", "attach"):
        assert command in result.stdout


def test_ssh_config_alias_is_honoured(
    sshd: Sshd, tmux_server: TmuxServer, make_registry: Callable[..., Path], tmp_path: Path
) -> None:
    """address = an alias from ~/.ssh/config: its HostName, Port, User and IdentityFile apply."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    (home / ".ssh" / "config").write_text(
        f"Host myvps\n  HostName 127.0.0.1\n  Port {sshd.port}\n  User {sshd.user}\n"
        f"  IdentityFile {sshd.client_key}\n"
    )
    (home / ".ssh" / "known_hosts").write_text(sshd.known_hosts.read_text())
    tmux_server.new_pane("s")
    reg = make_registry(
        f'[hosts.vps]\naddress = "myvps"\ntmux_socket = "{tmux_server.socket}"\n',
        agent_toml("a", "vps", "s:0.0"),
    )
    result = run_cli("--config", str(reg), "screen", "a", env={"HOME": str(home)})
    assert result.returncode == 0, result.stderr
    assert "$" in result.stdout.decode()


def test_profiles_lists_builtin_and_user_overrides(tmp_path: Path) -> None:
    xdg = tmp_path / "xdg"
    user = xdg / "agent-bridge" / "profiles"
    user.mkdir(parents=True)
    builtin = Path(__file__).resolve().parents[2] / "bridge" / "profiles" / "shell.toml"
    (user / "shell.toml").write_text(builtin.read_text().replace('version = "bash 5.2"', 'version = "mine"'))
    result = run_cli("--json", "profiles", env={"XDG_CONFIG_HOME": str(xdg)})
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert {"claude-code", "codex", "shell", "demo"} <= set(rows)
    assert rows["shell"]["source"] == str(user / "shell.toml"), "a user profile overrides by name"
    assert rows["shell"]["version"] == "mine"
    assert rows["claude-code"]["version"] == "2.1.197"


def test_a_broken_profile_is_reported_broken(tmp_path: Path) -> None:
    xdg = tmp_path / "xdg"
    user = xdg / "agent-bridge" / "profiles"
    user.mkdir(parents=True)
    (user / "mine.toml").write_text('agent = "Mine"\nversion = "1"\n[states]\norder = ["idle"]\n')
    env = {"XDG_CONFIG_HOME": str(xdg)}
    listed = run_cli("--json", "profiles", env=env)
    assert listed.returncode == 0, listed.stderr  # listing is not checking
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert "key 'process': required key is missing" in rows["mine"]["error"]
    assert rows["shell"]["error"] is None
    checked = run_cli("profiles", "--check", env=env)
    assert checked.returncode == 2
    assert "BROKEN mine: profile " in checked.stdout.decode()


def test_profiles_check_prints_what_a_profile_reads_on_a_capture(tmp_path: Path) -> None:
    screens = Path(__file__).resolve().parents[1] / "unit" / "screens" / "claude-code-2.1.197"
    claude = Path(__file__).resolve().parents[2] / "bridge" / "profiles" / "claude-code.toml"
    permission = str(screens / "09-permission-prompt.ans")
    result = run_cli("profiles", "check", "claude-code", "--screen", permission)
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert "state permission" in out and "> 1. Yes" in out and "3. No" in out
    done = str(screens / "04-reply-done-short.ans")
    result = run_cli("--json", "profiles", "check", str(claude), "-s", done)
    seen = json.loads(result.stdout)
    assert seen["state"] == "idle" and seen["reply"]["complete"]
    # A menu pattern whose label group can match nothing: an empty label, not a traceback.
    item = r"(?P<label>.+?)(?:\s{2,}(?P<description>\S.*))?$"
    (tmp_path / "empty.toml").write_text(claude.read_text().replace(item, r"(?P<label>[a-z]+)?.*$", 1))
    result = run_cli("--json", "profiles", "check", str(tmp_path / "empty.toml"), "-s",
                     str(screens / "06-model-menu-open.ans"))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert [i["label"] for i in json.loads(result.stdout)["menu"]["items"]] == [""] * 5
    missing = run_cli("profiles", "check", "claude-code", "-s", str(tmp_path / "nothing.ans"))
    assert missing.returncode == 2 and b"cannot read the capture" in missing.stderr
