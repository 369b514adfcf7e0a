"""One caller at a time per pane, across processes and across machines.

The lock lives on the agent's host, where every caller's commands end up, as ``flock`` on a
per-pane file. One long-lived ``bash`` per host (:class:`LockServer`, on one channel of its own)
holds every lock this process takes there, each as an open file descriptor: taking or dropping one
is a line each way (one round trip). If the caller dies or its SSH link drops, the channel closes,
that bash exits and the kernel releases its locks: nothing stale is ever left behind. Where bash
is missing, each lock is a small ``sh`` holding ``flock`` while the caller keeps its stdin open
(one channel per held lock, the same files, so both kinds exclude each other).

The lock files and the scripts that take them are in :mod:`.flock`: keyed by the tmux server's PID
and the pane id, so two laptops asking the same agent wait for each other.

**Kept locks.** After a successful ask the caller may keep its lock for a while (``keep``; the
registry's ``settings.keep_lock``), telling its holder so (``K``): its next ask then takes it back
with one short answer (``R``) instead of a take (the lock file's count, the looks handed on).
Nobody waits for a kept lock: a bash holder that finds a lock taken reads the taker's PID from
``<key>.owner`` and, only if that process really has the lock file open, sends it ``SIGUSR1``; that
holder drops every lock it keeps at once, by itself (so a caller that is stopped or hung holds up
nobody), and prints ``WANT``: this process forgets them (and keeps none for two seconds). A lock
held during a live ask is never dropped. The one-sh-per-lock holder asks the same way once before
it waits. A lock kept by a caller that cannot be asked (an older version) is released when its
keep time ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

from bridge.errors import BridgeError, HostUnreachableError
from bridge.tmux.flock import SERVER, busy, pane_lock, raise_setup_failure
from bridge.tmux.tasks import finish
from bridge.transport.base import Process, Transport

log = logging.getLogger("bridge.lock")  # the name it always had (-v output)

_KEY = re.compile(r"[A-Za-z0-9_.-]{1,100}")
POLL_MIN, POLL_MAX = 0.02, 0.5  # waiting for another process's lock: flock -n again, backing off
CONTESTED_S = 2.0  # after another caller asked for a lock here, keep none (it asks again meanwhile)


@dataclass
class _Kept:
    """A lock kept after its holder finished: its id in the bash holder, and its expiry."""

    id_: str
    process: Process
    expiry: asyncio.TimerHandle


class LockServer:
    """The lock holder on one host: a bash on its own channel, shared by every lock taken there.

    Within this process, callers of one pane queue on an asyncio lock (first come, first served);
    across processes and machines, ``flock -n`` is tried again with backoff until the timeout.
    """

    def __init__(self, transport: Transport, *, timeout: float = 30.0) -> None:
        self.transport = transport
        self.timeout = timeout  # for each answer; over SSH a silent holder means a dropped link
        self._process: Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._waiting: dict[str, asyncio.Future[str]] = {}
        self._ids = itertools.count(1)
        self._opening = asyncio.Lock()
        self._local: dict[str, asyncio.Lock] = {}
        # Per lock: how many times this process took it, and the lock file's count at the last take.
        self._takes: dict[str, int] = {}
        self._count: dict[str, int] = {}
        self._kept: dict[str, _Kept] = {}
        self._contested_until = 0.0
        self.unavailable: str | None = None  # why this host uses one channel per lock instead

    async def _open(self) -> Process | None:
        if self._process is not None and not self._process.is_closing():
            return self._process
        if self.unavailable is not None:
            return None
        async with self._opening:
            if self._process is not None and not self._process.is_closing():
                return self._process
            try:
                process = await self.transport.open_process(["bash", "-c", SERVER])
            except HostUnreachableError:
                raise
            except BridgeError as exc:  # e.g. no bash on this machine
                self.unavailable = str(exc)
                return None
            try:
                first = await asyncio.wait_for(process.readline(), self.timeout)
            except TimeoutError:
                process.close()
                host = self.transport.host
                raise HostUnreachableError(
                    f"lost the connection to {host}: the lock holder did not start within {self.timeout:g}s",
                    host=host,
                ) from None
            if first.strip() != b"READY":
                process.close()
                raise_setup_failure(first, self.transport.host)
                self.unavailable = first.decode(errors="replace").strip() or "bash exited"
                log.info("lock server on %s unavailable (%s); one channel per lock",
                         self.transport.host, self.unavailable)  # fmt: skip
                return None
            self._process = process
            self._reader = asyncio.create_task(self._read(process), name=f"locks-{self.transport.host}")
            return process

    async def _read(self, process: Process) -> None:
        try:
            while line := await process.readline():
                if line == b"WANT\n":  # another caller waits for a lock here
                    self._let_go()
                    continue
                id_, _, answer = line.decode(errors="replace").strip().partition(" ")
                future = self._waiting.pop(id_, None)
                if future is not None and not future.done():
                    future.set_result(answer)
        except Exception as exc:  # the channel broke: every pending request fails below
            log.debug("lock server on %s: %s", self.transport.host, exc)
        lost = HostUnreachableError(
            f"lost the lock holder on {self.transport.host} (its locks are released)",
            hint=f"try again; if it persists: agent-bridge doctor {self.transport.host}",
            host=self.transport.host,
        )
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(lost)
        self._waiting.clear()
        process.close()

    async def _request(self, process: Process, op: str, id_: str, key: str = "") -> str:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiting[id_] = future
        try:
            process.write(f"{op} {id_} {key}".rstrip().encode() + b"\n")
        except Exception as exc:
            self._waiting.pop(id_, None)
            raise HostUnreachableError(
                f"lost the lock holder on {self.transport.host}: {exc}", host=self.transport.host
            ) from exc
        try:
            async with asyncio.timeout(self.timeout):  # not wait_for: see ControlChannel.commands
                return await future
        except TimeoutError:
            self._waiting.pop(id_, None)
            process.close()  # a holder that stopped answering is not trusted again
            host = self.transport.host
            raise HostUnreachableError(
                f"lost the connection to {host}: the lock holder did not answer within {self.timeout:g}s",
                hint=f"try again; if it persists: agent-bridge doctor {host}",
                host=host,
            ) from None

    def _release(self, process: Process, id_: str) -> None:
        """Drop lock ``id_`` without waiting for the answer: bash reads lines in order, so this
        process's next request for it comes after; other callers see it free a moment later."""
        if process.is_closing():
            return  # a lost holder released everything already
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._waiting[id_] = future
        try:
            process.write(f"U {id_}\n".encode())
        except Exception:
            self._waiting.pop(id_, None)

    def _let_go(self) -> None:
        """Drop every kept lock now, and keep none for a moment: someone is waiting."""
        self._contested_until = asyncio.get_running_loop().time() + CONTESTED_S
        kept, self._kept = self._kept, {}
        for key, item in kept.items():
            item.expiry.cancel()
            log.debug("letting go of %s on %s: another caller asked for it", key, self.transport.host)
            self._release(item.process, item.id_)

    def _expire(self, key: str, id_: str) -> None:
        item = self._kept.get(key)
        if item is not None and item.id_ == id_:
            del self._kept[key]
            self._release(item.process, id_)

    def keeps(self, key: str) -> bool:
        """True while this process keeps lock ``key`` from an earlier hold (see ``keep``)."""
        item = self._kept.get(key)
        return item is not None and not item.process.is_closing()

    def mark(self, key: str) -> Mark:
        """Where lock ``key`` stands now, for :meth:`Held.untouched_since` after taking it."""
        local = self._local.get(key)
        return Mark(self._takes.get(key, 0), local is not None and local.locked())

    @contextlib.asynccontextmanager
    async def hold(
        self, key: str, *, timeout: float, agent: str = "agent", keep: float = 0.0
    ) -> AsyncIterator[Held]:
        """Hold the lock named ``key``; wait at most ``timeout`` seconds, else AgentNotReadyError.

        Yields a :class:`Held` that tells whether any other holder had it since a :meth:`mark`.
        With ``keep`` > 0, a hold that ends without an exception keeps the lock up to ``keep``
        seconds more: the next hold of ``key`` in this process takes it without a round trip
        (``Held.kept``), and any other caller that wants it gets it at once (see the module).
        """
        if not _KEY.fullmatch(key):
            raise ValueError(f"bad lock key {key!r}")
        deadline = asyncio.get_running_loop().time() + timeout
        local = self._local.setdefault(key, asyncio.Lock())
        try:
            await asyncio.wait_for(local.acquire(), max(timeout, 0.001))
        except TimeoutError:
            raise busy(agent, timeout, self.transport.host) from None
        try:
            process = await self._open()
            if process is None:
                async with pane_lock(self.transport, key, timeout=timeout, agent=agent):
                    yield Held(self._took(key, None), None)
                return
            kept = self._kept.pop(key, None)
            if kept is not None:
                kept.expiry.cancel()
            if kept is not None and kept.process is process and await self._resume(process, kept.id_):
                id_, count = kept.id_, self._count.get(key)
                held = Held(self._took(key, count), count, count, kept=True)
            else:  # none kept, kept by a holder that is gone, or let go when another caller asked
                id_ = str(next(self._ids))
                held = await self._take(process, id_, key, deadline, timeout, agent)
            finished = False
            try:
                yield held
                finished = True
            finally:
                loop = asyncio.get_running_loop()
                keeping = finished and keep > 0 and loop.time() >= self._contested_until
                if keeping and self._mark_kept(process, id_):
                    expiry = loop.call_later(keep, self._expire, key, id_)
                    self._kept[key] = _Kept(id_, process, expiry)
                else:
                    self._release(process, id_)
        finally:
            local.release()

    def _mark_kept(self, process: Process, id_: str) -> bool:
        """Tell the holder that lock ``id_`` is only kept now (it may drop it when asked)."""
        try:
            process.write(f"K {id_}\n".encode())
        except Exception:
            return False
        return True

    async def _resume(self, process: Process, id_: str) -> bool:
        """Take kept lock ``id_`` back for a live hold; False if its holder already let it go."""
        return await self._request(process, "R", id_) == "OK"

    async def _take(
        self, process: Process, id_: str, key: str, deadline: float, timeout: float, agent: str
    ) -> Held:
        delay = POLL_MIN
        while (answer := await self._request(process, "L", id_, key)) == "BUSY":
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise busy(agent, timeout, self.transport.host)
            await asyncio.sleep(min(delay, left))
            delay = min(delay * 2, POLL_MAX)
        said, _, count = answer.partition(" ")
        if said != "OK":
            host = self.transport.host
            raise BridgeError(f"cannot lock {agent}'s pane on {host} ({answer or 'no answer'})")
        log.debug("locked %s on %s", key, self.transport.host)
        now = int(count) if count.isdigit() else None
        previous = self._count.get(key)
        return Held(self._took(key, now), previous, now)

    def _took(self, key: str, count: int | None) -> int:
        """Note a take of ``key`` (the lock file's new ``count``, if known); returns the takes before."""
        before = self._takes.get(key, 0)
        self._takes[key] = before + 1
        if count is None:
            self._count.pop(key, None)
        else:
            self._count[key] = count
        return before

    async def close(self) -> None:
        """End the holder (its locks are released by the host's kernel)."""
        for item in self._kept.values():
            item.expiry.cancel()
        self._kept.clear()
        process, self._process = self._process, None
        if process is not None:
            process.close()
            with contextlib.suppress(Exception):
                await process.wait_closed()
        if self._reader is not None:
            await finish(self._reader, 5)


@dataclass(frozen=True)
class Mark:
    """A lock's standing in this process at one moment (:meth:`LockServer.mark`)."""

    takes: int  # how many times this process had taken it
    held: bool  # whether a caller in this process held it (or was taking it) then


@dataclass(frozen=True)
class Held:
    """A lock just taken: ``takes_before`` by this process, and the lock file's counts.

    Every take on the host (by any process, from any machine) adds one to the count in the lock
    file. ``previous`` is the count at this process's last take, ``count`` the one now.
    """

    takes_before: int
    previous: int | None
    count: int | None = None
    kept: bool = False  # still held from this process's previous hold: nobody had it since

    def untouched_since(self, mark: Mark) -> bool:
        """True when nobody else held the lock between ``mark`` and this take.

        That needs: nobody in this process held it at the mark nor took it since, and the lock
        file's count grew by exactly this take since this process's last one (no other process
        took it in between). Unknown counts (a fresh process, the one-channel-per-lock holder)
        say False: the caller then looks again. A kept lock was never free since its last hold.
        """
        if self.kept:
            return not mark.held and mark.takes == self.takes_before
        return (
            not mark.held
            and mark.takes == self.takes_before
            and self.previous is not None
            and self.count is not None
            and self.count == self.previous + 1
        )

