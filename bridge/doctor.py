"""Check everything between here and an agent, in order, and say what to fix (``agent-bridge doctor``).

For a host (in this order)::

    wireguard   the WireGuard interface that routes to the host: its peer's last handshake
    rtt         TCP connect time to host:port (median of a few samples)
    ssh         the pooled SSH connection opens, authenticates, and runs `true`
    host-key    the policy (strict / accept-new) and the key that matched known_hosts
    tmux        `tmux -V` on the host (3.2 or newer)

For an agent (after its host)::

    pane        the tmux target resolves to a pane
    profile     the agent's profile loads
    state       what the agent is doing (idle, busy, ...)
    version     `<agent> --version` on the host, when the pane runs the agent's own program

Each check is ``ok``, ``warn``, ``fail`` or ``skip`` with a one-line detail; every failure (and
most warnings) carries a ``fix``. The exit code is that of the first failure's class: 3 for the
host (network, SSH, tmux), 4 for the pane or the agent, 2 for configuration; 0 if nothing failed.

The pure parts (parsing ``wg``/``ip``/``tmux`` output, judging a handshake age, rendering) are
plain functions; the probes are async functions over a :class:`~bridge.api.Bridge`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import re
import shlex
import shutil
import socket
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bridge.errors import (
    AgentError,
    BridgeError,
    ConfigError,
    HostError,
    HostKeyError,
    HostUnreachableError,
)

if TYPE_CHECKING:
    from bridge.api import Bridge
    from bridge.config import HostSpec
    from bridge.profiles import Profile
    from bridge.tmux import PaneFacts

HOST_EXIT = HostError.exit_code  # 3
AGENT_EXIT = AgentError.exit_code  # 4
CONFIG_EXIT = ConfigError.exit_code  # 2

HANDSHAKE_WARN_S = 180.0  # WireGuard re-handshakes every 2 min while traffic flows
RTT_SAMPLES = 3
RTT_WARN_MS = 300.0
TMUX_MIN = (3, 2)
LOCAL_CMD_TIMEOUT = 5.0
VERSION_TIMEOUT = 15.0
# Programs whose `--version` names the interpreter, not the agent it runs.
INTERPRETERS = re.compile(r"^(?:python[\d.]*|node(?:js)?|bun|deno|ruby[\d.]*|perl[\d.]*|java|uv|npx)$")


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


SYMBOLS = {Status.OK: "✓", Status.WARN: "!", Status.FAIL: "✗", Status.SKIP: "-"}


@dataclass(frozen=True)
class Check:
    """The outcome of one check of one host or agent."""

    check: str
    target: str
    status: Status
    detail: str
    fix: str | None = None
    exit_code: int = 0  # for a failure: the exit code of its class

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "target": self.target,
            "status": self.status.value,
            "detail": self.detail,
            "fix": self.fix,
        }


def ok(check: str, target: str, detail: str) -> Check:
    return Check(check, target, Status.OK, detail)


def warn(check: str, target: str, detail: str, fix: str | None = None) -> Check:
    return Check(check, target, Status.WARN, detail, fix)


def fail(check: str, target: str, detail: str, fix: str, code: int) -> Check:
    return Check(check, target, Status.FAIL, detail, fix, code)


def skip(check: str, target: str, detail: str) -> Check:
    return Check(check, target, Status.SKIP, detail)


def from_error(check: str, target: str, error: BridgeError, fix: str | None = None) -> Check:
    """A failure carrying a :class:`BridgeError`'s own one-line message and its hint as the fix."""
    hint = error.hint
    if hint and "agent-bridge doctor" in hint:  # do not send the user back here
        hint = None
    detail = " ".join(error.message.split())
    return fail(check, target, detail, fix or hint or "see the detail above", error.exit_code)


# -- pure helpers -------------------------------------------------------------------------------


def one_line(text: str) -> str:
    """The last non-empty line of ``text`` (what a tool's error output is about), whitespace-joined."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " ".join(lines[-1].split()) if lines else ""


def parse_route_dev(output: str) -> str | None:
    """The interface in ``ip route get ADDR`` output (``10.77.0.1 dev wg0 src 10.77.0.2 ...``)."""
    match = re.search(r"\bdev\s+(\S+)", output)
    return match.group(1) if match else None


def parse_handshakes(output: str) -> dict[str, int]:
    """``wg show IFACE latest-handshakes``: peer public key -> unix time (0 = never)."""
    result: dict[str, int] = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            result[parts[0]] = int(parts[1])
    return result


def parse_allowed_ips(output: str) -> dict[str, list[str]]:
    """``wg show IFACE allowed-ips``: peer public key -> its AllowedIPs (``(none)`` -> [])."""
    result: dict[str, list[str]] = {}
    for line in output.splitlines():
        parts = line.split()
        if parts:
            result[parts[0]] = [p for p in parts[1:] if p != "(none)"]
    return result


def parse_endpoints(output: str) -> dict[str, str]:
    """``wg show IFACE endpoints``: peer public key -> ``ip:port`` (``(none)`` left out)."""
    result: dict[str, str] = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1] != "(none)":
            result[parts[0]] = parts[1]
    return result


def peer_for(address: str, allowed: dict[str, list[str]]) -> str | None:
    """The peer whose AllowedIPs route ``address`` (the most specific prefix wins, as in WireGuard)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    best: tuple[int, str] | None = None
    for peer, networks in allowed.items():
        for text in networks:
            try:
                net = ipaddress.ip_network(text, strict=False)
            except ValueError:
                continue
            if ip.version == net.version and ip in net and (best is None or net.prefixlen > best[0]):
                best = (net.prefixlen, peer)
    return best[1] if best else None


def format_age(seconds: float) -> str:
    """``42s``, ``3m 05s``, ``2h 04m``, ``3d 1h``."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def short_key(key: str) -> str:
    return key[:8] + "…" if len(key) > 8 else key


def judge_handshake(
    target: str, iface: str, peer: str, latest: int, now: float, endpoint: str | None = None
) -> Check:
    """The ``wireguard`` check from a peer's latest handshake (unix time, 0 = never)."""
    who = f"{iface}: peer {short_key(peer)}" + (f" at {endpoint}" if endpoint else "")
    if latest <= 0:
        return fail(
            "wireguard",
            target,
            f"{who} has never completed a handshake",
            f"check the peer's Endpoint (UDP port open?) and that both sides have each other's "
            f"public key: sudo wg show {iface}; on the other side: sudo wg show",
            HOST_EXIT,
        )
    age = now - latest
    if age > HANDSHAKE_WARN_S:
        return warn(
            "wireguard",
            target,
            f"{who}: last handshake {format_age(age)} ago (over 3 min)",
            f"the tunnel looks down: check the endpoint is reachable over UDP and the peer is up "
            f"(sudo wg show {iface}; restart it: sudo wg-quick down {iface} && sudo wg-quick up {iface})",
        )
    return ok("wireguard", target, f"{who}: last handshake {format_age(age)} ago")


def key_file_kind(algorithm: str) -> str:
    """The ``ssh_host_<kind>_key`` name for a host key algorithm (``ssh-ed25519`` -> ``ed25519``)."""
    for kind in ("ed25519", "ecdsa", "rsa", "dsa"):
        if kind in algorithm or (kind == "dsa" and algorithm == "ssh-dss"):
            return kind
    return "*"


def parse_tmux_version(text: str) -> tuple[int, int] | None:
    """``tmux 3.3a`` -> (3, 3); ``tmux next-3.4`` -> (3, 4); None if unrecognised."""
    match = re.search(r"(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def program_of(command: str | None) -> str | None:
    """The program a start command runs: ``claude --continue`` -> ``claude``; env assignments skipped."""
    if not command:
        return None
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    words = [w for w in words if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", w)]
    if words and words[0] == "env":
        words = words[1:]
    return Path(words[0]).name if words else None


def exit_code(checks: Sequence[Check]) -> int:
    """0 if nothing failed, else the exit code of the first failure's class."""
    for check in checks:
        if check.status is Status.FAIL:
            return check.exit_code or 1
    return 0


def render(checks: Sequence[Check]) -> str:
    """Plain output: ``✓ name (target): detail`` per check, then ``  fix: ...`` where there is one."""
    lines = []
    for check in checks:
        lines.append(f"{SYMBOLS[check.status]} {check.check} ({check.target}): {check.detail}")
        if check.fix and check.status in (Status.FAIL, Status.WARN):
            lines.append(f"  fix: {check.fix}")
    return "\n".join(lines) if lines else "(nothing to check: the registry has no hosts or agents)"


# -- local commands -----------------------------------------------------------------------------


async def run_local(argv: Sequence[str], timeout: float = LOCAL_CMD_TIMEOUT) -> tuple[int, str, str]:
    """Run a short local command (never through a shell); (exit status, stdout, stderr)."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    except OSError as exc:
        return 127, "", f"{argv[0]}: {exc.strerror or exc}"
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return 124, "", f"{shlex.join(argv)} took longer than {timeout}s"
    status = proc.returncode if proc.returncode is not None else 1
    return status, out.decode(errors="replace"), err.decode(errors="replace")


# -- where a host is ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """Where SSH really connects, after ``~/.ssh/config``: host, port, user, and any jump."""

    host: str
    port: int
    user: str | None
    via: str | None = None  # "ProxyJump X" / "ProxyCommand": a direct TCP probe means nothing


def endpoint_of(spec: HostSpec) -> Endpoint:
    """Apply ``~/.ssh/config`` (HostName, Port, User, ProxyJump) to a registry host, as asyncssh does."""
    import asyncssh

    assert spec.address
    port = spec.port or 22
    try:
        opts = asyncssh.SSHClientConnectionOptions(
            config=(),  # as asyncssh.connect: () = read ~/.ssh/config (None would skip it)
            host=spec.address,
            port=spec.port if spec.port else (),
            username=spec.user if spec.user else (),
            known_hosts=None,
            client_keys=None,
            agent_path=None,
        )
    except Exception:  # an unreadable ~/.ssh/config: the ssh check will say so
        return Endpoint(spec.address, port, spec.user)
    via = None
    if opts.tunnel:
        via = f"ProxyJump {opts.tunnel}" if isinstance(opts.tunnel, str) else "a tunnel"
    elif opts.proxy_command:
        via = "ProxyCommand"
    return Endpoint(str(opts.host or spec.address), int(opts.port or port), opts.username or spec.user, via)


async def resolve_ip(host: str, port: int, timeout: float) -> str:
    """``host`` as an IP address (IP literals pass through); raises OSError/TimeoutError."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout)
    if not infos:
        raise OSError(f"no address for {host}")
    return str(infos[0][4][0])


# -- host checks --------------------------------------------------------------------------------


async def check_wireguard(target: str, ip: str) -> Check:
    """Is ``ip`` routed through a WireGuard interface, and when did its peer last handshake?"""
    if not shutil.which("wg"):
        return skip("wireguard", target, "wg is not installed here (wireguard-tools): not checked")
    if not shutil.which("ip"):
        return skip("wireguard", target, f"ip (iproute2) is not installed: cannot tell what routes to {ip}")
    status, out, err = await run_local(["ip", "route", "get", ip])
    dev = parse_route_dev(out) if status == 0 else None
    if dev is None:
        return skip("wireguard", target, f"no route to {ip} here ({one_line(err) or 'ip route get failed'})")
    status, out, err = await run_local(["wg", "show", "interfaces"])
    if status != 0:
        return skip(
            "wireguard",
            target,
            f"{ip} goes via {dev}; cannot list WireGuard interfaces ({one_line(err)}; not permitted? "
            f"try: sudo wg show {dev})",
        )
    if dev not in out.split():
        return skip("wireguard", target, f"{ip} is routed via {dev}, not through a WireGuard interface")
    status, out, err = await run_local(["wg", "show", dev, "latest-handshakes"])
    if status != 0:
        return skip(
            "wireguard",
            target,
            f"{ip} goes via WireGuard interface {dev}, which we may not read ({one_line(err)}); "
            f"as root: sudo wg show {dev} latest-handshakes",
        )
    handshakes = parse_handshakes(out)
    _, allowed_out, _ = await run_local(["wg", "show", dev, "allowed-ips"])
    peer = peer_for(ip, parse_allowed_ips(allowed_out))
    if peer is None and len(handshakes) == 1:
        peer = next(iter(handshakes))
    if peer is None:
        return fail(
            "wireguard",
            target,
            f"{dev}: no peer's AllowedIPs covers {ip}, so packets to it are dropped",
            f"add {ip}/32 (or the tunnel subnet) to the hub peer's AllowedIPs in {dev}'s config, then: "
            f"sudo wg-quick down {dev} && sudo wg-quick up {dev}",
            HOST_EXIT,
        )
    _, ends_out, _ = await run_local(["wg", "show", dev, "endpoints"])
    return judge_handshake(
        target, dev, peer, handshakes.get(peer, 0), time.time(), parse_endpoints(ends_out).get(peer)
    )


async def measure_rtt(ip: str, port: int, timeout: float, samples: int = RTT_SAMPLES) -> list[float]:
    """TCP connect times to ip:port in ms; raises on the first failure (OSError/TimeoutError)."""
    times = []
    for _ in range(samples):
        began = time.perf_counter()
        _, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), timeout)
        times.append((time.perf_counter() - began) * 1000)
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), 1.0)
    return times


def judge_rtt(
    target: str, name: str, ip: str, port: int, timeout: float, result: list[float] | BaseException
) -> Check:
    """The ``rtt`` check from connect times, or from the exception that stopped them."""
    where = f"{ip}:{port}"
    if isinstance(result, BaseException):
        if isinstance(result, ConnectionRefusedError):
            return fail(
                "rtt",
                target,
                f"TCP connect to {where} refused: nothing listens there",
                f"start sshd on {name} (sudo systemctl start ssh) or correct port = ... under [hosts.{name}]",
                HOST_EXIT,
            )
        if isinstance(result, TimeoutError):
            return fail(
                "rtt",
                target,
                f"TCP connect to {where} got no answer within {timeout:g}s",
                f"is {name} up and the tunnel connected? check: sudo wg show; ping {ip}; "
                f"a firewall dropping port {port}",
                HOST_EXIT,
            )
        reason = result.strerror if isinstance(result, OSError) and result.strerror else str(result)
        return fail(
            "rtt",
            target,
            f"TCP connect to {where} failed: {reason or type(result).__name__}",
            f"check the route to {ip} (ip route get {ip}) and that the tunnel is up (sudo wg show)",
            HOST_EXIT,
        )
    median = statistics.median(result)
    detail = f"TCP connect to {where}: median {median:.1f} ms over {len(result)} samples"
    if median > RTT_WARN_MS:
        return warn(
            "rtt",
            target,
            detail + f" (slow: over {RTT_WARN_MS:g} ms)",
            "every ask takes several round trips; a closer host or a direct route will help",
        )
    return ok("rtt", target, detail)


def _known_fingerprints(spec: HostSpec, path: Path) -> set[str]:
    """Fingerprints of the keys ``known_hosts`` holds for the host (as the SSH transport looks them up)."""
    import asyncssh

    if not path.is_file():
        return set()
    try:
        known = asyncssh.read_known_hosts(str(path))
        assert spec.address
        keys = known.match(spec.address, "", spec.port or 22)[0]
    except (OSError, ValueError, asyncssh.KeyImportError):
        return set()
    return {key.get_fingerprint() for key in keys}


async def check_host(bridge: Bridge, name: str) -> list[Check]:
    """wireguard, rtt, ssh, host-key and tmux for the host ``name``, in that order."""
    spec = bridge.registry.host(name)
    if spec.local:
        why = "local host: tmux runs on this machine, no network"
        checks = [skip(check, name, why) for check in ("wireguard", "rtt", "ssh", "host-key")]
        return [*checks, await check_tmux(bridge, name)]

    from bridge.transport.ssh import SSHTransport

    endpoint = endpoint_of(spec)
    timeout = spec.connect_timeout
    wg_check: Check
    rtt_check: Check
    if endpoint.via:
        why = f"reached via {endpoint.via}: no direct path from here to probe"
        wg_check, rtt_check = skip("wireguard", name, why), skip("rtt", name, why)
    else:
        try:
            ip = await resolve_ip(endpoint.host, endpoint.port, timeout)
        except (OSError, TimeoutError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or "timed out"
            wg_check = skip("wireguard", name, f"{endpoint.host} does not resolve")
            rtt_check = fail(
                "rtt",
                name,
                f"cannot resolve {endpoint.host}: {reason}",
                f"check address = ... under [hosts.{name}] (an IP, a DNS name, or a Host in ~/.ssh/config)",
                HOST_EXIT,
            )
        else:
            # The probe runs first: it sends traffic, which is what makes WireGuard handshake.
            result: list[float] | BaseException
            try:
                result = await measure_rtt(ip, endpoint.port, timeout)
            except (OSError, TimeoutError) as exc:
                result = exc
            rtt_check = judge_rtt(name, name, ip, endpoint.port, timeout, result)
            wg_check = await check_wireguard(name, ip)

    transport = bridge.pool.get(name, spec)
    known_path = (
        transport.known_hosts_path
        if isinstance(transport, SSHTransport)
        else Path(spec.known_hosts or "~/.ssh/known_hosts").expanduser()
    )
    known_before = _known_fingerprints(spec, known_path)
    policy = spec.host_key_policy
    user = f"{endpoint.user}@" if endpoint.user else ""
    where = f"{user}{endpoint.host}:{endpoint.port}"
    try:
        began = time.perf_counter()
        done = await transport.run(["true"], timeout=timeout + 10)
        elapsed = (time.perf_counter() - began) * 1000
    except HostKeyError as exc:
        changed = "CHANGED" in exc.message
        why = "differs from the one in" if changed else "is not in"
        return [
            wg_check,
            rtt_check,
            from_error("ssh", name, exc),
            fail(
                "host-key",
                name,
                f"policy {policy}: the key {name} presents {why} {known_path}",
                exc.hint or "check the key on the host",
                HOST_EXIT,
            ),
            skip("tmux", name, "not checked: no SSH connection"),
        ]
    except BridgeError as exc:
        fix = None
        if isinstance(exc, HostUnreachableError):
            fix = (
                f"check that {name} is up, sshd listens on {endpoint.host}:{endpoint.port} and the "
                f"tunnel is connected (sudo wg show)"
            )
        return [
            wg_check,
            rtt_check,
            from_error("ssh", name, exc, fix),
            skip("host-key", name, "not checked: no SSH connection"),
            skip("tmux", name, "not checked: no SSH connection"),
        ]
    if done.exit_status != 0:
        ssh_check = fail(
            "ssh",
            name,
            f"logged in to {where}, but `true` exited {done.exit_status}: "
            f"{one_line(done.stderr) or 'no message'}",
            f"check the login shell and profile scripts of {endpoint.user or 'the user'} on {name}",
            HOST_EXIT,
        )
    else:
        ssh_check = ok("ssh", name, f"logged in to {where} and ran `true` in {elapsed:.0f} ms")
    return [
        wg_check,
        rtt_check,
        ssh_check,
        await _host_key_check(name, transport, policy, known_path, known_before),
        await check_tmux(bridge, name),
    ]


async def _host_key_check(
    name: str, transport: object, policy: str, path: Path, known_before: set[str]
) -> Check:
    from bridge.transport.ssh import SSHTransport

    if not isinstance(transport, SSHTransport):
        return skip("host-key", name, "not an SSH host")
    conn = await transport.connection()
    key = conn.get_server_host_key()
    if key is None:
        return skip("host-key", name, "the server presented no host key (certificate?)")
    fingerprint = key.get_fingerprint()
    if policy == "accept-new" and fingerprint not in known_before:
        return warn(
            "host-key",
            name,
            f"policy accept-new: first connection; trusted {fingerprint} and recorded it in {path}",
            f"compare with the host's own (on {name}): ssh-keygen -lf "
            f"/etc/ssh/ssh_host_{key_file_kind(key.get_algorithm())}_key.pub",
        )
    return ok("host-key", name, f"policy {policy}: {fingerprint} matches {path}")


async def check_tmux(bridge: Bridge, name: str) -> Check:
    """``tmux -V`` on the host (warn below 3.2), and the bridge's own pane query answered right."""
    try:
        text = await bridge.tmux(name).version()
    except HostError as exc:
        return from_error("tmux", name, exc)
    except BridgeError as exc:
        return fail(
            "tmux",
            name,
            " ".join(exc.message.split()),
            exc.hint or f"install tmux on {name}: sudo apt-get install -y tmux",
            HOST_EXIT,
        )
    version = parse_tmux_version(text)
    if version is None:
        return warn(
            "tmux",
            name,
            f"`tmux -V` said {text!r}: version unknown",
            f"install a release of tmux ({TMUX_MIN[0]}.{TMUX_MIN[1]} or newer) on {name}",
        )
    socket_note = (
        f", socket {bridge.registry.host(name).tmux_socket}" if bridge.registry.host(name).tmux_socket else ""
    )
    if version < TMUX_MIN:
        return warn(
            "tmux",
            name,
            f"{text} is older than {TMUX_MIN[0]}.{TMUX_MIN[1]}{socket_note}",
            f"upgrade tmux on {name} (agent-bridge is tested with {TMUX_MIN[0]}.{TMUX_MIN[1]}+)",
        )
    try:  # a version that prints is not enough: tmux 3.4 changed how its answers print
        await bridge.tmux(name).probe()
    except BridgeError as exc:
        return fail("tmux", name, " ".join(exc.message.split()), exc.hint or "", HOST_EXIT)
    return ok("tmux", name, f"{text}{socket_note}, answers the bridge's queries")


# -- agent checks -------------------------------------------------------------------------------


async def check_agent(bridge: Bridge, name: str, *, host_ok: bool = True) -> list[Check]:
    """pane, profile, state and version of the agent ``name``, in that order."""
    agent = bridge.registry.agent(name)
    spec = agent.spec
    names = ("pane", "profile", "state", "version")
    if not host_ok:
        why = f"not checked: host {agent.host_name} failed its checks (above)"
        return [skip(check, name, why) for check in names]

    checks: list[Check] = []
    facts: PaneFacts | None = None
    try:
        pane = await bridge.pane(name)
        facts = await pane.tmux.facts(pane.pane_id)
    except BridgeError as exc:
        start_fix = (
            f"start it: agent-bridge start {name}"
            if spec.start
            else f"start the agent in tmux pane {spec.target} on {agent.host_name}"
        )
        fix = f'{start_fix}, or correct target = "..." under [agents.{name}]'
        checks.append(from_error("pane", name, exc, fix if isinstance(exc, AgentError) else None))
    else:
        dead = ", pane dead" if facts.dead else ""
        checks.append(
            ok(
                "pane",
                name,
                f"{spec.target} on {agent.host_name} is {facts.pane_id} "
                f"(running {facts.current_command or '?'}, "
                f"{facts.width}x{facts.height}{dead})",
            )
        )

    profile: Profile | None = None
    try:
        profile = bridge.profile(spec.profile)
    except BridgeError as exc:
        checks.append(
            from_error(
                "profile",
                name,
                exc,
                f'`agent-bridge profiles` lists the valid ones; fix profile = "..." under [agents.{name}] '
                f"or the profile file named above",
            )
        )
    else:
        checks.append(ok("profile", name, f"{profile.name}: {profile.agent} {profile.version}"))

    if facts is None or profile is None:
        checks.append(skip("state", name, "not checked: needs the pane and the profile"))
        checks.append(skip("version", name, "not checked: needs the pane and the profile"))
        return checks
    checks.append(await check_state(bridge, name))
    checks.append(await check_version(bridge, name, facts, profile, spec.start))
    return checks


_STATE_ADVICE = {
    "busy": "wait for it to finish (agent-bridge screen {name}), or interrupt it: agent-bridge keys {name} "
    "Escape",
    "permission": "it asks for permission: agent-bridge approve {name} yes|no",
    "menu": "a menu is open: agent-bridge keys {name} Escape (or: agent-bridge attach {name})",
    "dialog": "a dialog is open: look at it (agent-bridge screen {name}) and answer it "
    "(agent-bridge attach {name})",
}


async def check_state(bridge: Bridge, name: str) -> Check:
    """The agent's state: idle is ok; busy/permission/menu/dialog warn; dead/unknown fail."""
    try:
        obs = await bridge.state(name)
    except BridgeError as exc:
        return from_error("state", name, exc)
    state = obs.state.value
    command = obs.facts.current_command or "?"
    if state == "idle":
        return ok("state", name, f"idle (running {command})")
    if state in _STATE_ADVICE:
        return warn("state", name, f"{state}: ask waits for idle", _STATE_ADVICE[state].format(name=name))
    if state == "dead":
        return fail(
            "state",
            name,
            f"dead: the pane shows {command}, not the agent",
            f"agent-bridge restart {name} (or: agent-bridge start {name})",
            AGENT_EXIT,
        )
    return fail(
        "state",
        name,
        f"{state}: the screen matches nothing the profile knows (pane runs {command})",
        f"look at it (agent-bridge screen {name}); if the agent's version changed, its profile may need "
        f"an update (agent-bridge profiles)",
        AGENT_EXIT,
    )


async def check_version(
    bridge: Bridge, name: str, facts: PaneFacts, profile: Profile, agent_start: str | None
) -> Check:
    """``<program> --version`` on the host, only when the pane runs the agent's own program."""
    program = program_of(profile.start) or program_of(agent_start)
    if program is None:
        return skip("version", name, f"profile {profile.name} names no program to ask")
    from bridge.api import SHELLS

    if program in SHELLS or INTERPRETERS.match(program):
        return skip("version", name, f"the agent runs under {program}: its --version would be {program}'s")
    command = facts.current_command
    if command != program:
        return skip("version", name, f"the pane runs {command or '?'}, not {program}: not asking")
    agent = bridge.registry.agent(name)
    transport = bridge.tmux(agent.host_name).transport
    try:
        done = await transport.run([program, "--version"], timeout=VERSION_TIMEOUT)
    except BridgeError as exc:
        return skip("version", name, f"`{program} --version` could not run: {' '.join(exc.message.split())}")
    if done.exit_status == 127:
        return skip(
            "version",
            name,
            f"{program} is not on the PATH of a non-interactive login on {agent.host_name}: version unknown",
        )
    text = one_line(done.stdout.splitlines()[0] if done.stdout.strip() else "")
    if done.exit_status != 0 or not text:
        return warn(
            "version",
            name,
            f"`{program} --version` exited {done.exit_status}: {one_line(done.stderr) or 'no output'}",
            f"run it on {agent.host_name} to see why",
        )
    found = re.search(r"\d+\.\d+(?:\.\d+)?", text)
    if found and profile.version and found.group(0) != profile.version:
        return warn(
            "version",
            name,
            f"{text}; profile {profile.name} was made for {profile.version}",
            f"if reading its screen fails, add a profile for {found.group(0)} "
            f"(~/.config/agent-bridge/profiles/{profile.name}.toml)",
        )
    return ok("version", name, text)


# -- all together -------------------------------------------------------------------------------


async def _guarded(check: str, target: str, job: Callable[[], Awaitable[list[Check]]]) -> list[Check]:
    """Run a group of checks; a surprise becomes a failure line instead of a traceback."""
    try:
        return await job()
    except BridgeError as exc:
        return [from_error(check, target, exc)]
    except Exception as exc:
        return [
            fail(check, target, f"unexpected {type(exc).__name__}: {exc}", "run with -vv and report it", 1)
        ]


async def diagnose(bridge: Bridge, name: str | None = None) -> list[Check]:
    """Check ``name`` (a host: its checks; an agent: its host's, then its own), or everything."""
    registry = bridge.registry
    if name is None:
        hosts, agents = list(registry.hosts), list(registry.agents)
    else:
        if name not in registry.hosts and name not in registry.agents:
            raise ConfigError(
                f"no host or agent named {name!r} (hosts: {', '.join(sorted(registry.hosts)) or 'none'}; "
                f"agents: {', '.join(sorted(registry.agents)) or 'none'})",
                hint="agent-bridge hosts and agent-bridge agents list them",
            )
        hosts = [name] if name in registry.hosts else []
        agents = [name] if name in registry.agents else []
        for agent in agents:
            if registry.agents[agent].host not in hosts:
                hosts.append(registry.agents[agent].host)
    checks: list[Check] = []
    usable: dict[str, bool] = {}
    for host in hosts:
        found = await _guarded("ssh", host, functools.partial(check_host, bridge, host))
        usable[host] = not any(c.status is Status.FAIL for c in found)
        checks += found
    for agent in agents:
        host_ok = usable.get(registry.agents[agent].host, True)
        job = functools.partial(check_agent, bridge, agent, host_ok=host_ok)
        checks += await _guarded("pane", agent, job)
    return checks
