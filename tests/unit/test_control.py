"""tmux control mode without tmux: quoting, the line parser on recorded tmux 3.3a output, and
the channel's pairing/watching/failure logic against a scripted fake process.

The real-tmux round trips of the same rules are in tests/integration/test_control.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import pytest

from bridge.control import (
    Block,
    ControlChannel,
    ControlParser,
    Event,
    Exit,
    Notification,
    Output,
    Process,
    Stray,
    command_line,
    paste_via_control,
    quote,
)
from bridge.errors import BridgeError, TargetNotFoundError

# -- quote ------------------------------------------------------------------------------------

QUOTE_TABLE = [
    ("plain", '"plain"'),
    ("", '""'),
    ("two words", '"two words"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("it's", '"it\'s"'),
    ("$HOME ${x}", '"\\$HOME \\${x}"'),
    ("`id` $(id)", '"`id` \\$(id)"'),
    (";", '";"'),
    ("a;", '"a;"'),
    ("a\\;", '"a\\\\;"'),
    ("trail\\", '"trail\\\\"'),
    ("#{pane_id} #[fg=red] #(id)", '"#{pane_id} #[fg=red] #(id)"'),
    ("~", '"\\176"'),
    ("~/x and ~", '"\\176/x and \\176"'),
    ("a\nb", '"a\\012b"'),
    ("\t\r\x1b\x7f", '"\\011\\015\\033\\177"'),
    ("\x01" + "5", '"\\0015"'),  # octal is always 3 digits: a following digit stays a digit
    ("\\u0041 \\101", '"\\\\u0041 \\\\101"'),
    ("héllo 日本語 עברית \u200b 🙂", '"héllo 日本語 עברית \u200b 🙂"'),
    ("\x80\x9f", '"\x80\x9f"'),  # C1 code points are UTF-8 text, not controls, for tmux
    ("{ } %if 1 # not a comment", '"{ } %if 1 # not a comment"'),
    ("-n", '"-n"'),
    ("--", '"--"'),
]


@pytest.mark.parametrize(("text", "quoted"), QUOTE_TABLE)
def test_quote_table(text: str, quoted: str) -> None:
    assert quote(text) == quoted


def test_quote_output_is_one_printable_line() -> None:
    hostile = "".join(chr(c) for c in range(1, 0x80)) + "~$\\\"\n" * 3
    quoted = quote(hostile)
    assert "\n" not in quoted and "\r" not in quoted
    assert all(0x20 <= ord(c) < 0x7F for c in quoted)
    assert quoted.startswith('"') and quoted.endswith('"')
    # every " inside is escaped, so the word cannot end early
    inner = quoted[1:-1].replace("\\\\", "")
    assert '"' not in inner.replace('\\"', "")


def test_quote_refuses_nul_and_lone_surrogates() -> None:
    with pytest.raises(ValueError, match="NUL"):
        quote("a\x00b")
    with pytest.raises(ValueError, match="surrogate"):
        quote("\ud800")


def test_quote_surrogateescape_becomes_the_raw_byte() -> None:
    text = b"caf\xe9".decode("utf-8", errors="surrogateescape")
    assert quote(text) == '"caf\\351"'


def test_command_line() -> None:
    assert command_line(["display-message", "-p", "x y"]) == b'display-message "-p" "x y"\n'
    assert command_line(["weird name", "a"]) == b'"weird name" "a"\n'
    assert command_line(["set-buffer", "--", "é\n"]) == 'set-buffer "--" "é\\012"\n'.encode()
    with pytest.raises(ValueError):
        command_line([])


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


# -- the channel against a scripted fake tmux --------------------------------------------------


class FakeTmux:
    """A Process that answers each command line like tmux -C (``reply`` decides the answer)."""

    def __init__(self, reply: Callable[[bytes], tuple[bool, list[str]] | None]) -> None:
        self.reply = reply
        self.lines: list[bytes] = []
        self.out: asyncio.Queue[bytes] = asyncio.Queue()
        self.number = 100
        self.closing = False
        self.held: list[bytes] = []
        self.writes: list[bytes] = []  # each write as it came (lines: the same, split)
        self.block(True, [], flags=0)  # the attach

    def block(self, ok: bool, lines: Sequence[str], *, flags: int = 1) -> None:
        self.number += 1
        guard = f"1700000000 {self.number} {flags}"
        body = "".join(f"{line}\n" for line in lines)
        self.push(f"%begin {guard}\n{body}%{'end' if ok else 'error'} {guard}\n".encode())

    def write(self, data: bytes) -> None:
        if self.closing:
            raise BrokenPipeError("closed")
        self.writes.append(data)
        for line in data.splitlines():
            self.lines.append(line)
            answer = self.reply(line)
            if answer is None:
                self.held.append(line)  # never answered (a hung command)
            elif line.startswith(b"if-shell") and answer[0]:
                for _ in range(3):  # the if's block, then one per command of the branch taken
                    self.block(True, [])
            else:
                self.block(*answer)

    def push(self, data: bytes) -> None:
        for line in data.splitlines(keepends=True) or [b""]:
            self.out.put_nowait(line)

    async def readline(self) -> bytes:
        return await self.out.get()

    async def read(self) -> bytes:
        return await self.out.get()

    def close(self) -> None:
        if not self.closing:
            self.closing = True
            self.out.put_nowait(b"%exit\n")
            self.out.put_nowait(b"")

    def abandon(self) -> None:
        self.close()

    def is_closing(self) -> bool:
        return self.closing

    async def wait_closed(self) -> None:
        return None


class FakeTransport:
    host = "fake"

    def __init__(self, process: FakeTmux) -> None:
        self.process = process
        self.argv: list[str] = []

    async def open_process(self, argv: Sequence[str]) -> Process:
        self.argv = list(argv)
        return self.process


def echo(line: bytes) -> tuple[bool, list[str]] | None:
    """display-message -p "X" -> X; list-panes -> %1 %2; "hang" never answers; else an error."""
    text = line.decode()
    if text.startswith("display-message"):
        return True, [text.split('"')[-2]]
    if text.startswith("list-panes"):
        return True, ["%1", "%2"]
    if text.startswith(("refresh-client", "set-buffer", "paste", "if-shell")):
        return True, []
    if text.startswith("hang"):
        return None
    return False, [f"parse error: unknown command: {text.split()[0]}"]


async def open_fake(reply: Callable[[bytes], tuple[bool, list[str]] | None] = echo) -> tuple[
    ControlChannel, FakeTmux, FakeTransport
]:
    fake = FakeTmux(reply)
    transport = FakeTransport(fake)
    channel = await ControlChannel.open(transport, "/tmp/sock", session="agents")
    return channel, fake, transport


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

    def __init__(self, reply: Callable[[bytes], tuple[bool, list[str]] | None], size: int) -> None:
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
    def reply(line: bytes) -> tuple[bool, list[str]] | None:
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


async def test_paste_is_one_write() -> None:
    channel, fake, _ = await open_fake()
    writes = fake.writes
    await paste_via_control(channel, "%1", "x" * 40 + "\n;$", chunk=16)
    assert len(writes) == 1
    lines = writes[0].splitlines()
    assert [line.split()[0] for line in lines] == [b"set-buffer"] * 3 + [b"if-shell"]
    assert lines[1].startswith(b'set-buffer "-a"')
    # every paste is checked by tmux when due: at least that the pane is alive
    assert lines[3].startswith(b'if-shell "-F" "-t" "%1" "#{==:#{pane_dead},0}" "paste-buffer ')
    await paste_via_control(channel, "%1", "")
    assert len(writes) == 1  # nothing to paste, nothing sent
    await channel.close()


def test_if_format_is_one_line_with_branches_of_equal_length() -> None:
    """``if-shell -F`` pairs its blocks only when both branches run as many commands."""
    from bridge.control import IfFormat

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
