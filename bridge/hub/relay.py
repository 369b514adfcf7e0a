"""Messages between agents: send, inbox, read, reply, threads, close, status.

Rules: an agent reads only its own inbox and the threads it is part of (it sent or received a
message there, or opened it); an admin sees everything. A closed thread takes no more messages
(:class:`~bridge.errors.ThreadClosedError`, exit 2) and wakes nobody. Bodies are UTF-8 text up to
1 MB, kept byte-exact. Every change is an event; :meth:`Relay.changed` wakes the pager.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bridge.errors import BridgeError, ConfigError, NotFoundError, ThreadClosedError, UnknownAgentError
from bridge.hub.events import EventLog
from bridge.hub.models import MAX_BODY, Event, Identity, Message, Status, Thread
from bridge.hub.store.engine import Store
from bridge.hub.store.schema import messages, threads

MAX_SUBJECT = 300
BATCH = 256  # messages written in one transaction at most


@dataclass
class _Outgoing:
    who: Identity
    to: str
    subject: str
    body: str
    thread_id: int | None
    done: asyncio.Future[Message]


class Relay:
    def __init__(self, store: Store, log: EventLog, agents: Iterable[str]) -> None:
        self.store = store
        self.log = log
        self.agents = frozenset(agents)
        self.changed = asyncio.Event()  # set on every new message: the pager looks
        self.touched: set[str] = set()  # recipients of new messages since the pager last looked
        self._outbox: list[_Outgoing] = []
        self._writer: asyncio.Task[None] | None = None
        self.waiting: Callable[[str], str | None] = lambda _agent: None  # the pager says why

    # -- writing ----------------------------------------------------------------------------

    async def send(
        self, who: Identity, to: str, subject: str, body: str, *, thread_id: int | None = None
    ) -> Message:
        """Store a message for ``to`` (a new thread, or ``thread_id`` if the sender is part of it).

        Messages sent at the same time are written together, in one transaction (group commit:
        a transaction's cost is paid once for all of them); each caller gets its own result.
        """
        if to not in self.agents:
            raise UnknownAgentError(
                f"no agent {to!r} in the hub's registry", hint="agent-bridge agents lists them"
            )
        _check_text(subject, body)
        done: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._outbox.append(_Outgoing(who, to, subject, body, thread_id, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="hub-relay-writer")
        return await done

    async def _write(self) -> None:
        while self._outbox:
            batch, self._outbox = self._outbox[:BATCH], self._outbox[BATCH:]
            try:
                results = await self._store(batch)
            except Exception as exc:  # the store failed: every message of the batch was lost
                for item in batch:
                    if not item.done.done():
                        item.done.set_exception(exc)
                continue
            for item, (result, event) in zip(batch, results, strict=True):
                if event is not None:
                    await self.log.publish(event)
                    self.touched.add(item.to)
                if item.done.done():
                    continue
                if isinstance(result, Message):
                    item.done.set_result(result)
                else:
                    item.done.set_exception(result)
            self.changed.set()

    async def _store(self, batch: list[_Outgoing]) -> list[tuple[Message | BridgeError, Event | None]]:
        results: list[tuple[Message | BridgeError, Event | None]] = []
        async with self.store.begin() as conn:
            for item in batch:
                now = time.time()
                subject, thread_id = item.subject, item.thread_id
                if thread_id is None:
                    row = threads.insert().values(
                        subject=subject or "(no subject)", created_by=item.who.name, created_at=now
                    )
                    thread_id = int((await conn.execute(row)).inserted_primary_key[0])  # type: ignore[index]
                else:
                    try:
                        thread = await self._thread_row(conn, item.who, thread_id)
                    except BridgeError as exc:
                        results.append((exc, None))
                        continue
                    if thread.closed_at is not None:
                        results.append((_closed(thread_id, thread.closed_by), None))
                        continue
                    subject = subject or thread.subject
                values = dict(
                    thread_id=thread_id, sender=item.who.name, recipient=item.to,
                    subject=subject or "(no subject)", body=item.body, created_at=now,
                )  # fmt: skip
                new_id = int((await conn.execute(messages.insert().values(**values))).inserted_primary_key[0])  # type: ignore[index]
                event = await self.log.insert(
                    conn, "message", agent=item.to, actor=item.who.name, id=new_id, thread_id=thread_id,
                    subject=values["subject"], bytes=len(item.body.encode()),
                )  # fmt: skip
                results.append((Message(id=new_id, **values), event))  # type: ignore[arg-type]
        return results

    async def reply(self, who: Identity, message_id: int, body: str) -> Message:
        """Answer message ``message_id`` in its thread, to the other side of it."""
        original = await self.get(who, message_id)
        to = original.sender if who.name != original.sender else original.recipient
        subject = original.subject if original.subject.startswith("Re: ") else f"Re: {original.subject}"
        return await self.send(who, to, subject, body, thread_id=original.thread_id)

    async def close(self, who: Identity, thread_id: int) -> Thread:
        async with self.store.begin() as conn:
            thread = await self._thread_row(conn, who, thread_id)
            if thread.closed_at is None:
                await conn.execute(
                    threads.update()
                    .where(threads.c.id == thread_id)
                    .values(closed_at=time.time(), closed_by=who.name)
                )
        await self.log.add("thread-closed", actor=who.name, thread_id=thread_id)
        return await self.thread(who, thread_id)

    # -- reading ----------------------------------------------------------------------------

    async def inbox(self, who: Identity, *, everything: bool = False) -> list[Message]:
        """Unread messages for the caller (``everything``: read ones too), oldest first."""
        query = sa.select(messages).order_by(messages.c.id)
        if not who.admin or who.agent is not None:
            query = query.where(messages.c.recipient == who.name)
        if not everything:
            query = query.where(messages.c.read_at.is_(None))
        async with self.store.begin() as conn:
            return [_message(r) for r in (await conn.execute(query)).all()]

    async def get(self, who: Identity, message_id: int) -> Message:
        async with self.store.begin() as conn:
            row = (await conn.execute(sa.select(messages).where(messages.c.id == message_id))).first()
            if row is None or not (who.admin or who.name in (row.sender, row.recipient)):
                raise NotFoundError(f"no message {message_id} for {who.name}")
        return _message(row)

    async def read(self, who: Identity, message_id: int) -> Message:
        """The message; marks it read when the caller is its recipient."""
        message = await self.get(who, message_id)
        if message.recipient == who.name and message.read_at is None:
            now = time.time()
            async with self.store.begin() as conn:
                await conn.execute(
                    messages.update()
                    .where(messages.c.id == message_id, messages.c.read_at.is_(None))
                    .values(read_at=now)
                )
            await self.log.add("read", agent=who.name, actor=who.name, id=message_id)
            message = message.model_copy(update={"read_at": now})
        return message

    async def thread(self, who: Identity, thread_id: int) -> Thread:
        async with self.store.begin() as conn:
            row = await self._thread_row(conn, who, thread_id)
            rows = (
                await conn.execute(
                    sa.select(messages).where(messages.c.thread_id == thread_id).order_by(messages.c.id)
                )
            ).all()
        return _thread(row, [_message(r) for r in rows])

    async def threads(self, who: Identity, *, open_only: bool = True, limit: int = 50) -> list[Thread]:
        """Threads the caller is part of (admin: all), newest first, with their messages: two
        queries, whatever their number (the dashboard asks on every event)."""
        query = sa.select(threads).order_by(threads.c.id.desc()).limit(limit)
        if open_only:
            query = query.where(threads.c.closed_at.is_(None))
        if not who.admin:
            mine = sa.select(messages.c.thread_id).where(
                sa.or_(messages.c.sender == who.name, messages.c.recipient == who.name)
            )
            query = query.where(sa.or_(threads.c.id.in_(mine), threads.c.created_by == who.name))
        async with self.store.begin() as conn:
            rows = (await conn.execute(query)).all()
            found = (
                await conn.execute(
                    sa.select(messages)
                    .where(messages.c.thread_id.in_([r.id for r in rows]))
                    .order_by(messages.c.id)
                )
            ).all()
        by_thread: dict[int, list[Message]] = {r.id: [] for r in rows}
        for message in found:
            by_thread[message.thread_id].append(_message(message))
        return [_thread(r, by_thread[r.id]) for r in rows]

    async def status(self, who: Identity, message_id: int) -> Status:
        message = await self.get(who, message_id)
        waiting = None
        if message.status == "queued":
            waiting = self.waiting(message.recipient)
        return Status(
            id=message.id, thread_id=message.thread_id, recipient=message.recipient,
            status=message.status, created_at=message.created_at, woken_at=message.woken_at,
            read_at=message.read_at, waiting=waiting,
        )  # fmt: skip

    async def unread(self) -> dict[str, int]:
        """Unread messages per recipient."""
        query = (
            sa.select(messages.c.recipient, sa.func.count())
            .where(messages.c.read_at.is_(None))
            .group_by(messages.c.recipient)
        )
        async with self.store.begin() as conn:
            return {r[0]: int(r[1]) for r in (await conn.execute(query)).all()}

    async def _thread_row(self, conn: AsyncConnection, who: Identity, thread_id: int) -> Any:
        row = (await conn.execute(sa.select(threads).where(threads.c.id == thread_id))).first()
        if row is not None and not who.admin and row.created_by != who.name:
            mine = (
                await conn.execute(
                    sa.select(sa.func.count()).where(
                        messages.c.thread_id == thread_id,
                        sa.or_(messages.c.sender == who.name, messages.c.recipient == who.name),
                    )
                )
            ).scalar()
            if not mine:
                row = None
        if row is None:
            raise NotFoundError(f"no thread {thread_id} for {who.name}")
        return row


def _closed(thread_id: int, by: str) -> ThreadClosedError:
    return ThreadClosedError(
        f"thread {thread_id} is closed (by {by}); it takes no more messages",
        hint="start a new thread: agent-bridge msg send TO --subject S TEXT",
    )


def _check_text(subject: str, body: str) -> None:
    if len(subject) > MAX_SUBJECT or "\n" in subject:
        raise ConfigError(f"a subject is one line of at most {MAX_SUBJECT} characters")
    try:
        size = len(body.encode("utf-8"))
    except UnicodeEncodeError:
        raise ConfigError("a message body must be UTF-8 text") from None
    if size > MAX_BODY:
        raise ConfigError(f"a message body is at most 1 MB ({MAX_BODY} bytes); this one is {size}")
    if "\x00" in body:
        raise ConfigError("a message body cannot contain NUL")


def _thread(row: Any, found: list[Message]) -> Thread:
    people = sorted({row.created_by, *(m.sender for m in found), *(m.recipient for m in found)})
    return Thread(
        id=row.id, subject=row.subject, created_by=row.created_by, created_at=row.created_at,
        closed_at=row.closed_at, closed_by=row.closed_by, participants=people, messages=found,
    )  # fmt: skip


def _message(row: Any) -> Message:
    return Message.model_validate(row._mapping, from_attributes=False)
