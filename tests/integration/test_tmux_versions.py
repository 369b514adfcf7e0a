"""What changed in tmux 3.4+ and what the bridge does about it, on whichever tmux this run uses.

CI runs the suite on Debian's tmux 3.3a and on 3.5a (bookworm-backports); these tests pin the
behaviours that differ: command output is vis-encoded since 3.4 (names with spaces, ``$``, control
characters and newlines must read back exactly, over exec, control mode and SSH), ``%config-error``
and ``%paste-buffer-*`` notifications, OSC 8 hyperlinks in ``capture-pane -e``, and "target pane
has exited" for a paste into a dead pane.
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from bridge.errors import AgentNotReadyError, BridgeError
from bridge.screen import parse
from bridge.tmux import Tmux
from bridge.tmux.channel import ControlChannel
from bridge.tmux.link import ControlLink
from bridge.transport.local import LocalTransport
from bridge.transport.ssh import SSHTransport
from tests.conftest import TmuxServer, wait_for

pytestmark = pytest.mark.integration

# A folder name with everything that once broke a look: space, $, a backslash before digits (the
# text of an octal escape), ESC, the unit separator the old format split on, a newline, UTF-8.
ODD_DIR = "a b\\037 $|\x1bq\x1fz\u00e9N\nL $x"
ODD_WINDOW = "w $ \\ x"
ODD_SESSION = "odd session"


@pytest.fixture
def odd_pane(tmux_server: TmuxServer, tmp_path: Path) -> tuple[str, Path]:
    folder = tmp_path / ODD_DIR
    folder.mkdir()
    pane = tmux_server.tmux(
        "new-session", "-d", "-s", ODD_SESSION, "-n", ODD_WINDOW, "-x", "90", "-y", "12",
        "-c", str(folder), "-P", "-F", "#{pane_id}",
    ).stdout.strip()  # fmt: skip
    wait_for(lambda: tmux_server.capture(pane).strip(), 5)
    return pane, folder


async def test_facts_read_names_back_exactly(
    transport: LocalTransport | SSHTransport, tmux_server: TmuxServer, odd_pane: tuple[str, Path]
) -> None:
    pane, folder = odd_pane
    session = tmux_server.tmux("display-message", "-p", "-t", pane, "#{session_name}").stdout.strip()
    for control in (None, ControlLink(transport, tmux_server.socket, session)):
        tmux = Tmux(transport, tmux_server.socket, control=control)
        try:
            facts = await tmux.facts(pane)
            assert facts.pane_id == pane
            assert facts.current_path == str(folder)
            assert facts.window_name == ODD_WINDOW
            assert facts.session == ODD_SESSION
            assert (facts.width, facts.height) == (90, 12)
            assert facts.current_command == "bash"
            observed, screen, _ = await tmux.observe(pane)
            assert observed == facts
            assert "$" in screen  # the screen follows the record, whole
            # a guarded paste: tmux itself compares the names of the look with the pane's now
            await tmux.paste(pane, "echo guarded", then=["Enter"], unless_changed=facts)
            wait_for(lambda: "guarded" in tmux_server.capture(pane).split("echo guarded", 1)[-1], 5)
            tmux_server.tmux("send-keys", "-t", pane, "clear", "Enter")
            wait_for(lambda: "guarded" not in tmux_server.capture(pane), 5)
        finally:
            if control is not None:
                await control.close()


async def test_doctor_probe_reads_back(transport: LocalTransport | SSHTransport) -> None:
    facts = await Tmux(transport).probe()
    assert facts.window_name == "probe $ name\\"
    assert facts.width == 81 and facts.pane_id.startswith("%")


async def test_config_errors_do_not_break_the_channel(tmp_path: Path) -> None:
    # tmux 3.5a reports a bad config to the first client inside its attach block (%config-error)
    conf = tmp_path / "bad.conf"
    conf.write_text("set -g no-such-option on\nbind-key\n")
    socket = str(tmp_path / "s")
    subprocess.run(["tmux", "-S", socket, "-f", str(conf), "new-session", "-d", "-s", "c"], check=True)
    try:
        async with await ControlChannel.open(LocalTransport(), socket, session="c") as channel:
            result = await channel.check("display-message", "-p", "-t", "c", "#{session_name} ok")
            assert result.stdout == "c ok\n"
    finally:
        subprocess.run(["tmux", "-S", socket, "kill-server"], capture_output=True, timeout=10)


async def test_buffer_notifications_do_not_count_as_pane_changes(
    transport: LocalTransport | SSHTransport, tmux_server: TmuxServer
) -> None:
    pane = tmux_server.new_pane("agents")
    async with await ControlChannel.open(transport, tmux_server.socket, session="agents") as channel:
        watcher = await channel.watch(pane)
        for _ in range(20):  # settle
            if not await watcher.changed(0.2):
                break
        answer = await channel.command("display-message", "-p", "-t", pane, "x")
        stamp = answer.stamp  # type: ignore[attr-defined]
        for _ in range(3):  # tmux 3.4+ tells every control client: %paste-buffer-changed/-deleted
            await channel.check("set-buffer", "-b", "ab-test", "--", "text")
            await channel.check("delete-buffer", "-b", "ab-test")
        await asyncio.sleep(0.3)
        assert stamp.unchanged(pane)
        tmux_server.tmux("send-keys", "-t", pane, "echo hi", "Enter")
        await watcher.changed(5)
        assert not stamp.unchanged(pane)


async def test_hyperlinks_in_captures_read_as_their_text(tmux_server: TmuxServer) -> None:
    # tmux 3.4+ keeps OSC 8 hyperlinks in `capture-pane -e`; the screen reads the link's text
    pane = tmux_server.new_pane("links")
    tmux_server.tmux("send-keys", "-t", pane, "clear; printf '"
                     "\\033]8;;https://example.invalid/x\\033\\\\see docs\\033]8;;\\033\\\\ end\\n'", "Enter")
    wait_for(lambda: "see docs end" in tmux_server.capture(pane), 5)
    tmux = Tmux(LocalTransport(), tmux_server.socket)
    facts, screen, _ = await tmux.observe(pane)
    lines = parse(screen, facts.width, pane_height=facts.height).lines
    assert any(line.rstrip() == "see docs end" for line in lines), lines
    assert not any("8;;" in line or "example.invalid" in line for line in lines)


async def test_paste_into_a_dead_pane(tmux_server: TmuxServer) -> None:
    pane = tmux_server.new_pane("dead")
    tmux_server.tmux("set-option", "-t", pane, "-p", "remain-on-exit", "on")
    tmux_server.tmux("send-keys", "-t", pane, "exit", "Enter")
    dead = ("display-message", "-p", "-t", pane, "#{pane_dead}")
    wait_for(lambda: tmux_server.tmux(*dead).stdout.strip() == "1", 5)
    transport = LocalTransport()
    for control in (None, ControlLink(transport, tmux_server.socket, "dead")):
        tmux = Tmux(transport, tmux_server.socket, control=control)
        try:
            assert (await tmux.facts(pane)).dead
            # tmux 3.3a's server crashes on a paste into a dead pane (3.4+ refuses it): every
            # paste is guarded, so both say "dead", type nothing, leave no buffer, and the server
            # lives on
            with pytest.raises(AgentNotReadyError) as caught:
                await tmux.paste(pane, "hello", then=["Enter"])
            assert caught.value.state == "dead" and "restart" in str(caught.value)
            assert tmux_server.tmux("list-buffers", "-F", "#{buffer_name}").stdout == ""
            assert (await tmux.facts(pane)).dead  # the same server answers
        finally:
            if control is not None:
                await control.close()


async def hammer(channel: ControlChannel) -> None:
    while True:
        await channel.command("display-message", "-p", "busy")


async def test_killed_server_is_reported_as_exited_every_time(
    transport: LocalTransport | SSHTransport, tmux_server: TmuxServer
) -> None:
    # On 3.5a the answer, %exit, EOF and the channel's close arrive within ~0.2 ms: a write queued
    # meanwhile failed first and the kill was reported as "host unreachable" (7 of 50 over SSH).
    for round_ in range(6):
        socket = f"{tmux_server.socket}-{round_}"
        subprocess.run(["tmux", "-S", socket, "-f", "/dev/null", "new-session", "-d", "-s", "k"], check=True)
        channel = await ControlChannel.open(transport, socket, session="k")
        try:

            task = asyncio.create_task(hammer(channel))
            await asyncio.sleep(0.1)
            subprocess.run(["tmux", "-S", socket, "kill-server"], capture_output=True, timeout=10)
            with pytest.raises(BridgeError, match="exited") as caught:
                await asyncio.wait_for(task, 5)
            assert type(caught.value) is BridgeError, caught.value
        finally:
            await channel.close()
