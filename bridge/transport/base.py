"""The transport seam: run one command on a host and get a completed record back.

``Transport.run(argv, stdin)`` is the one method everything above builds on; :mod:`.local`
runs it with a subprocess, :mod:`.ssh` over one pooled asyncssh connection per host.
``open_process`` starts a long-lived :class:`Process` (the tmux control channel of
:mod:`bridge.tmux.channel`, the lock holder of :mod:`bridge.tmux.lock`). ``remote`` says whether
the host is reached over a network link (which can die silently) or is this machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Completed:
    """A finished command: its argv, exit status and decoded output."""

    argv: tuple[str, ...]
    exit_status: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


@runtime_checkable
class Process(Protocol):
    """A long-lived process with a byte pipe each way (stderr merged into the output)."""

    def write(self, data: bytes) -> None:
        """Queue ``data`` on its stdin (never blocks; ordering is the call order)."""
        ...

    async def readline(self) -> bytes:
        """The next output line with its ``\\n``; a partial line at EOF; ``b""`` at EOF."""
        ...

    async def read(self) -> bytes:
        """Whatever output has arrived (waiting for at least one byte); ``b""`` at EOF."""
        ...

    def close(self) -> None:
        """Close its stdin and let it exit (tmux leaves on EOF)."""
        ...

    def abandon(self) -> None:
        """Its link is dead: drop the connection under it now, with anything not yet sent."""
        ...

    async def wait_closed(self) -> None:
        """Wait (bounded) until it is gone."""
        ...

    def is_closing(self) -> bool: ...


class ProcessTransport(Protocol):
    """A transport that can also start a long-lived process (local and SSH transports can)."""

    host: str
    remote: bool

    async def open_process(self, argv: Sequence[str]) -> Process: ...


@runtime_checkable
class Transport(Protocol):
    """Runs commands on one host. Implementations never go through a local shell string.

    ``remote`` is True when the host is reached over a network link (SSH): silence there may
    mean a dead link, so callers bound their waits and treat a lost channel as a lost host.
    """

    host: str
    remote: bool

    async def run(
        self, argv: Sequence[str], stdin: bytes | str | None = None, *, timeout: float | None = None
    ) -> Completed:
        """Run ``argv`` with ``stdin`` fed in; return when it exits (never raises on non-zero)."""
        ...

    async def open_process(self, argv: Sequence[str]) -> Process:
        """Start ``argv`` as a long-lived process with pipes both ways (tmux control mode)."""
        ...

    async def close(self) -> None:
        """Release the connection, if any."""
        ...


def decode(data: bytes | str | None) -> str:
    """Bytes from a command as text (UTF-8, invalid bytes replaced)."""
    if data is None:
        return ""
    if isinstance(data, str):
        return data
    return data.decode("utf-8", errors="replace")


def encode(data: bytes | str | None) -> bytes | None:
    """Text for a command's stdin as UTF-8 bytes (bytes pass through)."""
    if data is None or isinstance(data, bytes):
        return data
    return data.encode("utf-8", errors="surrogateescape")
