"""Watching an agent: a live, read-only view of its pane, and logs of it on its host.

The commands are ``agent-bridge watch`` and ``agent-bridge logs`` (:mod:`bridge.cli.watch`).

``watch AGENT`` shows the agent's pane in this terminal and redraws only when the pane (or this
terminal's size) changed. It uses the alternate screen, hides the cursor and does not echo what
you type; all of that is restored when it ends (Ctrl-C, or an error, which is then printed on the
normal screen). Nothing you type reaches the agent.

``logs AGENT start`` makes tmux append everything the pane prints to a dated file on the agent's
host (``tmux pipe-pane -o``): ``${XDG_STATE_HOME:-~/.local/state}/agent-bridge/logs/
<agent>-YYYY-MM-DD.log``, created with mode 0600 in a 0700 folder, a new file each day. ``stop`` ends that,
``show`` prints the latest log and ``tail`` its end, with terminal escape codes removed.
Host commands are argv lists (values are passed as positional parameters to ``sh -c``, and the
one command tmux runs is built with :func:`shlex.quote`): nothing is interpolated unquoted.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from bridge.api import Bridge, Pane

# -- terminal text ----------------------------------------------------------------------------
# (bridge.screen is imported where used: the CLI imports this module at start-up, and wcwidth's
# tables take ~15 ms to load.)

_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")


def log_text(raw: str) -> str:
    """Readable text from a raw terminal stream: escape codes and control characters removed
    (cursor moves to another row become line breaks), carriage returns turned into line ends,
    repeated lines and runs of blank lines collapsed."""
    from bridge.screen import strip_ansi

    text = strip_ansi(raw, moves=True)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROLS.sub("", text)
    lines: list[str] = []
    for line in text.split("\n"):
        line = line.rstrip()
        if lines and line == lines[-1]:
            continue  # a redrawn line
        lines.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


def crop(line: str, width: int) -> str:
    """``line`` cut to ``width`` columns, keeping its escape sequences (colours) intact."""
    from bridge.screen import char_width, split_ansi

    out: list[str] = []
    used = 0
    before = ""
    for index, piece in enumerate(split_ansi(line)):
        if index % 2:
            out.append(piece)  # an escape sequence
            continue
        for char in piece:
            w = char_width(char, before)
            if used + w > width:
                return "".join(out)
            out.append(char)
            used += w
            before = char
    return "".join(out)


def render(screen: str, cols: int, rows: int, status: str) -> str:
    """One full frame: the bottom ``rows - 1`` lines of ``screen`` (blank tail trimmed), each cut
    to ``cols``, then ``status`` in reverse video on the last row. Cursor-addressed, so nothing
    scrolls."""
    from bridge.screen import strip_ansi, text_width

    lines = screen.split("\n")
    while lines and not strip_ansi(lines[-1]).strip():
        lines.pop()
    body = max(rows - 1, 0)
    shown = lines[-body:] if body else []
    parts: list[str] = []
    for row in range(body):
        line = shown[row] if row < len(shown) else ""
        parts.append(f"\x1b[{row + 1};1H\x1b[0m{crop(line, cols)}\x1b[0m\x1b[K")
    bar = crop(status, cols)
    bar += " " * max(cols - text_width(strip_ansi(bar)), 0)
    parts.append(f"\x1b[{rows};1H\x1b[0;7m{bar}\x1b[0m")
    return "".join(parts)


ENTER = "\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J"  # alternate screen, hide cursor, clear
LEAVE = "\x1b[0m\x1b[?25h\x1b[?1049l"  # reset colours, show cursor, back to the normal screen


@contextlib.contextmanager
def terminal(out: TextIO, stdin: TextIO) -> Iterator[None]:
    """The alternate screen with the cursor hidden and typing not echoed; restored on exit."""
    saved: list[Any] | None = None
    fd = -1
    with contextlib.suppress(AttributeError, OSError, ValueError):
        if stdin.isatty():
            import termios

            fd = stdin.fileno()
            saved = termios.tcgetattr(fd)
            quiet = termios.tcgetattr(fd)
            quiet[3] &= ~(termios.ECHO | termios.ICANON)  # keep ISIG: Ctrl-C still interrupts
            termios.tcsetattr(fd, termios.TCSADRAIN, quiet)
    out.write(ENTER)
    out.flush()
    try:
        yield
    finally:
        out.write(LEAVE)
        out.flush()
        if saved is not None:
            import termios

            with contextlib.suppress(OSError):
                termios.tcflush(fd, termios.TCIFLUSH)  # what was typed while watching is dropped
                termios.tcsetattr(fd, termios.TCSADRAIN, saved)


async def watch(
    bridge: Bridge,
    agent: str,
    *,
    interval: float,
    out: TextIO,
    size: Callable[[], os.terminal_size],
    frames: int | None = None,
) -> None:
    """Redraw ``agent``'s pane on ``out`` whenever it (or the terminal size) changes, until
    Ctrl-C (SIGINT) or ``frames`` redraws. Expects ``out`` to be in :func:`terminal` mode."""
    pane = await bridge.pane(agent)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled = False
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGINT, stop.set)
        handled = True
    try:
        await _redraw_loop(pane, agent, interval, out, size, stop, frames)
    finally:
        if handled:
            loop.remove_signal_handler(signal.SIGINT)


async def _redraw_loop(
    pane: Pane,
    agent: str,
    interval: float,
    out: TextIO,
    size: Callable[[], os.terminal_size],
    stop: asyncio.Event,
    frames: int | None,
) -> None:
    from bridge.errors import BridgeError

    where = f"{pane.pane_id} on {pane.tmux.host}"
    last: tuple[str, int, int] | None = None
    drawn = 0
    while not stop.is_set():
        try:
            screen = await pane.tmux.capture(pane.pane_id, ansi=True, join=False)
        except BridgeError:
            if stop.is_set():  # Ctrl-C also reached the local tmux client: not an error
                return
            raise
        cols, rows = size()
        if (screen, cols, rows) != last:
            last = (screen, cols, rows)
            status = (
                f" watching {agent} ({where}) · read-only · Ctrl-C quits · "
                f"changed {time.strftime('%H:%M:%S')} "
            )
            out.write(render(screen, cols, rows, status))
            out.flush()
            drawn += 1
            if frames is not None and drawn >= frames:
                return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


# -- logs -------------------------------------------------------------------------------------

_LOG_DIR = 'd="${XDG_STATE_HOME:-$HOME/.local/state}/agent-bridge/logs"'
# $1 = agent name. Prints the path of today's log, created 0600 (folder 0700) if missing.
_PREPARE = (
    f'umask 077; {_LOG_DIR}; mkdir -p "$d" || exit 1; f="$d/$1-$(date +%Y-%m-%d).log"; '
    ': >> "$f" && chmod 600 "$f" || exit 1; printf "%s\\n" "$f"'
)
# $1 = agent name. Prints the path of the agent's latest log, or exits 3 if there is none.
_LATEST = (
    f"{_LOG_DIR}; f=$(ls -1 \"$d/$1\"-[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9].log 2>/dev/null "
    '| tail -n 1); [ -n "$f" ] || exit 3; printf "%s\\n" "$f"'
)
TAIL_BYTES = 512 * 1024  # how much of the log's end `tail` reads before stripping
DAY = "%Y-%m-%d"
# What tmux pipes the pane's output into: each line appended to the file of the day it arrived
# (so the log rotates at midnight by itself), flushed as it comes, files created 0600. awk's
# strftime (mawk, gawk, busybox) tells the day; an awk without it gets one file, as `cat` would.
_AWK = (
    '{ f = d "/" a "-" strftime(fmt) ".log"; if (f != last) { if (last != "") close(last); last = f } '
    "print >> f; fflush(f) }"
)


def pipe_command(path: str, agent: str, fmt: str = DAY) -> str:
    """The command ``pipe-pane`` runs for a log whose first file is ``path`` (see _AWK)."""
    q = shlex.quote
    probe = q('BEGIN { strftime("%Y") }')
    # mawk reads a pipe in blocks unless told to take each line as it comes
    line_by_line = 'i=""; awk -W version 2>/dev/null | grep -q mawk && i="-W interactive"'
    rotating = f"exec awk $i -v d={q(os.path.dirname(path))} -v a={q(agent)} -v fmt={q(fmt)} {q(_AWK)}"
    return (f"umask 077; {line_by_line}; if awk {probe} >/dev/null 2>&1; then {rotating}; "
            f"else exec cat >> {q(path)}; fi")  # fmt: skip


@dataclass(frozen=True)
class LogStatus:
    agent: str
    pane: str
    host: str
    logging: bool
    path: str | None = None
    changed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"agent": self.agent, "pane": self.pane, "host": self.host,
                "logging": self.logging, "path": self.path, "changed": self.changed}


async def _sh(pane: Pane, script: str, *args: str) -> tuple[int, str, str]:
    result = await pane.tmux.transport.run(["sh", "-c", script, "sh", *args])
    return result.exit_status, result.stdout.strip(), result.stderr.strip()


async def _piping(pane: Pane) -> bool:
    out = await pane.tmux.run("display-message", "-p", "-t", pane.pane_id, "#{pane_pipe}",
                              target=pane.pane_id)
    return out.stdout.strip() == "1"


async def log_start(bridge: Bridge, agent: str) -> LogStatus:
    """Append the pane's output to today's log on the agent's host (no-op if already logging)."""
    from bridge.errors import CommandError

    pane = await bridge.pane(agent)
    host = pane.tmux.host
    if await _piping(pane):
        return LogStatus(agent, pane.pane_id, host, True, await _latest(pane, agent))
    status, path, err = await _sh(pane, _PREPARE, agent)
    if status != 0 or not path.startswith("/"):
        raise CommandError(
            f"cannot create the log file for {agent} on {host}: {err or 'no path printed'}",
            argv=["sh", "-c", _PREPARE, "sh", agent], exit_status=status, stderr=err, host=host,
        )
    await pane.tmux.run("pipe-pane", "-o", "-t", pane.pane_id, pipe_command(path, agent),
                        target=pane.pane_id)  # fmt: skip
    return LogStatus(agent, pane.pane_id, host, True, path, changed=True)


async def log_stop(bridge: Bridge, agent: str) -> LogStatus:
    """Stop appending the pane's output to the log (no-op if not logging)."""
    pane = await bridge.pane(agent)
    piping = await _piping(pane)
    if piping:
        await pane.tmux.run("pipe-pane", "-t", pane.pane_id, target=pane.pane_id)
    return LogStatus(agent, pane.pane_id, pane.tmux.host, False, await _latest(pane, agent),
                     changed=piping)


async def _latest(pane: Pane, agent: str) -> str | None:
    status, path, _ = await _sh(pane, _LATEST, agent)
    return path if status == 0 and path else None


async def log_read(bridge: Bridge, agent: str, *, lines: int | None = None) -> tuple[str, str]:
    """``(path, text)`` of the agent's latest log with escape codes removed; the last ``lines``
    lines only when given."""
    from bridge.errors import BridgeError, CommandError

    pane = await bridge.pane(agent)
    path = await _latest(pane, agent)
    if path is None:
        raise BridgeError(f"no log for {agent} on {pane.tmux.host} yet",
                          hint=f"start one: agent-bridge logs {agent} start")
    argv = ["cat", path] if lines is None else ["tail", "-c", str(TAIL_BYTES), path]
    result = await pane.tmux.transport.run(argv)
    if not result.ok:
        raise CommandError(f"cannot read {path} on {pane.tmux.host}: {result.stderr.strip()}",
                           argv=argv, exit_status=result.exit_status, stderr=result.stderr,
                           host=pane.tmux.host)
    text = log_text(result.stdout)
    if lines is not None:
        text = "\n".join(text.split("\n")[-lines:]) if lines > 0 else ""
    return path, text


async def log_turns(bridge: Bridge, agent: str) -> list[dict[str, Any]]:
    """The conversation the agent's pane holds (its scrollback included), as turns: each prompt
    and the reply after it, read with its profile, without the screen's redraws."""
    from bridge.reading.reply import conversation

    driver = await bridge.driver(agent)
    facts = await driver.handle.current_facts()
    seen = await driver.observe(history=facts.history_size)
    return [{"prompt": turn.text, "reply": reply.text, "complete": reply.complete}
            for turn, reply in conversation(seen.snapshot, driver.profile)]  # fmt: skip
