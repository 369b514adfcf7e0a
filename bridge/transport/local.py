"""Run commands on this machine with a subprocess (argv only, never a shell string)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex
from collections.abc import Sequence
from typing import Any

from bridge.errors import BridgeError
from bridge.transport.base import Completed, Process, decode, encode

log = logging.getLogger("bridge.transport")


class LocalTransport:
    """The :class:`~bridge.transport.base.Transport` for ``local = true`` hosts."""

    remote = False  # this machine: no link that could die silently

    def __init__(self, host: str = "local") -> None:
        self.host = host

    async def run(
        self, argv: Sequence[str], stdin: bytes | str | None = None, *, timeout: float | None = None
    ) -> Completed:
        log.debug("local %s: %s", self.host, shlex.join(argv))
        proc = await self._start(
            argv,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(encode(stdin)), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise BridgeError(
                f"{shlex.join(argv)[:80]} took longer than {timeout}s", host=self.host
            ) from None
        assert proc.returncode is not None
        return Completed(tuple(argv), proc.returncode, decode(out), decode(err))

    async def open_process(self, argv: Sequence[str]) -> Process:
        """Start ``argv`` as a long-lived process (stderr merged into stdout), for control mode."""
        log.debug("local %s: open %s", self.host, shlex.join(argv))
        proc = await self._start(
            argv, stdin=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, limit=_LINE_LIMIT
        )
        return _LocalProcess(proc)

    async def _start(
        self, argv: Sequence[str], *, stdin: int, stderr: int, **kwargs: Any
    ) -> asyncio.subprocess.Process:
        """``argv`` as a subprocess with stdout piped; a missing program is one clear error."""
        try:
            return await asyncio.create_subprocess_exec(
                *argv, stdin=stdin, stdout=asyncio.subprocess.PIPE, stderr=stderr, **kwargs
            )
        except FileNotFoundError as exc:
            raise BridgeError(
                f"{argv[0]} is not installed on this machine",
                hint=f"install it (e.g. apt-get install {argv[0]})",
                host=self.host,
            ) from exc

    async def close(self) -> None:
        return None


_LINE_LIMIT = 64 * 1024 * 1024  # asyncio's default (64 KiB) is too short for capture output


class _LocalProcess:
    """An asyncio subprocess as a :class:`bridge.transport.base.Process`."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self._proc = proc

    def write(self, data: bytes) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(data)

    async def readline(self) -> bytes:
        assert self._proc.stdout is not None
        return await self._proc.stdout.readline()

    async def read(self) -> bytes:
        assert self._proc.stdout is not None
        return await self._proc.stdout.read(_LINE_LIMIT)

    def close(self) -> None:
        if self._proc.stdin is not None and not self._proc.stdin.is_closing():
            self._proc.stdin.close()

    def abandon(self) -> None:
        self.close()  # no link to drop: a pipe to a local process

    def is_closing(self) -> bool:
        return self._proc.stdin is None or self._proc.stdin.is_closing()

    async def wait_closed(self) -> None:
        try:
            await asyncio.wait_for(self._proc.wait(), 5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
            await self._proc.wait()
        # Python 3.11's wait() returns when the process exits, its stdout pipe maybe still open (a
        # reader that stopped at tmux's %exit): read that to its end, or the pipe is only closed
        # when garbage-collected, after the event loop may be gone ("Event loop is closed").
        if self._proc.stdout is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._proc.stdout.read(), 5)
