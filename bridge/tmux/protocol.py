"""tmux control mode's protocol, both ways and without I/O: the lines written for commands
(:class:`Chain`, :class:`IfFormat`, :func:`framed`) and what tmux writes back, parsed into events
(:class:`ControlParser` -> :class:`Block`, :class:`Output`, :class:`Exit`, :class:`Notification`,
:class:`Stray`). The channel (:mod:`bridge.tmux.channel`) does the I/O.

Facts verified on tmux 3.3a and 3.5a (see ``tests/integration/test_control.py``):

* Every command is one line written and one ``%begin``/``%end`` (or ``%error``) block read back.
* An EMPTY line detaches the control client (tmux replies ``%exit``); a line that parses to no
  command (a comment) gets no block at all. Neither is ever sent here.
* Each command gets its own block, in order, including each command of a ``a ; b`` line, but a
  failing command skips the rest of its line, so a line holds exactly one command here and
  batching is done by writing several lines at once (same single round trip, exact pairing). A
  :class:`Chain` puts several on one line on purpose: skipping the rest after a failure is what
  it wants (as ``tmux a ; b`` on the exec path), and it is answered as one result.
* Blocks for commands we sent carry flags ``1``; the block of the command on tmux's own command
  line (the attach), and blocks of hooks (``after-*``), carry flags ``0`` and are skipped.
* Some commands break "one line, one block" or harm the pane, so :func:`framed` refuses them (use
  the exec path): ``if-shell``/``source-file`` (their commands come later in blocks of their own;
  the one exception is :class:`IfFormat`, ``if-shell -F`` with branches of equal length, whose
  branch's blocks follow its own at once), ``run-shell`` (its block ends at once, it holds the
  queue, and its output opens view mode in the attached session's pane), ``wait-for`` (returns at
  once for a control client), ``attach``/``switch-client``/``detach``/``new-session`` without
  ``-d`` (they move the control client), interactive ones (``command-prompt``, ``display-menu``, ...).
* Since tmux 3.4 every line a command prints goes through vis(3) (see :mod:`.quoting`). Two
  outputs stay raw on every version: ``capture-pane`` (the pane's own text) and, since 3.4,
  ``show-buffer`` (3.3a encoded it). Raw text could hold a line like ``%end …``:
  :class:`ControlParser` ends a block only on the exact guard of its ``%begin`` (tmux's time and
  command number), which a pane's text cannot know in advance, and ``show-buffer`` is refused
  here (a pane can fill a buffer; buffers are read with ``save-buffer`` on the exec path).
* Size: a control client that never sends ``refresh-client -C`` is ignored when tmux sizes
  windows, whatever ``window-size`` says. ``-f ignore-size`` does NOT protect a window when the
  control client is the only client (``refresh-client -C 80x24`` then resizes a 200x50 window to
  80x24), so ``refresh-client -C`` is refused outright.
"""

from __future__ import annotations

import collections
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from bridge.tmux.quoting import command_line, unescape
from bridge.transport.base import Completed

T = TypeVar("T")

PRIVATE_PREFIX = "agent-bridge-ctl-"  # the sessions of channels that are attached to their own
LIST_SESSIONS = ("list-sessions", "-F", "#{session_attached} #{q:session_name}")

# -- starting a client ------------------------------------------------------------------------


def client_argv(socket: str | None, session: str, *, own: bool) -> list[str]:
    """The argv of a control client (``-u``: UTF-8): attached to ``session`` without ever
    influencing its window sizes (``-f ignore-size``), or (``own``) creating that private session
    running ``cat`` (which starts the tmux server if none runs).

    ``destroy-unattached`` is NOT used for a private session: in tmux 3.3a (through 2026 master,
    tmux PR #5497) a control client leaving such a session while another client disconnects can
    crash the whole server (SIGSEGV at 0x10: it was seen here, killing every agent).
    """
    base = ["tmux"] if socket is None else ["tmux", "-S", socket]
    base += ["-u", "-C"]
    if own:
        return [*base, "new-session", "-f", "ignore-size", "-s", session, "cat"]
    return [*base, "attach-session", "-f", "ignore-size", "-t", f"={session}"]


def stale_sessions(listed: str, own: str) -> list[str]:
    """The private sessions nobody is attached to (left by channels that died without closing),
    from the output of :data:`LIST_SESSIONS`; never ``own``."""
    stale = []
    for line in listed.splitlines():
        attached, _, quoted = line.partition(" ")
        name = unescape(quoted)
        if attached == "0" and name.startswith(PRIVATE_PREFIX) and name != own:
            stale.append(name)
    return stale


# -- what tmux writes -------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """One ``%begin`` ... ``%end``/``%error`` block: a command's output."""

    time: int
    number: int
    flags: int
    ok: bool
    lines: tuple[str, ...]

    @property
    def ours(self) -> bool:
        """Sent by this client (flags 1), not tmux's own command line or a hook (flags 0)."""
        return self.flags & 1 == 1


@dataclass(frozen=True)
class Output:
    """``%output %PANE ...`` (or ``%extended-output``): the pane wrote something."""

    pane: str


@dataclass(frozen=True)
class Exit:
    """``%exit [reason]``: the control client is leaving."""

    reason: str


@dataclass(frozen=True)
class Notification:
    """Any other ``%name args`` line (``%session-changed``, ``%layout-change``, ...)."""

    name: str
    args: str


@dataclass(frozen=True)
class Stray:
    """A line outside any block that is not a notification (tmux's stderr, merged in)."""

    text: str


Event = Block | Output | Exit | Notification | Stray


class ControlParser:
    """Turns control-mode lines (bytes, with or without the ``\\n``) into :data:`Event` s.

    Inside a block every line is content until the guard line that matches the ``%begin`` exactly
    (``%end``/``%error`` + the same time, number and flags): tmux never puts a notification inside
    a block, and command output cannot forge the guard without knowing the command number.
    """

    def __init__(self) -> None:
        self._begin: tuple[int, int, int] | None = None
        self._end = b""
        self._error = b""
        self._lines: list[str] = []

    @property
    def in_block(self) -> bool:
        return self._begin is not None

    def feed(self, line: bytes) -> Event | None:
        if line.endswith(b"\n"):
            line = line[:-1]
        if self._begin is not None:
            if line == self._end or line == self._error:
                time, number, flags = self._begin
                block = Block(time, number, flags, line == self._end, tuple(self._lines))
                self._begin, self._lines = None, []
                return block
            self._lines.append(line.decode("utf-8", errors="replace"))
            return None
        if line.startswith(b"%output ") or line.startswith(b"%extended-output "):
            return Output(line.split(b" ", 2)[1].decode("ascii", errors="replace"))
        if line.startswith(b"%begin "):
            parts = line.split(b" ")
            try:
                time, number, flags = (int(p) for p in parts[1:4])
            except ValueError:
                return Stray(line.decode("utf-8", errors="replace"))
            guard = b" ".join(parts[1:4])
            self._begin = (time, number, flags)
            self._end, self._error = b"%end " + guard, b"%error " + guard
            return None
        text = line.decode("utf-8", errors="replace")
        if text == "%exit" or text.startswith("%exit "):
            return Exit(text[6:])
        if text.startswith("%"):
            name, _, args = text[1:].partition(" ")
            return Notification(name, args)
        return Stray(text)


class Lines:
    """Splits output read in chunks into whole lines (without their ``\\n``), keeping a line that
    has not ended yet for the next chunk: one await per chunk, not one per line (a capture is a
    line per screen row; 16 agents at once are hundreds of lines a round)."""

    def __init__(self) -> None:
        self._partial: list[bytes] = []  # a line not yet ended

    def feed(self, chunk: bytes) -> list[bytes]:
        if b"\n" not in chunk:
            self._partial.append(chunk)
            return []
        if self._partial:
            chunk = b"".join([*self._partial, chunk])
            self._partial = []
        *lines, rest = chunk.split(b"\n")
        if rest:
            self._partial.append(rest)
        return lines


@dataclass
class _Line(Generic[T]):
    key: T
    args: tuple[str, ...]
    left: int  # blocks still to come
    out: list[str] = field(default_factory=list)


class Pairing(Generic[T]):
    """Lines written, waiting for their blocks: tmux answers in order, one block per command of a
    line, fewer when one fails (it skips the rest of that line). ``key`` is the writer's handle
    for a line (the channel's future)."""

    def __init__(self) -> None:
        self._lines: collections.deque[_Line[T]] = collections.deque()

    def __bool__(self) -> bool:
        return bool(self._lines)

    def expect(self, key: T, args: tuple[str, ...], blocks: int = 1) -> None:
        """Note a line just written, for ``args``, answered by ``blocks`` blocks."""
        self._lines.append(_Line(key, args, blocks))

    def answer(self, block: Block) -> tuple[T, Completed] | None:
        """The line ``block`` completes and its result (as ``tmux ARGS`` would have given it:
        output joined, exit 1 with the error text on ``%error``); ``None`` while more blocks are
        due for it. Only call it while something is expected."""
        line = self._lines[0]
        text = "".join(f"{row}\n" for row in block.lines)
        line.left -= 1
        if block.ok and line.left > 0:
            line.out.append(text)  # a chain: more blocks to come
            return None
        self._lines.popleft()
        argv, out = ("tmux", *line.args), "".join(line.out)
        if block.ok:
            return line.key, Completed(argv, 0, out + text, "")
        return line.key, Completed(argv, 1, out, text)  # tmux skips the rest of a failed line

    def drain(self) -> list[T]:
        """Forget every line still waiting (the channel closed); their keys, in order."""
        keys = [line.key for line in self._lines]
        self._lines.clear()
        return keys


# -- what is written to tmux ------------------------------------------------------------------


@dataclass(frozen=True)
class Chain:
    """``a ; b ; c`` as ONE control line: tmux runs them in order and skips the rest after the
    first that fails (as ``tmux a ; b ; c`` does). One result: their output joined, and exit 1
    with the failure's message if one failed."""

    commands: tuple[tuple[str, ...], ...]

    @property
    def args(self) -> tuple[str, ...]:
        """The whole list as one argv, ``;`` between commands (as ``tmux a ; b`` takes it)."""
        return tuple(a for c in self.commands for a in (*c, ";"))[:-1]

    def line(self) -> bytes:
        return b" ; ".join(command_line(c)[:-1] for c in self.commands) + b"\n"


@dataclass(frozen=True)
class IfFormat:
    """``if-shell -F -t TARGET FORMAT THEN ELSE`` as one line: tmux expands FORMAT for TARGET and
    runs one branch right after, before any later line. Both branches have the same number of
    commands, so the blocks are known: one for the ``if``, one per command of the branch (fewer
    after a failure). One result, like a :class:`Chain`."""

    target: str
    format: str
    then: tuple[tuple[str, ...], ...]
    otherwise: tuple[tuple[str, ...], ...]

    def __post_init__(self) -> None:
        if not self.then or len(self.then) != len(self.otherwise):
            raise ValueError("both branches need the same number of commands")
        for args in (*self.then, *self.otherwise):
            _refuse(args)

    @functools.cached_property
    def args(self) -> tuple[str, ...]:
        def branch(commands: tuple[tuple[str, ...], ...]) -> str:
            return " ; ".join(command_line(c)[:-1].decode() for c in commands)

        return ("if-shell", "-F", "-t", self.target, self.format, branch(self.then), branch(self.otherwise))

    def line(self) -> bytes:
        return command_line(self.args)


def framed(item: Sequence[str] | Chain | IfFormat) -> tuple[bytes, tuple[str, ...], int]:
    """``item``'s control line, the argv it stands for, and how many blocks answer it.

    Raises :class:`ValueError` for what would break the channel or the agent's pane (see above).
    """
    if isinstance(item, IfFormat):  # its branches were checked when it was made
        return item.line(), item.args, 1 + len(item.then)
    if isinstance(item, Chain):
        for args in item.commands:
            _refuse(args)
        return item.line(), item.args, len(item.commands)
    _refuse(item)
    return command_line(item), tuple(item), 1


_NOT_HERE = "use the exec path (bridge.tmux.Tmux) for it"
_REFUSED = {
    **dict.fromkeys(("if-shell", "if", "source-file", "source"),
                    "it runs further commands later, each with a block of its own (breaks pairing)"),
    **dict.fromkeys(("run-shell", "run"),
                    "its output opens view mode in the attached pane, and it holds the queue"),
    **dict.fromkeys(("wait-for", "wait"), "a control client cannot wait: tmux returns at once"),
    **dict.fromkeys(("attach-session", "attach", "switch-client", "switchc", "detach-client",
                     "detach"), "it would move or detach the control client itself"),
    **dict.fromkeys(("confirm-before", "confirm", "command-prompt", "display-menu", "menu",
                     "display-popup", "popup", "choose-tree", "choose-client", "choose-buffer"),
                    "it is interactive: it needs a terminal client"),
    # A pane can fill a buffer (copy mode, OSC 52) and, since tmux 3.4, show-buffer prints it raw
    # to a control client (3.3a vis-encoded it): it is read with save-buffer on the exec path.
    **dict.fromkeys(("show-buffer", "showb"),
                    "it prints the buffer's raw text (tmux 3.4+), which a pane can fill"),
}  # fmt: skip


def _flags(args: Sequence[str]) -> str:
    return "".join(a[1:] for a in args[1:] if a.startswith("-") and not a.startswith("--"))


def _refuse(args: Sequence[str]) -> None:
    """Refuse what would break the channel or the agent's pane (a ValueError: a caller's bug)."""
    if not args:
        return
    name = args[0]
    reason = _REFUSED.get(name)
    if reason is None and name in ("refresh-client", "refresh") and "C" in _flags(args):
        reason = "a control client that claims a size resizes the agent's window (tmux 3.3a)"
    if reason is None and name in ("new-session", "new") and "d" not in _flags(args):
        reason = "without -d it would attach the control client to the new session"
    if reason is not None:
        raise ValueError(f"{name} over the tmux control channel: {reason}; {_NOT_HERE}")
