"""`agent-bridge doctor` against real parts: the sshd fixture on 127.0.0.1 and a private tmux server."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.fixtures import (
    REPO,
    Sshd,
    TmuxServer,
    agent_toml,
    free_port,
    keygen,
    local_host_toml,
    wait_for,
)

pytestmark = pytest.mark.integration


def doctor_cli(registry: Path, *args: str, env: dict[str, str] | None = None,
               timeout: float = 120) -> tuple[int, str, str]:
    import os

    result = subprocess.run(
        [sys.executable, "-m", "bridge", "--config", str(registry), "doctor", *args],
        capture_output=True, env={**os.environ, **(env or {})}, timeout=timeout, cwd=REPO,
    )  # fmt: skip
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def doctor_json(registry: Path, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    code, out, err = doctor_cli(registry, *args, "--json")
    return code, json.loads(out), err


def by_check(rows: list[dict[str, Any]], target: str) -> dict[str, dict[str, Any]]:
    return {row["check"]: row for row in rows if row["target"] == target}


@pytest.fixture
def demo_pane(tmux_server: TmuxServer) -> str:
    pane = tmux_server.new_pane("demo", f"{sys.executable} -m bridge.demo")
    wait_for(lambda: "? for shortcuts" in tmux_server.capture(pane), 10)
    return pane


def test_good_host_passes(sshd: Sshd, tmux_server: TmuxServer, make_registry: Callable[..., Path]) -> None:
    reg = make_registry(sshd.host_toml("box", tmux_socket=tmux_server.socket))
    code, rows, err = doctor_json(reg, "box")
    assert code == 0, (rows, err)
    checks = by_check(rows, "box")
    assert list(checks) == ["wireguard", "rtt", "ssh", "host-key", "tmux"]
    assert checks["wireguard"] == {
        "check": "wireguard", "target": "box", "status": "skip", "fix": None,
        "detail": "127.0.0.1 is routed via lo, not through a WireGuard interface",
    } or "wg is not installed" in checks["wireguard"]["detail"]  # fmt: skip
    assert checks["rtt"]["status"] == "ok" and f"127.0.0.1:{sshd.port}" in checks["rtt"]["detail"]
    assert checks["ssh"]["status"] == "ok" and f"{sshd.user}@127.0.0.1:{sshd.port}" in checks["ssh"]["detail"]
    assert checks["host-key"]["status"] == "ok"
    assert "policy strict" in checks["host-key"]["detail"] and "SHA256:" in checks["host-key"]["detail"]
    assert checks["tmux"]["status"] == "ok" and checks["tmux"]["detail"].startswith("tmux ")

    code, out, err = doctor_cli(reg, "box")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 5 and "fix:" not in out
    assert lines[1].startswith("✓ rtt (box): ") and lines[2].startswith("✓ ssh (box): ")


def test_closed_port_fails_with_exit_3_and_a_fix(sshd: Sshd, make_registry: Callable[..., Path]) -> None:
    port = free_port()
    host = sshd.host_toml("box", connect_timeout=3).replace(f"port = {sshd.port}", f"port = {port}")
    reg = make_registry(host)
    code, out, err = doctor_cli(reg, "box")
    assert code == 3, (out, err)
    assert f"✗ rtt (box): TCP connect to 127.0.0.1:{port} refused: nothing listens there" in out
    assert f"✗ ssh (box): cannot reach host box at 127.0.0.1:{port}" in out
    assert "- tmux (box): not checked: no SSH connection" in out
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("✗"):
            assert lines[i + 1].startswith("  fix: "), line
    assert "agent-bridge doctor" not in out  # no fix sends the user back here

    code, rows, _ = doctor_json(reg, "box")
    assert code == 3
    failed = [row for row in rows if row["status"] == "fail"]
    assert [row["check"] for row in failed] == ["rtt", "ssh"] and all(row["fix"] for row in failed)


def test_missing_pane_fails_with_exit_4(
    sshd: Sshd, tmux_server: TmuxServer, make_registry: Callable[..., Path]
) -> None:
    tmux_server.new_pane("other")
    reg = make_registry(
        sshd.host_toml("box", tmux_socket=tmux_server.socket),
        agent_toml("ghost", "box", "nosuch:0.0", profile="demo", start="python -m bridge.demo"),
    )
    code, out, err = doctor_cli(reg, "ghost")
    assert code == 4, (out, err)
    assert "✓ ssh (box)" in out and "✓ tmux (box)" in out  # the host first, and it is fine
    assert "✗ pane (ghost): tmux target nosuch:0.0 not found on box" in out
    assert "  fix: start it: agent-bridge start ghost, or correct target" in out
    assert "✓ profile (ghost): demo" in out
    assert "- state (ghost): not checked" in out


def test_demo_agent_all_ok_over_ssh(
    sshd: Sshd, tmux_server: TmuxServer, demo_pane: str, make_registry: Callable[..., Path]
) -> None:
    reg = make_registry(
        sshd.host_toml("vps", tmux_socket=tmux_server.socket),
        agent_toml("demo", "vps", "demo:0.0", profile="demo"),
    )
    code, rows, err = doctor_json(reg, "demo")
    assert code == 0, (rows, err)
    assert [row["target"] for row in rows] == ["vps"] * 5 + ["demo"] * 4
    agent = by_check(rows, "demo")
    assert agent["pane"]["status"] == "ok" and demo_pane in agent["pane"]["detail"]
    assert agent["profile"]["status"] == "ok"
    assert agent["state"]["status"] == "ok" and agent["state"]["detail"].startswith("idle")
    assert agent["version"]["status"] == "skip" and "python" in agent["version"]["detail"]


def test_dead_agent_fails_with_exit_4(
    sshd: Sshd, tmux_server: TmuxServer, make_registry: Callable[..., Path]
) -> None:
    tmux_server.new_pane("dead")  # a shell prompt where the agent should be
    reg = make_registry(
        sshd.host_toml("vps", tmux_socket=tmux_server.socket),
        agent_toml("demo", "vps", "dead:0.0", profile="demo"),
    )
    code, rows, _ = doctor_json(reg, "demo")
    assert code == 4
    state = by_check(rows, "demo")["state"]
    assert state["status"] == "fail" and state["detail"].startswith("dead")
    assert "agent-bridge restart demo" in state["fix"]


def test_bad_profile_fails_with_exit_2(
    sshd: Sshd, tmux_server: TmuxServer, demo_pane: str, make_registry: Callable[..., Path]
) -> None:
    reg = make_registry(
        sshd.host_toml("vps", tmux_socket=tmux_server.socket),
        agent_toml("demo", "vps", "demo:0.0", profile="no-such-profile"),
    )
    code, rows, _ = doctor_json(reg, "demo")
    assert code == 2
    agent = by_check(rows, "demo")
    assert agent["pane"]["status"] == "ok"
    assert agent["profile"]["status"] == "fail" and "no-such-profile" in agent["profile"]["detail"]
    assert agent["state"]["status"] == "skip"


def test_unknown_host_key_fails_with_the_fingerprint(
    sshd: Sshd, make_registry: Callable[..., Path], tmp_path: Path
) -> None:
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    reg = make_registry(sshd.host_toml("box").replace(str(sshd.known_hosts), str(empty)))
    code, rows, _ = doctor_json(reg, "box")
    assert code == 3
    checks = by_check(rows, "box")
    assert checks["rtt"]["status"] == "ok"
    assert checks["ssh"]["status"] == "fail" and "SHA256:" in checks["ssh"]["detail"]
    assert checks["host-key"]["status"] == "fail" and "policy strict" in checks["host-key"]["detail"]
    assert "accept-new" in checks["host-key"]["fix"]


def test_changed_host_key_fails(sshd: Sshd, make_registry: Callable[..., Path], tmp_path: Path) -> None:
    other = tmp_path / "other_host_key"
    keygen(other, "impostor")
    forged = tmp_path / "forged_known_hosts"
    forged.write_text(f"[127.0.0.1]:{sshd.port} {' '.join(Path(f'{other}.pub').read_text().split()[:2])}\n")
    reg = make_registry(
        sshd.host_toml("box", host_key_policy="accept-new").replace(str(sshd.known_hosts), str(forged))
    )
    code, rows, _ = doctor_json(reg, "box")
    assert code == 3
    key = by_check(rows, "box")["host-key"]
    assert key["status"] == "fail" and "differs from the one in" in key["detail"]
    assert "ssh-keygen -R" in key["fix"]
    # both fingerprints, from the error's own data: the one presented (the real host key) and the known one
    real = subprocess.run(["ssh-keygen", "-lf", "/dev/stdin"], input=sshd.host_pubkey, capture_output=True,
                          text=True, check=True).stdout.split()[1]  # fmt: skip
    forged_print = subprocess.run(["ssh-keygen", "-lf", f"{other}.pub"], capture_output=True, text=True,
                                  check=True).stdout.split()[1]  # fmt: skip
    assert f"presented {real}" in key["detail"] and f"known {forged_print}" in key["detail"]


def test_accept_new_warns_once_then_passes(
    sshd: Sshd, tmux_server: TmuxServer, make_registry: Callable[..., Path], tmp_path: Path
) -> None:
    fresh = tmp_path / "fresh_known_hosts"
    reg = make_registry(
        sshd.host_toml("box", host_key_policy="accept-new", tmux_socket=tmux_server.socket).replace(
            str(sshd.known_hosts), str(fresh)
        )
    )
    code, rows, _ = doctor_json(reg, "box")
    assert code == 0
    key = by_check(rows, "box")["host-key"]
    assert key["status"] == "warn" and "first connection" in key["detail"] and key["fix"]
    code, rows, _ = doctor_json(reg, "box")
    assert code == 0 and by_check(rows, "box")["host-key"]["status"] == "ok"


def test_no_argument_checks_every_host_then_every_agent(
    sshd: Sshd, tmux_server: TmuxServer, demo_pane: str, make_registry: Callable[..., Path]
) -> None:
    reg = make_registry(
        local_host_toml("here", tmux_server.socket),
        sshd.host_toml("vps", tmux_socket=tmux_server.socket),
        agent_toml("local-demo", "here", "demo:0.0", profile="demo"),
        agent_toml("demo", "vps", "demo:0.0", profile="demo"),
    )
    code, rows, err = doctor_json(reg)
    assert code == 0, (rows, err)
    assert [row["target"] for row in rows] == ["here"] * 5 + ["vps"] * 5 + ["local-demo"] * 4 + ["demo"] * 4
    here = by_check(rows, "here")
    assert [here[c]["status"] for c in ("wireguard", "rtt", "ssh", "host-key")] == ["skip"] * 4
    assert here["tmux"]["status"] == "ok"


def test_agents_of_a_failed_host_are_skipped(sshd: Sshd, make_registry: Callable[..., Path]) -> None:
    reg = make_registry(
        sshd.host_toml("box", connect_timeout=3).replace(f"port = {sshd.port}", f"port = {free_port()}"),
        agent_toml("demo", "box", "demo:0.0", profile="demo"),
    )
    code, rows, _ = doctor_json(reg, "demo")
    assert code == 3
    agent = by_check(rows, "demo")
    assert {row["status"] for row in agent.values()} == {"skip"}
    assert "host box failed" in agent["pane"]["detail"]


def test_unknown_name_is_exit_2(sshd: Sshd, make_registry: Callable[..., Path]) -> None:
    reg = make_registry(sshd.host_toml("box"))
    code, _, err = doctor_cli(reg, "nope")
    assert code == 2
    assert "no host or agent named 'nope' (hosts: box; agents: none)" in err
