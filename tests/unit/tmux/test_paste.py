"""Typing over a control channel, against a scripted fake tmux; what a refused paste says."""

from __future__ import annotations

import pytest

from bridge.errors import AgentNotReadyError, BridgeError, PaneChangedError, TargetNotFoundError
from bridge.tmux.paste import CHANGED, DEAD, MISSING, paste_buffer, paste_via_control, refused_if_changed
from bridge.transport.base import Completed
from tests.unit.tmux.fake_tmux import Answer, echo, open_fake


async def test_paste_is_one_write() -> None:
    channel, fake, _ = await open_fake()
    writes = fake.writes
    await paste_via_control(channel, "%1", "x" * 40 + "\n;$", chunk=16)
    assert len(writes) == 1
    lines = writes[0].splitlines()
    # the paste itself is guarded: tmux checks the pane is alive, then pastes (see paste_buffer)
    assert [line.split()[0] for line in lines] == [b"set-buffer"] * 3 + [b"if-shell"]
    assert lines[1].startswith(b'set-buffer "-a"')
    assert b"paste-buffer" in lines[3] and b"#{==:#{pane_dead},0}" in lines[3]
    await paste_via_control(channel, "%1", "")
    assert len(writes) == 1  # nothing to paste, nothing sent
    await channel.close()


def test_a_refused_paste_says_why() -> None:
    with pytest.raises(AgentNotReadyError):
        refused_if_changed(Completed(("tmux",), 0, f"{DEAD}\n", ""), host="h", pane="%1")
    with pytest.raises(PaneChangedError):
        refused_if_changed(Completed(("tmux",), 0, f"{CHANGED}\n", ""), host="h", pane="%1")
    with pytest.raises(TargetNotFoundError):
        refused_if_changed(Completed(("tmux",), 0, f"{MISSING}\n", ""), host="h", pane="%1")
    refused_if_changed(Completed(("tmux",), 0, "", ""), host="h", pane="%1")  # typed: no error


def test_every_paste_is_guarded_by_tmux() -> None:
    """tmux 3.3a's server crashes on a paste into a dead pane: at least "alive" is checked."""
    bare = paste_buffer("buf", "%3")
    assert bare.target == "%3" and bare.format == "#{==:#{pane_dead},0}"
    paste = ("paste-buffer", "-p", "-r", "-d", "-b", "buf", "-t", "%3")
    assert bare.then == (paste, ("send-keys", "-t", "%3"))
    assert bare.otherwise[0] == ("delete-buffer", "-b", "buf")  # typed nothing: the buffer goes
    said = bare.otherwise[1][-1]
    assert MISSING in said and DEAD in said and CHANGED in said
    guarded = paste_buffer("buf", "%3", then=["Enter"], only_if="#{==:#{cursor_x},4}")
    assert guarded.format == "#{==:#{cursor_x},4}" and guarded.then[1] == ("send-keys", "-t", "%3", "Enter")


async def test_a_changed_pane_gets_nothing_typed() -> None:
    def changed(line: bytes) -> Answer | list[Answer] | None:
        if line.startswith(b"if-shell"):  # the else branch: delete-buffer, then say why
            return [(True, []), (True, []), (True, [CHANGED])]
        return True, []

    channel, _, _ = await open_fake(changed)
    with pytest.raises(PaneChangedError, match="nothing was typed"):
        await paste_via_control(channel, "%1", "hello", then=["Enter"], only_if="0")
    await channel.close()


async def test_a_failed_set_buffer_deletes_the_buffer() -> None:
    def refuse(line: bytes) -> Answer | list[Answer] | None:
        if line.startswith(b"set-buffer"):
            return False, ["no space left"]
        return echo(line)

    channel, fake, _ = await open_fake(refuse)
    with pytest.raises(BridgeError, match="no space left"):
        await paste_via_control(channel, "%1", "hello")
    assert fake.lines[-1].startswith(b'delete-buffer "-b" "agent-bridge-')
    await channel.close()
