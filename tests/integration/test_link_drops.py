"""Exactly once under dropped links: cut the real SSH connection at each step of an ask.

The cut kills the sshd process that serves our connection (its master keeps listening), as a
dropped WireGuard link or a restarted sshd would: tmux and the agent on the host never notice.
After every run the demo agent's log must hold the prompt exactly once, and the reply must be right.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from bridge.api import Bridge
from bridge.config.registry import Registry
from tests.helpers.fixtures import Sshd, TmuxServer, agent_toml, free_port, keygen, start_sshd, wait_for

pytestmark = pytest.mark.integration

RUNS = 20  # per cut point, as the hardening issue asks


def cut_connections(sshd: Sshd) -> None:
    """Kill every per-connection sshd child of the test sshd (the listener stays)."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(sshd.pid)], capture_output=True, text=True)
    for pid in out.stdout.split():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)


@pytest.fixture
def demo(tmux_server: TmuxServer, tmp_path: Path) -> Path:
    log = tmp_path / "prompts.jsonl"
    pane = tmux_server.new_pane("demo", f"{sys.executable} -m bridge.demo --delay 0.5 --log {log}")
    wait_for(lambda: "? for shortcuts" in tmux_server.capture(pane), 10)
    return log


@pytest.fixture
async def bridge(
    sshd: Sshd, tmux_server: TmuxServer, make_registry: Callable[..., Path]
) -> AsyncIterator[Bridge]:
    registry = make_registry(
        sshd.host_toml("vps", tmux_socket=tmux_server.socket, connect_timeout=3),
        agent_toml("demo", "vps", "demo", profile="demo"),
    )
    async with Bridge(Registry.load(registry)) as b:
        yield b


@pytest.mark.parametrize("point", ["pasted", "entered", "waiting"])
async def test_cut_at_each_step_loses_and_doubles_nothing(
    bridge: Bridge, demo: Path, sshd: Sshd, point: str
) -> None:
    for run in range(RUNS):
        prompt = f"cut {point} try {run}"
        driver = await bridge.driver("demo")
        fired: list[str] = []

        async def checkpoint(reached: str, point: str = point, fired: list[str] = fired) -> None:
            if reached == point and not fired:
                fired.append(reached)
                cut_connections(sshd)

        driver.checkpoint = checkpoint
        if point == "waiting":
            # Cut while the agent is thinking: after the prompt was taken.
            async def cut_when_busy(reached: str, fired: list[str] = fired) -> None:
                if reached == "entered" and not fired:
                    fired.append(reached)
                    cut_connections(sshd)

            driver.checkpoint = cut_when_busy
        reply = await driver.ask(prompt, timeout=30)
        assert fired, "the cut happened"
        assert reply.reply == f"MOCK-REPLY: {prompt}"
    prompts = [json.loads(line)["prompt"] for line in demo.read_text().splitlines()]
    assert prompts == [f"cut {point} try {r}" for r in range(RUNS)], "0 lost, 0 doubled"


async def test_cut_after_paste_and_enter_in_one_go(
    sshd: Sshd, tmux_server: TmuxServer, make_registry: Callable[..., Path], tmp_path: Path
) -> None:
    """A profile with no gap (a shell) gets paste and Enter in one tmux command list; a cut right
    after it must not run the command twice nor lose its output."""
    ran = tmp_path / "ran"
    tmux_server.new_pane("sh")
    registry = make_registry(
        sshd.host_toml("vps", tmux_socket=tmux_server.socket, connect_timeout=3),
        agent_toml("sh", "vps", "sh:0.0", profile="shell"),
    )
    async with Bridge(Registry.load(registry)) as bridge:
        for run in range(5):
            driver = await bridge.driver("sh")
            fired: list[str] = []

            async def checkpoint(reached: str, fired: list[str] = fired) -> None:
                if reached == "pasted" and not fired:
                    fired.append(reached)
                    cut_connections(sshd)

            driver.checkpoint = checkpoint
            reply = await driver.ask(f"echo run-{run} >> {ran}; echo done-$(({run}*7))", timeout=30)
            assert fired, "the cut happened"
            assert reply.reply == f"done-{run * 7}"
    assert ran.read_text().split() == [f"run-{r}" for r in range(5)], "0 lost, 0 doubled"


async def test_cut_before_anything_is_typed(bridge: Bridge, demo: Path, sshd: Sshd) -> None:
    await bridge.state("demo")  # a warm connection
    cut_connections(sshd)
    reply = await bridge.ask("demo", "after a cold cut", timeout=30)
    assert reply.reply == "MOCK-REPLY: after a cold cut"
    assert [json.loads(line)["prompt"] for line in demo.read_text().splitlines()] == ["after a cold cut"]


def _keys(tmp_path: Path) -> tuple[Path, Path, Path, Path, Path, int]:
    """Throwaway keys for a private sshd on a free port: work dir, host key, client key,
    authorized_keys, known_hosts, port."""
    work = tmp_path / "sshd"
    work.mkdir(mode=0o700)
    host_key, client_key = work / "host", work / "client"
    keygen(host_key)
    keygen(client_key)
    authorized = work / "authorized_keys"
    authorized.write_text(Path(f"{client_key}.pub").read_text())
    port = free_port()
    pub = Path(f"{host_key}.pub").read_text().split()
    known = work / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {pub[0]} {pub[1]}\n")
    return work, host_key, client_key, authorized, known, port


@pytest.fixture
def own_sshd(tmp_path: Path) -> Iterator[tuple[Sshd, Callable[[], None]]]:
    """A private sshd (not the session's) and a function that restarts it on the same port."""
    work, host_key, client_key, authorized, known, port = _keys(tmp_path)
    procs = [start_sshd(work, host_key, authorized, port)]
    pub = Path(f"{host_key}.pub").read_text().split()
    user = subprocess.run(["id", "-un"], capture_output=True, text=True, check=True).stdout.strip()
    info = Sshd("127.0.0.1", port, user, client_key, known, " ".join(pub[:2]), procs[0].pid)

    def restart() -> None:
        cut_connections(Sshd("127.0.0.1", port, user, client_key, known, "", procs[-1].pid))
        procs[-1].kill()
        procs[-1].wait(10)
        procs.append(start_sshd(work, host_key, authorized, port))

    yield info, restart
    for proc in procs:
        proc.kill()
        proc.wait(10)


@pytest.mark.parametrize("point", ["pasted", "entered"])
async def test_sshd_restarted_at_each_step(
    own_sshd: tuple[Sshd, Callable[[], None]], tmux_server: TmuxServer, demo: Path,
    make_registry: Callable[..., Path], point: str,
) -> None:
    server, restart = own_sshd
    registry = make_registry(
        server.host_toml("vps", tmux_socket=tmux_server.socket, connect_timeout=3),
        agent_toml("demo", "vps", "demo", profile="demo"),
        name="own.toml",
    )
    async with Bridge(Registry.load(registry)) as bridge:
        for run in range(RUNS):
            prompt = f"restart {point} try {run}"
            driver = await bridge.driver("demo")
            fired: list[str] = []

            async def checkpoint(reached: str, fired: list[str] = fired, point: str = point) -> None:
                if reached == point and not fired:
                    fired.append(reached)
                    await asyncio.to_thread(restart)

            driver.checkpoint = checkpoint
            reply = await driver.ask(prompt, timeout=30)
            assert fired and reply.reply == f"MOCK-REPLY: {prompt}"
    prompts = [json.loads(line)["prompt"] for line in demo.read_text().splitlines()]
    assert prompts == [f"restart {point} try {r}" for r in range(RUNS)], "0 lost, 0 doubled"


async def test_a_refused_channel_is_tried_again(tmp_path: Path) -> None:
    """sshd refuses a session while MaxSessions is full; the command runs once a slot frees."""
    from bridge.config import HostSpec
    from bridge.errors import HostError
    from bridge.transport.ssh import SSHTransport

    work, host_key, client_key, authorized, known, port = _keys(tmp_path)
    proc = start_sshd(work, host_key, authorized, port, extra=("MaxSessions 1",))
    spec = HostSpec(address="127.0.0.1", port=port, identity_file=str(client_key), known_hosts=str(known))
    transport = SSHTransport("box", spec)
    try:
        holder = await transport.open_process(["cat"])  # takes the only session
        # Busy for longer than every retry: refused, said clearly.
        with pytest.raises(HostError, match="refused a new SSH channel"):
            await transport.run(["echo", "never"])
        # Busy for a moment: the retry gets in, the command runs once.
        asyncio.get_running_loop().call_later(0.2, holder.close)
        result = await transport.run(["echo", "ran"])
        assert (result.exit_status, result.stdout) == (0, "ran\n")
    finally:
        await transport.close()
        proc.kill()
        proc.wait(10)
