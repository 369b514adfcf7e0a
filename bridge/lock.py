"""One caller at a time per pane, across processes and across machines.

The lock lives on the agent's host, where every caller's commands end up: a small ``sh`` there
takes ``flock`` on a per-pane file and holds it while its stdin stays open. The caller keeps that
process's stdin open for as long as it types and waits, and closes it to release. If the caller
dies (or its SSH link drops), the pipe closes, the remote ``cat`` ends, and the lock is released
by the kernel: nothing stale is ever left behind.

The lock file is ``/tmp/agent-bridge-locks-<uid>/<server pid>-<pane>.lock`` (a 0700 folder that
must be owned by the user; it does not depend on the caller's environment, so every caller finds
the same one), keyed by the tmux server's PID and the pane id: two laptops asking the same agent
wait for each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex
from collections.abc import AsyncIterator
from typing import Protocol

import asyncssh

from bridge.errors import AgentNotReadyError, BridgeError, HostUnreachableError
from bridge.transport import Transport

log = logging.getLogger("bridge.lock")

_SCRIPT = r"""
dir="/tmp/agent-bridge-locks-$(id -u)"
mkdir -p -m 700 "$dir" 2>/dev/null
[ -d "$dir" ] && [ -O "$dir" ] || { echo "NOLOCKDIR $dir"; exit 3; }
command -v flock >/dev/null 2>&1 || { echo "NOFLOCK"; exit 4; }
exec flock -w "$1" "$dir/$2.lock" sh -c 'echo LOCKED; exec cat >/dev/null'
"""


class _Held(Protocol):
    async def readline(self) -> bytes: ...
    def release(self) -> None: ...
    async def wait(self) -> int | None: ...


class _LocalHeld:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def readline(self) -> bytes:
        assert self.proc.stdout is not None
        return await self.proc.stdout.readline()

    def release(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.close()

    async def wait(self) -> int | None:
        return await self.proc.wait()


class _SSHHeld:
    def __init__(self, proc: object) -> None:
        import asyncssh

        assert isinstance(proc, asyncssh.SSHClientProcess)
        self.proc: asyncssh.SSHClientProcess[bytes] = proc

    async def readline(self) -> bytes:
        line: bytes = await self.proc.stdout.readline()
        return line

    def release(self) -> None:
        with contextlib.suppress(OSError, BrokenPipeError):
            self.proc.stdin.write_eof()

    async def wait(self) -> int | None:
        result = await self.proc.wait()
        return result.exit_status


async def _start(transport: Transport, argv: list[str]) -> _Held:
    """Start the lock holder on the host (a long-lived channel, within the lock channel budget)."""
    from bridge.transport.local import LocalTransport

    if isinstance(transport, LocalTransport):
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        return _LocalHeld(proc)
    from bridge.transport.ssh import SSHTransport

    if not isinstance(transport, SSHTransport):
        raise BridgeError(f"cannot lock panes over {type(transport).__name__}")
    conn = await transport.connection()
    try:
        process = await conn.create_process(shlex.join(argv), encoding=None)
    except (OSError, asyncssh.Error) as exc:
        raise HostUnreachableError(
            f"cannot lock the pane on {transport.host}: {exc}", host=transport.host
        ) from exc
    return _SSHHeld(process)


@contextlib.asynccontextmanager
async def pane_lock(
    transport: Transport, key: str, *, timeout: float, agent: str = "agent"
) -> AsyncIterator[None]:
    """Hold the lock named ``key`` on the transport's host; wait at most ``timeout`` seconds."""
    # Over SSH each held lock keeps a channel open: stay within the connection's lock budget.
    budget = getattr(transport, "lock_channels", None) or contextlib.nullcontext()
    async with budget, _holding(transport, key, timeout, agent):
        yield


@contextlib.asynccontextmanager
async def _holding(transport: Transport, key: str, timeout: float, agent: str) -> AsyncIterator[None]:
    wait_s = max(int(timeout + 0.999), 0)
    held = await _start(transport, ["sh", "-c", _SCRIPT, "sh", str(wait_s), key])
    try:
        line = await asyncio.wait_for(held.readline(), timeout + 10)
    except BaseException:
        held.release()
        raise
    if line.strip() != b"LOCKED":
        held.release()
        status = await held.wait()
        if line.startswith(b"NOFLOCK"):
            raise BridgeError(
                f"cannot lock {agent}'s pane: flock is not installed on {transport.host}",
                hint="install util-linux there (apt-get install util-linux)",
            )
        if line.startswith(b"NOLOCKDIR"):
            raise BridgeError(f"cannot lock {agent}'s pane on {transport.host}: {line.decode().strip()}")
        raise AgentNotReadyError(
            f"{agent} is in use by another caller (waited {timeout:g}s, exit {status})",
            hint="try again later, or raise --timeout to wait longer",
            state="locked",
            host=transport.host,
        )
    log.debug("locked %s on %s", key, transport.host)
    try:
        yield
    finally:
        held.release()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(held.wait(), 5)
