"""Run commands on this machine with a subprocess (argv only, never a shell string)."""

from __future__ import annotations

import asyncio
import logging
import shlex
from collections.abc import Sequence

from bridge.errors import BridgeError
from bridge.transport import Completed, decode, encode

log = logging.getLogger("bridge.transport")


class LocalTransport:
    """The :class:`~bridge.transport.Transport` for ``local = true`` hosts."""

    def __init__(self, host: str = "local") -> None:
        self.host = host

    async def run(
        self, argv: Sequence[str], stdin: bytes | str | None = None, *, timeout: float | None = None
    ) -> Completed:
        log.debug("local %s: %s", self.host, shlex.join(argv))
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except FileNotFoundError as exc:
            raise BridgeError(
                f"{argv[0]} is not installed on this machine",
                hint=f"install it (e.g. apt-get install {argv[0]})",
                host=self.host,
            ) from exc
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

    async def close(self) -> None:
        return None
