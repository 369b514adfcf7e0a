"""tmux control mode: one long-lived channel per host carrying commands and change signals.

A :class:`ControlChannel` runs ``tmux -u -C attach-session -f ignore-size -t =SESSION`` (or a
private session of its own) as one long-lived process: a subprocess locally, one SSH *session
channel* remotely. A command is one line written and one block read back (:mod:`.protocol`): one
round trip, no exec channel, no tmux client to start; commands written at once
(:meth:`ControlChannel.commands`) share it. ``%output`` becomes stamps and wake-ups
(:mod:`.changes`). Lines written before tmux has run its own command line are run FIRST (before
the attach), so :meth:`ControlChannel.open` writes nothing until the attach's block arrived.

Over SSH the channel is one of sshd's ``MaxSessions`` (default 10) for as long as it is open; the
budget is spelled out at :data:`bridge.transport.ssh.MAX_CHANNELS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex
import uuid
from collections.abc import Sequence

from bridge.errors import BridgeError, HostUnreachableError, TargetNotFoundError
from bridge.tmux.changes import Answered, Changes, Stamp, Watcher
from bridge.tmux.failures import attach_failure, channel_ended, channel_lost, failure
from bridge.tmux.protocol import (
    LIST_SESSIONS,
    PRIVATE_PREFIX,
    Block,
    Chain,
    ControlParser,
    Event,
    Exit,
    IfFormat,
    Lines,
    Notification,
    Output,
    Pairing,
    client_argv,
    framed,
    stale_sessions,
)
from bridge.tmux.quoting import command_line
from bridge.tmux.tasks import finish
from bridge.transport.base import Completed, Process, ProcessTransport

log = logging.getLogger("bridge.control")  # the name it always had (-v output, tests)

# Over SSH the events prove the pane unchanged only while the link is known to be alive: the host
# must have sent something this recently. (A link that died silently says nothing; an ask that
# typed into it first would wait out the reconnect window instead of failing fast.)
HEARD_S = 2.0
DEFAULT_TIMEOUT = 30.0
OPEN_TIMEOUT = 15.0
WRITE_GRACE_S = 1.0  # after a failed write, how long the reader has to say why the channel ended


class ControlChannel:
    """One tmux control-mode client: commands in, blocks and ``%output`` signals out.

    Open with :meth:`open`. :meth:`command` and :meth:`commands` are safe for concurrent callers:
    lines are written and their futures queued in one synchronous step, and tmux answers in order.
    """

    def __init__(
        self, process: Process, *, host: str, session: str, remote: bool, own_session: bool
    ) -> None:
        self.process = process
        self.host = host
        self.session = session
        self.own_session = own_session
        self._remote = remote
        self._parser = ControlParser()
        self._pending: Pairing[asyncio.Future[Completed]] = Pairing()
        self._outbox: list[bytes] = []  # written at the end of this turn of the event loop
        self._changes = Changes()
        self._heard = 0.0  # when the last line arrived (monotonic)
        self._closed = False
        self._error: BridgeError | None = None
        self._stray: list[str] = []
        self._exit_reason: str | None = None
        self._link_lost = False
        self._write_failed: Exception | None = None
        self._started: asyncio.Future[Block] = asyncio.get_running_loop().create_future()
        self._reader: asyncio.Task[None] | None = None

    # -- opening ----------------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        transport: ProcessTransport,
        socket: str | None,
        *,
        session: str | None = None,
        timeout: float = OPEN_TIMEOUT,
    ) -> ControlChannel:
        """Start a control client on ``transport``'s host and wait until tmux accepted it.

        With ``session``, attach to that existing session (exactly that name) without ever
        influencing its window sizes: :meth:`watch` works for its panes. Without, create a private
        session ``agent-bridge-ctl-<hex>`` running ``cat`` (this starts the tmux server if none
        runs): commands only. :meth:`close` kills it; one left behind by a channel that died
        (unattached) is killed by the next private open on that server (not by tmux: see
        :func:`~bridge.tmux.protocol.client_argv`).
        """
        own = session is None
        if session is None:
            session = f"{PRIVATE_PREFIX}{uuid.uuid4().hex[:8]}"
        argv = client_argv(socket, session, own=own)
        remote = transport.remote
        log.debug("control on %s: %s", transport.host, shlex.join(argv))
        process = await transport.open_process(argv)
        channel = cls(process, host=transport.host, session=session, remote=remote, own_session=own)
        channel._reader = asyncio.create_task(channel._read(), name=f"tmux-control-{transport.host}")
        try:
            block = await asyncio.wait_for(asyncio.shield(channel._started), timeout)
        except TimeoutError:
            await channel.close()
            raise BridgeError(
                f"tmux control mode on {transport.host} did not start within {timeout:g}s",
                host=transport.host,
            ) from None
        except BridgeError as exc:
            said = " ".join(channel._stray[-2:])
            await channel.close()
            if channel._link_lost:
                raise
            raise attach_failure(transport.host, session, said, before_tmux=True) from exc
        if not block.ok:
            await channel.close()
            raise attach_failure(transport.host, session, " ".join(block.lines))
        if own:
            await channel._reap()
        return channel

    async def _reap(self) -> None:
        """Kill private sessions of channels that died without closing (nobody attached)."""
        try:
            stale = stale_sessions((await self.command(*LIST_SESSIONS)).stdout, self.session)
            if stale:
                log.info("control on %s: killing stale sessions %s", self.host, ", ".join(stale))
                await self.commands([("kill-session", "-t", f"={name}") for name in stale])
        except BridgeError as exc:
            log.debug("control on %s: reaping failed: %s", self.host, exc)

    # -- state ------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def error(self) -> BridgeError | None:
        """Why the channel closed (``None`` while open, or after a plain :meth:`close`)."""
        return self._error

    # -- commands ---------------------------------------------------------------------------

    async def command(self, *args: str, timeout: float | None = DEFAULT_TIMEOUT) -> Completed:
        """Run one tmux command; ``exit_status`` 0 (``%end``) or 1 (``%error``).

        ``stdout`` is what ``tmux ARGS`` prints (each block line plus ``\\n``); on ``%error``
        ``stderr`` holds the error text instead. Never raises on a tmux error; raises
        :class:`BridgeError` on timeout or when the channel dies.
        """
        (result,) = await self.commands([args], timeout=timeout)
        return result

    async def commands(
        self,
        commands: Sequence[Sequence[str] | Chain | IfFormat],
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
    ) -> list[Completed]:
        """Run several commands in ONE round trip (one line each, written together), in order.

        Each is independent: one failing does not skip the next, unless they are one
        :class:`Chain` (``a ; b`` on one line) or :class:`IfFormat`, which give one result.
        """
        lines = [framed(item) for item in commands]
        if not lines:
            return []
        if self._closed:
            raise self._error or BridgeError(f"control channel to {self.host} is closed", host=self.host)
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Completed]] = []
        for _, args, blocks in lines:
            future: asyncio.Future[Completed] = loop.create_future()
            self._pending.expect(future, args, blocks)
            futures.append(future)
        self._write(b"".join(line for line, _, _ in lines))  # same step as queueing: order is kept
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a cancellation (Ctrl-C)
            # that lands just as the answer does, and the caller runs on as if not interrupted.
            async with asyncio.timeout(timeout):
                return list(await asyncio.gather(*futures))
        except TimeoutError:
            first = shlex.join(lines[0][1])[:80]
            said = f"tmux {first} over the control channel to {self.host} took longer than {timeout}s"
            if self._remote:
                # Nothing we send can hold tmux's queue (see protocol.framed), so silence over SSH is
                # a dead link: close for good, like a failed exec channel, and let the caller reconnect.
                self._fail(self._lost(TimeoutError(said)))
                with contextlib.suppress(Exception):
                    self.process.abandon()
                raise self._error or HostUnreachableError(said, host=self.host) from None
            raise BridgeError(said, host=self.host) from None

    async def check(self, *args: str, target: str | None = None) -> Completed:
        """:meth:`command`, raising :class:`CommandError` (or TargetNotFoundError) on ``%error``."""
        result = await self.command(*args)
        if not result.ok:
            raise failure(self.host, result, target)
        return result

    # -- watching ---------------------------------------------------------------------------

    async def watch(self, pane: str) -> Watcher:
        """A :class:`Watcher` for ``pane`` (a ``%id`` in the attached session)."""
        if self.own_session:
            raise BridgeError(
                f"cannot watch {pane}: this control channel is attached to its own session",
                hint="open the channel with session=<the pane's session>",
                host=self.host,
                target=pane,
            )
        listed = await self.check("list-panes", "-s", "-t", f"={self.session}", "-F", "#{pane_id}")
        if pane not in listed.stdout.split():
            raise TargetNotFoundError(
                f"pane {pane} is not in session {self.session} on {self.host}",
                hint="watch needs a channel attached to the pane's own session",
                host=self.host,
                target=pane,
            )
        watcher = Watcher(self, pane)
        self._changes.add(watcher)
        return watcher

    def _unwatch(self, watcher: Watcher) -> None:
        self._changes.remove(watcher)

    def unchanged_since(self, pane: str, position: int) -> bool:
        """True while the channel is open (and, over SSH, heard from within :data:`HEARD_S`) and
        neither ``pane`` wrote nor anything else happened that may change it after ``position``
        (see :class:`Stamp`)."""
        if self._closed or not self._changes.quiet_since(pane, position):
            return False
        return not self._remote or asyncio.get_running_loop().time() - self._heard <= HEARD_S

    # -- writing ----------------------------------------------------------------------------

    def _send_and_forget(self, args: tuple[str, ...]) -> None:
        future: asyncio.Future[Completed] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_consume)
        self._pending.expect(future, args)
        self._write(command_line(args))

    def _write(self, data: bytes) -> None:
        """Queue ``data`` for tmux. Everything queued in one turn of the event loop goes out in
        one write (one SSH packet for many callers' lines, not one each)."""
        self._outbox.append(data)
        if len(self._outbox) == 1:
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        if not self._outbox:
            return
        data = b"".join(self._outbox)
        self._outbox.clear()
        if self._write_failed is not None:
            return  # the pipe is gone; the reader (or the grace timer) fails what is pending
        try:
            self.process.write(data)
        except Exception as exc:  # the pipe is gone: everything pending fails
            if self._reader is None or self._reader.done():
                self._fail(self._lost(exc))
                return
            # When tmux exits (killed server), its answer, %exit, the exit status, EOF and the
            # channel's close can arrive within 0.2 ms (tmux 3.5a), so this write can fail before
            # the reader has seen %exit: that must say "tmux exited", not "host unreachable". The
            # reader ends on that EOF and says why; the write's own error is the answer only if it
            # has not within WRITE_GRACE_S.
            self._write_failed = exc
            asyncio.get_running_loop().call_later(WRITE_GRACE_S, self._after_write_failed)

    def _after_write_failed(self) -> None:
        if not self._closed and self._write_failed is not None:
            self._fail(self._lost(self._write_failed))

    # -- reading ----------------------------------------------------------------------------

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        lines = Lines()  # read in chunks, split here: one await per chunk, not one per line
        error: BridgeError | None = None
        try:
            while chunk := await self.process.read():
                self._heard = loop.time()
                if any(self._dispatch(self._parser.feed(line)) for line in lines.feed(chunk)):
                    break
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = self._lost(exc)
        if error is None and not self._closed:
            said = self._exit_reason or " ".join(self._stray[-2:])
            error = channel_ended(self.host, said, exited=self._exit_reason is not None, remote=self._remote)
        self._fail(error)

    def _dispatch(self, event: Event | None) -> bool:
        """Handle one event; True when the client is leaving."""
        if event is None:
            return False
        if isinstance(event, Output):
            self._changes.output(event.pane)
        elif isinstance(event, Block):
            if not event.ours:
                if not self._started.done():
                    self._started.set_result(event)
                return False
            self._resolve(event)
        elif isinstance(event, Exit):
            self._exit_reason = event.reason
            return True
        elif isinstance(event, Notification):
            self._changes.notified(event.name)
            if event.name == "session-changed" and self._started.done():
                self._changes.wake_all()  # a re-read will tell what happened
        else:
            log.debug("control on %s: %s", self.host, event.text)
            self._stray = [*self._stray[-4:], event.text]
        return False

    def _resolve(self, block: Block) -> None:
        if not self._pending:
            log.warning("control on %s: a block nobody asked for: %s", self.host, block)
            return
        answered = self._pending.answer(block)
        if answered is None:
            return  # a chain: more blocks to come
        future, result = answered
        if future.done():  # its caller timed out or was cancelled
            return
        stamp = Stamp(self, self._changes.position)
        future.set_result(Answered(result.argv, result.exit_status, result.stdout, result.stderr, stamp))

    def _lost(self, exc: BaseException) -> BridgeError:
        self._link_lost = True
        return channel_lost(self.host, exc, remote=self._remote)

    def _fail(self, error: BridgeError | None) -> None:
        """Close for good: fail every pending command with ``error`` and wake every watcher."""
        if not self._closed:
            self._closed = True
            self._error = error
        self._outbox.clear()
        error = self._error or BridgeError(f"control channel to {self.host} is closed", host=self.host)
        if not self._started.done():
            self._started.set_exception(error)
            self._started.exception()  # retrieved: open() may already have given up
        for future in self._pending.drain():
            if not future.done():
                future.set_exception(error)
        self._changes.wake_all()
        if not self.process.is_closing():
            with contextlib.suppress(Exception):
                self.process.close()

    # -- closing ----------------------------------------------------------------------------

    async def close(self) -> None:
        """Detach (killing a private session first) and wait for the process, bounded."""
        if not self._closed:
            if self.own_session:  # runs before tmux sees the EOF; its %exit follows
                self._send_and_forget(("kill-session", "-t", f"={self.session}"))
            self._flush()
            self._closed = True
            self._error = None
        if not self.process.is_closing():
            with contextlib.suppress(Exception):
                self.process.close()
        if self._reader is not None:
            await finish(self._reader, 5)
        self._fail(None)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.process.wait_closed(), 5)

    async def __aenter__(self) -> ControlChannel:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _consume(future: asyncio.Future[Completed]) -> None:
    if not future.cancelled():
        future.exception()  # a fire-and-forget command's failure is nobody's business
