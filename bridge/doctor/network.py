"""The network between here and a host: WireGuard, where SSH really connects, TCP round trips.

The pure parts parse ``wg``/``ip`` output and judge a handshake's age or the connect times; the
probes run short local commands (never through a shell) and TCP connects.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
import shlex
import shutil
import socket
import statistics
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bridge.doctor.report import HOST_EXIT, Check, fail, ok, one_line, skip, warn

if TYPE_CHECKING:
    from bridge.config import HostSpec

HANDSHAKE_WARN_S = 180.0  # WireGuard re-handshakes every 2 min while traffic flows
RTT_SAMPLES = 3
RTT_WARN_MS = 300.0
LOCAL_CMD_TIMEOUT = 5.0

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
