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

from bridge.errors import AgentNotReadyError, BridgeError
from bridge.hub import wakebook as book
from bridge.hub.events import EventLog
from bridge.hub.relay import Relay
from bridge.hub.store.engine import Store
from bridge.hub.store.schema import messages, threads, wakes
from bridge.hub.wakebook import Batch, queued_query

log = logging.getLogger("bridge.hub.pager")

DEFAULT_BUDGET = 12
DEFAULT_TEXT = (
    "agent-bridge: {count} new message(s) for {agent} from {senders}, about {subject} "
    "- read them with: agent-bridge msg inbox --as {agent}"
)
LEASE_S = 60.0
SWEEP_S = 30.0  # a full look at the store for queued agents (the loop otherwise follows new messages)
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
class Claim:
    """A wake claimed (lease taken, wake row written): the line to type carries its nonce."""

    agent: str
    fence: int
    wake_id: int
    nonce: str
    text: str


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
        self.remote: set[str] = set()  # agents whose host runs its own pager (`hub pager`)
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
            found = (await conn.execute(queued_query())).all()
        return sorted(r[0] for r in found if r[0] in self.relay.agents)

    # -- one wake ---------------------------------------------------------------------------

    async def try_wake(self, agent: str) -> str | None:
        if agent in self.remote:  # its host's own pager wakes it (`agent-bridge hub pager`)
            self.why[agent] = "waiting for its host's pager (agent-bridge hub pager)"
            return "remote"
        batch = await self.due(agent)
        if not isinstance(batch, Batch):
            return None if batch == "nothing" else batch
        try:
            state = await self.waker.state(agent)
        except BridgeError as exc:
            self.why[agent] = f"cannot see the pane: {exc}"
            return "unseen"
        if state != "idle":
            self.why[agent] = f"recipient {state}"
            return "not-idle"
        claimed = await self.claim(agent, batch)
        if isinstance(claimed, str) or claimed is None:
            return claimed
        try:
            await self.waker.type_line(agent, claimed.text)
        except BridgeError as exc:
            return await self.typed(agent, claimed, exc)
        return await self.typed(agent, claimed, None)

    async def due(self, agent: str) -> Batch | str:
        """The agent's batch to announce, if it has one and budget left; else why not
        (``"nothing"``: no batch; ``"held"``: the hourly budget is used up)."""
        batch = await self._batch(agent)
        if batch is None:
            self.why.pop(agent, None)
            return "nothing"
        rule = self.rule(agent)
        if await self._used(agent) >= rule.budget:
            self.why[agent] = f"wake budget used up ({rule.budget}/h)"
            if self._held.get(agent) != batch.newest:
                self._held[agent] = batch.newest
                await self.events.add("wake-held", agent=agent, reason=self.why[agent], messages=batch.count)
            return "held"
        return batch

    async def claim(self, agent: str, batch: Batch) -> Claim | str | None:
        """Take the agent's wake lease and write its wake row (one transaction); the line to
        type. A string says why not (``"leased"``), ``None``: another pager woke it already."""
        nonce = secrets.token_hex(4)
        claimed = await self._claim(agent, nonce)
        if claimed == "leased":
            self.why[agent] = "another pager holds the wake lease"
            return "leased"
        if claimed == "done":  # another pager woke it before we held the lease
            return None
        batch = await self._batch(agent) or batch  # what arrived meanwhile is announced too
        text = self._text(agent, self.rule(agent), batch) + f" [wake {nonce}]"
        return Claim(agent, claimed[0], claimed[1], nonce, text)

    async def typed(self, agent: str, claim: Claim, error: BridgeError | None) -> str:
        """Record how typing the claimed wake went (``error``: why it was not typed)."""
        if isinstance(error, AgentNotReadyError):
            self.why[agent] = f"recipient {error.state or 'not idle'}"
            await self._end(agent, claim.fence, claim.wake_id, "not-idle", str(error))
            return "not-idle"
        if error is not None:
            self.why[agent] = f"the wake failed: {error}"
            await self._end(agent, claim.fence, claim.wake_id, "failed", str(error))
            return "failed"
        await self._end(agent, claim.fence, claim.wake_id, "typed", None, woke=True)
        self.why.pop(agent, None)
        return "typed"

    async def recover(self) -> list[tuple[str, str]]:
        """Settle wakes a dead pager left unfinished (see the module docstring); those of agents
        a host's own pager wakes are its to settle."""
        settled = []
        for row in await self.open_wakes():
            if row["agent"] in self.remote:
                continue
            try:
                seen = await self.waker.shows(row["agent"], f"[wake {row['nonce']}]")
                if seen == "pending":  # typed, but the pager died before it pressed Enter
                    await self.waker.submit(row["agent"])
            except BridgeError as exc:
                log.warning("pager: cannot check wake %s of %s: %s", row["wake_id"], row["agent"], exc)
                continue
            settled.append((row["agent"], await self.settle(row, seen)))
        return settled

    async def open_wakes(self, agents: set[str] | None = None) -> list[dict[str, Any]]:
        """Wakes started and never ended (a pager died), of ``agents`` (all when ``None``)."""
        async with self.store.begin() as conn:
            rows = (await conn.execute(sa.select(wakes).where(wakes.c.ended_at.is_(None)))).all()
        wanted = [r for r in rows if agents is None or r.agent in agents]
        return [{"agent": r.agent, "wake_id": r.id, "fence": r.fence, "nonce": r.nonce,
                 "started_at": r.started_at} for r in wanted]  # fmt: skip

    async def settle(self, row: dict[str, Any], seen: Seen) -> str:
        """End an unfinished wake by what its pane shows of its nonce: there, it happened."""
        typed = seen != "absent"
        outcome = "recovered" if typed else "lost"
        await self._end(row["agent"], row["fence"], row["wake_id"], outcome, "settled after a restart",
                        woke=typed, before=row["started_at"], own_fence=False)  # fmt: skip
        return outcome

    # -- the store's part -------------------------------------------------------------------

    async def _batch(self, agent: str) -> Batch | None:
        return await book.batch(self.store, agent)

    async def _used(self, agent: str) -> int:
        return await book.used(self.store, agent)

    async def _claim(self, agent: str, nonce: str) -> tuple[int, int] | Literal["leased", "done"]:
        return await book.claim(self.store, agent, nonce, holder=self.holder, lease_s=self.lease_s)

    async def _end(
        self, agent: str, fence: int, wake_id: int, outcome: str, detail: str | None, *,
        woke: bool = False, before: float | None = None, own_fence: bool = True,
    ) -> None:  # fmt: skip
        """Record a wake's outcome; mark its batch woken; let the lease go (only our own)."""
        now = time.time()
        async with self.store.begin() as conn:
            current = await book.fence_of(conn, agent)
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
            await book.let_go(conn, agent, fence)
        await self.events.add(
            "wake", agent=agent, actor="pager", outcome=outcome, wake=wake_id, detail=detail
        )

    def _text(self, agent: str, rule: Rules, batch: Batch) -> str:
        senders = ", ".join(batch.senders)
        # Another agent's words, typed into this one's prompt: printable only, and short.
        subject = "".join(ch for ch in batch.subject if ch.isprintable())[:80]
        line = rule.text.format(agent=agent, count=batch.count, senders=senders, subject=repr(subject))
        return " ".join(line.split())  # one line, whatever the template or subject held
