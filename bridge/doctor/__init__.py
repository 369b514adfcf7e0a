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
plain functions; the probes are async functions over a :class:`~bridge.api.Bridge`. The findings
and their rendering are in :mod:`.report`, the network probes in :mod:`.network`, the host's checks
in :mod:`.host` and the agent's in :mod:`.agent`; :func:`diagnose` runs them all.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bridge.doctor.agent import check_agent, check_state, check_version, program_of
from bridge.doctor.host import check_host, check_tmux, key_file_kind, parse_tmux_version
from bridge.doctor.network import (
    Endpoint,
    check_wireguard,
    endpoint_of,
    format_age,
    judge_handshake,
    judge_rtt,
    measure_rtt,
    parse_allowed_ips,
    parse_endpoints,
    parse_handshakes,
    parse_route_dev,
    peer_for,
    resolve_ip,
    run_local,
)
from bridge.doctor.report import (
    CONFIG_EXIT,
    Check,
    Status,
    exit_code,
    fail,
    from_error,
    ok,
    render,
    skip,
    warn,
)
from bridge.errors import BridgeError, ConfigError

if TYPE_CHECKING:
    from bridge.api import Bridge

__all__ = [
    "Check", "Endpoint", "Status", "check_agent", "check_host", "check_state", "check_tmux",
    "check_version", "check_wireguard", "diagnose", "endpoint_of", "exit_code", "fail", "format_age",
    "from_error", "judge_handshake", "judge_rtt", "key_file_kind", "measure_rtt", "ok",
    "parse_allowed_ips", "parse_endpoints", "parse_handshakes", "parse_route_dev", "parse_tmux_version",
    "peer_for", "program_of", "render", "resolve_ip", "run_local", "skip", "warn",
]


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
    if name is None and not registry.agents:  # nothing to ask is not "ok"
        checks.append(fail("registry", str(registry.path), "no agents", "add an [agents.NAME] table",
                           CONFIG_EXIT))  # fmt: skip
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
