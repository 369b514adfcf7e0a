"""Run commands on a remote host over one pooled asyncssh connection.

One connection per host, opened on first use and reused for every call; keepalives detect a dead
link; a lost connection is reopened on the next call. Host keys are checked strictly by default:
``host_key_policy = "accept-new"`` trusts a host seen for the first time (and records its key), and
a *changed* key is always refused with both fingerprints shown (and carried by the
:class:`~bridge.errors.HostKeyError`). ``~/.ssh/config`` is honoured (HostName, User, Port,
IdentityFile, ProxyJump), as is ssh-agent.

asyncssh's (and the socket's) errors become errors of the tree in one place,
:meth:`SSHTransport._mapped`, raised ``from`` the original.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
import socket
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncssh

from bridge.config.models import HostSpec
from bridge.config.paths import not_private
from bridge.errors import AuthError, BridgeError, ConfigError, HostError, HostKeyError, HostUnreachableError
from bridge.transport.base import Completed, Process, decode, encode

log = logging.getLogger("bridge.transport")

# Stay within sshd's default MaxSessions (10) on one connection: short commands share
# MAX_CHANNELS; one channel holds every pane lock (bridge.tmux.lock.LockServer), or, where the host has
# no bash, each held lock has one of MAX_LOCK_CHANNELS; up to bridge.api.MAX_CONTROL_LINKS tmux
# control channels (4 + 1 + 3 + 2 = 10).
MAX_CHANNELS = 4
MAX_LOCK_CHANNELS = 3
REFUSED_BACKOFF_S = (0.05, 0.1, 0.2, 0.4, 0.8)  # a refused channel open is tried again after these


class SSHTransport:
    """The :class:`~bridge.transport.base.Transport` for SSH hosts."""

    remote = True  # over a network link, which can die without a word

    def __init__(self, host: str, spec: HostSpec) -> None:
        assert spec.address, "SSH hosts have an address"
        self.host = host
        self.spec = spec
        self._conn: asyncssh.SSHClientConnection | None = None
        self._lock = asyncio.Lock()
        self._channels = asyncio.Semaphore(MAX_CHANNELS)
        self.lock_channels = asyncio.Semaphore(MAX_LOCK_CHANNELS)

    # -- connecting -------------------------------------------------------------------------

    @property
    def _where(self) -> str:
        port = f":{self.spec.port}" if self.spec.port else ""
        return f"{self.spec.address}{port}"

    @property
    def known_hosts_path(self) -> Path:
        return Path(self.spec.known_hosts or "~/.ssh/known_hosts").expanduser()

    def _options(self) -> dict[str, Any]:
        opts: dict[str, Any] = {
            "connect_timeout": self.spec.connect_timeout,
            "login_timeout": self.spec.connect_timeout,
            "keepalive_interval": self.spec.keepalive_interval or None,
            "keepalive_count_max": 3,
            "known_hosts": str(self.known_hosts_path),
        }
        if self.spec.port:
            opts["port"] = self.spec.port
        if self.spec.user:
            opts["username"] = self.spec.user
        if self.spec.identity_file:
            key = Path(self.spec.identity_file).expanduser()
            check_private_key_file(key, host=self.host)
            opts["client_keys"] = [str(key)]
        return opts

    async def connection(self) -> asyncssh.SSHClientConnection:
        """The live connection, opened (or reopened after a loss) on demand."""
        async with self._lock:
            conn = self._conn
            if conn is not None and not conn.is_closed():
                return conn
            self._conn = await self._connect()
            return self._conn

    async def _connect(self) -> asyncssh.SSHClientConnection:
        assert self.spec.address
        if self.spec.host_key_policy == "accept-new":
            await self._accept_new_host_key()
        log.debug("ssh %s: connecting to %s", self.host, self._where)
        try:
            conn = await asyncssh.connect(self.spec.address, **self._options())
            _linger(conn, False)
            return conn
        except (OSError, TimeoutError, asyncssh.Error) as exc:
            raise await self._mapped(exc, connecting=True) from exc

    def _known_keys(self) -> list[asyncssh.SSHKey]:
        path = self.known_hosts_path
        if not path.is_file():
            return []
        try:
            known = asyncssh.read_known_hosts(str(path))
        except (OSError, ValueError, asyncssh.KeyImportError):
            return []
        assert self.spec.address
        port = self.spec.port or 22
        keys: list[asyncssh.SSHKey] = list(known.match(self.spec.address, "", port)[0])
        return keys

    async def _server_key(self) -> asyncssh.SSHKey | None:
        assert self.spec.address
        try:
            key: asyncssh.SSHKey | None = await asyncio.wait_for(
                asyncssh.get_server_host_key(self.spec.address, self.spec.port or 22),
                self.spec.connect_timeout,
            )
        except (OSError, TimeoutError, asyncssh.Error) as exc:
            raise await self._mapped(exc, connecting=True, reading_key=True) from exc
        return key

    async def _host_key_error(self) -> HostKeyError:
        key = await self._server_key()
        presented = key.get_fingerprint() if key else None
        shown = presented or "unknown"
        known = [k.get_fingerprint() for k in self._known_keys()]
        path = self.known_hosts_path
        if known:
            old = ", ".join(known)
            return HostKeyError(
                f"host key of {self.host} ({self._where}) has CHANGED: it presents {shown}, "
                f"{path} has {old}; refusing to connect",
                hint=f"if you expected this, remove the old key: ssh-keygen -R "
                f"{_known_hosts_name(self.spec)} -f {path}",
                host=self.host,
                changed=True,
                presented=presented,
                known=known,
            )
        return HostKeyError(
            f"host key of {self.host} ({self._where}) is not in {path} (policy strict); "
            f"it presents {shown}",
            hint='check that fingerprint on the host, then add it with ssh-keyscan, '
            'or set host_key_policy = "accept-new"',
            host=self.host,
            presented=presented,
        )

    async def _accept_new_host_key(self) -> None:
        if self._known_keys():
            return  # known: strict check against it (a changed key is refused)
        key = await self._server_key()
        if key is None:
            return
        path = self.known_hosts_path
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        line = f"{_known_hosts_name(self.spec)} {key.export_public_key().decode().strip()}\n"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a") as handle:
            handle.write(line)
        log.warning(
            "ssh %s: accepted new host key %s into %s", self.host, key.get_fingerprint(), path
        )

    # -- running ----------------------------------------------------------------------------

    async def run(
        self, argv: Sequence[str], stdin: bytes | str | None = None, *, timeout: float | None = None
    ) -> Completed:
        command = shlex.join(argv)
        log.debug("ssh %s: %s", self.host, command)
        try:
            async with self._channels:
                process = await self._open(command)
                out, err = await asyncio.wait_for(process.communicate(encode(stdin)), timeout)
                status_code = process.exit_status
        except TimeoutError as exc:
            raise HostError(
                f"{command[:80]} on {self.host} took longer than {timeout}s", host=self.host
            ) from exc
        except (OSError, asyncssh.Error, _ChannelsFull) as exc:
            raise await self._mapped(exc) from exc
        status = status_code if status_code is not None else 255
        return Completed(tuple(argv), status, decode(out), decode(err))

    async def _open(self, command: str, *, merge_stderr: bool = False) -> asyncssh.SSHClientProcess[bytes]:
        """Open a channel running ``command``; on a connection found dead, reconnect once.

        A channel the live connection refuses (sshd's MaxSessions full for a moment) is tried
        again after each of :data:`REFUSED_BACKOFF_S`. Retrying here is always safe: a channel that
        failed to open never ran the command.
        Opening is one round trip, bounded by connect_timeout, so a link that died while the
        connection sat warm fails fast instead of waiting for keepalives to give up.
        """
        attempt, refused = 1, 0
        while True:
            conn = await self.connection()
            try:
                stderr = asyncssh.STDOUT if merge_stderr else asyncssh.PIPE
                return await asyncio.wait_for(
                    conn.create_process(command, encoding=None, stderr=stderr), self.spec.connect_timeout
                )
            except TimeoutError as exc:
                conn.abort()
                self._conn = None
                raise OSError(f"no answer within {self.spec.connect_timeout:g}s") from exc
            except asyncssh.ChannelOpenError as exc:
                if not conn.is_closed():  # a live connection refused the channel (MaxSessions?)
                    # sshd counts a session until its close reaches it, a round trip after our side
                    # is done with it: a burst of short commands can find the slots briefly full.
                    refused += 1
                    if refused <= len(REFUSED_BACKOFF_S):
                        await asyncio.sleep(REFUSED_BACKOFF_S[refused - 1])
                        continue
                    raise _ChannelsFull(exc.reason) from exc
                self._conn = None
                if attempt == 2:
                    raise
                attempt += 1
                log.info("ssh %s: connection found closed; reconnecting", self.host)
            except (asyncssh.ConnectionLost, asyncssh.DisconnectError, OSError):
                self._conn = None
                if attempt == 2:
                    raise
                attempt += 1
                log.info("ssh %s: connection found closed; reconnecting", self.host)

    async def open_process(self, argv: Sequence[str]) -> Process:
        """Start ``argv`` as a long-lived process on its own channel (stderr merged into stdout).

        The channel is one of sshd's MaxSessions for as long as it is open; it is not counted
        against MAX_CHANNELS or MAX_LOCK_CHANNELS (the callers bound how many they open).
        """
        command = shlex.join(argv)
        log.debug("ssh %s: open %s", self.host, command)
        try:
            process = await self._open(command, merge_stderr=True)
        except (OSError, asyncssh.Error, _ChannelsFull) as exc:
            raise await self._mapped(exc) from exc
        return _SSHProcess(process, self)

    async def _mapped(
        self, exc: BaseException, *, connecting: bool = False, reading_key: bool = False
    ) -> BridgeError:
        """THE mapping of an asyncssh or socket error to an error of the tree (raise it ``from exc``).

        ``connecting``: an unverified host key (not while ``reading_key``: reading it never
        verifies) is :class:`HostKeyError` with both fingerprints, a refused login
        :class:`AuthError`, the rest "cannot reach". Connected: channels refused by a live
        connection are :class:`HostError`; the rest lost the connection (forgotten: reconnect)."""
        if connecting:
            if isinstance(exc, asyncssh.HostKeyNotVerifiable) and not reading_key:
                return await self._host_key_error()
            if isinstance(exc, asyncssh.PermissionDenied) and not reading_key:
                return AuthError(
                    f"host {self.host} ({self._where}) refused our key: {exc.reason}",
                    hint="check user and identity_file, or load the key into ssh-agent",
                    host=self.host,
                )
            return HostUnreachableError(
                f"cannot reach host {self.host} at {self._where}: {_reason(exc)}",
                hint=f"is the host up and the tunnel connected? try: agent-bridge doctor {self.host}",
                host=self.host,
            )
        if isinstance(exc, _ChannelsFull):
            return HostError(
                f"{self.host} refused a new SSH channel: {exc}",
                hint="too many sessions at once? see sshd's MaxSessions",
                host=self.host,
            )
        self._conn = None
        return HostUnreachableError(
            f"lost the connection to {self.host} ({self._where}): {_reason(exc)}",
            hint=f"try again; if it persists: agent-bridge doctor {self.host}",
            host=self.host,
        )

    def abandon(self, conn: asyncssh.connection.SSHConnection) -> None:
        """``conn``'s link is dead: drop it now (the next call reconnects), and with it whatever
        is still queued for it, so that a paste stuck on the dead link cannot arrive late."""
        if self._conn is conn:
            self._conn = None
        conn.abort()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            _linger(conn, True)  # a clean goodbye: what is queued goes out first
            conn.close()
            await conn.wait_closed()


def _linger(conn: asyncssh.SSHClientConnection, flush: bool) -> None:
    """How closing ``conn``'s socket treats bytes not yet sent. Every connection starts with
    ``flush`` off (SO_LINGER 0): any close but :meth:`SSHTransport.close` (a dropped link given up,
    keepalives that failed, the process ending) discards them and resets the connection, instead of
    the kernel retransmitting them to the host for minutes after the bridge gave up on them."""
    sock = conn.get_extra_info("socket")
    if sock is not None:
        value = struct.pack("ii", 0, 0) if flush else struct.pack("ii", 1, 0)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, value)
        except OSError as exc:  # pragma: no cover - a socket already closed
            log.debug("ssh: SO_LINGER not set: %s", exc)


class _ChannelsFull(Exception):
    """A live connection refused a new channel every time it was asked (sshd's MaxSessions);
    its one argument is the reason sshd gave."""


_CHUNK = 256 * 1024  # at most this much output per read (less when less has arrived)


class _SSHProcess:
    """An asyncssh process as a :class:`bridge.transport.base.Process`."""

    def __init__(self, process: asyncssh.SSHClientProcess[bytes], transport: SSHTransport) -> None:
        self._process = process
        self._transport = transport
        self._eof = False

    def abandon(self) -> None:
        self._eof = True
        self._transport.abandon(self._process.channel.get_connection())

    def write(self, data: bytes) -> None:
        self._process.stdin.write(data)

    async def readline(self) -> bytes:
        return await self._process.stdout.readline()

    async def read(self) -> bytes:
        return await self._process.stdout.read(_CHUNK)

    def close(self) -> None:
        # EOF only: the program leaves by itself and its last output still arrives (closing the
        # channel here would drop that output, and a pending read would never see EOF).
        if not self._eof:
            self._eof = True
            if not self._process.is_closing():
                self._process.stdin.write_eof()

    def is_closing(self) -> bool:
        return self._eof or bool(self._process.is_closing())

    async def wait_closed(self) -> None:
        try:
            await asyncio.wait_for(self._process.wait_closed(), 5)
        except TimeoutError:
            self._process.close()
            await asyncio.wait_for(self._process.wait_closed(), 5)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, asyncssh.DisconnectError):
        return exc.reason or type(exc).__name__
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _known_hosts_name(spec: HostSpec) -> str:
    assert spec.address
    return spec.address if spec.port in (None, 22) else f"[{spec.address}]:{spec.port}"


def check_private_key_file(path: Path, *, host: str | None = None) -> None:
    """Refuse a private key that is missing or readable by group or others."""
    try:
        info = path.stat()
    except OSError as exc:
        raise ConfigError(
            f"identity_file {path} cannot be read: {exc.strerror}", host=host
        ) from exc
    if not_private(info):
        mode = info.st_mode
        raise ConfigError(
            f"identity_file {path} is readable by others (mode {mode & 0o777:o})",
            hint=f"chmod 600 {path}",
            host=host,
        )
