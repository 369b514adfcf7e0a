"""The hub's store, relay and pager rules on SQLite AND a real PostgreSQL server (each test runs
on both). The pager's pane side here is a scripted waker (what the pane says, what got typed);
tests/integration/hub/test_hub.py drives real demo agents through a real hub process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa

from bridge.errors import AgentNotReadyError, BridgeError, ConfigError, NotFoundError, ThreadClosedError
from bridge.hub import tokens
from bridge.hub.events import EventLog
from bridge.hub.models import Identity
from bridge.hub.pager import Pager, Rules, Seen
from bridge.hub.relay import Relay
from bridge.hub.store.engine import Store, open_store, revision
from bridge.hub.store.schema import metadata
from bridge.hub.store.schema import tokens as tokens_table

pytestmark = pytest.mark.integration

ALICE, BOB, CAROL = (Identity(agent=n) for n in ("alice", "bob", "carol"))
ADMIN = Identity(agent=None, admin=True)


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    opened = await open_store(store_url)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def relay(store: Store) -> Relay:
    return Relay(store, EventLog(store), ["alice", "bob", "carol"])


@dataclass
class ScriptedWaker:
    """The pane side: a state per agent, and every line typed (the test's own tally)."""

    states: dict[str, str] = field(default_factory=dict)
    typed: list[tuple[str, str]] = field(default_factory=list)
    screens: dict[str, str] = field(default_factory=dict)
    crash_after_typing: bool = False

    async def state(self, agent: str) -> str:
        return self.states.get(agent, "idle")

    async def type_line(self, agent: str, text: str) -> None:
        if self.states.get(agent, "idle") != "idle":
            raise AgentNotReadyError("not idle", state=self.states[agent])
        self.typed.append((agent, text))
        self.screens[agent] = self.screens.get(agent, "") + text + "\n"
        if self.crash_after_typing:
            raise asyncio.CancelledError  # the hub dies right after typing, before recording

    async def shows(self, agent: str, mark: str) -> Seen:
        return "submitted" if mark in self.screens.get(agent, "") else "absent"

    async def submit(self, agent: str) -> None:
        raise AssertionError("nothing was left in an input box here")


# -- the store ------------------------------------------------------------------------------


async def test_migrated_schema_matches_the_tables(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    assert await revision(store) == "0002"
    async with store.engine.connect() as conn:
        diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), metadata))
    assert diff == []


async def test_a_second_owner_is_refused(store_url: str) -> None:
    first = await open_store(store_url)
    try:
        with pytest.raises(BridgeError, match="already open by another hub"):
            await open_store(store_url)
    finally:
        await first.close()
    again = await open_store(store_url)  # free again once the first let go
    await again.close()


async def test_reopening_keeps_the_data(store_url: str) -> None:
    first = await open_store(store_url)
    relay = Relay(first, EventLog(first), ["bob"])
    sent = await relay.send(ALICE, "bob", "kept", "across an upgrade")
    await first.close()
    second = await open_store(store_url)
    try:
        assert (await Relay(second, EventLog(second), ["bob"]).get(BOB, sent.id)).body == "across an upgrade"
    finally:
        await second.close()


async def test_tokens_are_stored_hashed(store: Store) -> None:
    token = await tokens.mint(store, "alice")
    admin = await tokens.mint(store, None, admin=True)
    assert await tokens.identify(store, token) == ALICE
    assert await tokens.identify(store, admin) == ADMIN
    for bad in ("", "abt_nope", token + "x", token[:-1], "Bearer " + token):
        assert await tokens.identify(store, bad) is None
    async with store.begin() as conn:
        stored = [r.digest for r in (await conn.execute(sa.select(tokens_table))).all()]
    assert token not in stored and admin not in stored and len(stored) == 2
    assert await tokens.revoke(store, "alice") == 1
    assert await tokens.identify(store, token) is None


# -- messages -------------------------------------------------------------------------------


async def test_send_read_reply_close(relay: Relay) -> None:
    sent = await relay.send(ALICE, "bob", "plan", "please review")
    assert sent.status == "queued" and sent.sender == "alice"
    assert [m.id for m in await relay.inbox(BOB)] == [sent.id]
    assert await relay.inbox(ALICE) == []
    read = await relay.read(BOB, sent.id)
    assert read.read_at is not None and (await relay.status(ALICE, sent.id)).status == "read"
    assert await relay.inbox(BOB) == [] and len(await relay.inbox(BOB, everything=True)) == 1
    answer = await relay.reply(BOB, sent.id, "looks good")
    assert (answer.recipient, answer.subject, answer.thread_id) == ("alice", "Re: plan", sent.thread_id)
    thread = await relay.thread(ALICE, sent.thread_id)
    assert [m.body for m in thread.messages] == ["please review", "looks good"]
    assert thread.participants == ["alice", "bob"]
    closed = await relay.close(BOB, sent.thread_id)
    assert closed.closed_by == "bob"
    with pytest.raises(ThreadClosedError):
        await relay.reply(ALICE, answer.id, "one more thing")
    with pytest.raises(ThreadClosedError):
        await relay.send(ALICE, "bob", "", "again", thread_id=sent.thread_id)
    assert len((await relay.thread(ADMIN, sent.thread_id)).messages) == 2


async def test_only_your_own(relay: Relay) -> None:
    sent = await relay.send(ALICE, "bob", "private", "for bob")
    for call in (relay.get(CAROL, sent.id), relay.read(CAROL, sent.id), relay.thread(CAROL, sent.thread_id),
                 relay.close(CAROL, sent.thread_id), relay.status(CAROL, sent.id)):  # fmt: skip
        with pytest.raises(NotFoundError):
            await call
    with pytest.raises(NotFoundError):
        await relay.send(CAROL, "bob", "", "butting in", thread_id=sent.thread_id)
    assert await relay.threads(CAROL) == []
    assert [t.id for t in await relay.threads(ADMIN)] == [sent.thread_id]
    assert (await relay.get(BOB, sent.id)).read_at is None  # nobody else marked it read


async def test_bodies_up_to_a_megabyte_byte_exact(relay: Relay) -> None:
    body = ("héllo — 日本 🙂 \t\r\n" * 60000)[: 1024 * 1024 // 4]
    body = body + "x" * (1024 * 1024 - len(body.encode()))
    assert len(body.encode()) == 1024 * 1024
    sent = await relay.send(ALICE, "bob", "big", body)
    assert (await relay.read(BOB, sent.id)).body == body
    with pytest.raises(ConfigError, match="1 MB"):
        await relay.send(ALICE, "bob", "too big", body + "y")
    for bad_subject in ("two\nlines", "x" * 301):
        with pytest.raises(ConfigError):
            await relay.send(ALICE, "bob", bad_subject, "text")
    with pytest.raises(BridgeError, match="no agent"):
        await relay.send(ALICE, "mallory", "hi", "text")


# -- the pager's rules ------------------------------------------------------------------------


def pager(relay: Relay, waker: ScriptedWaker, **rules: Rules) -> Pager:
    return Pager(relay.store, relay.log, relay, waker, rules=rules, lease_s=30)


async def test_one_wake_per_unread_batch_and_only_when_idle(relay: Relay) -> None:
    waker = ScriptedWaker(states={"bob": "busy"})
    paging = pager(relay, waker)
    first = await relay.send(ALICE, "bob", "first", "1")
    assert await paging.round() == {"bob": "not-idle"}
    assert (await relay.status(ALICE, first.id)).waiting == "recipient busy"
    waker.states["bob"] = "permission"
    assert await paging.round() == {"bob": "not-idle"}
    waker.states["bob"] = "idle"
    assert await paging.round() == {"bob": "typed"}
    assert (
        len(waker.typed) == 1 and "alice" in waker.typed[0][1] and "msg inbox --as bob" in waker.typed[0][1]
    )
    assert (await relay.status(ALICE, first.id)).status == "woken"
    await relay.send(CAROL, "bob", "second", "2")  # bob still has unread: no second wake
    assert await paging.round() == {}
    assert len(waker.typed) == 1
    for message in await relay.inbox(BOB):
        await relay.read(BOB, message.id)
    third = await relay.send(ALICE, "bob", "third", "3")  # all read: the next batch wakes again
    assert await paging.round() == {"bob": "typed"}
    assert len(waker.typed) == 2 and (await relay.status(ALICE, third.id)).status == "woken"


async def test_closed_threads_wake_nobody(relay: Relay) -> None:
    waker = ScriptedWaker()
    sent = await relay.send(ALICE, "bob", "done", "never mind")
    await relay.close(ALICE, sent.thread_id)
    assert await pager(relay, waker).round() == {}
    assert waker.typed == []


async def test_the_hourly_budget_stops_a_wake_loop(relay: Relay) -> None:
    waker = ScriptedWaker()
    paging = pager(relay, waker, bob=Rules(budget=3))
    for n in range(5):
        sent = await relay.send(ALICE, "bob", f"ping {n}", "pong?")
        outcome = await paging.round()
        await relay.read(BOB, sent.id)
        assert outcome == {"bob": "typed" if n < 3 else "held"}
    assert len(waker.typed) == 3
    held = [e for e in await relay.log.since() if e.kind == "wake-held"]
    assert len(held) == 2 and held[0].agent == "bob"
    last = await relay.send(ALICE, "bob", "ping 5", "pong?")
    await paging.round()
    assert (await relay.status(ALICE, last.id)).waiting == "wake budget used up (3/h)"


async def test_two_pagers_never_both_wake(relay: Relay) -> None:
    waker = ScriptedWaker()
    one, two = pager(relay, waker), pager(relay, waker)
    await relay.send(ALICE, "bob", "race", "who wakes me?")
    outcomes = await asyncio.gather(one.try_wake("bob"), two.try_wake("bob"))
    assert sorted(o or "" for o in outcomes) in (["leased", "typed"], ["", "typed"])
    assert len(waker.typed) == 1


async def test_a_stale_pager_cannot_record(relay: Relay) -> None:
    waker = ScriptedWaker()
    slow = pager(relay, waker)
    await relay.send(ALICE, "bob", "x", "y")
    claimed = await slow._claim("bob", "0000aaaa")
    assert isinstance(claimed, tuple)
    fence, wake_id = claimed
    async with relay.store.begin() as conn:  # the lease expired and another pager took it
        await conn.execute(
            sa.text("UPDATE wake_leases SET fence = fence + 1, expires_at = :t"), {"t": time.time() + 30}
        )
    await slow._end("bob", fence, wake_id, "typed", None, woke=True)
    events = [e for e in await relay.log.since() if e.kind == "wake"]
    assert events[-1].data["outcome"] == "fenced-out"


async def test_a_hub_killed_mid_wake_neither_doubles_nor_loses(store_url: str) -> None:
    # killed after typing, before recording: the restarted pager finds the nonce on the pane
    store = await open_store(store_url)
    relay = Relay(store, EventLog(store), ["bob"])
    waker = ScriptedWaker(crash_after_typing=True)
    await relay.send(ALICE, "bob", "crash", "mid-wake")
    with pytest.raises(asyncio.CancelledError):
        await pager(relay, waker).try_wake("bob")
    await store.close()
    store = await open_store(store_url)
    try:
        relay = Relay(store, EventLog(store), ["bob"])
        waker.crash_after_typing = False
        restarted = pager(relay, waker)
        assert await restarted.recover() == [("bob", "recovered")]
        assert await restarted.round() == {}
        assert len(waker.typed) == 1
        assert (await relay.inbox(BOB))[0].woken_at is not None
    finally:
        await store.close()


async def test_a_wake_that_never_typed_is_done_once_after_a_restart(relay: Relay) -> None:
    waker = ScriptedWaker()
    first = pager(relay, waker)
    await relay.send(ALICE, "bob", "lost", "never typed")
    assert isinstance(await first._claim("bob", "dead0000"), tuple)  # then the hub died, before typing
    second = pager(relay, waker)
    assert await second.recover() == [("bob", "lost")]
    assert await second.round() == {"bob": "typed"}
    assert len(waker.typed) == 1
