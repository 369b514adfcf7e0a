"""One caller at a time per pane: two processes asking one agent never interleave."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.fixtures import REPO, Sshd, TmuxServer, agent_toml, local_host_toml, run_cli, wait_for

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "bridge", "--no-broker"]


@pytest.fixture
def setup(tmux_server: TmuxServer, tmp_path: Path, make_registry: Callable[..., Path]) -> tuple[Path, Path]:
    log = tmp_path / "prompts.jsonl"
    pane = tmux_server.new_pane("demo", f"{sys.executable} -m bridge.demo --delay 0.2 --log {log}")
    wait_for(lambda: "? for shortcuts" in tmux_server.capture(pane), 10)
    registry = make_registry(
        local_host_toml("here", tmux_server.socket), agent_toml("demo", "here", "demo", profile="demo")
    )
    return registry, log


def test_two_processes_take_turns(setup: tuple[Path, Path]) -> None:
    registry, log = setup
    results: dict[str, subprocess.CompletedProcess[bytes]] = {}

    def ask(name: str, prompt: str, *extra: str) -> None:
        results[name] = run_cli("--config", str(registry), *extra, "ask", "demo", prompt, timeout=60)

    first = threading.Thread(target=ask, args=("a", "delay2 first caller", "--no-broker"))
    first.start()
    wait_for(lambda: log.exists() and "delay2 first caller" in log.read_text(), 20)  # the first is in
    second = threading.Thread(target=ask, args=("b", "second caller"))
    second.start()
    first.join(60)
    second.join(60)
    assert results["a"].returncode == 0, results["a"].stderr
    assert results["b"].returncode == 0, results["b"].stderr
    assert results["a"].stdout.decode().strip() == "MOCK-REPLY: delay2 first caller"
    assert results["b"].stdout.decode().strip() == "MOCK-REPLY: second caller"
    prompts = [json.loads(line)["prompt"] for line in log.read_text().splitlines()]
    assert prompts == ["delay2 first caller", "second caller"], "typed once each, in turn"


def _typed(log: Path, prompt: str) -> bool:
    return log.exists() and prompt in log.read_text()


def test_second_caller_gives_up_clearly(setup: tuple[Path, Path]) -> None:
    registry, log = setup
    holder = subprocess.Popen(
        [*CLI, "--config", str(registry), "ask", "demo", "delay4 hold"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        wait_for(lambda: _typed(log, "delay4 hold"), 20)  # it holds the lock while the agent works
        began = time.monotonic()
        result = run_cli("--config", str(registry), "--json", "ask", "demo", "me too", "--timeout", "1")
        assert result.returncode == 4, result.stderr
        assert json.loads(result.stdout)["state"] == "locked"
        assert b"in use by another caller" in result.stderr
        assert time.monotonic() - began < 10
    finally:
        holder.wait(30)
    assert holder.returncode == 0


def test_killed_holder_leaves_no_lock(setup: tuple[Path, Path]) -> None:
    registry, log = setup
    holder = subprocess.Popen(
        [*CLI, "--config", str(registry), "ask", "demo", "delay2 doomed"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: _typed(log, "delay2 doomed"), 20)  # killed while it holds the lock
    holder.send_signal(signal.SIGKILL)
    holder.wait(10)
    # The lock died with its holder: the next caller is not "locked" out, it sees the agent itself.
    state = run_cli("--config", str(registry), "--json", "ask", "demo", "too early", "--timeout", "1")
    assert state.returncode in (0, 4) and b"locked" not in state.stdout, state.stdout
    wait_for(lambda: run_cli("--config", str(registry), "state", "demo").stdout == b"idle\n", 15, 0.2)
    result = run_cli("--config", str(registry), "ask", "demo", "after the crash", "--timeout", "15")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().strip() == "MOCK-REPLY: after the crash"


async def test_one_process_many_callers_share_one_holder(setup: tuple[Path, Path]) -> None:
    """Four asks at once through one Bridge: one lock holder on the host, typed once each, in turn."""
    from bridge.api import Bridge

    registry, log = setup
    async with Bridge.from_config(registry) as bridge:
        replies = await asyncio.gather(*(bridge.ask("demo", f"caller {i}", timeout=60) for i in range(4)))
        assert len(bridge.holding.locks) == 1
        # bash + flock: the shared holder
        assert next(iter(bridge.holding.locks.values())).unavailable is None
    assert sorted(r.reply for r in replies) == [f"MOCK-REPLY: caller {i}" for i in range(4)]
    prompts = [json.loads(line)["prompt"] for line in log.read_text().splitlines()]
    assert sorted(prompts) == [f"caller {i}" for i in range(4)], "each typed exactly once"


@pytest.mark.parametrize("where", ["local", "ssh"])
async def test_shared_holder_and_per_lock_holder_exclude_each_other(
    tmp_path: Path, where: str, request: pytest.FixtureRequest
) -> None:
    """Hosts without bash use one sh per lock: both kinds lock the same file, so they take turns."""
    from bridge.config import HostSpec
    from bridge.errors import AgentNotReadyError
    from bridge.tmux.flock import pane_lock
    from bridge.tmux.lock import LockServer
    from bridge.transport import Transport
    from bridge.transport.local import LocalTransport
    from bridge.transport.ssh import SSHTransport

    transport: Transport = LocalTransport("here")
    if where == "ssh":
        sshd: Sshd = request.getfixturevalue("sshd")
        transport = SSHTransport("box", HostSpec(
            address=sshd.host, port=sshd.port, user=sshd.user,
            identity_file=str(sshd.client_key), known_hosts=str(sshd.known_hosts),
        ))  # fmt: skip
    key = f"test-{tmp_path.name[-20:]}-{time.monotonic_ns()}"
    server = LockServer(transport)
    try:
        async with pane_lock(transport, key, timeout=5, agent="a"):
            with pytest.raises(AgentNotReadyError, match="in use by another caller"):
                async with server.hold(key, timeout=0.5, agent="b"):
                    pytest.fail("took a lock that another holder has")
        async with server.hold(key, timeout=5, agent="b"):
            with pytest.raises(AgentNotReadyError, match="in use by another caller"):
                async with pane_lock(transport, key, timeout=1, agent="a"):
                    pytest.fail("took a lock that the shared holder has")
        async with pane_lock(transport, key, timeout=5, agent="a"):
            pass  # released by the shared holder
    finally:
        await server.close()
        await transport.close()


@pytest.mark.parametrize("where", ["local", "ssh"])
async def test_a_lock_tells_whether_anyone_else_held_it_since_a_mark(
    tmp_path: Path, where: str, request: pytest.FixtureRequest
) -> None:
    """Every take adds one to the count in the lock file; a process that sees exactly its own
    take since its last one knows nobody else held the pane in between (and may trust a look
    taken while it was taking the lock)."""
    from bridge.tmux.flock import pane_lock
    from bridge.tmux.lock import LockServer, Mark
    from bridge.transport import Transport
    from bridge.transport.local import LocalTransport

    transport: Transport = LocalTransport("here")
    if where == "ssh":
        from tests.helpers.fixtures import ssh_transport

        transport = ssh_transport(request.getfixturevalue("sshd"))
    key = f"test-{tmp_path.name[-20:]}-{time.monotonic_ns()}"
    mine, theirs = LockServer(transport), LockServer(transport)  # two processes' holders

    async def untouched(before: Mark) -> bool:
        async with mine.hold(key, timeout=5) as held:
            return held.untouched_since(before)

    try:
        assert not await untouched(mine.mark(key)), "a first take knows nothing"
        assert await untouched(mine.mark(key)), "only this process took it since"
        mark = mine.mark(key)
        async with theirs.hold(key, timeout=5):
            pass
        assert not await untouched(mark), "another process held it in between"
        mark = mine.mark(key)
        async with pane_lock(transport, key, timeout=5):
            pass
        assert not await untouched(mark), "the one-sh-per-lock holder counts too"
        mark = mine.mark(key)
        async with mine.hold(key, timeout=5):
            pass
        assert not await untouched(mark), "another caller of this process took it after the mark"
        async with mine.hold(key, timeout=5):
            mark = mine.mark(key)
        assert not await untouched(mark), "a caller of this process held it at the mark"
        assert await untouched(mine.mark(key))
    finally:
        await mine.close()
        await theirs.close()
        await transport.close()


async def test_a_look_taken_while_waiting_for_the_lock_is_taken_again(setup: tuple[Path, Path]) -> None:
    """An ask looks at the pane while its lock is being taken (one round trip for both). When
    another caller held the lock meanwhile, that look may be stale, and it is taken again."""
    from bridge.api import Bridge
    from bridge.driver import Driver, Observation

    registry, _ = setup

    def counted(driver: Driver) -> list[int]:
        looks = [0]
        observe = driver._observe_once  # every look goes through it

        async def counting(*, history: int = 0) -> Observation:
            looks[0] += 1
            return await observe(history=history)

        driver._observe_once = counting  # type: ignore[method-assign]
        return looks

    async def first_look(bridge: Bridge, driver: Driver) -> Observation:
        async with bridge.exclusive(driver, 10, look=True) as first:
            assert first is not None
            return first

    async with Bridge.from_config(registry) as mine, Bridge.from_config(registry) as theirs:
        await mine.ask("demo", "warm up", timeout=30)
        driver = await mine.driver("demo")
        looks = counted(driver)
        assert "warm up" in (await first_look(mine, driver)).text
        assert looks == [0], "the lock was kept and the pane did not change: the last look holds"

        await driver.tmux.type_literal(driver.pane, "x")  # the pane changes (the lock is still kept)
        await driver.wait_for(lambda o: "❯\u00a0x" in o.text, 10, what="the x")
        looks[0] = 0
        assert "❯\u00a0x" in (await first_look(mine, driver)).text
        assert looks == [1], "nobody else held it: the look taken meanwhile is trusted"

        other = await theirs.driver("demo")
        began = time.monotonic()
        async with theirs.exclusive(other, 10):
            assert time.monotonic() - began < 5, "mine kept the lock (keep_lock 60 s) but let go when asked"
            looks[0] = 0
            waiting = asyncio.create_task(first_look(mine, driver))
            deadline = time.monotonic() + 10
            while looks[0] == 0 and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.2)  # the early look is back; the lock is not ours yet
            assert not waiting.done()
            await other.tmux.type_literal(other.pane, "typed meanwhile")
            await other.wait_for(lambda o: "typed meanwhile" in o.text, 10, what="the text")
        first = await waiting
        assert "typed meanwhile" in first.text, first.text
        assert looks == [2]


@pytest.mark.parametrize("where", ["local", "ssh"])
async def test_a_kept_lock_is_taken_again_at_once_and_let_go_when_another_caller_wants_it(
    tmp_path: Path, where: str, request: pytest.FixtureRequest
) -> None:
    """A hold with ``keep`` keeps the lock: this process takes it again without asking the host;
    another process's holder (either kind) that finds it taken asks for it and gets it at once;
    a caller that is still holding it is not interrupted; a keep also ends by itself."""
    from bridge.tmux.flock import pane_lock
    from bridge.tmux.lock import LockServer
    from bridge.transport import Transport
    from bridge.transport.local import LocalTransport

    transport: Transport = LocalTransport("here")
    if where == "ssh":
        from tests.helpers.fixtures import ssh_transport

        transport = ssh_transport(request.getfixturevalue("sshd"))
    key = f"test-{tmp_path.name[-20:]}-{time.monotonic_ns()}"
    uid = (await transport.run(["id", "-u"])).stdout.strip()
    lock_file = f"/tmp/agent-bridge-locks-{uid}/{key}.lock"
    mine, theirs = LockServer(transport), LockServer(transport)

    async def free() -> bool:  # flock itself: a taker that never asks anyone to let go
        return (await transport.run(["flock", "-n", lock_file, "true"])).ok

    async def freed() -> bool:  # the holder lets go on its own channel: soon, not at once
        for _ in range(40):
            if await free():
                return True
            await asyncio.sleep(0.05)
        return False

    async def taken_by_theirs_within() -> float:
        began = time.monotonic()
        async with theirs.hold(key, timeout=10):
            return time.monotonic() - began

    try:
        async with mine.hold(key, timeout=5, keep=60) as held:
            assert not held.kept
        assert mine.keeps(key) and not await free(), "kept after the hold ended"
        count = (await transport.run(["cat", lock_file])).stdout
        mark = mine.mark(key)
        async with mine.hold(key, timeout=5, keep=60) as held:
            assert held.kept and held.untouched_since(mark)
        assert (await transport.run(["cat", lock_file])).stdout == count, "taken again without a take"

        assert await taken_by_theirs_within() < 5, "another process asked and got it (keep was 60 s)"
        assert not mine.keeps(key)
        mark = mine.mark(key)
        async with mine.hold(key, timeout=5, keep=60) as held:
            assert not held.kept and not held.untouched_since(mark), "theirs held it in between"

        began = time.monotonic()
        async with pane_lock(transport, key, timeout=10):  # the one-sh-per-lock holder asks too
            assert time.monotonic() - began < 5 and not mine.keeps(key)

        async with mine.hold(key, timeout=5, keep=60):
            waiting = asyncio.create_task(taken_by_theirs_within())
            await asyncio.sleep(0.5)
            assert not waiting.done(), "a holder is never interrupted"
        assert await asyncio.wait_for(waiting, 10) < 5
        assert not mine.keeps(key), "wanted while held: let go at the end, not kept"

        with pytest.raises(RuntimeError):
            async with mine.hold(key, timeout=5, keep=60):
                raise RuntimeError("the ask failed")
        assert not mine.keeps(key) and await freed(), "a hold that failed is not kept"

        await asyncio.sleep(2.1)  # CONTESTED_S after theirs asked
        async with mine.hold(key, timeout=5, keep=0.3):
            pass
        assert mine.keeps(key)
        await asyncio.sleep(0.8)
        assert not mine.keeps(key) and await freed(), "the keep ended by itself"
    finally:
        await mine.close()
        await theirs.close()
        await transport.close()
