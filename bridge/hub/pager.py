"""The wake pager: a one-line nudge into a *sleeping* agent's pane when messages wait for it.

Rules (each a test in ``tests/integration/hub``):

* Only into an **idle** pane (the profile says so): never while busy, in a permission question, a
  menu or a dialog. The message stays queued, and its status says why it waits.
* **One wake per unread batch**: while the agent has unread messages it was already woken for,
  new ones wake nobody; once it has read them all, the next message wakes it again.
* **Closed threads wake nobody.**
* An **hourly budget** per agent (``wake_budget``, default 12) stops agents that keep waking each
  other; what it holds back is visible (an event, and the message's status).
* **Exactly once**, across pagers and crashes: a wake lease per agent with a fencing token (a
  second pager, or a restarted hub, cannot wake while the lease is held, and a pager whose lease
  was taken over cannot record), and a wake row written *before* anything is typed, carrying a
  nonce that is typed with the line. A hub killed mid-wake finds the row on restart and looks for
  the nonce on the pane: there, the wake happened (recorded, not typed again); not there, nothing
  was typed (the batch is still queued and is woken once); still in the agent's input box, the
  pager died between the paste and Enter, and the restarted one presses Enter.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from bridge.errors import AgentNotReadyError, BridgeError
from bridge.hub.events import EventLog
from bridge.hub.relay import Relay
from bridge.hub.store.engine import Store
from bridge.hub.store.schema import messages, threads, wake_leases, wakes

log = logging.getLogger("bridge.hub.pager")

DEFAULT_BUDGET = 12
DEFAULT_TEXT = (
    "agent-bridge: {count} new message(s) for {agent} from {senders}, about {subject} "
    "- read them with: agent-bridge msg inbox --as {agent}"
)
LEASE_S = 60.0
SWEEP_S = 30.0  # a full look at the store for queued agents (the loop otherwise follows new messages)
HOUR = 3600.0
SENDERS = 5  # senders a wake line names at most (the newest)
Seen = Literal["pending", "submitted", "absent"]


class Waker(Protocol):
    """How the pager sees and types into panes (:class:`bridge.hub.waker.BridgeWaker`)."""

    async def state(self, agent: str) -> str: ...

    async def type_line(self, agent: str, text: str) -> None:
        """Type ``text`` and Enter only if the agent is idle; else AgentNotReadyError."""

    async def shows(self, agent: str, mark: str) -> Seen:
        """Where the pane shows ``mark``: still in its input box, submitted, or nowhere."""

    async def submit(self, agent: str) -> None:
        """Press Enter: a wake typed by a pager that died before it pressed Enter."""


@dataclass(frozen=True)
class Batch:
    """An agent's queued messages, summed up: how many, the newest id, who (the newest few
    senders, oldest first) and the newest subject."""

    count: int
    newest: int
    senders: list[str]
    subject: str


@dataclass(frozen=True)
class Rules:
    budget: int = DEFAULT_BUDGET
    text: str = DEFAULT_TEXT


class Pager:
    def __init__(
        self, store: Store, events: EventLog, relay: Relay, waker: Waker, *,
        rules: Mapping[str, Rules] | None = None, poll_s: float = 1.0, lease_s: float = LEASE_S,
    ) -> None:  # fmt: skip
        self.store = store
        self.events = events
        self.relay = relay
        self.waker = waker
        self.rules = dict(rules or {})
        self.poll_s = poll_s
        self.lease_s = lease_s
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.why: dict[str, str] = {}  # agent -> why its queued messages wait
        self._held: dict[str, int] = {}  # agent -> newest message id a budget hold was logged for
        relay.waiting = self.why.get

    def rule(self, agent: str) -> Rules:
        return self.rules.get(agent, Rules())

    # -- the loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Recover unfinished wakes, then wake whoever needs it: at once for the recipients of new
        messages, and every ``poll_s`` for agents still waiting (busy ones become idle without
        telling us). A waiting agent is looked at once per ``poll_s``, however many messages
        arrive for it meanwhile; a full sweep of the store every :data:`SWEEP_S` catches the rest."""
        await self.recover()
        due: dict[str, float] = {}  # agent -> when to look at it again
        swept = 0.0
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            self.relay.changed.clear()
            touched, self.relay.touched = self.relay.touched, set()
            if now - swept >= SWEEP_S:
                swept = now
                touched |= self._forget(await self.queued_agents())
            look = {a for a in touched if due.get(a, 0.0) <= now} | {a for a, t in due.items() if t <= now}
            for agent, outcome in (await self._look(sorted(look))).items():
                if outcome in (None, "typed"):
                    due.pop(agent, None)
                else:
                    due[agent] = loop.time() + self.poll_s
            wait = min([self.poll_s, *(t - loop.time() for t in due.values())])
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(wait, 0.01)):
                    await self.relay.changed.wait()

    async def round(self) -> dict[str, str | None]:
        """One look at every agent with queued messages, now (what :meth:`run` does when it
        sweeps the store); what happened to each."""
        queued = await self.queued_agents()
        self._forget(queued)
        return await self._look(queued)

    def _forget(self, queued: list[str]) -> set[str]:
        """Drop why agents wait that are no longer queued; the queued ones, as a set."""
        for agent in set(self.why) - set(queued):
            del self.why[agent]
        return set(queued)

    async def _look(self, agents: list[str]) -> dict[str, str | None]:
        outcomes = await asyncio.gather(*(self.try_wake(a) for a in agents))
        return dict(zip(agents, outcomes, strict=True))

    async def queued_agents(self) -> list[str]:
        """Agents with unread messages in open threads that no wake announced yet, and no unread
        message that one did (one wake per unread batch)."""
        async with self.store.begin() as conn:
            found = (await conn.execute(self._queued())).all()
        return sorted(r[0] for r in found if r[0] in self.relay.agents)

    @staticmethod
    def _queued(only: str | None = None) -> sa.Select[Any]:
        announced = sa.select(messages.c.recipient).where(
            messages.c.read_at.is_(None), messages.c.woken_at.is_not(None)
        )
        query = (
            sa.select(messages.c.recipient)
            .distinct()
            .join(threads, threads.c.id == messages.c.thread_id)
            .where(
                messages.c.read_at.is_(None),
                messages.c.woken_at.is_(None),
                threads.c.closed_at.is_(None),
                messages.c.recipient.not_in(announced),
            )
        )
        return query if only is None else query.where(messages.c.recipient == only)

    # -- one wake ---------------------------------------------------------------------------

    async def try_wake(self, agent: str) -> str | None:
        batch = await self._batch(agent)
        if batch is None:
            self.why.pop(agent, None)
            return None
        rule = self.rule(agent)
        if await self._used(agent) >= rule.budget:
            self.why[agent] = f"wake budget used up ({rule.budget}/h)"
            if self._held.get(agent) != batch.newest:
                self._held[agent] = batch.newest
                await self.events.add("wake-held", agent=agent, reason=self.why[agent], messages=batch.count)
            return "held"
        try:
            state = await self.waker.state(agent)
        except BridgeError as exc:
            self.why[agent] = f"cannot see the pane: {exc}"
            return "unseen"
        if state != "idle":
            self.why[agent] = f"recipient {state}"
            return "not-idle"
        nonce = secrets.token_hex(4)
        claimed = await self._claim(agent, nonce)
        if claimed == "leased":
            self.why[agent] = "another pager holds the wake lease"
            return "leased"
        if claimed == "done":  # another pager woke it before we held the lease
            return None
        fence, wake_id = claimed
        batch = await self._batch(agent) or batch  # what arrived meanwhile is announced too
        text = self._text(agent, rule, batch) + f" [wake {nonce}]"
        try:
            await self.waker.type_line(agent, text)
        except AgentNotReadyError as exc:
            self.why[agent] = f"recipient {exc.state or 'not idle'}"
            await self._end(agent, fence, wake_id, "not-idle", str(exc))
            return "not-idle"
        except BridgeError as exc:
            self.why[agent] = f"the wake failed: {exc}"
            await self._end(agent, fence, wake_id, "failed", str(exc))
            return "failed"
        await self._end(agent, fence, wake_id, "typed", None, woke=True)
        self.why.pop(agent, None)
        return "typed"

    async def recover(self) -> list[tuple[str, str]]:
        """Settle wakes a dead pager left unfinished (see the module docstring)."""
        async with self.store.begin() as conn:
            rows = (await conn.execute(sa.select(wakes).where(wakes.c.ended_at.is_(None)))).all()
        settled = []
        for row in rows:
            try:
                seen = await self.waker.shows(row.agent, f"[wake {row.nonce}]")
                if seen == "pending":  # typed, but the pager died before it pressed Enter
                    await self.waker.submit(row.agent)
            except BridgeError as exc:
                log.warning("pager: cannot check wake %s of %s: %s", row.id, row.agent, exc)
                continue
            typed = seen != "absent"
            outcome = "recovered" if typed else "lost"
            await self._end(row.agent, row.fence, row.id, outcome, "settled after a restart", woke=typed,
                            before=row.started_at, own_fence=False)  # fmt: skip
            settled.append((row.agent, outcome))
        return settled

    # -- the store's part -------------------------------------------------------------------

    async def _batch(self, agent: str) -> Batch | None:
        """The agent's queued batch, summed up in the store (count, newest id) with its newest
        few senders and subject: a look costs the same with 5 or 5,000 messages waiting."""
        queued = sa.and_(
            messages.c.recipient == agent,
            messages.c.read_at.is_(None),
            messages.c.woken_at.is_(None),
            threads.c.closed_at.is_(None),
        )
        joined = messages.join(threads, threads.c.id == messages.c.thread_id)
        async with self.store.begin() as conn:
            count, newest = (
                await conn.execute(
                    sa.select(sa.func.count(), sa.func.max(messages.c.id)).select_from(joined).where(queued)
                )
            ).one()
            if not count:
                return None
            rows = (
                await conn.execute(
                    sa.select(messages.c.sender, messages.c.subject)
                    .select_from(joined)
                    .where(queued)
                    .order_by(messages.c.id.desc())
                    .limit(SENDERS)
                )
            ).all()
        senders = list(dict.fromkeys(str(r.sender) for r in reversed(rows)))
        return Batch(int(count), int(newest), senders, str(rows[0].subject))

    async def _used(self, agent: str) -> int:
        query = sa.select(sa.func.count()).where(
            wakes.c.agent == agent,
            wakes.c.started_at >= time.time() - HOUR,
            wakes.c.outcome.in_(("typed", "recovered")),
        )
        async with self.store.begin() as conn:
            return int((await conn.execute(query)).scalar() or 0)

    async def _claim(self, agent: str, nonce: str) -> tuple[int, int] | Literal["leased", "done"]:
        """In ONE transaction: take the agent's wake lease (free or expired: a new fencing token),
        check that its batch is still unannounced, and write the wake row; (fence, wake id).

        A pager that dies anywhere leaves nothing, or the lease together with its wake row, which
        :meth:`recover` settles: never a lease that blocks the next hub until it expires.
        """
        now = time.time()
        try:
            async with self.store.begin() as conn:
                taken = await conn.execute(
                    wake_leases.update()
                    .where(wake_leases.c.agent == agent, wake_leases.c.expires_at < now)
                    .values(fence=wake_leases.c.fence + 1, holder=self.holder, expires_at=now + self.lease_s)
                )
                if taken.rowcount == 0:
                    exists = (
                        await conn.execute(sa.select(wake_leases.c.fence).where(wake_leases.c.agent == agent))
                    ).first()
                    if exists is not None:
                        return "leased"  # held by someone else
                    await conn.execute(
                        wake_leases.insert().values(
                            agent=agent, fence=1, holder=self.holder, expires_at=now + self.lease_s
                        )
                    )
                fence = await _fence(conn, agent)
                if fence is None or not (await conn.execute(self._queued(agent))).first():
                    raise _Nothing
                row = wakes.insert().values(agent=agent, fence=fence, nonce=nonce, started_at=now)
                wake_id = int((await conn.execute(row)).inserted_primary_key[0])  # type: ignore[index]
                return fence, wake_id
        except _Nothing:
            return "done"  # rolled back: the lease is as it was
        except IntegrityError:
            return "leased"  # another pager inserted it first

    async def _end(
        self, agent: str, fence: int, wake_id: int, outcome: str, detail: str | None, *,
        woke: bool = False, before: float | None = None, own_fence: bool = True,
    ) -> None:  # fmt: skip
        """Record a wake's outcome; mark its batch woken; let the lease go (only our own)."""
        now = time.time()
        async with self.store.begin() as conn:
            current = await _fence(conn, agent)
            if own_fence and current != fence:
                outcome, detail = "fenced-out", f"the lease passed to another pager (fence {current})"
            if woke:
                batch = messages.update().where(
                    messages.c.recipient == agent,
                    messages.c.read_at.is_(None),
                    messages.c.woken_at.is_(None),
                    messages.c.thread_id.in_(sa.select(threads.c.id).where(threads.c.closed_at.is_(None))),
                )
                if before is not None:
                    batch = batch.where(messages.c.created_at <= before)
                await conn.execute(batch.values(woken_at=now, wake_id=wake_id))
            await conn.execute(
                wakes.update()
                .where(wakes.c.id == wake_id)
                .values(ended_at=now, outcome=outcome, detail=detail)
            )
            await _let_go(conn, agent, fence)
        await self.events.add(
            "wake", agent=agent, actor="pager", outcome=outcome, wake=wake_id, detail=detail
        )

    def _text(self, agent: str, rule: Rules, batch: Batch) -> str:
        senders = ", ".join(batch.senders)
        # Another agent's words, typed into this one's prompt: printable only, and short.
        subject = "".join(ch for ch in batch.subject if ch.isprintable())[:80]
        line = rule.text.format(agent=agent, count=batch.count, senders=senders, subject=repr(subject))
        return " ".join(line.split())  # one line, whatever the template or subject held


class _Nothing(Exception):
    """Nothing to wake after all: roll the claim back."""


async def _let_go(conn: AsyncConnection, agent: str, fence: int) -> None:
    await conn.execute(
        wake_leases.update()
        .where(wake_leases.c.agent == agent, wake_leases.c.fence == fence)
        .values(expires_at=0.0)
    )


async def _fence(conn: AsyncConnection, agent: str) -> int | None:
    value = (await conn.execute(sa.select(wake_leases.c.fence).where(wake_leases.c.agent == agent))).scalar()
    return None if value is None else int(value)
