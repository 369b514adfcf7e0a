"""The control-mode protocol without I/O: the parser on recorded tmux 3.3a output, pairing blocks
with the lines written, and what may be written at all."""

from __future__ import annotations

import pytest

from bridge.tmux.protocol import (
    PRIVATE_PREFIX,
    Block,
    Chain,
    ControlParser,
    Event,
    Exit,
    IfFormat,
    Lines,
    Notification,
    Output,
    Pairing,
    Stray,
    client_argv,
    framed,
    stale_sessions,
)
from bridge.transport.base import Completed

# -- the parser on recorded tmux 3.3a output ---------------------------------------------------

# tmux -u -C attach-session -f ignore-size -t =agent, then: display-message -p "a\nb";
# list-panes -F "#{pane_id} #{pane_width}"; kill-pane -t "%99"; display-message -p "";
# set-buffer -b r "x\\y\t\033%end"; show-buffer -b r; send-keys (a printf) Enter; kill-server.
RECORDED = (
    b"%begin 1795288164 264 0\n%end 1795288164 264 0\n%session-changed $0 agent\n"
    b"%output %0 \\033[?2004h$ \n%window-renamed @0 bash\n"
    b"%begin 1795288164 270 1\na\nb\n%end 1795288164 270 1\n"
    b"%begin 1795288164 271 1\n%0 200\n%end 1795288164 271 1\n"
    b"%begin 1795288164 272 1\ncan't find pane: %99\n%error 1795288164 272 1\n"
    b"%begin 1795288164 273 1\n\n%end 1795288164 273 1\n"
    b"%begin 1795288164 274 1\n%end 1795288164 274 1\n"
    b"%begin 1795288164 275 1\nx\\\\y\\t\\033%end\n%end 1795288164 275 1\n"
    b"%begin 1795288165 276 1\n%end 1795288165 276 1\n"
    b"%output %0 printf '\\134\\134 \\134033[1mhi\\134033[0m\\134n'\n"
    b"%output %0 \\015\\012\\033[?2004l\\015\\134 \\033[1mhi\\033[0m\\015\\012\\033[?2004h$ \n"
    b"%sessions-changed\n%exit\n"
)

# tmux -u -C attach-session -t =x with no server running: tmux starts one, finds nothing.
RECORDED_NO_SESSIONS = b"%begin 1795287936 259 0\nno sessions\n%error 1795287936 259 0\n%exit\n"


def parse(data: bytes) -> list[Event]:
    parser = ControlParser()
    events = [parser.feed(line) for line in data.splitlines(keepends=True)]
    assert not parser.in_block
    return [e for e in events if e is not None]


def test_parser_on_recorded_session() -> None:
    events = parse(RECORDED)
    assert events == [
        Block(1795288164, 264, 0, True, ()),
        Notification("session-changed", "$0 agent"),
        Output("%0"),
        Notification("window-renamed", "@0 bash"),
        Block(1795288164, 270, 1, True, ("a", "b")),
        Block(1795288164, 271, 1, True, ("%0 200",)),
        Block(1795288164, 272, 1, False, ("can't find pane: %99",)),
        Block(1795288164, 273, 1, True, ("",)),
        Block(1795288164, 274, 1, True, ()),
        Block(1795288164, 275, 1, True, ("x\\\\y\\t\\033%end",)),
        Block(1795288165, 276, 1, True, ()),
        Output("%0"),
        Output("%0"),
        Notification("sessions-changed", ""),
        Exit(""),
    ]
    assert not events[0].ours and events[4].ours  # type: ignore[union-attr]


def test_parser_no_sessions() -> None:
    assert parse(RECORDED_NO_SESSIONS) == [Block(1795287936, 259, 0, False, ("no sessions",)), Exit("")]


def test_parser_guard_must_match_exactly() -> None:
    data = (
        b"%begin 10 5 1\n%end 10 4 1\n%end 10 5 0\n%error 11 5 1\n%output %1 x\n%exit\n"
        b"%end 10 5 1\n"
    )
    assert parse(data) == [
        Block(10, 5, 1, True, ("%end 10 4 1", "%end 10 5 0", "%error 11 5 1", "%output %1 x", "%exit"))
    ]


def test_parser_odd_lines() -> None:
    assert parse(b"%extended-output %3 12 : abc\n") == [Output("%3")]
    assert parse(b"%exit server exited\n") == [Exit("server exited")]
    assert parse(b"bash: tmux: command not found\n") == [Stray("bash: tmux: command not found")]
    assert parse(b"%begin x y z\n") == [Stray("%begin x y z")]
    assert parse(b"%begin 1 2 1\n\xff\xfe\n%end 1 2 1\n") == [Block(1, 2, 1, True, ("\ufffd\ufffd",))]


def test_if_format_is_one_line_with_branches_of_equal_length() -> None:
    """``if-shell -F`` pairs its blocks only when both branches run as many commands."""
    guarded = IfFormat("%3", "#{==:#{pane_in_mode},0}", (("paste-buffer", "-b", "x", "-t", "%3"),
                       ("send-keys", "-t", "%3", "Enter")), (("delete-buffer", "-b", "x"),
                       ("display-message", "-p", "changed")))  # fmt: skip
    line = guarded.line()
    assert line.count(b"\n") == 1 and line.startswith(b'if-shell "-F" "-t" "%3" "#{==:#{pane_in_mode},0}" ')
    assert b'"paste-buffer \\"-b\\" \\"x\\" \\"-t\\" \\"%3\\" ; send-keys' in line  # quoted twice
    with pytest.raises(ValueError, match="same number"):
        IfFormat("%3", "1", (("send-keys", "-t", "%3", "Enter"),), ())
    with pytest.raises(ValueError, match="run-shell"):  # nor what the channel refuses
        IfFormat("%3", "1", (("run-shell", "true"),), (("display-message", "-p", "x"),))


# -- output read in chunks ----------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 3, 7, 64, 10_000])
def test_lines_cut_anywhere_read_the_same(size: int) -> None:
    lines = Lines()
    got: list[bytes] = []
    for at in range(0, len(RECORDED), size):
        got += lines.feed(RECORDED[at : at + size])
    assert got == RECORDED.split(b"\n")[:-1]
    assert lines.feed(b"partial") == [] and lines.feed(b" line\nnext") == [b"partial line"]


# -- pairing blocks with the lines written ----------------------------------------------------


def block(number: int, ok: bool, *lines: str) -> Block:
    return Block(1700000000, number, 1, ok, lines)


def test_pairing_answers_lines_in_order() -> None:
    pairing: Pairing[str] = Pairing()
    assert not pairing
    pairing.expect("first", ("display-message", "-p", "a"))
    pairing.expect("second", ("nosuch",))
    first = pairing.answer(block(1, True, "a"))
    assert first == ("first", Completed(("tmux", "display-message", "-p", "a"), 0, "a\n", ""))
    second = pairing.answer(block(2, False, "unknown command: nosuch"))
    assert second == ("second", Completed(("tmux", "nosuch"), 1, "", "unknown command: nosuch\n"))
    assert not pairing


def test_pairing_a_chain_joins_its_blocks_and_stops_at_a_failure() -> None:
    pairing: Pairing[str] = Pairing()
    pairing.expect("chain", ("a", ";", "b", ";", "c"), blocks=3)
    pairing.expect("next", ("d",))
    assert pairing.answer(block(1, True, "out a")) is None  # more to come
    failed = pairing.answer(block(2, False, "b failed"))  # tmux skips c: no third block
    assert failed == ("chain", Completed(("tmux", "a", ";", "b", ";", "c"), 1, "out a\n", "b failed\n"))
    assert pairing.answer(block(3, True)) == ("next", Completed(("tmux", "d"), 0, "", ""))


def test_pairing_drain_gives_every_waiting_line() -> None:
    pairing: Pairing[int] = Pairing()
    for key in range(3):
        pairing.expect(key, ("x",))
    assert pairing.drain() == [0, 1, 2] and not pairing


# -- starting a client -------------------------------------------------------------------------


def test_client_argv() -> None:
    assert client_argv("/s", "agents", own=False) == [
        "tmux", "-S", "/s", "-u", "-C", "attach-session", "-f", "ignore-size", "-t", "=agents",
    ]  # fmt: skip
    own = client_argv(None, f"{PRIVATE_PREFIX}1", own=True)
    assert own == ["tmux", "-u", "-C", "new-session", "-f", "ignore-size", "-s", f"{PRIVATE_PREFIX}1", "cat"]
    assert "destroy-unattached" not in " ".join(own)  # crashes tmux 3.3a (see client_argv)


def test_stale_sessions_are_unattached_private_ones() -> None:
    listed = (
        f"0 {PRIVATE_PREFIX}dead\n1 {PRIVATE_PREFIX}alive\n0 {PRIVATE_PREFIX}mine\n"
        f"0 agents\n0 my\\ {PRIVATE_PREFIX}x\n"
    )
    assert stale_sessions(listed, f"{PRIVATE_PREFIX}mine") == [f"{PRIVATE_PREFIX}dead"]
    assert stale_sessions("", "x") == []


# -- what may be written -----------------------------------------------------------------------


def test_framed_gives_the_line_its_argv_and_how_many_blocks_answer_it() -> None:
    assert framed(("display-message", "-p", "x")) == (
        b'display-message "-p" "x"\n', ("display-message", "-p", "x"), 1
    )
    chain = Chain((("send-keys", "-t", "%1", "a"), ("send-keys", "-t", "%1", "Enter")))
    line, args, blocks = framed(chain)
    assert line == b'send-keys "-t" "%1" "a" ; send-keys "-t" "%1" "Enter"\n' and blocks == 2
    assert args == ("send-keys", "-t", "%1", "a", ";", "send-keys", "-t", "%1", "Enter")
    guarded = IfFormat("%1", "1", (("send-keys", "-t", "%1", "x"),), (("display-message", "-p", "no"),))
    assert framed(guarded)[2] == 2  # the if, then one command of its branch


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("refresh-client", "-C", "80x24"), "resize"),
        (("if-shell", "true", "x"), "pairing"),
        (("source-file", "/x"), "pairing"),
        (("run-shell", "true"), "view mode"),
        (("wait-for", "x"), "cannot wait"),
        (("attach-session",), "control client itself"),
        (("new-session", "-s", "x"), "without -d"),
        (("display-menu",), "interactive"),
        (("show-buffer",), "raw text"),
    ],
)
def test_framed_refuses_what_breaks_the_channel_or_the_pane(args: tuple[str, ...], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        framed(args)
    with pytest.raises(ValueError, match=reason):
        framed(Chain((("display-message", "-p", "x"), args)))
