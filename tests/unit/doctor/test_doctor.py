"""The pure parts of `agent-bridge doctor`: parsing wg/ip/tmux output, judging ages, rendering."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from bridge import doctor
from bridge.doctor import Check, Status, network
from bridge.errors import AuthError, HostUnreachableError
from bridge.transport import Completed

NOW = 1_750_000_000.0
PEER = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
OTHER = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="


# -- wg / ip output ---------------------------------------------------------------------------


def test_parse_route_dev() -> None:
    assert doctor.parse_route_dev("10.77.0.1 dev wg-ab12-l src 10.77.0.2 uid 0 \n    cache \n") == "wg-ab12-l"
    assert doctor.parse_route_dev("local 127.0.0.1 dev lo src 127.0.0.1 uid 0\n") == "lo"
    assert doctor.parse_route_dev("192.0.2.9 via 10.0.0.1 dev eth0 src 10.0.0.5 uid 1000\n") == "eth0"
    assert doctor.parse_route_dev("RTNETLINK answers: Network is unreachable\n") is None


def test_parse_handshakes() -> None:
    out = f"{PEER}\t1749999990\n{OTHER}\t0\n"
    assert doctor.parse_handshakes(out) == {PEER: 1749999990, OTHER: 0}
    assert doctor.parse_handshakes("") == {}
    assert doctor.parse_handshakes("garbage line here\n") == {}


def test_parse_allowed_ips_and_endpoints() -> None:
    assert doctor.parse_allowed_ips(f"{PEER}\t10.77.0.0/24 fd77::/64\n{OTHER}\t(none)\n") == {
        PEER: ["10.77.0.0/24", "fd77::/64"],
        OTHER: [],
    }
    assert doctor.parse_endpoints(f"{PEER}\t198.51.100.1:51820\n{OTHER}\t(none)\n") == {
        PEER: "198.51.100.1:51820"
    }


def test_peer_for_takes_the_most_specific_prefix() -> None:
    allowed = {PEER: ["10.77.0.0/24"], OTHER: ["10.77.0.5/32"]}
    assert doctor.peer_for("10.77.0.1", allowed) == PEER
    assert doctor.peer_for("10.77.0.5", allowed) == OTHER
    assert doctor.peer_for("10.78.0.1", allowed) is None
    assert doctor.peer_for("fd77::1", {PEER: ["fd77::/64"]}) == PEER
    assert doctor.peer_for("not-an-ip", allowed) is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (42.9, "42s"), (185, "3m 05s"), (7440, "2h 04m"), (90000, "1d 1h"), (-5, "0s")],
)
def test_format_age(seconds: float, text: str) -> None:
    assert doctor.format_age(seconds) == text


# -- judging a handshake ----------------------------------------------------------------------


def test_handshake_never_is_a_failure_naming_the_interface() -> None:
    check = doctor.judge_handshake("vps", "wg0", PEER, 0, NOW)
    assert check.status is Status.FAIL and check.exit_code == 3
    assert "wg0" in check.detail and "never" in check.detail
    assert check.fix and "wg show wg0" in check.fix


def test_handshake_older_than_three_minutes_warns() -> None:
    check = doctor.judge_handshake("vps", "wg0", PEER, int(NOW - 181), NOW, "198.51.100.1:51820")
    assert check.status is Status.WARN
    assert "wg0" in check.detail and "3m 01s ago" in check.detail and "198.51.100.1:51820" in check.detail
    assert check.fix and "wg0" in check.fix


def test_handshake_fresh_is_ok() -> None:
    check = doctor.judge_handshake("vps", "wg0", PEER, int(NOW - 12), NOW)
    assert check.status is Status.OK
    assert check.detail == f"wg0: peer {PEER[:8]}…: last handshake 12s ago"
    # exactly three minutes is still fine; a clock a little ahead is not "in the future"
    assert doctor.judge_handshake("vps", "wg0", PEER, int(NOW - 180), NOW).status is Status.OK
    assert "0s ago" in doctor.judge_handshake("vps", "wg0", PEER, int(NOW + 3), NOW).detail


# -- the wireguard check, with the local commands faked ---------------------------------------


def fake_commands(monkeypatch: pytest.MonkeyPatch, answers: dict[str, tuple[int, str, str]],
                  have: Sequence[str] = ("wg", "ip")) -> list[list[str]]:
    calls: list[list[str]] = []

    async def run_local(argv: Sequence[str], timeout: float = 5.0) -> tuple[int, str, str]:
        calls.append(list(argv))
        return answers.get(" ".join(argv), (1, "", f"unexpected: {' '.join(argv)}"))

    monkeypatch.setattr(network, "run_local", run_local)
    monkeypatch.setattr(shutil, "which", lambda tool: f"/usr/bin/{tool}" if tool in have else None)
    monkeypatch.setattr(time, "time", lambda: NOW)
    return calls


async def test_wireguard_ok(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_commands(monkeypatch, {
        "ip route get 10.77.0.1": (0, "10.77.0.1 dev wg0 src 10.77.0.2 uid 0\n    cache\n", ""),
        "wg show interfaces": (0, "wg0 wg1\n", ""),
        "wg show wg0 latest-handshakes": (0, f"{OTHER}\t0\n{PEER}\t{int(NOW) - 30}\n", ""),
        "wg show wg0 allowed-ips": (0, f"{OTHER}\t10.9.0.0/24\n{PEER}\t10.77.0.0/24\n", ""),
        "wg show wg0 endpoints": (0, f"{PEER}\t198.51.100.1:51820\n{OTHER}\t(none)\n", ""),
    })  # fmt: skip
    check = await doctor.check_wireguard("vps", "10.77.0.1")
    assert check.status is Status.OK, check
    assert check.detail == f"wg0: peer {PEER[:8]}… at 198.51.100.1:51820: last handshake 30s ago"
    assert ["wg", "show", "wg0", "latest-handshakes"] in calls


async def test_wireguard_skips_without_wg(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_commands(monkeypatch, {}, have=("ip",))
    check = await doctor.check_wireguard("vps", "10.77.0.1")
    assert check.status is Status.SKIP and "wg is not installed" in check.detail


async def test_wireguard_skips_when_not_routed_through_wg(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_commands(monkeypatch, {
        "ip route get 127.0.0.1": (0, "local 127.0.0.1 dev lo src 127.0.0.1 uid 0\n", ""),
        "wg show interfaces": (0, "wg0\n", ""),
    })  # fmt: skip
    check = await doctor.check_wireguard("box", "127.0.0.1")
    assert check.status is Status.SKIP
    assert check.detail == "127.0.0.1 is routed via lo, not through a WireGuard interface"


async def test_wireguard_skips_when_not_permitted_and_names_the_interface(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_commands(monkeypatch, {
        "ip route get 10.77.0.1": (0, "10.77.0.1 dev wg0 src 10.77.0.2 uid 1000\n", ""),
        "wg show interfaces": (0, "wg0\n", ""),
        "wg show wg0 latest-handshakes": (1, "", "Unable to access interface: Operation not permitted\n"),
    })  # fmt: skip
    check = await doctor.check_wireguard("vps", "10.77.0.1")
    assert check.status is Status.SKIP
    assert "wg0" in check.detail and "Operation not permitted" in check.detail


async def test_wireguard_fails_when_no_peer_allows_the_address(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_commands(monkeypatch, {
        "ip route get 10.77.0.1": (0, "10.77.0.1 dev wg0 src 10.77.0.2\n", ""),
        "wg show interfaces": (0, "wg0\n", ""),
        "wg show wg0 latest-handshakes": (0, f"{PEER}\t{int(NOW)}\n{OTHER}\t{int(NOW)}\n", ""),
        "wg show wg0 allowed-ips": (0, f"{PEER}\t10.1.0.0/24\n{OTHER}\t10.2.0.0/24\n", ""),
    })  # fmt: skip
    check = await doctor.check_wireguard("vps", "10.77.0.1")
    assert check.status is Status.FAIL and check.exit_code == 3
    assert check.fix and "10.77.0.1/32" in check.fix


# -- rtt, tmux, programs ----------------------------------------------------------------------


def test_judge_rtt() -> None:
    good = doctor.judge_rtt("vps", "vps", "10.77.0.1", 22, 3, [1.0, 9.0, 2.0])
    assert good.status is Status.OK and "median 2.0 ms over 3 samples" in good.detail
    slow = doctor.judge_rtt("vps", "vps", "10.77.0.1", 22, 3, [400.0, 500.0, 450.0])
    assert slow.status is Status.WARN
    refused = doctor.judge_rtt("vps", "vps", "10.77.0.1", 2222, 3, ConnectionRefusedError(111, "refused"))
    assert refused.status is Status.FAIL and refused.exit_code == 3
    assert "refused" in refused.detail and refused.fix and "port" in refused.fix
    silent = doctor.judge_rtt("vps", "vps", "10.77.0.1", 22, 3, TimeoutError())
    assert silent.status is Status.FAIL and "within 3s" in silent.detail and silent.fix
    unreachable = doctor.judge_rtt("vps", "vps", "10.77.0.1", 22, 3, OSError(101, "Network is unreachable"))
    assert "Network is unreachable" in unreachable.detail and unreachable.fix


@pytest.mark.parametrize(
    ("text", "version"),
    [("tmux 3.3a", (3, 3)), ("tmux 3.2", (3, 2)), ("tmux next-3.5", (3, 5)), ("tmux 2.9a", (2, 9)),
     ("tmux master", None)],
)  # fmt: skip
def test_parse_tmux_version(text: str, version: tuple[int, int] | None) -> None:
    assert doctor.parse_tmux_version(text) == version


@pytest.mark.parametrize(
    ("command", "program"),
    [("claude", "claude"), ("claude --continue", "claude"), ("/usr/local/bin/codex resume", "codex"),
     ("FOO=1 env BAR=2 claude", "claude"), ("python -m bridge.demo", "python"), (None, None), ("", None)],
)  # fmt: skip
def test_program_of(command: str | None, program: str | None) -> None:
    assert doctor.program_of(command) == program


def test_key_file_kind() -> None:
    assert doctor.key_file_kind("ssh-ed25519") == "ed25519"
    assert doctor.key_file_kind("ecdsa-sha2-nistp256") == "ecdsa"
    assert doctor.key_file_kind("rsa-sha2-512") == "rsa"


# -- errors, exit codes, rendering -------------------------------------------------------------


def test_from_error_keeps_the_one_line_message_and_the_hint() -> None:
    error = AuthError("host vps (10.77.0.1) refused our key:\n  Permission denied", hint="check user")
    check = doctor.from_error("ssh", "vps", error)
    assert check.detail == "host vps (10.77.0.1) refused our key: Permission denied"
    assert check.fix == "check user" and check.exit_code == 3
    # a hint that sends the user back to the doctor is replaced
    loop = HostUnreachableError("cannot reach host vps", hint="try: agent-bridge doctor vps")
    assert doctor.from_error("ssh", "vps", loop).fix == "see the detail above"
    assert doctor.from_error("ssh", "vps", loop, "start it").fix == "start it"


def checks() -> list[Check]:
    return [
        doctor.skip("wireguard", "vps", "wg is not installed here"),
        doctor.ok("rtt", "vps", "TCP connect to 10.77.0.1:22: median 1.0 ms over 3 samples"),
        doctor.warn("host-key", "vps", "first connection", "compare fingerprints"),
        doctor.fail("pane", "claude", "no pane", "agent-bridge start claude", 4),
        doctor.fail("profile", "claude", "no profile", "fix it", 2),
    ]


def test_exit_code_is_the_first_failures_class() -> None:
    assert doctor.exit_code(checks()) == 4
    assert doctor.exit_code(checks()[:3]) == 0
    assert doctor.exit_code([doctor.fail("ssh", "vps", "x", "y", 3), *checks()]) == 3
    assert doctor.exit_code([]) == 0


def test_render_plain() -> None:
    assert doctor.render(checks()) == "\n".join([
        "- wireguard (vps): wg is not installed here",
        "✓ rtt (vps): TCP connect to 10.77.0.1:22: median 1.0 ms over 3 samples",
        "! host-key (vps): first connection",
        "  fix: compare fingerprints",
        "✗ pane (claude): no pane",
        "  fix: agent-bridge start claude",
        "✗ profile (claude): no profile",
        "  fix: fix it",
    ])  # fmt: skip
    assert "nothing to check" in doctor.render([])


def test_json_shape() -> None:
    data = json.loads(json.dumps([c.to_dict() for c in checks()]))
    assert [set(row) for row in data] == [{"check", "target", "status", "detail", "fix"}] * 5
    assert data[0] == {"check": "wireguard", "target": "vps", "status": "skip",
                       "detail": "wg is not installed here", "fix": None}  # fmt: skip
    assert [row["status"] for row in data] == ["skip", "ok", "warn", "fail", "fail"]


# -- the version check, with a fake host ---------------------------------------------------------


@dataclass
class FakeTransport:
    host: str
    answer: Completed
    calls: list[list[str]]

    async def run(self, argv: Sequence[str], stdin: Any = None, *, timeout: float | None = None) -> Completed:
        self.calls.append(list(argv))
        return self.answer


class FakeBridge:
    def __init__(self, answer: Completed) -> None:
        self.calls: list[list[str]] = []
        self.transport = FakeTransport("vps", answer, self.calls)

    class _Registry:
        @staticmethod
        def agent(name: str) -> Any:
            return type("Agent", (), {"host_name": "vps"})()

    registry = _Registry()

    def tmux(self, host: str) -> Any:
        return type("Tmux", (), {"transport": self.transport})()


def facts(command: str) -> Any:
    return type("Facts", (), {"current_command": command})()


def profile(start: str, version: str = "2.1.197") -> Any:
    return type("Profile", (), {"start": start, "version": version, "name": "claude-code"})()


async def run_version(bridge: FakeBridge, agent: str, command: str, start: str) -> Check:
    return await doctor.check_version(bridge, agent, facts(command), profile(start), None)  # type: ignore[arg-type]


async def test_version_runs_only_the_agents_own_program() -> None:
    bridge = FakeBridge(Completed(("claude", "--version"), 0, "2.1.197 (Claude Code)\n", ""))
    check = await run_version(bridge, "claude", "claude", "claude")
    assert check.status is Status.OK and check.detail == "2.1.197 (Claude Code)"
    assert bridge.calls == [["claude", "--version"]]

    other = FakeBridge(Completed((), 0, "", ""))
    check = await run_version(other, "claude", "node", "claude")
    assert check.status is Status.SKIP and "node, not claude" in check.detail
    check = await run_version(other, "demo", "python3", "python -m bridge.demo")
    assert check.status is Status.SKIP and "python" in check.detail
    assert other.calls == []


async def test_version_mismatch_warns_and_missing_program_skips() -> None:
    newer = FakeBridge(Completed((), 0, "2.2.0 (Claude Code)\n", ""))
    check = await run_version(newer, "claude", "claude", "claude")
    assert check.status is Status.WARN and "2.1.197" in check.detail and check.fix
    missing = FakeBridge(Completed((), 127, "", "sh: claude: not found"))
    check = await run_version(missing, "claude", "claude", "claude")
    assert check.status is Status.SKIP and "PATH" in check.detail


# -- ~/.ssh/config is applied as the SSH transport applies it -----------------------------------


async def test_endpoint_follows_ssh_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    from bridge.config import HostSpec

    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "config").write_text(
        "Host myvps\n  HostName 127.0.0.5\n  Port 2200\n  User bob\n"
        "Host hidden\n  HostName 127.0.0.6\n  ProxyJump myvps\n"
    )
    monkeypatch.setenv("HOME", str(tmp_path))
    assert doctor.endpoint_of(HostSpec(address="myvps")) == doctor.Endpoint("127.0.0.5", 2200, "bob")
    # the registry wins over ~/.ssh/config for what it sets
    assert doctor.endpoint_of(HostSpec(address="myvps", port=22, user="dax")) == doctor.Endpoint(
        "127.0.0.5", 22, "dax"
    )
    jumped = doctor.endpoint_of(HostSpec(address="hidden"))
    assert jumped.host == "127.0.0.6" and jumped.via == "ProxyJump myvps"
    plain = doctor.endpoint_of(HostSpec(address="127.0.0.1", port=2222))
    assert (plain.host, plain.port, plain.via) == ("127.0.0.1", 2222, None)
