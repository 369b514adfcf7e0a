"""tmux control mode: one long-lived channel per host carrying commands and change signals.

A :class:`ControlChannel` runs ``tmux -u -C attach-session -f ignore-size -t =SESSION`` (or a
private session of its own) as one long-lived process: a subprocess locally, one SSH *session
channel* remotely. Every command is one line written to it and one ``%begin``/``%end`` (or
``%error``) block read back, so a command costs one round trip instead of opening an exec channel
and starting a tmux client. Several commands written at once (:meth:`ControlChannel.commands`)
share that one round trip.

tmux also pushes ``%output %PANE ...`` for every pane of the attached session. Those bytes are
never parsed as the truth: a :class:`Watcher` only turns them into a coalesced "something changed"
flag, and the caller re-reads the screen (``capture-pane``) when it fires.

Facts verified on tmux 3.3a and 3.5a (see ``tests/integration/test_control.py``):

* Control mode reads one command line at a time with the config-file grammar. :func:`quote` makes
  any text one double-quoted word. Inside double quotes ``$VAR`` and a *leading* ``~`` are still
  expanded, ``\\`` starts an escape (``\\u``, ``\\n``, ``\\NNN`` octal, unknown ``\\x`` -> ``x``);
  ``;``, ``#{...}``, ``#[...]``, ``{``, ``}``, ``%if`` and ``#`` are literal. NUL cannot be in a
  tmux argument at all; every other byte round-trips through ``\\NNN``.
* An EMPTY line detaches the control client (tmux replies ``%exit``); a line that parses to no
  command (a comment) gets no block at all. Neither is ever sent here.
* Each command gets its own block, in order, including each command of a ``a ; b`` line, but a
  failing command skips the rest of its line, so a line holds exactly one command here and
  batching is done by writing several lines at once (same single round trip, exact pairing).
* Blocks for commands we sent carry flags ``1``; the block of the command on tmux's own command
  line (the attach), and blocks of hooks (``after-*``), carry flags ``0`` and are skipped.
* Lines written before tmux has run its own command line are run FIRST (before the attach), so
  :meth:`ControlChannel.open` writes nothing until the attach's block arrived.
* Some commands break "one line, one block" or harm the pane, so :meth:`ControlChannel.command`
  refuses them (use the exec path): ``if-shell``/``source-file`` (their commands come later in
  blocks of their own; the one exception is :class:`IfFormat`, ``if-shell -F`` with branches of
  equal length, whose branch's blocks follow its own at once), ``run-shell`` (its block ends at
  once, it holds the queue, and its output opens view mode in the attached session's pane),
  ``wait-for`` (returns at once for a control client),
  ``attach``/``switch-client``/``detach``/``new-session`` without ``-d`` (they move the control
  client), interactive ones (``command-prompt``, ``display-menu``, ...).
* As from the command line, ``display-message -t %MISSING`` succeeds with an empty line, and
  ``-t session:MISSING-WINDOW`` falls back to the current window: check what came back.
* A bare word like ``%2:off`` is a syntax error (``%2`` alone parses); quoted it is literal.
* Since tmux 3.4 every line a command prints to a control client (and on the exec path) goes
  through vis(3) (``VIS_OCTAL | VIS_CSTYLE | VIS_NOSLASH``): control characters arrive as
  ``\\NNN`` but a backslash is not doubled, so formats that read names use ``#{q:…}`` and
  :func:`unescape`. Two outputs stay raw on every version: ``capture-pane`` (the pane's own text)
  and, since 3.4, ``show-buffer`` (3.3a encoded it). Raw text could hold a line like ``%end …``:
  :class:`ControlParser` ends a block only on the exact guard of its ``%begin`` (tmux's time and
  command number), which a pane's text cannot know in advance, and ``show-buffer`` is refused
  here (a pane can fill a buffer; buffers are read with ``save-buffer`` on the exec path).
  ``set-buffer`` with an empty string is a no-op (the buffer is not created).
* ``%output`` arrives only for panes of the *attached* session (linking a window into the
  channel's own session would make ``-t %PANE`` resolve ``#{session_name}`` to that session, so
  it is not done). To watch a pane, attach the channel to the pane's session.
* Size: a control client that never sends ``refresh-client -C`` is ignored when tmux sizes
  windows, whatever ``window-size`` says. ``-f ignore-size`` does NOT protect a window when the
  control client is the only client (``refresh-client -C 80x24`` then resizes a 200x50 window to
  80x24), so :meth:`ControlChannel.command` refuses ``refresh-client -C`` outright.

Whether a pane changed since a look: every ``%output`` and every notification that can change
what a pane shows without output (``%layout-change``, ``%pane-mode-changed``, ``%window-close``,
... all but ``%paste-buffer-*``, which our own pastes cause) advances the channel's position; a
command's answer is :class:`Answered` with a :class:`Stamp` of the position at its ``%end``, in
tmux's own order. ``stamp.unchanged(pane)`` is then True while the pane wrote nothing since tmux
ran that command (as far as the events that arrived tell, which is as fresh as a new look would
be when it got back).

Cost of ``%output``: tmux sends every byte a pane of the attached session writes (control
characters as ``\\NNN``, so up to 4x), whether or not anyone watches; the reader drains it and
wakes only the watchers of that pane. Switching unwatched panes off (``refresh-client -A %N:off``,
on again when watched) would save that bandwidth, but tmux 3.3a's server crashes (SIGSEGV, every
agent of the session gone) when a pane is switched off and on while it writes: a paste and Enter
sent together hit it in 1 of 4 asks. So nothing is ever switched off (a test keeps it so).

Over SSH the channel is one of sshd's ``MaxSessions`` (default 10) for as long as it is open; the
budget is spelled out at :data:`bridge.transport.ssh.MAX_CHANNELS`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import re
import shlex
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from bridge.errors import (
    AgentNotReadyError,
    BridgeError,
    CommandError,
    HostUnreachableError,
    PaneChangedError,
    TargetNotFoundError,
)
from bridge.transport import Completed

log = logging.getLogger("bridge.control")

PRIVATE_PREFIX = "agent-bridge-ctl-"
CHANGED = "agent-bridge-pane-changed"  # what a guarded paste prints when it typed nothing
DEAD = "agent-bridge-pane-dead"  # ... when the pane was dead
MISSING = "agent-bridge-pane-missing"  # ... when there is no such pane
ALIVE = "#{==:#{pane_dead},0}"  # the least a paste checks (see paste_buffer)
# Over SSH the events prove the pane unchanged only while the link is known to be alive: the host
# must have sent something this recently. (A link that died silently says nothing; an ask that
# typed into it first would wait out the reconnect window instead of failing fast.)
HEARD_S = 2.0
DEFAULT_TIMEOUT = 30.0
OPEN_TIMEOUT = 15.0
WRITE_GRACE_S = 1.0  # after a failed write, how long the reader has to say why the channel ended
_COMMAND_NAME = re.compile(r"[a-z][a-z-]*")
_MISSING = ("can't find", "no server running", "error connecting to", "no such", "no sessions")


# -- quoting ----------------------------------------------------------------------------------


_QUOTE_TABLE: dict[int, str] = {
    **{c: f"\\{c:03o}" for c in [*range(0x01, 0x20), 0x7F, ord("~")]},
    **{ord(c): "\\" + c for c in '\\"$'},
    **{c: f"\\{c - 0xDC00:03o}" for c in range(0xDC80, 0xDD00)},  # surrogateescape: the raw byte
}
_UNQUOTABLE = re.compile("[\x00\ud800-\udc7f\udd00-\udfff]")
_RARE = re.compile("[\x01-\x08\x0b-\x1f\x7f\udc80-\udcff]")  # all but \t and \n
_COMMON = (("\\", "\\\\"), ('"', '\\"'), ("$", "\\$"), ("~", "\\176"), ("\n", "\\012"),
           ("\t", "\\011"))  # fmt: skip


def quote(arg: str) -> str:
    """``arg`` as ONE word for tmux's command parser (control mode, ``source-file``), byte-exact.

    The word is double-quoted. ``\\``, ``"`` and ``$`` are backslash-escaped; ``~`` (expanded to
    $HOME at the start of a word, even quoted) and every C0 control character and DEL (a newline
    would end the command) become octal ``\\NNN``. Lone surrogates from
    ``surrogateescape``-decoded bytes become the original byte. NUL cannot be passed to tmux at all
    (its arguments are C strings), nor can other lone surrogates: :class:`ValueError`.
    """
    bad = _UNQUOTABLE.search(arg)
    if bad is not None:
        if bad.group() == "\x00":
            raise ValueError("a tmux argument cannot contain NUL")
        raise ValueError(f"a tmux argument cannot contain the lone surrogate U+{ord(bad.group()):04X}")
    if _RARE.search(arg):
        return '"' + arg.translate(_QUOTE_TABLE) + '"'
    for old, new in _COMMON:  # the same result, several times faster on big text
        arg = arg.replace(old, new)
    return '"' + arg + '"'


def command_line(args: Sequence[str]) -> bytes:
    """One control-mode line (with its newline) running ``args``: the name bare, the rest quoted."""
    if not args:
        raise ValueError("empty tmux command")
    name, rest = args[0], args[1:]
    words = [name if _COMMAND_NAME.fullmatch(name) else quote(name), *(quote(a) for a in rest)]
    return (" ".join(words) + "\n").encode("utf-8")


# tmux 3.4 and later pass every line a command prints (exec path and control mode alike) through
# utf8_stravisx(VIS_OCTAL | VIS_CSTYLE | VIS_NOSLASH): control characters arrive as \\NNN (or
# \\r, ...) while a backslash is NOT doubled, so a value is only unambiguous when the format
# doubled backslashes first: ``#{q:NAME}`` does (and escapes space, ``$`` and the shell's other
# specials). 3.3a prints the same ``#{q:NAME}`` raw. :func:`unescape` reads both.
_ESCAPE = re.compile(r"\\([0-7]{3}|.)", re.DOTALL)
_CSTYLE = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "s": " "}


def unescape(word: str) -> str:
    """One ``#{q:…}`` value as tmux printed it (3.3a raw, 3.4+ vis-encoded) -> the value itself.

    ``\\NNN`` is a byte (runs of them are decoded as UTF-8, else kept as surrogate escapes),
    ``\\n``-style letters are vis's C escapes, and ``\\`` + anything else is that character.
    """
    if "\\" not in word:
        return word

    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        if len(code) == 3:
            byte = int(code, 8)
            return chr(byte) if byte < 0x80 else chr(0xDC00 + byte)
        return _CSTYLE.get(code, code)

    text = _ESCAPE.sub(one, word)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "surrogateescape")


def words(text: str) -> list[str]:
    """Split ``q``-quoted words on their unescaped spaces (empty values are empty words)."""
    words, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == " ":
            words.append("".join(current))
            current = []
        else:
            current.append(char)
    words.append("".join(current))
    return words


# -- parsing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stamp:
    """Where an answer stood in one control channel's stream of events."""

    channel: ControlChannel
    position: int

    def unchanged(self, pane: str) -> bool:
        """True while ``pane`` wrote nothing (and nothing else happened) since that answer."""
        return self.channel.unchanged_since(pane, self.position)


@dataclass(frozen=True)
class Answered(Completed):
    """A command's result over a control channel, with where it stood among the events."""

    stamp: Stamp | None = None


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


# -- the process seam -------------------------------------------------------------------------


@runtime_checkable
class Process(Protocol):
    """A long-lived process with a byte pipe each way (stderr merged into the output)."""

    def write(self, data: bytes) -> None:
        """Queue ``data`` on its stdin (never blocks; ordering is the call order)."""
        ...

    async def readline(self) -> bytes:
        """The next output line with its ``\\n``; a partial line at EOF; ``b""`` at EOF."""
        ...

    async def read(self) -> bytes:
        """Whatever output has arrived (waiting for at least one byte); ``b""`` at EOF."""
        ...

    def close(self) -> None:
        """Close its stdin and let it exit (tmux leaves on EOF)."""
        ...

    def abandon(self) -> None:
        """Its link is dead: drop the connection under it now, with anything not yet sent."""
        ...

    async def wait_closed(self) -> None:
        """Wait (bounded) until it is gone."""
        ...

    def is_closing(self) -> bool: ...


class ProcessTransport(Protocol):
    """A transport that can also start a long-lived process (local and SSH transports can)."""

    host: str

    async def open_process(self, argv: Sequence[str]) -> Process: ...


# -- the channel ------------------------------------------------------------------------------


class Watcher:
    """Tells when a pane wrote something since the last look (coalesced: a flag, never bytes)."""

    def __init__(self, channel: ControlChannel, pane: str) -> None:
        self.channel = channel
        self.pane = pane
        self._event = asyncio.Event()
        self._closed = False

    def _poke(self) -> None:
        self._event.set()

    async def changed(self, timeout: float | None) -> bool:
        """True once ``%output`` for the pane arrived since the previous call; False on timeout.

        Raises the channel's error once it is closed (the caller falls back to polling).
        """
        if not self._event.is_set():
            self._raise_if_closed()
            try:
                await asyncio.wait_for(self._event.wait(), timeout)
            except TimeoutError:
                return False
        self._event.clear()
        self._raise_if_closed()
        return True

    def _raise_if_closed(self) -> None:
        if self._closed:
            raise BridgeError(f"watch of pane {self.pane} was closed", target=self.pane)
        if self.channel.closed:
            raise self.channel.error or BridgeError("control channel closed")

    def close(self) -> None:
        """Stop watching (the pane's output is switched off again on its next ``%output``)."""
        self._closed = True
        self.channel._unwatch(self)
        self._event.set()


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


def _framed(item: Sequence[str] | Chain | IfFormat) -> tuple[bytes, tuple[str, ...], int]:
    """``item``'s control line, the argv it stands for, and how many blocks answer it."""
    if isinstance(item, IfFormat):  # its branches were checked when it was made
        return item.line(), item.args, 1 + len(item.then)
    if isinstance(item, Chain):
        for args in item.commands:
            _refuse(args)
        return item.line(), item.args, len(item.commands)
    _refuse(item)
    return command_line(item), tuple(item), 1


class _Pending:
    """A line written, waiting for its blocks: one per command, fewer if one fails."""

    __slots__ = ("args", "future", "left", "out")

    def __init__(self, args: tuple[str, ...], future: asyncio.Future[Completed], blocks: int = 1) -> None:
        self.args, self.future, self.left = args, future, blocks
        self.out: list[str] = []


class ControlChannel:
    """One tmux control-mode client: commands in, blocks and ``%output`` signals out.

    Open with :meth:`open`. :meth:`command` and :meth:`commands` are safe for concurrent callers:
    lines are written and their futures queued in one synchronous step, and tmux answers in order.
    """

    def __init__(
        self, process: Process, *, host: str, session: str, remote: bool, own_session: bool
    ) -> None:
        self.process = process
        self.host = host
        self.session = session
        self.own_session = own_session
        self._remote = remote
        self._parser = ControlParser()
        self._pending: collections.deque[_Pending] = collections.deque()
        self._outbox: list[bytes] = []  # written at the end of this turn of the event loop
        self._watchers: dict[str, set[Watcher]] = {}
        # The event stream's position: +1 per %output and per notification that may change a pane.
        self._position = 0
        self._wrote: dict[str, int] = {}  # pane -> position of its last %output
        self._upset = 0  # position of the last such notification
        self._heard = 0.0  # when the last line arrived (monotonic)
        self._closed = False
        self._error: BridgeError | None = None
        self._stray: list[str] = []
        self._exit_reason: str | None = None
        self._link_lost = False
        self._write_failed: Exception | None = None
        self._started: asyncio.Future[Block] = asyncio.get_running_loop().create_future()
        self._reader: asyncio.Task[None] | None = None

    # -- opening ----------------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        transport: ProcessTransport,
        socket: str | None,
        *,
        session: str | None = None,
        timeout: float = OPEN_TIMEOUT,
    ) -> ControlChannel:
        """Start a control client on ``transport``'s host and wait until tmux accepted it.

        With ``session``, attach to that existing session (exactly that name) without ever
        influencing its window sizes: :meth:`watch` works for its panes. Without, create a private
        session ``agent-bridge-ctl-<hex>`` running ``cat`` (this starts the tmux server if none
        runs): commands only. :meth:`close` kills it; one left behind by a channel that died
        (unattached) is killed by the next private open on that server.

        ``destroy-unattached`` is NOT used for that: in tmux 3.3a (through 2026 master, tmux PR
        #5497) a control client leaving such a session while another client disconnects can
        crash the whole server (SIGSEGV at 0x10: it was seen here, killing every agent).
        """
        base = ["tmux"] if socket is None else ["tmux", "-S", socket]
        base += ["-u", "-C"]
        own = session is None
        if session is None:
            session = f"{PRIVATE_PREFIX}{uuid.uuid4().hex[:8]}"
            argv = [*base, "new-session", "-f", "ignore-size", "-s", session, "cat"]
        else:
            argv = [*base, "attach-session", "-f", "ignore-size", "-t", f"={session}"]
        remote = _is_remote(transport)
        log.debug("control on %s: %s", transport.host, shlex.join(argv))
        process = await transport.open_process(argv)
        channel = cls(process, host=transport.host, session=session, remote=remote, own_session=own)
        channel._reader = asyncio.create_task(channel._read(), name=f"tmux-control-{transport.host}")
        try:
            block = await asyncio.wait_for(asyncio.shield(channel._started), timeout)
        except TimeoutError:
            await channel.close()
            raise BridgeError(
                f"tmux control mode on {transport.host} did not start within {timeout:g}s",
                host=transport.host,
            ) from None
        except BridgeError as exc:
            said = " ".join(channel._stray[-2:])
            await channel.close()
            if channel._link_lost:
                raise
            if "not found" in said:
                raise BridgeError(
                    f"tmux is not usable on {transport.host}: {said}",
                    hint=f"install tmux on {transport.host}",
                    host=transport.host,
                ) from exc
            raise _attach_error(transport.host, session, said) from exc
        if not block.ok:
            await channel.close()
            raise _attach_error(transport.host, session, " ".join(block.lines))
        if own:
            await channel._reap()
        return channel

    async def _reap(self) -> None:
        """Kill private sessions of channels that died without closing (nobody attached)."""
        try:
            listed = await self.command("list-sessions", "-F", "#{session_attached} #{q:session_name}")
            stale = []
            for line in listed.stdout.splitlines():
                attached, _, quoted = line.partition(" ")
                name = unescape(quoted)
                if attached == "0" and name.startswith(PRIVATE_PREFIX) and name != self.session:
                    stale.append(name)
            if stale:
                log.info("control on %s: killing stale sessions %s", self.host, ", ".join(stale))
                await self.commands([("kill-session", "-t", f"={name}") for name in stale])
        except BridgeError as exc:
            log.debug("control on %s: reaping failed: %s", self.host, exc)

    # -- state ------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def error(self) -> BridgeError | None:
        """Why the channel closed (``None`` while open, or after a plain :meth:`close`)."""
        return self._error

    # -- commands ---------------------------------------------------------------------------

    async def command(self, *args: str, timeout: float | None = DEFAULT_TIMEOUT) -> Completed:
        """Run one tmux command; ``exit_status`` 0 (``%end``) or 1 (``%error``).

        ``stdout`` is what ``tmux ARGS`` prints (each block line plus ``\\n``); on ``%error``
        ``stderr`` holds the error text instead. Never raises on a tmux error; raises
        :class:`BridgeError` on timeout or when the channel dies.
        """
        (result,) = await self.commands([args], timeout=timeout)
        return result

    async def commands(
        self,
        commands: Sequence[Sequence[str] | Chain | IfFormat],
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
    ) -> list[Completed]:
        """Run several commands in ONE round trip (one line each, written together), in order.

        Each is independent: one failing does not skip the next, unless they are one
        :class:`Chain` (``a ; b`` on one line) or :class:`IfFormat`, which give one result.
        """
        framed = [_framed(item) for item in commands]
        if not framed:
            return []
        if self._closed:
            raise self._error or BridgeError(f"control channel to {self.host} is closed", host=self.host)
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Completed]] = []
        for _, args, blocks in framed:
            future: asyncio.Future[Completed] = loop.create_future()
            self._pending.append(_Pending(args, future, blocks))
            futures.append(future)
        self._write(b"".join(line for line, _, _ in framed))  # same step as queueing: order is kept
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a cancellation (Ctrl-C)
            # that lands just as the answer does, and the caller runs on as if not interrupted.
            async with asyncio.timeout(timeout):
                return list(await asyncio.gather(*futures))
        except TimeoutError:
            first = shlex.join(framed[0][1])[:80]
            said = f"tmux {first} over the control channel to {self.host} took longer than {timeout}s"
            if self._remote:
                # Nothing we send can hold tmux's queue (see _refuse), so silence over SSH is a dead
                # link: close for good, like a failed exec channel, and let the caller reconnect.
                self._fail(self._lost(TimeoutError(said)))
                with contextlib.suppress(Exception):
                    self.process.abandon()
                raise self._error or HostUnreachableError(said, host=self.host) from None
            raise BridgeError(said, host=self.host) from None

    async def check(self, *args: str, target: str | None = None) -> Completed:
        """:meth:`command`, raising :class:`CommandError` (or TargetNotFoundError) on ``%error``."""
        result = await self.command(*args)
        if not result.ok:
            raise failure(self.host, result, target)
        return result

    # -- watching ---------------------------------------------------------------------------

    async def watch(self, pane: str) -> Watcher:
        """A :class:`Watcher` for ``pane`` (a ``%id`` in the attached session)."""
        if self.own_session:
            raise BridgeError(
                f"cannot watch {pane}: this control channel is attached to its own session",
                hint="open the channel with session=<the pane's session>",
                host=self.host,
                target=pane,
            )
        listed = await self.check("list-panes", "-s", "-t", f"={self.session}", "-F", "#{pane_id}")
        if pane not in listed.stdout.split():
            raise TargetNotFoundError(
                f"pane {pane} is not in session {self.session} on {self.host}",
                hint="watch needs a channel attached to the pane's own session",
                host=self.host,
                target=pane,
            )
        watcher = Watcher(self, pane)
        self._watchers.setdefault(pane, set()).add(watcher)
        return watcher

    def _unwatch(self, watcher: Watcher) -> None:
        watchers = self._watchers.get(watcher.pane)
        if watchers is not None:
            watchers.discard(watcher)
            if not watchers:
                del self._watchers[watcher.pane]

    def unchanged_since(self, pane: str, position: int) -> bool:
        """True while the channel is open (and, over SSH, heard from within :data:`HEARD_S`) and
        neither ``pane`` wrote nor anything else happened that may change it after ``position``
        (see :class:`Stamp`)."""
        if self._closed or self._upset > position or self._wrote.get(pane, 0) > position:
            return False
        return not self._remote or asyncio.get_running_loop().time() - self._heard <= HEARD_S

    def _on_output(self, pane: str) -> None:
        self._position += 1
        self._wrote[pane] = self._position
        for watcher in self._watchers.get(pane, ()):
            watcher._poke()

    def _send_and_forget(self, args: tuple[str, ...]) -> None:
        future: asyncio.Future[Completed] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_consume)
        self._pending.append(_Pending(args, future))
        self._write(command_line(args))

    def _write(self, data: bytes) -> None:
        """Queue ``data`` for tmux. Everything queued in one turn of the event loop goes out in
        one write (one SSH packet for many callers' lines, not one each)."""
        self._outbox.append(data)
        if len(self._outbox) == 1:
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        if not self._outbox:
            return
        data = b"".join(self._outbox)
        self._outbox.clear()
        if self._write_failed is not None:
            return  # the pipe is gone; the reader (or the grace timer) fails what is pending
        try:
            self.process.write(data)
        except Exception as exc:  # the pipe is gone: everything pending fails
            if self._reader is None or self._reader.done():
                self._fail(self._lost(exc))
                return
            # When tmux exits (killed server), its answer, %exit, the exit status, EOF and the
            # channel's close can arrive within 0.2 ms (tmux 3.5a), so this write can fail before
            # the reader has seen %exit: that must say "tmux exited", not "host unreachable". The
            # reader ends on that EOF and says why; the write's own error is the answer only if it
            # has not within WRITE_GRACE_S.
            self._write_failed = exc
            asyncio.get_running_loop().call_later(WRITE_GRACE_S, self._after_write_failed)

    def _after_write_failed(self) -> None:
        if not self._closed and self._write_failed is not None:
            self._fail(self._lost(self._write_failed))

    # -- reading ----------------------------------------------------------------------------

    async def _read(self) -> None:
        # Output is read in chunks and split here: one await per chunk, not one per line (a
        # capture is a line per screen row; 16 agents at once are hundreds of lines a round).
        loop = asyncio.get_running_loop()
        partial: list[bytes] = []  # a line not yet ended
        error: BridgeError | None = None
        try:
            while chunk := await self.process.read():
                self._heard = loop.time()
                if b"\n" not in chunk:
                    partial.append(chunk)
                    continue
                if partial:
                    chunk = b"".join([*partial, chunk])
                    partial = []
                *lines, rest = chunk.split(b"\n")
                if rest:
                    partial.append(rest)
                if any(self._dispatch(self._parser.feed(line)) for line in lines):
                    break
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = self._lost(exc)
        if error is None and not self._closed:
            error = self._ended()
        self._fail(error)

    def _dispatch(self, event: Event | None) -> bool:
        """Handle one event; True when the client is leaving."""
        if event is None:
            return False
        if isinstance(event, Output):
            self._on_output(event.pane)
        elif isinstance(event, Block):
            if not event.ours:
                if not self._started.done():
                    self._started.set_result(event)
                return False
            self._resolve(event)
        elif isinstance(event, Exit):
            self._exit_reason = event.reason
            return True
        elif isinstance(event, Notification):
            if not event.name.startswith("paste-buffer-"):  # our own pastes cause those
                self._position += 1
                self._upset = self._position
            if event.name == "session-changed" and self._started.done():
                for watchers in self._watchers.values():  # a re-read will tell what happened
                    for watcher in watchers:
                        watcher._poke()
        else:
            log.debug("control on %s: %s", self.host, event.text)
            self._stray = [*self._stray[-4:], event.text]
        return False

    def _resolve(self, block: Block) -> None:
        if not self._pending:
            log.warning("control on %s: a block nobody asked for: %s", self.host, block)
            return
        pending = self._pending[0]
        text = "".join(f"{line}\n" for line in block.lines)
        pending.left -= 1
        if block.ok and pending.left > 0:
            pending.out.append(text)  # a chain: more blocks to come
            return
        self._pending.popleft()
        future, argv = pending.future, ("tmux", *pending.args)
        if future.done():  # its caller timed out or was cancelled
            return
        out = "".join(pending.out)
        stamp = Stamp(self, self._position)
        if block.ok:
            future.set_result(Answered(argv, 0, out + text, "", stamp))
        else:  # tmux skips the rest of a chain after a failure: no more blocks for this line
            future.set_result(Answered(argv, 1, out, text, stamp))

    def _ended(self) -> BridgeError:
        said = self._exit_reason or " ".join(self._stray[-2:])
        if self._exit_reason is None and self._remote:
            return HostUnreachableError(
                f"the tmux control channel to {self.host} ended without %exit"
                + (f": {said}" if said else ""),
                hint=f"try again; if it persists: agent-bridge doctor {self.host}",
                host=self.host,
            )
        return BridgeError(
            f"tmux control client on {self.host} exited" + (f": {said}" if said else "")
            + " (tmux server killed, or session gone?)",
            host=self.host,
        )

    def _lost(self, exc: BaseException) -> BridgeError:
        self._link_lost = True
        if isinstance(exc, BridgeError):
            return exc
        reason = str(exc) or type(exc).__name__
        if self._remote:
            return HostUnreachableError(
                f"lost the tmux control channel to {self.host}: {reason}",
                hint=f"try again; if it persists: agent-bridge doctor {self.host}",
                host=self.host,
            )
        return BridgeError(f"lost the tmux control channel on {self.host}: {reason}", host=self.host)

    def _fail(self, error: BridgeError | None) -> None:
        """Close for good: fail every pending command with ``error`` and wake every watcher."""
        if not self._closed:
            self._closed = True
            self._error = error
        self._outbox.clear()
        error = self._error or BridgeError(f"control channel to {self.host} is closed", host=self.host)
        if not self._started.done():
            self._started.set_exception(error)
            self._started.exception()  # retrieved: open() may already have given up
        while self._pending:
            future = self._pending.popleft().future
            if not future.done():
                future.set_exception(error)
        for watchers in self._watchers.values():
            for watcher in watchers:
                watcher._poke()
        if not self.process.is_closing():
            with contextlib.suppress(Exception):
                self.process.close()

    # -- closing ----------------------------------------------------------------------------

    async def close(self) -> None:
        """Detach (killing a private session first) and wait for the process, bounded."""
        if not self._closed:
            if self.own_session:  # runs before tmux sees the EOF; its %exit follows
                self._send_and_forget(("kill-session", "-t", f"={self.session}"))
            self._flush()
            self._closed = True
            self._error = None
        if not self.process.is_closing():
            with contextlib.suppress(Exception):
                self.process.close()
        if self._reader is not None:
            await finish(self._reader, 5)
        self._fail(None)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.process.wait_closed(), 5)

    async def __aenter__(self) -> ControlChannel:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


# -- the link a Tmux uses --------------------------------------------------------------------


RETRY_AFTER_S = 5.0  # after control mode could not start (no session yet, old tmux): exec meanwhile


class ControlLink:
    """The control channel for one tmux session on one host, opened on first use and reopened.

    :meth:`channel` gives the open channel, or ``None`` when control mode is unavailable there
    (session not there yet, a tmux without control mode, ...): the caller then uses one exec per
    command and polls, which is said once at ``-v``. A link that dropped raises
    :class:`HostUnreachableError` from :meth:`channel` (the caller's reconnect logic applies) and is
    reopened on the next call. :meth:`watcher` hands out one :class:`Watcher` per pane.
    """

    def __init__(self, transport: ProcessTransport, socket: str | None, session: str, *,
                 timeout: float = DEFAULT_TIMEOUT, open_timeout: float = OPEN_TIMEOUT) -> None:  # fmt: skip
        self.transport = transport
        self.socket = socket
        self.session = session
        self.timeout = timeout  # per command; over SSH a silent channel is a dropped link
        self.open_timeout = open_timeout
        self._channel: ControlChannel | None = None
        self._watchers: dict[str, Watcher] = {}
        self._failed_at: float | None = None
        self._said: str | None = None
        self._opening = asyncio.Lock()

    async def channel(self) -> ControlChannel | None:
        """The open channel; ``None`` (exec and poll instead) while control mode is unavailable."""
        if self._channel is not None and not self._channel.closed:
            return self._channel
        loop = asyncio.get_running_loop()
        if self._failed_at is not None and loop.time() - self._failed_at < RETRY_AFTER_S:
            return None
        async with self._opening:
            if self._channel is not None and not self._channel.closed:
                return self._channel
            self._watchers.clear()  # they belonged to the channel that closed
            try:
                self._channel = await ControlChannel.open(
                    self.transport, self.socket, session=self.session, timeout=self.open_timeout
                )
            except HostUnreachableError:
                raise
            except BridgeError as exc:
                self._failed_at = loop.time()
                if self._said != str(exc):
                    self._said = str(exc)
                    log.info("control mode unavailable on %s (%s); one exec per command, polling",
                             self.transport.host, exc)  # fmt: skip
                return None
            self._failed_at = None
            log.debug("control on %s: attached to session %s", self.transport.host, self.session)
            return self._channel

    async def watcher(self, pane: str) -> Watcher | None:
        """The watcher of ``pane`` (``None`` without a channel, or when the pane is elsewhere)."""
        channel = await self.channel()
        if channel is None:
            return None
        watcher = self._watchers.get(pane)
        if watcher is None or watcher.channel is not channel:
            try:
                watcher = await channel.watch(pane)
            except TargetNotFoundError:
                return None  # a pane of another session (moved?): polling still works
            self._watchers[pane] = watcher
        return watcher

    async def close(self) -> None:
        channel, self._channel = self._channel, None
        self._watchers.clear()
        if channel is not None:
            await channel.close()


# -- pasting ----------------------------------------------------------------------------------


async def paste_via_control(
    channel: ControlChannel,
    pane: str,
    text: str,
    *,
    chunk: int = 16384,
    then: Sequence[str] = (),
    only_if: str | None = None,
) -> None:
    """Type ``text`` exactly into ``pane`` as one bracketed paste, in ONE round trip.

    ``set-buffer`` (then ``set-buffer -a`` per further ``chunk`` characters) fills a uniquely
    named buffer and ``paste-buffer -p -r -d`` pastes it (bracketed when the program asked for
    it, LF kept, buffer deleted), all written at once; ``then`` keys (e.g. ``Enter``) are pressed
    right after, in the same write, if the paste worked. Empty text pastes nothing.

    ``only_if``: a tmux format, expanded for the pane when the paste is due; unless it is true,
    nothing is typed, the buffer is deleted and :class:`~bridge.errors.PaneChangedError` raised.
    """
    if not text:
        return
    if chunk < 1:
        raise ValueError("chunk must be positive")
    name = f"agent-bridge-{uuid.uuid4().hex[:12]}"
    pieces = [text[i : i + chunk] for i in range(0, len(text), chunk)]
    commands: list[tuple[str, ...] | Chain | IfFormat] = [("set-buffer", "-b", name, "--", pieces[0])]
    commands += [("set-buffer", "-a", "-b", name, "--", piece) for piece in pieces[1:]]
    commands.append(paste_buffer(name, pane, then=then, only_if=only_if))
    results = await channel.commands(commands, timeout=max(DEFAULT_TIMEOUT, len(text) / 100_000))
    failed = next((r for r in results if not r.ok), None)
    if failed is not None:
        await channel.command("delete-buffer", "-b", name)  # whatever was set; an error is fine
        raise failure(channel.host, failed, pane)
    refused_if_changed(results[-1], host=channel.host, pane=pane)


def paste_buffer(
    name: str, pane: str, *, then: Sequence[str] = (), only_if: str | None = None
) -> IfFormat:
    """The one tmux line that pastes buffer ``name`` into ``pane`` (deleting it) and presses the
    ``then`` keys, for the control and the exec path alike.

    Always an :class:`IfFormat`: tmux checks the pane and pastes (then the keys, only if the paste
    worked), or deletes the buffer and prints :data:`MISSING`, :data:`DEAD` or :data:`CHANGED`,
    with nothing in between (see :func:`refused_if_changed`). The check is ``only_if`` (the facts of the last
    look, :func:`bridge.tmux.same_as`, which include "alive") or at least :data:`ALIVE`: tmux 3.3a's
    server crashes on a paste into a dead pane, taking every agent of that server with it.
    """
    paste = ("paste-buffer", "-p", "-r", "-d", "-b", name, "-t", pane)
    keys = ("send-keys", "-t", pane, *then)  # no keys: a no-op
    said = f"#{{?pane_id,#{{?pane_dead,{DEAD},{CHANGED}}},{MISSING}}}"
    otherwise = (("delete-buffer", "-b", name), ("display-message", "-p", "-t", pane, said))
    return IfFormat(pane, only_if or ALIVE, (paste, keys), otherwise)


def refused_if_changed(result: Completed, *, host: str, pane: str) -> None:
    """Raise if a :func:`paste_buffer` typed nothing: :class:`TargetNotFoundError` for no pane,
    :class:`AgentNotReadyError` (state ``dead``) for a dead one, :class:`PaneChangedError` for one
    that changed since the last look."""
    said = result.stdout.split()
    if MISSING in said:
        raise TargetNotFoundError(
            f"tmux target {pane} not found on {host}; nothing was typed",
            hint="check the agent's target in the registry, or run: agent-bridge start AGENT",
            host=host,
            target=pane,
        )
    if DEAD in said:
        raise AgentNotReadyError(
            f"the pane {pane} on {host} is dead (its program exited); nothing was typed",
            hint="run: agent-bridge restart AGENT",
            host=host,
            target=pane,
            state="dead",
        )
    if CHANGED in said:
        raise PaneChangedError(f"pane {pane} changed since it was last seen; nothing was typed",
                               host=host, target=pane)  # fmt: skip


# -- helpers ----------------------------------------------------------------------------------


async def finish(task: asyncio.Task[None], timeout: float) -> None:
    """Let ``task`` end within ``timeout`` seconds, else cancel it; its outcome is not raised.

    Unlike ``suppress(CancelledError)`` around an await, a cancellation of the *caller* (Ctrl-C
    while closing) still goes through.
    """
    if not (await asyncio.wait({task}, timeout=timeout))[0]:
        task.cancel()
        await asyncio.wait({task}, timeout=timeout)
    if task.done() and not task.cancelled():
        task.exception()


def _consume(future: asyncio.Future[Completed]) -> None:
    if not future.cancelled():
        future.exception()  # a fire-and-forget command's failure is nobody's business


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


def _is_remote(transport: ProcessTransport) -> bool:
    from bridge.transport.ssh import SSHTransport

    return isinstance(transport, SSHTransport)


def failure(host: str, result: Completed, target: str | None) -> BridgeError:
    """THE mapping of a failed tmux command (exec or control) to an error of the tree.

    A missing target or server is :class:`TargetNotFoundError`; a dead pane (tmux 3.4+ refuses
    ``paste-buffer`` into one: "target pane has exited") is :class:`AgentNotReadyError` in state
    ``dead``; tmux not installed gets that hint; anything else is :class:`CommandError`.
    """
    err = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
    if any(marker in err for marker in _MISSING):
        return TargetNotFoundError(
            f"tmux target {target or '?'} not found on {host}: {err}",
            hint="check the agent's target in the registry, or run: agent-bridge start AGENT",
            host=host,
            target=target,
        )
    if "pane has exited" in err:
        return AgentNotReadyError(
            f"the pane {target or '?'} on {host} is dead (its program exited): {err}",
            hint="run: agent-bridge restart AGENT",
            host=host,
            target=target,
            state="dead",
        )
    hint = f"install tmux on {host}" if result.exit_status == 127 or "command not found" in err else None
    return CommandError(
        f"tmux failed on {host} (exit {result.exit_status}): {err or 'no message'}",
        hint=hint,
        argv=list(result.argv),
        exit_status=result.exit_status,
        stderr=result.stderr,
        host=host,
        target=target,
    )


def _attach_error(host: str, session: str, said: str) -> BridgeError:
    return TargetNotFoundError(
        f"cannot attach a tmux control client to session {session} on {host}: {said or 'it is gone'}",
        hint="is the session (and the tmux server) running?",
        host=host,
        target=session,
    )
