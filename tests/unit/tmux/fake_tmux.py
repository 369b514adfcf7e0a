"""A scripted tmux control client for unit tests: a :class:`~bridge.transport.base.Process` that
answers each command line the way ``tmux -C`` does (blocks with tmux's guards), and a transport
that hands it out."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from bridge.tmux.channel import ControlChannel
from bridge.transport.base import Process

Answer = tuple[bool, list[str]]  # one block: %end (True) or %error, and its lines
Reply = Callable[[bytes], Answer | list[Answer] | None]


class ScriptedProcess:
    """What every scripted :class:`~bridge.transport.base.Process` shares: its output is a queue
    the script fills (``b""``: end of file), and closing ends it (after ``goodbye``)."""

    goodbye = b""

    def __init__(self) -> None:
        self.out: asyncio.Queue[bytes] = asyncio.Queue()
        self.closing = False

    async def readline(self) -> bytes:
        return await self.out.get()

    async def read(self) -> bytes:
        return await self.out.get()

    def close(self) -> None:
        if not self.closing:
            self.closing = True
            if self.goodbye:
                self.out.put_nowait(self.goodbye)
            self.out.put_nowait(b"")

    def abandon(self) -> None:
        self.close()

    def is_closing(self) -> bool:
        return self.closing

    async def wait_closed(self) -> None:
        return None


class FakeTmux(ScriptedProcess):
    """A Process that answers each command line like tmux -C (``reply`` decides the answer)."""

    goodbye = b"%exit\n"

    def __init__(self, reply: Reply) -> None:
        super().__init__()
        self.reply = reply
        self.lines: list[bytes] = []
        self.number = 100
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
            elif isinstance(answer, list):
                for block in answer:  # one line, several commands (if-shell and its branch)
                    self.block(*block)
            else:
                self.block(*answer)

    def push(self, data: bytes) -> None:
        for line in data.splitlines(keepends=True) or [b""]:
            self.out.put_nowait(line)

class FakeTransport:
    host = "fake"
    remote = False

    def __init__(self, process: FakeTmux) -> None:
        self.process = process
        self.argv: list[str] = []

    async def open_process(self, argv: Sequence[str]) -> Process:
        self.argv = list(argv)
        return self.process


def echo(line: bytes) -> Answer | list[Answer] | None:
    """display-message -p "X" -> X; list-panes -> %1 %2; if-shell -> its then-branch of two
    commands ran (a guarded paste: paste-buffer, send-keys); "hang" never answers; else an error."""
    text = line.decode()
    if text.startswith("display-message"):
        return True, [text.split('"')[-2]]
    if text.startswith("list-panes"):
        return True, ["%1", "%2"]
    if text.startswith("if-shell"):
        return [(True, []), (True, []), (True, [])]
    if text.startswith("refresh-client") or text.startswith("set-buffer") or text.startswith("paste"):
        return True, []
    if text.startswith("hang"):
        return None
    return False, [f"parse error: unknown command: {text.split()[0]}"]


async def open_fake(reply: Reply = echo) -> tuple[ControlChannel, FakeTmux, FakeTransport]:
    fake = FakeTmux(reply)
    transport = FakeTransport(fake)
    channel = await ControlChannel.open(transport, "/tmp/sock", session="agents")
    return channel, fake, transport
