"""How fast is the path to an agent's host, measured, not guessed (``agent-bridge bench AGENT``).

Nothing is typed into the agent itself. A scratch echo agent is started next to it: a new window
``ab-bench-<random>`` in the agent's tmux session, running ``bash --norc --noprofile`` with
``PS1='$ '``, read with the built-in ``shell`` profile. It is removed (``kill-window``) at the end,
also on an error or Ctrl-C. Then, on the agent's host:

    rtt_ms          one tmux round trip on the warm connection (``display-message -p`` over the
                    session's tmux control channel, or one exec where control mode is off), median
    tcp_rtt_ms      TCP connect time to the SSH port (about one network round trip), median
    connect_ms      a fresh connection: a new Bridge and its first tmux command, median of up to 3
    exchange_ms     ``echo TOKEN`` typed and ``TOKEN`` back in hand through ``Bridge.ask`` on a
                    warm Bridge, pane lock included, as a warm broker asks (min, median, max of N;
                    one warm-up first)
    cli_cold_ms     a new ``python -m bridge --config REG ask`` process against the scratch agent,
                    with the broker warm (the registry is a temporary copy of the agent's host plus
                    the scratch agent); median of up to 5
    prompt_14k_ms   a 14 KB prompt (200 lines of 70 bytes, as one shell line whose line breaks are
                    ``\\n`` escapes that ``printf %b`` turns back into 200 lines): the reply is the
                    md5 of those 200 lines, which proves the shell received every byte; median of
                    N (its min and max in ``prompt_14k_spread_ms``: a median of 3 moved by tens
                    of ms between runs over the same link)

Every time is also shown as a multiple of ``rtt_ms``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import secrets
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from bridge.api import Bridge
from bridge.config.registry import Registry
from bridge.doctor.network import endpoint_of, measure_rtt, resolve_ip
from bridge.driver import Driver
from bridge.errors import BridgeError
from bridge.profiles import load_profile
from bridge.reading import State

if TYPE_CHECKING:
    from bridge.config import HostSpec
    from bridge.tmux import Tmux

T = TypeVar("T")

SCRATCH_PREFIX = "ab-bench-"
# HISTFILE: the shell must not append the bench's commands to the user's ~/.bash_history.
SCRATCH_SHELL = "env PS1='$ ' HISTFILE=/dev/null bash --norc --noprofile"
# Tall enough that the whole 14 KB command line stays on screen (200 x 80 = 16,000 cells).
SCRATCH_SIZE = (200, 80)
PROMPT_LINES = 200
LINE_BYTES = 70  # 68 characters, then the two characters of a "\n" escape
CONNECT_SAMPLES = 3
CLI_SAMPLES = 5
ASK_TIMEOUT = 30.0
CLI_TIMEOUT = 60.0
READY_TIMEOUT = 15.0


@dataclass(frozen=True)
class Scratch:
    """The scratch echo agent: its window and pane on the agent's host, and its registry name."""

    name: str
    host: str
    window_id: str
    pane_id: str


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def _spread(values: list[float]) -> dict[str, float]:
    """Min, median and max of samples: how far apart the runs were, beside their middle."""
    return {"min": min(values), "median": _median(values), "max": max(values)}


def prompt_14k(token: str) -> tuple[str, str]:
    """A ~14 KB shell command carrying 200 lines, and the md5 of those lines (what it prints)."""
    lines = []
    for i in range(PROMPT_LINES):
        body = f"{i:03d} {token} " + "the quick brown fox jumps over the lazy dog " * 2
        lines.append(body[: LINE_BYTES - 2].ljust(LINE_BYTES - 2, "."))
    text = "".join(line + "\n" for line in lines)
    command = f": {token}; printf %b '" + "".join(line + "\\n" for line in lines) + "' | md5sum"
    return command, hashlib.md5(text.encode()).hexdigest()


def host_toml(name: str, spec: HostSpec) -> str:
    """The ``[hosts.NAME]`` table of ``spec`` (keys left at their defaults are left out)."""
    lines = [f"[hosts.{name}]"]
    for key, value in spec.model_dump(exclude_defaults=True).items():
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, int | float):
            lines.append(f"{key} = {value!r}")
        else:
            lines.append(f"{key} = {json.dumps(str(value))}")  # a JSON string is a TOML basic string
    return "\n".join(lines) + "\n"


def scratch_registry(host_name: str, spec: HostSpec, scratch: Scratch) -> str:
    """A registry with the agent's host (same spec) and the scratch agent on it."""
    agent = (
        f"[agents.{scratch.name}]\nhost = {json.dumps(host_name)}\n"
        f"target = {json.dumps(scratch.pane_id)}\nprofile = \"shell\"\n"
    )
    return host_toml(host_name, spec) + "\n" + agent


# -- the scratch agent --------------------------------------------------------------------------


async def start_scratch(bridge: Bridge, agent_name: str) -> Scratch:
    """Open the scratch window in the agent's tmux session (the agent's pane must exist)."""
    agent = bridge.registry.agent(agent_name)
    tmux = bridge.tmux(agent.host_name)
    pane = await tmux.resolve(agent.spec.target)
    session = (await tmux.run("display-message", "-p", "-t", pane, "#{session_id}", target=pane)).stdout
    name = SCRATCH_PREFIX + secrets.token_hex(4)
    created = await tmux.run(
        "new-window", "-d", "-t", f"{session.strip()}:", "-n", name, "-P", "-F", "#{window_id} #{pane_id}",
        SCRATCH_SHELL, target=agent.spec.target,
    )  # fmt: skip
    window_id, _, pane_id = created.stdout.strip().partition(" ")
    return Scratch(name, agent.host_name, window_id, pane_id)


async def stop_scratch(tmux: Tmux, scratch: Scratch) -> None:
    """Remove the scratch window; never raises (it runs while an error or Ctrl-C unwinds)."""
    with contextlib.suppress(BridgeError, OSError, asyncio.TimeoutError):
        await asyncio.wait_for(tmux.run("kill-window", "-t", scratch.window_id, check=False), 15)


# -- the measurements ---------------------------------------------------------------------------


async def timed(step: Awaitable[T]) -> tuple[float, T]:
    """Seconds ``step`` took, and its result."""
    began = time.perf_counter()
    result = await step
    return time.perf_counter() - began, result


async def tcp_rtt(spec: HostSpec, samples: int) -> float | None:
    """Median TCP connect time to the host's SSH port, or None (local host, jump host, error)."""
    if spec.local or not spec.address:
        return None
    where = endpoint_of(spec)
    if where.via:
        return None
    try:
        ip = await resolve_ip(where.host, where.port, spec.connect_timeout)
        return _median(await measure_rtt(ip, where.port, spec.connect_timeout, samples))
    except (OSError, TimeoutError):
        return None


async def ask_echo(bridge: Bridge, agent: str, token: str) -> None:
    """``echo TOKEN`` through ``Bridge.ask``; the reply must be TOKEN."""
    reply = await bridge.ask(agent, f"echo {token}", timeout=ASK_TIMEOUT)
    if reply.reply.strip() != token:
        raise BridgeError(f"bench: the scratch agent answered {reply.reply[:80]!r}, expected {token!r}")


async def ask_14k(bridge: Bridge, agent: str, token: str) -> int:
    """The 14 KB command through ``Bridge.ask``; its reply must be the md5 of the 200 lines."""
    command, digest = prompt_14k(token)
    reply = await bridge.ask(agent, command, timeout=ASK_TIMEOUT)
    if digest not in reply.reply:
        raise BridgeError(
            f"bench: the 14 KB prompt did not arrive whole (md5 {digest} expected, reply "
            f"{reply.reply[-80:]!r})"
        )
    return len(command.encode())


async def cli_ask(registry: Path, agent: str, token: str) -> float:
    """Wall time of one new ``python -m bridge ask`` process; checks its reply."""
    argv = [sys.executable, "-m", "bridge", "--config", str(registry), "--json", "ask", agent,
            f"echo {token}", "--timeout", str(ASK_TIMEOUT)]  # fmt: skip
    began = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), CLI_TIMEOUT)
    finally:
        if proc.returncode is None:  # timed out or cancelled (Ctrl-C): end it, by its PID
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.wait(), 5)
    elapsed = time.perf_counter() - began
    try:
        reply = str(json.loads(out)["reply"]).strip()
    except (ValueError, KeyError, TypeError):
        reply = None
    if proc.returncode != 0 or reply != token:
        why = err.decode(errors="replace").strip().splitlines()[-1:] or [out.decode(errors="replace")[:80]]
        raise BridgeError(f"bench: `{shlex.join(argv[1:6])} ...` failed (exit {proc.returncode}): {why[0]}")
    return elapsed


async def measure(bridge: Bridge, agent_name: str, samples: int) -> dict[str, Any]:
    """Run every measurement against a scratch agent next to ``agent_name``; returns the results."""
    agent = bridge.registry.agent(agent_name)
    spec = agent.host
    # The scratch window lives in the agent's session: ride its control channel, as asks do.
    session = (await bridge.tmux(agent.host_name).resolve_facts(agent.spec.target)).session
    tmux = bridge.tmux(agent.host_name, session)
    profile = load_profile("shell")  # the built-in one: a user's shell.toml may expect another PS1
    scratch = await start_scratch(bridge, agent_name)
    workdir = Path(tempfile.mkdtemp(prefix="ab-bench-"))
    try:
        await tmux.run("resize-window", "-t", scratch.window_id, "-x", str(SCRATCH_SIZE[0]),
                       "-y", str(SCRATCH_SIZE[1]), check=False)  # fmt: skip
        driver = Driver(tmux, scratch.pane_id, profile, agent=scratch.name)
        await driver.wait_for(lambda o: o.state is State.IDLE, READY_TIMEOUT, what="the scratch shell")
        registry = workdir / "registry.toml"
        registry.write_text(scratch_registry(agent.host_name, spec, scratch), encoding="utf-8")
        loaded = Registry.load(registry)  # the CLI reads the same file: fail here if it is wrong
        tag = secrets.token_hex(3)

        rtts = [(await timed(tmux.run("display-message", "-p", "-t", scratch.pane_id, "x")))[0]
                for _ in range(samples)]  # fmt: skip
        rtt = _median([_ms(t) for t in rtts])
        net = await tcp_rtt(spec, min(samples, 5))

        connects = []
        for _ in range(min(samples, CONNECT_SAMPLES)):
            async with Bridge(loaded) as fresh:
                elapsed, _ = await timed(fresh.tmux(agent.host_name).run("display-message", "-p", "x"))
                connects.append(_ms(elapsed))

        exchanges, bigs, size = [], [], 0
        async with Bridge(loaded) as warm:  # the scratch agent's own Bridge, as a broker has
            await ask_echo(warm, scratch.name, f"ab{tag}w")  # warm-up: bash's first command is slower
            for i in range(samples):
                elapsed, _ = await timed(ask_echo(warm, scratch.name, f"ab{tag}e{i}"))
                exchanges.append(_ms(elapsed))
            for i in range(samples):
                elapsed, size = await timed(ask_14k(warm, scratch.name, f"ab{tag}p{i}"))
                bigs.append(_ms(elapsed))

        await cli_ask(registry, scratch.name, f"ab{tag}cw")  # starts the broker / warms its connection
        clis = [_ms(await cli_ask(registry, scratch.name, f"ab{tag}c{i}"))
                for i in range(min(samples, CLI_SAMPLES))]  # fmt: skip
    finally:
        await stop_scratch(tmux, scratch)
        shutil.rmtree(workdir, ignore_errors=True)

    exchange, big = _spread(exchanges), _spread(bigs)
    result: dict[str, Any] = {
        "agent": agent_name,
        "host": agent.host_name,
        "samples": samples,
        "scratch_window": scratch.name,
        "rtt_ms": rtt,
        "tcp_rtt_ms": net,
        "connect_ms": _median(connects),
        "exchange_ms": exchange,
        "cli_cold_ms": _median(clis),
        "prompt_14k_ms": big["median"],
        "prompt_14k_spread_ms": big,
        "prompt_14k_bytes": size,
        "prompt_14k_extra_ms": round(big["median"] - exchange["median"], 2),
    }
    result["in_rtt"] = {
        key: round(float(result[key]) / rtt, 1)
        for key in ("connect_ms", "cli_cold_ms", "prompt_14k_ms", "prompt_14k_extra_ms")
    } | {"exchange_ms": round(exchange["median"] / rtt, 1)}
    return result


def render(result: dict[str, Any]) -> str:
    """The results as an aligned table: milliseconds, multiples of the tmux round trip, and the
    spread (min-max) of the measurements taken N times."""
    rtt = float(result["rtt_ms"])
    ex, big = result["exchange_ms"], result["prompt_14k_spread_ms"]
    rows: list[tuple[str, float | None, dict[str, float] | None, str]] = [
        ("tmux round trip (RTT)", rtt, None, "tmux display-message on the warm connection, median"),
        ("TCP connect", result["tcp_rtt_ms"], None, "to the SSH port: about one network round trip"),
        ("connect (fresh)", result["connect_ms"], None, "new Bridge + first tmux command"),
        ("exchange median", ex["median"], ex, "echo TOKEN -> TOKEN in hand (Bridge.ask)"),
        ("cold CLI ask", result["cli_cold_ms"], None, "new `python -m bridge ask` process, broker warm"),
        ("14 KB prompt", big["median"], big, f"{result['prompt_14k_bytes']} B, 200 lines, md5 checked"),
        ("14 KB extra vs short", result["prompt_14k_extra_ms"], None, "14 KB prompt - exchange median"),
    ]
    head = (f"agent-bridge bench {result['agent']} (host {result['host']}, {result['samples']} samples, "
            f"scratch window {result['scratch_window']}, removed)")  # fmt: skip
    lines = [head, "", f"{'':<22} {'ms':>9} {'x RTT':>7} {'min-max':>15}"]
    for label, value, spread, note in rows:
        if value is None:
            lines.append(f"{label:<22} {'-':>9} {'-':>7} {'':>15}  {note or 'not measured'}")
            continue
        limits = f"{spread['min']:.1f}-{spread['max']:.1f}" if spread else ""
        lines.append(f"{label:<22} {value:>9.1f} {value / rtt:>7.1f} {limits:>15}  {note}".rstrip())
    return "\n".join(lines)
