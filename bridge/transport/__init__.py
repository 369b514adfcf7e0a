"""The transport seam: run one command on a host and get a completed record back.

``Transport.run(argv, stdin)`` is the one method everything above builds on; :mod:`.local`
runs it with a subprocess, :mod:`.ssh` over one pooled asyncssh connection per host.
``open_process`` starts a long-lived one (the tmux control channel of :mod:`bridge.control`).
:class:`Pool` hands out one transport per host name and closes them all at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from bridge.config import HostSpec

if TYPE_CHECKING:
    from bridge.control import Process


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
class Transport(Protocol):
    """Runs commands on one host. Implementations never go through a local shell string."""

    host: str

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


class Pool:
    """One transport per host name, created on first use and reused for every call."""

    def __init__(self) -> None:
        self._transports: dict[str, Transport] = {}

    def get(self, name: str, spec: HostSpec) -> Transport:
        """The transport for host ``name`` (created lazily; SSH connects on first ``run``)."""
        transport = self._transports.get(name)
        if transport is None:
            if spec.local:
                from bridge.transport.local import LocalTransport

                transport = LocalTransport(name)
            else:
                from bridge.transport.ssh import SSHTransport

                transport = SSHTransport(name, spec)
            self._transports[name] = transport
        return transport

    async def close(self) -> None:
        """Close every transport handed out."""
        transports, self._transports = list(self._transports.values()), {}
        for transport in transports:
            await transport.close()
