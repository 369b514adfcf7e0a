"""tmux control mode through real parts: tmux 3.3a on a private socket, locally and over a real sshd.

Every test runs twice: with :class:`LocalTransport` (a subprocess) and with :class:`SSHTransport`
(one SSH session channel on a pooled asyncssh connection to sshd on 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import statistics
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bridge.errors import BridgeError, HostUnreachableError, TargetNotFoundError
from bridge.tmux import Tmux
from bridge.tmux.channel import ControlChannel
from bridge.tmux.link import ControlLink
from bridge.tmux.paste import paste_via_control
from bridge.tmux.protocol import Chain
from bridge.tmux.quoting import quote
from bridge.transport.local import LocalTransport
from bridge.transport.ssh import SSHTransport
from tests.helpers.fixtures import (
    Sshd,
    TmuxServer,
    agent_toml,
    local_host_toml,
    received,
    run_cli,
    ssh_transport,
    wait_for,
)
from tests.helpers.texts import NASTY_LINES, nasty_text

pytestmark = pytest.mark.integration


HOSTILE = [
    "plain",
    "",
    "say \"hi\" and 'bye'",
    "$HOME ${x} $(id) $((1+1)) `id`",
    ";",
    "a;",
    "\\;",
    "a \\; b ; c",
    "#{pane_id} #{session_name} #S #[fg=red] ## #(id)",
    "~",
    "~/x ~user a~b",
    "line one\nline two\n\nend\n",
    "\ttab\r\ncrlf\x1b[31mred\x1b[0m",
    "héllo wörld — 日本語 — 한국어",
    "שלום עולם and العربية \u202e override",
    "zero\u200bwidth\u200d joiner\ufeff bom",
    "emoji 🙂👍🏽 🇩🇪 👨‍👩‍👧",
    "trailing backslash \\",
    "\\",
    "\\\\ \\n \\t \\e \\u0041 \\101 \\x41 \\$",
    "{ } %if 1 %endif # not a comment",
    "%begin 1 2 1",
    "%end 1795288164 270 1\n%exit",
    "-n",
    "--",
    "   spaces   ",
    "".join(chr(c) for c in range(1, 32)) + "\x7f",  # every C0 control but NUL, and DEL
    "\x80\x9f\xa0\xff",  # C1 code points and Latin-1 as UTF-8 text
    "x" * 16384,
    "\n".join(f"{i:04d};\\;$x`y`#{{z}}~\"'" for i in range(700)),  # ~16 KB of mixed nastiness
]


def random_hostile(rng: random.Random, n: int) -> str:
    pieces = ['"', "'", "\\", "$", "${x}", "~", ";", "\\;", "#{pane_id}", "#[fg=red]", "`", "\n",
              "\t", "\r", "\x1b", "é", "日", "🙂", "\u200b", "\u202e", " ", "a", "%", "{", "}", "\x01",
              "\x7f"]  # fmt: skip
    return "".join(rng.choice(pieces) for _ in range(n))


async def until(predicate: Callable[[], object], timeout: float) -> None:
    """``wait_for`` that lets the event loop (and so the channel's reader) run meanwhile."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"condition not met within {timeout}s"
        await asyncio.sleep(0.02)


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def agent_pane(tmux_server: TmuxServer) -> str:
    return tmux_server.new_pane("agents")


@pytest.fixture
async def channel(
    transport: LocalTransport | SSHTransport, tmux_server: TmuxServer, agent_pane: str
) -> AsyncIterator[ControlChannel]:
    ch = await ControlChannel.open(transport, tmux_server.socket, session="agents")
    try:
        yield ch
    finally:
        await ch.close()


# -- commands ---------------------------------------------------------------------------------


async def test_command_round_trip(
    channel: ControlChannel,
    agent_pane: str,
    transport: LocalTransport | SSHTransport,
    tmux_server: TmuxServer,
) -> None:
    result = await channel.command("display-message", "-p", "-t", agent_pane, "#{pane_id} #{window_width}")
    assert (result.exit_status, result.stdout, result.stderr) == (0, f"{agent_pane} 200\n", "")
    assert result.argv[0] == "tmux"
    lines = await channel.command("display-message", "-p", "one\ntwo")
    assert lines.stdout == "one\ntwo\n"
    empty = await channel.command("display-message", "-p", "")
    assert empty.stdout == "\n"
    bad = await channel.command("kill-pane", "-t", "%999")
    assert (bad.exit_status, bad.stdout) == (1, "")
    assert "can't find pane" in bad.stderr
    parse = await channel.command("no-such-command")
    assert parse.exit_status == 1 and "unknown command" in parse.stderr
    with pytest.raises(TargetNotFoundError):
        await channel.check("capture-pane", "-p", "-t", "%999", target="%999")
    # capture-pane through the channel is what the CLI prints
    via_channel = (await channel.command("capture-pane", "-p", "-e", "-J", "-t", agent_pane)).stdout
    argv = ["tmux", "-u", "-S", tmux_server.socket, "capture-pane", "-p", "-e", "-J", "-t", agent_pane]
    assert via_channel == (await transport.run(argv)).stdout


async def test_fifty_commands_from_ten_tasks(channel: ControlChannel) -> None:
    async def worker(n: int) -> list[str]:
        out = []
        for i in range(5):
            result = await channel.command("display-message", "-p", f"task {n} call {i} #{{pane_id}}")
            out.append(result.stdout)
            await asyncio.sleep(0)
        return out

    results = await asyncio.gather(*(worker(n) for n in range(10)))
    pane = (await channel.command("display-message", "-p", "#{pane_id}")).stdout.strip()
    assert results == [[f"task {n} call {i} {pane}\n" for i in range(5)] for n in range(10)]
    batch = await channel.commands([("display-message", "-p", str(i)) for i in range(50)])
    assert [r.stdout for r in batch] == [f"{i}\n" for i in range(50)]


# -- quoting: byte-exact through tmux's own parser ---------------------------------------------


async def roundtrip(channel: ControlChannel, texts: list[str], tmp_path: Path) -> list[bytes]:
    """set-buffer each text (quoted), save-buffer it to a file; return the files' bytes."""
    commands: list[tuple[str, ...]] = []
    for i, text in enumerate(texts):
        commands.append(("set-buffer", "-b", f"rt{i}", "--", text))
        commands.append(("save-buffer", "-b", f"rt{i}", str(tmp_path / f"rt{i}")))
        commands.append(("delete-buffer", "-b", f"rt{i}"))
    results = await channel.commands(commands)
    for text, result in zip(texts, results[::3], strict=True):
        assert result.ok, (text[:40], result.stderr)
    got = []
    for i, text in enumerate(texts):
        path = tmp_path / f"rt{i}"
        got.append(path.read_bytes() if path.exists() else b"" if text == "" else b"MISSING")
    return got


async def test_hostile_text_round_trips_byte_exact(channel: ControlChannel, tmp_path: Path) -> None:
    texts = [t for t in HOSTILE if t]  # set-buffer with empty data is a no-op in tmux 3.3a
    assert await roundtrip(channel, texts, tmp_path) == [t.encode() for t in texts]


async def test_random_hostile_text_round_trips(channel: ControlChannel, tmp_path: Path) -> None:
    rng = random.Random(20240531)
    texts = [random_hostile(rng, rng.randint(1, 300)) for _ in range(150)]
    assert await roundtrip(channel, texts, tmp_path) == [t.encode() for t in texts]


async def test_raw_bytes_via_surrogateescape(channel: ControlChannel, tmp_path: Path) -> None:
    raw = bytes(range(1, 256))  # everything but NUL, including invalid UTF-8
    text = raw.decode("utf-8", errors="surrogateescape")
    assert await roundtrip(channel, [text], tmp_path) == [raw]
    with pytest.raises(ValueError, match="NUL"):
        quote("nul\x00")


async def test_show_buffer_is_refused(channel: ControlChannel) -> None:
    # show-buffer prints a buffer (which a pane can fill) raw since tmux 3.4: never over control.
    with pytest.raises(ValueError, match="show-buffer"):
        await channel.command("show-buffer", "-b", "x")


async def test_semicolon_arguments_stay_arguments(channel: ControlChannel) -> None:
    for text in (";", "a ; display-message -p pwned", "\\;", "x\\"):
        result = await channel.check("display-message", "-p", "--", text)
        assert result.stdout == text + "\n"


# -- watching ---------------------------------------------------------------------------------


async def test_watch_signals_output_and_stays_quiet_when_idle(
    channel: ControlChannel, agent_pane: str, tmux_server: TmuxServer
) -> None:
    watcher = await channel.watch(agent_pane)
    # settle: let anything already on its way arrive, then expect silence
    for _ in range(20):
        if not await watcher.changed(0.3):
            break
    assert await watcher.changed(0.5) is False
    started = time.monotonic()
    await channel.check("send-keys", "-t", agent_pane, "-l", "--", "echo watched-$((6*7))")
    await channel.check("send-keys", "-t", agent_pane, "Enter")
    assert await watcher.changed(5) is True
    took = time.monotonic() - started
    print(f"\n[{channel.host}] changed() fired {took * 1000:.1f} ms after send-keys")
    assert took < 1.0
    wait_for(lambda: "watched-42" in tmux_server.capture(agent_pane), 5)
    for _ in range(20):  # the burst coalesces: a few wakes at most, then quiet
        if not await watcher.changed(0.3):
            break
    else:
        raise AssertionError("still changing while idle")
    assert await watcher.changed(0.5) is False
    watcher.close()


async def test_a_pane_watched_later_signals_its_output(
    channel: ControlChannel, agent_pane: str, tmux_server: TmuxServer
) -> None:
    other = tmux_server.tmux("split-window", "-d", "-t", agent_pane, "-P", "-F", "#{pane_id}").stdout.strip()
    watcher = await channel.watch(agent_pane)
    tmux_server.tmux("send-keys", "-t", other, "echo noise", "Enter")
    await asyncio.sleep(0.2)  # its output arrives with nobody watching it
    flags = (await channel.check("display-message", "-p", "#{client_flags}")).stdout
    assert "ignore-size" in flags
    other_watcher = await channel.watch(other)
    tmux_server.tmux("send-keys", "-t", other, "echo signal", "Enter")
    assert await other_watcher.changed(5)
    watcher.close()
    other_watcher.close()


async def test_watch_needs_the_attached_session(
    channel: ControlChannel, tmux_server: TmuxServer
) -> None:
    elsewhere = tmux_server.new_pane("elsewhere")
    with pytest.raises(TargetNotFoundError, match="not in session agents"):
        await channel.watch(elsewhere)


# -- pasting ----------------------------------------------------------------------------------


# "%end 1 2 1" would close a control-mode block if tmux passed command output through unguarded.
CONTROL_LINES = [*NASTY_LINES, "%end 1 2 1"]


async def test_paste_via_control_byte_exact(
    transport: LocalTransport | SSHTransport, tmux_server: TmuxServer, receiver_pane: tuple[str, Path]
) -> None:
    pane, out = receiver_pane
    # the pane is in raw mode: every byte, controls included, must arrive as sent
    unit = nasty_text(200, CONTROL_LINES) + "\n" + random_hostile(random.Random(7), 1000) + "\n"
    one_mb = (unit * (1_000_000 // len(unit) + 1))[:1_000_000]
    async with await ControlChannel.open(transport, tmux_server.socket) as channel:
        texts = [nasty_text(200, CONTROL_LINES), one_mb]
        for i, text in enumerate(texts):
            started = time.monotonic()
            await paste_via_control(channel, pane, text)
            pasted = time.monotonic()
            await channel.check("send-keys", "-t", pane, "Enter")
            got = received(out, i + 1)
            print(
                f"\n[{transport.host}] paste_via_control {len(text.encode()):,} bytes: "
                f"{(pasted - started) * 1000:.0f} ms to paste, "
                f"{(time.monotonic() - started) * 1000:.0f} ms until the receiver recorded it"
            )
            assert got[i] == text
        buffers = await channel.check("list-buffers", "-F", "#{buffer_name}")
        assert "agent-bridge-" not in buffers.stdout  # -d deleted them


async def test_paste_to_missing_pane_raises_and_cleans_up(channel: ControlChannel) -> None:
    with pytest.raises(TargetNotFoundError):
        await paste_via_control(channel, "%999", "text")
    buffers = await channel.check("list-buffers", "-F", "#{buffer_name}")
    assert "agent-bridge-" not in buffers.stdout


async def test_chain_is_one_line_that_stops_at_the_first_failure(
    channel: ControlChannel, agent_pane: str
) -> None:
    ok, failed, after = await channel.commands([
        Chain((("display-message", "-p", "a;"), ("display-message", "-p", ";"))),
        Chain((("display-message", "-p", "b"), ("paste-buffer", "-b", "agent-bridge-none", "-t", agent_pane),
               ("set-buffer", "-b", "agent-bridge-chain-test", "skipped"))),
        ("display-message", "-p", "c"),
    ])  # fmt: skip
    assert (ok.exit_status, ok.stdout) == (0, "a;\n;\n")
    assert (failed.exit_status, failed.stdout) == (1, "b\n") and "no buffer" in failed.stderr
    assert (after.exit_status, after.stdout) == (0, "c\n")  # the pairing stayed in step
    buffers = await channel.check("list-buffers", "-F", "#{buffer_name}")
    assert "agent-bridge-chain-test" not in buffers.stdout  # tmux skipped the rest of the chain


@pytest.mark.parametrize("path", ["control", "exec"])
async def test_paste_then_enter_in_one_go(
    transport: LocalTransport | SSHTransport, tmux_server: TmuxServer, tmp_path: Path, path: str
) -> None:
    pane = tmux_server.new_pane("sh")
    out = tmp_path / "ran"
    link = ControlLink(transport, tmux_server.socket, "sh") if path == "control" else None
    tmux = Tmux(transport, tmux_server.socket, control=link)
    try:
        if link is not None:
            assert await link.channel() is not None, "control mode works here"
        await tmux.paste(pane, f"echo 'one;go' >> {out}", then=["Enter"])
        await until(lambda: out.exists() and out.read_text() == "one;go\n", 10)
        # No pane: nothing typed anywhere, the buffer is gone, one clear error.
        with pytest.raises(TargetNotFoundError):
            await tmux.paste("%999", "never", then=["Enter"])
        buffers = await tmux.run("list-buffers", "-F", "#{buffer_name}")
        assert "agent-bridge-" not in buffers.stdout
        assert out.read_text() == "one;go\n"
    finally:
        if link is not None:
            await link.close()


# -- sizes, sessions, death -------------------------------------------------------------------


@pytest.mark.parametrize("window_size", ["latest", "smallest", "largest"])
async def test_control_client_never_resizes_the_agent_window(
    transport: LocalTransport | SSHTransport, tmux_server: TmuxServer, agent_pane: str, window_size: str
) -> None:
    tmux_server.tmux("set-option", "-g", "window-size", window_size)
    size = "#{window_width}x#{window_height}"
    assert tmux_server.tmux("display-message", "-p", "-t", agent_pane, size).stdout.strip() == "200x50"
    async with await ControlChannel.open(transport, tmux_server.socket, session="agents") as channel:
        watcher = await channel.watch(agent_pane)
        await channel.check("send-keys", "-t", agent_pane, "echo hi", "Enter")
        await watcher.changed(2)
        assert (await channel.check("display-message", "-p", "-t", agent_pane, size)).stdout == "200x50\n"
        # a control client that claims a size DOES resize the window when it is the only client,
        # even with ignore-size (tmux 3.3a), so the channel refuses to send one
        with pytest.raises(ValueError, match="resize"):
            await channel.command("refresh-client", "-C", "80x24")
        attached = tmux_server.tmux("display-message", "-p", "-t", agent_pane, "#{session_attached}")
        assert attached.stdout.strip() == "1"
    assert tmux_server.tmux("display-message", "-p", "-t", agent_pane, size).stdout.strip() == "200x50"


async def test_private_session_is_destroyed_on_close(
    transport: LocalTransport | SSHTransport, tmux_server: TmuxServer, agent_pane: str
) -> None:
    channel = await ControlChannel.open(transport, tmux_server.socket)
    sessions = tmux_server.tmux("list-sessions", "-F", "#{session_name}").stdout.split()
    assert channel.own_session and channel.session in sessions
    await channel.close()
    assert channel.closed and channel.error is None

    def gone() -> bool:
        names = tmux_server.tmux("list-sessions", "-F", "#{session_name}").stdout.split()
        clients = tmux_server.tmux("list-clients", "-F", "#{client_name}").stdout.split()
        return channel.session not in names and not clients

    wait_for(gone, 5)
    with pytest.raises(BridgeError, match="closed"):
        await channel.command("display-message", "-p", "x")


async def test_stale_private_sessions_are_reaped(
    transport: LocalTransport | SSHTransport, tmux_server: TmuxServer, agent_pane: str
) -> None:
    # what a channel that died without closing leaves behind: an unattached private session
    tmux_server.tmux("new-session", "-d", "-s", "agent-bridge-ctl-deadbeef", "cat")
    async with await ControlChannel.open(transport, tmux_server.socket) as channel:
        names = tmux_server.tmux("list-sessions", "-F", "#{session_name}").stdout.split()
        assert "agent-bridge-ctl-deadbeef" not in names
        assert channel.session in names and "agents" in names
        # another live channel's private session (attached) is left alone
        async with await ControlChannel.open(transport, tmux_server.socket) as other:
            names = tmux_server.tmux("list-sessions", "-F", "#{session_name}").stdout.split()
            assert channel.session in names and other.session in names


async def test_open_missing_session(
    transport: LocalTransport | SSHTransport, tmux_server: TmuxServer
) -> None:
    with pytest.raises(TargetNotFoundError, match="nosuch"):
        await ControlChannel.open(transport, tmux_server.socket, session="nosuch")


async def busy(channel: ControlChannel) -> None:
    """Keep a command in flight until the channel dies (then raise its error)."""
    while True:
        await channel.command("display-message", "-p", "busy")


async def test_kill_server_fails_pending_commands_promptly(
    channel: ControlChannel, agent_pane: str, tmux_server: TmuxServer
) -> None:
    watcher = await channel.watch(agent_pane)
    for _ in range(20):  # settle
        if not await watcher.changed(0.2):
            break
    loop = asyncio.create_task(busy(channel))
    waiting = asyncio.create_task(watcher.changed(60))
    await asyncio.sleep(0.3)
    assert not loop.done() and not waiting.done()
    started = time.monotonic()
    tmux_server.tmux("kill-server")
    with pytest.raises(BridgeError, match="exited"):
        await asyncio.wait_for(loop, 5)
    with pytest.raises(BridgeError, match="exited"):
        await asyncio.wait_for(waiting, 5)
    took = time.monotonic() - started
    print(f"\n[{channel.host}] kill-server -> pending command failed after {took * 1000:.0f} ms")
    assert took < 2
    assert channel.closed and channel.error is not None
    with pytest.raises(BridgeError):
        await channel.command("display-message", "-p", "x")


async def test_ssh_link_loss_is_host_unreachable(
    sshd: Sshd, tmux_server: TmuxServer, agent_pane: str
) -> None:
    remote = ssh_transport(sshd)
    try:
        channel = await ControlChannel.open(remote, tmux_server.socket, session="agents")
        loop = asyncio.create_task(busy(channel))
        await asyncio.sleep(0.3)
        (await remote.connection()).abort()
        with pytest.raises(HostUnreachableError):
            await asyncio.wait_for(loop, 5)
        assert isinstance(channel.error, HostUnreachableError)
        await channel.close()
        # the transport reconnects for the next user; the old control client left the server
        again = await ControlChannel.open(remote, tmux_server.socket, session="agents")
        assert (await again.command("display-message", "-p", "ok")).stdout == "ok\n"
        # sshd ends the cut session's processes: the old client leaves (soon, on a busy machine)
        for _ in range(100):
            clients = await again.check("list-clients", "-F", "#{client_name}")
            if len(clients.stdout.split()) == 1:
                break
            await asyncio.sleep(0.05)
        assert len(clients.stdout.split()) == 1
        await again.close()
    finally:
        await remote.close()


# -- cost -------------------------------------------------------------------------------------


async def test_output_flood_does_not_stall_commands(
    channel: ControlChannel, agent_pane: str, tmux_server: TmuxServer
) -> None:
    watcher = await channel.watch(agent_pane)
    tmux_server.tmux("send-keys", "-t", agent_pane, "seq 1 300000; echo flood-done", "Enter")
    times = []
    started = time.monotonic()
    while True:  # at least one command, however fast the flood was over
        t0 = time.perf_counter()
        assert (await channel.command("display-message", "-p", "x")).stdout == "x\n"
        times.append(time.perf_counter() - t0)
        if "flood-done\n" in tmux_server.capture(agent_pane).replace("$ ", ""):
            break
        await watcher.changed(0.05)
        assert time.monotonic() - started < 60
    print(
        f"\n[{channel.host}] during a 2 MB %output flood: {len(times)} commands, "
        f"median {statistics.median(times) * 1000:.2f} ms, max {max(times) * 1000:.1f} ms"
    )
    watcher.close()


# -- the driver on top: events, and polling where control mode cannot start -------------------


@pytest.fixture
def shell_agent(tmux_server: TmuxServer, make_registry: Callable[..., Path]) -> Path:
    tmux_server.new_pane("work")
    return make_registry(local_host_toml("here", tmux_server.socket), agent_toml("sh", "here", "work:0.0"))


def test_ask_rides_the_control_channel_and_wakes_on_output(shell_agent: Path) -> None:
    result = run_cli("--config", str(shell_agent), "-vv", "ask", "sh", "sleep 0.3; echo control-$((6*7))")
    log = result.stderr.decode()
    assert (result.returncode, result.stdout) == (0, b"control-42\n"), log
    assert "control on here: attached to session work" in log
    assert "(control): paste" in log and "(control): tmux" in log
    # No tmux command of the ask went out as an exec of its own.
    assert not [line for line in log.splitlines() if "bridge.tmux: tmux on here:" in line], log
    # The shell profile has no gap: Enter went with the paste, not as a send-keys of its own.
    assert "send-keys" not in log, log


def test_the_tmux_server_survives_many_asks(shell_agent: Path, tmux_server: TmuxServer) -> None:
    """Regression: switching an unwatched pane's output off and on again (refresh-client -A) while
    it wrote crashed tmux 3.3a's server in about 1 of 4 of these asks (paste and Enter at once, the
    output arriving before the wait watches it). Fresh processes, as a local agent calls the CLI."""
    server_pid = tmux_server.tmux("display-message", "-p", "#{pid}").stdout.strip()
    for i in range(16):
        command = f"sleep 0.1; echo n-$(({i}*7))"
        result = run_cli("--no-broker", "--config", str(shell_agent), "ask", "sh", command)
        assert (result.returncode, result.stdout) == (0, f"n-{i * 7}\n".encode()), result.stderr.decode()
    assert tmux_server.tmux("display-message", "-p", "#{pid}").stdout.strip() == server_pid


def test_ask_falls_back_to_polling_where_control_mode_fails(shell_agent: Path, tmp_path: Path) -> None:
    # A tmux whose control mode does not start (as on a tmux too old for attach -f), else the real one.
    real = shutil.which("tmux")
    assert real is not None
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "tmux"
    wrapper.write_text(
        "#!/bin/sh\n"
        'for a in "$@"; do [ "$a" = "-C" ] && {\n'
        '  echo "usage: attach-session [-dErx] [-c dir]" >&2; exit 1; }\n'
        "done\n"
        f'exec {real} "$@"\n'
    )
    wrapper.chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}"}
    result = run_cli("--config", str(shell_agent), "-v", "ask", "sh", "echo polled-$((6*7))", env=env)
    log = result.stderr.decode()
    assert (result.returncode, result.stdout) == (0, b"polled-42\n"), log
    said = [line for line in log.splitlines() if "control mode unavailable on here" in line]
    assert len(said) == 1 and "polling" in said[0] and "usage: attach-session" in said[0], log


def test_a_missing_window_is_not_the_current_one(
    tmux_server: TmuxServer, make_registry: Callable[..., Path]
) -> None:
    # tmux itself resolves "work:nosuch.0" to the current window's pane 0: the bridge must not.
    tmux_server.new_pane("work")
    registry = make_registry(
        local_host_toml("here", tmux_server.socket), agent_toml("sh", "here", "work:nosuch.0")
    )
    result = run_cli("--config", str(registry), "state", "sh")
    assert result.returncode == 4
    assert "no window nosuch in session work" in result.stderr.decode()
    assert b"Traceback" not in result.stderr
