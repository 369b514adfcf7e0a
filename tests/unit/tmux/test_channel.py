"""The control channel without tmux: pairing, watching and failure logic against a scripted fake
process (:mod:`tests.unit.tmux.fake_tmux`).

The real-tmux round trips of the same rules are in tests/integration/test_control.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from bridge.errors import BridgeError, TargetNotFoundError
from bridge.tmux.channel import ControlChannel
from tests.unit.tmux.fake_tmux import Answer, FakeTmux, FakeTransport, echo, open_fake


async def test_open_argv_and_command_roundtrip() -> None:
    channel, fake, transport = await open_fake()
    assert transport.argv == [
        "tmux", "-S", "/tmp/sock", "-u", "-C", "attach-session", "-f", "ignore-size", "-t", "=agents",
    ]  # fmt: skip
    result = await channel.command("display-message", "-p", "hello $HOME")
    assert (result.exit_status, result.stdout, result.stderr) == (0, "hello \\$HOME\n", "")
    assert fake.lines[-1] == b'display-message "-p" "hello \\$HOME"'
    bad = await channel.command("nosuch")
    assert (bad.exit_status, bad.stdout) == (1, "")
    assert bad.stderr == "parse error: unknown command: nosuch\n"
    await channel.close()
    assert channel.closed and channel.error is None


async def test_open_private_session_argv() -> None:
    fake = FakeTmux(echo)
    transport = FakeTransport(fake)
    channel = await ControlChannel.open(transport, None)
    assert channel.own_session and channel.session.startswith("agent-bridge-ctl-")
    assert transport.argv == [
        "tmux", "-u", "-C", "new-session", "-f", "ignore-size", "-s", channel.session, "cat",
    ]  # fmt: skip
    assert "destroy-unattached" not in " ".join(transport.argv)  # crashes tmux 3.3a (see docs)
    assert fake.lines[-1].startswith(b"list-sessions")  # looked for stale private sessions
    with pytest.raises(BridgeError, match="own session"):
        await channel.watch("%1")
    await channel.close()
    assert fake.lines[-1] == f'kill-session "-t" "={channel.session}"'.encode()


async def test_open_fails_when_attach_fails() -> None:
    fake = FakeTmux(echo)
    fake.out = asyncio.Queue()
    fake.push(b"can't find session: agents\n%exit\n")
    with pytest.raises(TargetNotFoundError, match="can't find session: agents"):
        await ControlChannel.open(FakeTransport(fake), None, session="agents")


async def test_concurrent_callers_get_their_own_answers() -> None:
    channel, _, _ = await open_fake()

    async def caller(n: int) -> list[str]:
        got = []
        for i in range(5):
            result = await channel.command("display-message", "-p", f"{n}-{i}")
            got.append(result.stdout)
        return got

    results = await asyncio.gather(*(caller(n) for n in range(10)))
    assert results == [[f"{n}-{i}\n" for i in range(5)] for n in range(10)]
    batch = await channel.commands(
        [("display-message", "-p", "a"), ("nosuch",), ("display-message", "-p", "b")]
    )
    assert [r.exit_status for r in batch] == [0, 1, 0]
    await channel.close()


async def test_callers_in_one_turn_of_the_loop_share_one_write() -> None:
    """16 callers at once: one write (one SSH packet) carries all their lines, in their order."""
    channel, fake, _ = await open_fake()
    writes = fake.writes
    results = await asyncio.gather(*(channel.command("display-message", "-p", f"n{i}") for i in range(16)))
    assert [r.stdout for r in results] == [f"n{i}\n" for i in range(16)]
    assert len(writes) == 1 and writes[0].count(b"\n") == 16
    assert (await channel.command("display-message", "-p", "later")).stdout == "later\n"
    assert len(writes) == 2
    await channel.close()


class ChunkyTmux(FakeTmux):
    """FakeTmux whose output arrives cut every ``size`` bytes, wherever that falls in a line."""

    def __init__(self, reply: Callable[[bytes], Answer | list[Answer] | None], size: int) -> None:
        super().__init__(reply)
        self.size, self.rest = size, b""

    async def read(self) -> bytes:
        if not self.rest:
            self.rest = await self.out.get()
            while not self.out.empty() and self.rest:
                self.rest += self.out.get_nowait()
            if not self.rest:
                return b""
        chunk, self.rest = self.rest[: self.size], self.rest[self.size :]
        return chunk


@pytest.mark.parametrize("size", [1, 5, 64, 4096])
async def test_output_cut_anywhere_reads_the_same(size: int) -> None:
    def reply(line: bytes) -> Answer | list[Answer] | None:
        text = line.decode()
        if text.startswith("capture-pane"):
            return True, ["row one", "x" * 300, "", "\u00e9t\u00e9 \u65e5\u672c"]
        return echo(line)

    fake = ChunkyTmux(reply, size)
    channel = await ControlChannel.open(FakeTransport(fake), "/tmp/sock", session="agents")
    watcher = await channel.watch("%1")
    fake.push(b"%output %1 some\\015\\012bytes\n")
    results = await asyncio.gather(
        channel.command("capture-pane", "-p", "-t", "%1"), channel.command("display-message", "-p", "two")
    )
    assert results[0].stdout == "row one\n" + "x" * 300 + "\n\n\u00e9t\u00e9 \u65e5\u672c\n"
    assert results[1].stdout == "two\n"
    assert await watcher.changed(1.0)  # the %output woke it
    await channel.close()


async def test_timeout_leaves_the_queue_in_step() -> None:
    channel, fake, _ = await open_fake()
    with pytest.raises(BridgeError, match="longer than"):
        await channel.command("hang", timeout=0.05)
    # its block arrives late: it must be skipped, not handed to the next caller
    fake.block(True, ["late answer for hang"])
    assert (await channel.command("display-message", "-p", "next")).stdout == "next\n"
    await channel.close()


async def test_death_fails_pending_and_wakes_watchers() -> None:
    channel, fake, _ = await open_fake()
    watcher = await channel.watch("%1")
    pending = asyncio.create_task(channel.command("hang"))
    waiting = asyncio.create_task(watcher.changed(30))
    await asyncio.sleep(0.01)
    fake.push(b"%exit\n")
    fake.push(b"")
    with pytest.raises(BridgeError, match="exited"):
        await asyncio.wait_for(pending, 2)
    with pytest.raises(BridgeError, match="exited"):
        await asyncio.wait_for(waiting, 2)
    assert channel.closed and channel.error is not None
    with pytest.raises(BridgeError):
        await channel.command("display-message", "-p", "x")
    await channel.close()


async def test_eof_without_exit_fails_pending() -> None:
    channel, fake, _ = await open_fake()
    pending = asyncio.create_task(channel.command("hang"))
    await asyncio.sleep(0.01)
    fake.push(b"")
    with pytest.raises(BridgeError):
        await asyncio.wait_for(pending, 2)
    await channel.close()


async def test_watcher_coalesces_and_times_out() -> None:
    channel, fake, _ = await open_fake()
    watcher = await channel.watch("%1")
    assert await watcher.changed(0.01) is False
    for _ in range(100):
        fake.push(b"%output %1 lots of bytes\\015\\012\n")
    assert await watcher.changed(1) is True
    assert await watcher.changed(0.01) is False  # one burst, one wake
    fake.push(b"%output %2 other pane\n")
    assert await watcher.changed(0.05) is False
    watcher.close()
    with pytest.raises(BridgeError, match="closed"):
        await watcher.changed(0.01)
    await channel.close()


async def test_unwatched_panes_are_never_switched_off() -> None:
    """tmux 3.3a crashes when a pane's output is switched off and on while it writes."""
    channel, fake, _ = await open_fake()
    fake.push(b"%output %2 noise\n%output %2 more noise\n")
    await asyncio.sleep(0.05)
    watcher = await channel.watch("%2")
    assert not [line for line in fake.lines if line.startswith(b"refresh-client")]
    fake.push(b"%output %2 now watched\n")
    assert await watcher.changed(1)
    with pytest.raises(TargetNotFoundError):
        await channel.watch("%9")  # not in the attached session
    await channel.close()


async def test_refuses_what_would_break_the_channel_or_the_pane() -> None:
    channel, fake, _ = await open_fake()
    sent = len(fake.lines)
    refused = [
        (("refresh-client", "-C", "80x24"), "resize"),
        (("refresh", "-lC", "80x24"), "resize"),
        (("if-shell", "true", "display-message -p x"), "pairing"),
        (("run-shell", "sleep 1"), "view mode"),
        (("wait-for", "x"), "cannot wait"),
        (("switch-client", "-t", "other"), "control client itself"),
        (("new-session", "-s", "x"), "without -d"),
        (("command-prompt",), "interactive"),
    ]
    for args, reason in refused:
        with pytest.raises(ValueError, match=reason):
            await channel.command(*args)
    assert len(fake.lines) == sent  # nothing was written
    await channel.command("refresh-client", "-A", "%1:on")  # other uses are fine
    await channel.command("new-session", "-d", "-s", "x")
    await channel.close()
