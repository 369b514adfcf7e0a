"""One transport per host name, created on first use and closed together at the end."""

from __future__ import annotations

from bridge.config.models import HostSpec
from bridge.transport.base import Transport


class Pool:
    """One transport per host name, created on first use and reused for every call."""

    def __init__(self) -> None:
        self._transports: dict[str, Transport] = {}

    def get(self, name: str, spec: HostSpec) -> Transport:
        """The transport for host ``name`` (created lazily; SSH connects on first ``run``)."""
        transport = self._transports.get(name)
        if transport is None:
            # Imported here: asyncssh (for SSH hosts) costs CLI start-up time a local host never needs.
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
