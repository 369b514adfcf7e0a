"""The checks of a host: wireguard, rtt, ssh, host-key and tmux, in that order."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bridge.doctor.network import check_wireguard, endpoint_of, judge_rtt, measure_rtt, resolve_ip
from bridge.doctor.report import HOST_EXIT, Check, fail, from_error, ok, one_line, skip, warn
from bridge.errors import BridgeError, HostError, HostKeyError, HostUnreachableError

if TYPE_CHECKING:
    from bridge.api import Bridge
    from bridge.config import HostSpec

TMUX_MIN = (3, 2)

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
        why = "differs from the one in" if exc.changed else "is not in"
        shown = f" (presented {exc.presented}; known {', '.join(exc.known)})" if exc.changed else ""
        return [
            wg_check,
            rtt_check,
            from_error("ssh", name, exc),
            fail(
                "host-key",
                name,
                f"policy {policy}: the key {name} presents {why} {known_path}{shown}",
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
