"""Pane locks without a host: what a take tells (:class:`Held`, :class:`Mark`), what a holder's
first line means, and the bash holder's line protocol driven by a scripted fake.

The real holders (bash and sh, over a subprocess and over SSH) are in tests/integration/test_lock.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from bridge.errors import AgentNotReadyError, BridgeError
from bridge.tmux.flock import SERVER, busy, raise_setup_failure
from bridge.tmux.lock import Held, LockServer, Mark
from bridge.transport.base import Completed, Process
from tests.unit.tmux.fake_tmux import ScriptedProcess

# -- what a take tells -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("held", "mark", "untouched"),
    [
        (Held(3, 7, 8), Mark(3, False), True),  # the file's count grew by exactly this take
        (Held(3, 7, 9), Mark(3, False), False),  # someone else took it in between
        (Held(3, 7, 8), Mark(2, False), False),  # this process took it since the mark
        (Held(3, 7, 8), Mark(3, True), False),  # a caller here held it at the mark
        (Held(3, None, 8), Mark(3, False), False),  # unknown counts: look again
        (Held(3, 7, None), Mark(3, False), False),
        (Held(3, 7, 7, kept=True), Mark(3, False), True),  # kept: never free since the last hold
        (Held(3, 7, 7, kept=True), Mark(3, True), False),
    ],
)
def test_untouched_since(held: Held, mark: Mark, untouched: bool) -> None:
    assert held.untouched_since(mark) is untouched


def test_what_a_holder_first_line_says() -> None:
    with pytest.raises(BridgeError, match="flock is not installed on box") as info:
        raise_setup_failure(b"NOFLOCK\n", "box")
    assert "util-linux" in str(info.value)
    with pytest.raises(BridgeError, match="NOLOCKDIR /tmp/agent-bridge-locks-1000"):
        raise_setup_failure(b"NOLOCKDIR /tmp/agent-bridge-locks-1000\n", "box")
    raise_setup_failure(b"LOCKED\n", "box")  # says nothing wrong
    raise_setup_failure(b"", "box")
    locked = busy("claude", 2.5, "box")
    assert isinstance(locked, AgentNotReadyError) and locked.state == "locked" and "2.5s" in str(locked)


# -- the bash holder's protocol, scripted -------------------------------------------------------


class FakeHolder(ScriptedProcess):
    """A Process speaking the bash holder's lines (``L id key`` / ``U id``, ``WANT`` on SIGUSR1)."""

    def __init__(self, first: bytes = b"READY\n") -> None:
        super().__init__()
        self.out.put_nowait(first)
        self.lines: list[str] = []
        self.counts: dict[str, int] = {}
        self.taken: set[str] = set()  # keys another process holds

    def write(self, data: bytes) -> None:
        for line in data.decode().splitlines():
            self.lines.append(line)
            op, id_, key = [*line.split(" "), "", ""][:3]
            if op == "L" and key in self.taken:
                self.out.put_nowait(f"{id_} BUSY\n".encode())
            elif op == "L":
                self.counts[key] = self.counts.get(key, 0) + 1
                self.out.put_nowait(f"{id_} OK {self.counts[key]}\n".encode())
            elif op == "K":
                pass  # no answer
            else:
                self.out.put_nowait(f"{id_} OK\n".encode())

class FakeTransport:
    host = "box"
    remote = False

    def __init__(self, process: FakeHolder) -> None:
        self.process = process
        self.opened: list[list[str]] = []

    async def run(
        self, argv: Sequence[str], stdin: bytes | str | None = None, *, timeout: float | None = None
    ) -> Completed:
        raise AssertionError("the lock holder runs no commands")

    async def open_process(self, argv: Sequence[str]) -> Process:
        self.opened.append(list(argv))
        return self.process

    async def close(self) -> None:
        return None


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_hold_takes_and_releases_in_one_round_trip_each() -> None:
    holder = FakeHolder()
    transport = FakeTransport(holder)
    server = LockServer(transport, timeout=2)
    mark = server.mark("k1")
    async with server.hold("k1", timeout=1) as held:
        assert transport.opened == [["bash", "-c", SERVER]]
        assert (held.takes_before, held.previous, held.count, held.kept) == (0, None, 1, False)
        assert not held.untouched_since(mark)  # a fresh process cannot know: it looks again
    await settle()
    assert holder.lines == ["L 1 k1", "U 1"]
    mark = server.mark("k1")
    async with server.hold("k1", timeout=1) as held:
        assert (held.takes_before, held.previous, held.count) == (1, 1, 2)
        assert held.untouched_since(mark)
    await server.close()


async def test_a_kept_lock_is_taken_again_without_a_take_and_let_go_when_wanted() -> None:
    holder = FakeHolder()
    server = LockServer(FakeTransport(holder), timeout=2)
    async with server.hold("k1", timeout=1, keep=30):
        pass
    await settle()
    assert holder.lines == ["L 1 k1", "K 1"] and server.keeps("k1")
    async with server.hold("k1", timeout=1, keep=30) as held:
        assert held.kept
    assert holder.lines == ["L 1 k1", "K 1", "R 1", "K 1"], "taken back (R), kept again (K)"
    holder.out.put_nowait(b"WANT\n")  # another caller waits for a lock on this host
    await settle()
    assert holder.lines[-1] == "U 1" and not server.keeps("k1")
    async with server.hold("k1", timeout=1, keep=30):  # contested: keeps none for a while
        pass
    await settle()
    assert holder.lines[-1] == "U 2" and not server.keeps("k1")
    await server.close()


async def test_a_lock_held_elsewhere_is_tried_again_until_the_timeout() -> None:
    holder = FakeHolder()
    holder.taken.add("k1")
    server = LockServer(FakeTransport(holder), timeout=2)
    with pytest.raises(AgentNotReadyError, match="claude is in use") as info:
        async with server.hold("k1", timeout=0.2, agent="claude"):
            pass
    assert info.value.state == "locked"
    assert len([line for line in holder.lines if line.startswith("L ")]) >= 3  # backing off
    await server.close()


async def test_a_bad_key_is_a_caller_bug() -> None:
    transport = FakeTransport(FakeHolder())
    server = LockServer(transport)
    with pytest.raises(ValueError, match="bad lock key"):
        async with server.hold("a b", timeout=1):
            pass
    assert transport.opened == []


async def test_a_host_without_flock_says_so() -> None:
    server = LockServer(FakeTransport(FakeHolder(b"NOFLOCK\n")), timeout=2)
    with pytest.raises(BridgeError, match="flock is not installed"):
        async with server.hold("k1", timeout=1):
            pass
    await server.close()
