"""The Pane handle on a real tmux server: the argv it sends for each command, and what happens."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from bridge.driver import Driver, Pane
from bridge.profiles import load_profile
from bridge.reading import State
from bridge.tmux import Tmux
from bridge.tmux.link import ControlLink
from bridge.transport import Completed
from bridge.transport.local import LocalTransport
from tests.helpers.fixtures import TmuxServer, wait_for


class Recording(LocalTransport):
    """A real local transport that also keeps each argv it ran."""

    def __init__(self) -> None:
        super().__init__("here")
        self.argvs: list[list[str]] = []

    async def run(
        self, argv: Sequence[str], stdin: bytes | str | None = None, *, timeout: float | None = None
    ) -> Completed:
        self.argvs.append(list(argv))
        return await super().run(argv, stdin, timeout=timeout)


async def test_each_command_is_aimed_at_the_bound_pane(tmux_server: TmuxServer) -> None:
    pane_id = tmux_server.new_pane("work")
    transport = Recording()
    pane = Pane(Tmux(transport, tmux_server.socket), pane_id)
    tmux = ["tmux", "-u", "-S", tmux_server.socket]
    assert pane.host == "here"

    await pane.type_literal("echo typed;")
    assert transport.argvs[-1] == [*tmux, "send-keys", "-t", pane_id, "-l", "--", "echo typed\\;"]
    await pane.keys(["Enter"])
    assert transport.argvs[-1] == [*tmux, "send-keys", "-t", pane_id, "Enter"]
    wait_for(lambda: "\ntyped" in tmux_server.capture(pane_id), 10)
    count = len(transport.argvs)
    await pane.keys([])
    assert len(transport.argvs) == count, "no keys: no command"

    text = await pane.capture(ansi=False)
    assert transport.argvs[-1] == [*tmux, "capture-pane", "-p", "-t", pane_id, "-J"]
    assert "echo typed;" in text

    facts = await pane.current_facts()
    assert transport.argvs[-1][4:8] == ["display-message", "-p", "-t", pane_id]
    assert facts.pane_id == pane_id and facts.session == "work" and facts.current_command == "bash"

    await pane.paste("echo pasted-$((6*7))", then=["Enter"])
    argv = transport.argvs[-1]
    assert argv[4:6] == ["load-buffer", "-b"] and argv[7:9] == ["-", ";"]
    # tmux checks the pane (alive) when the paste is due, then pastes and presses the keys
    assert argv[9:14] == ["if-shell", "-F", "-t", pane_id, "#{==:#{pane_dead},0}"]
    assert argv[14].startswith('paste-buffer "-p" "-r" "-d" "-b" "' + argv[6] + '" "-t" "' + pane_id + '"')
    assert argv[14].endswith('; send-keys "-t" "' + pane_id + '" "Enter"')
    wait_for(lambda: "pasted-42" in tmux_server.capture(pane_id), 10)

    seen, screen, stamp = await pane.observe()
    assert seen.pane_id == pane_id and "pasted-42" in screen and stamp is None  # no control channel
    assert not await pane.wait_change(0.01), "without tmux's events waiting is sleeping"


async def test_a_driver_starts_from_an_earlier_look_only_while_the_pane_is_unchanged(
    tmux_server: TmuxServer,
) -> None:
    pane_id = tmux_server.new_pane("work")
    link = ControlLink(LocalTransport(), tmux_server.socket, "work")
    try:
        driver = Driver(Tmux(LocalTransport(), tmux_server.socket, control=link), pane_id,
                        load_profile("shell"), agent="sh")  # fmt: skip
        seen = await driver.wait_for(lambda o: o.state is State.IDLE, 10, what="the prompt")
        assert seen.stamp is not None and driver.last == seen
        assert driver.can_start_from(seen)
        assert driver.start_from(seen).reused
        other = Driver(driver.tmux, pane_id, driver.profile, expect=lambda facts: facts.pane_id != pane_id)
        assert not other.can_start_from(seen), "not the pane this driver expects"
        tmux_server.tmux("send-keys", "-t", pane_id, "echo someone", "Enter")
        for _ in range(200):  # the channel hears the pane write: look again
            if not driver.can_start_from(seen):
                break
            await asyncio.sleep(0.05)
        assert not driver.can_start_from(seen)
    finally:
        await link.close()
