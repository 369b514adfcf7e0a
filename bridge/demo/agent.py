"""The demo agent: a small terminal agent that looks and behaves like Claude Code 2.1.197.

``python -m bridge.demo [--delay SECONDS] [--log PATH] [--model NAME]``

:class:`DemoAgent` is the state machine (idle, busy, model menu, model confirm, permission) fed
with key events and clock ticks; :meth:`DemoAgent.frame` turns its state into lines with
:mod:`bridge.demo.render`; :func:`main` runs it on the real terminal with
:mod:`bridge.demo.terminal`. Replies come from :mod:`bridge.demo.replies` (no network).
"""

from __future__ import annotations

import argparse
import enum
import errno
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bridge.demo import render
from bridge.demo.keys import Event, Key, KeyDecoder, Paste, Text
from bridge.demo.render import Drawn, Line, ToolState
from bridge.demo.replies import delay_for, reply_for, tool_command
from bridge.demo.terminal import InlineScreen, Terminal

VERSION = "0.1.0"
RESUME_COMMAND = "python -m bridge.demo"
CTRL_C_WINDOW = 2.0
ESCAPE_WAIT = 0.05
SPINNER_INTERVAL = 0.12
COLLAPSE_NEWLINES = 10
COLLAPSE_CHARS = 1000
INTERRUPTED = "Interrupted · What should the demo agent do instead?"
EXIT_COMMANDS = ("/exit", "/quit")


class Mode(enum.Enum):
    IDLE = "idle"
    BUSY = "busy"
    MODEL_MENU = "model-menu"
    MODEL_CONFIRM = "model-confirm"
    PERMISSION = "permission"


@dataclass
class Chunk:
    """Part of the input: typed text, or one paste shown collapsed as ``label``."""

    text: str
    label: str | None = None

    @property
    def display(self) -> str:
        return self.label if self.label is not None else self.text


@dataclass
class InputBuffer:
    chunks: list[Chunk] = field(default_factory=list)
    pastes: int = 0

    @property
    def text(self) -> str:
        return "".join(chunk.text for chunk in self.chunks)

    @property
    def display(self) -> str:
        return "".join(chunk.display for chunk in self.chunks)

    def type(self, text: str) -> None:
        if self.chunks and self.chunks[-1].label is None:
            self.chunks[-1].text += text
        else:
            self.chunks.append(Chunk(text))

    def paste(self, text: str) -> None:
        newlines = text.count("\n")
        if newlines < COLLAPSE_NEWLINES and len(text) <= COLLAPSE_CHARS:
            self.type(text)
            return
        self.pastes += 1
        more = f" +{newlines} lines" if newlines else ""
        self.chunks.append(Chunk(text, f"[Pasted text #{self.pastes}{more}]"))

    def backspace(self) -> None:
        if not self.chunks:
            return
        last = self.chunks[-1]
        if last.label is None and len(last.text) > 1:
            last.text = last.text[:-1]
        else:
            self.chunks.pop()

    def take(self) -> list[Chunk]:
        chunks, self.chunks = self.chunks, []
        return chunks

    def put_back(self, chunks: list[Chunk]) -> None:
        self.chunks = [*chunks, *self.chunks]


@dataclass
class Turn:
    """One prompt being answered."""

    prompt: str
    chunks: list[Chunk]
    started: float
    busy_until: float
    command: str | None
    echo_static: bool = False
    tool_state: ToolState | None = None  # None until the reply asks to run ``command``
    _echo: tuple[int, list[Line]] | None = None

    def echo(self, width: int) -> list[Line]:
        if self._echo is None or self._echo[0] != width:
            self._echo = (width, render.user_turn_block(self.prompt, width))
        return self._echo[1]

    def tool(self, width: int) -> Drawn:
        assert self.command is not None and self.tool_state is not None
        outcome = {"waiting": "Waiting…", "ran": f"ran: {self.command}", "rejected": INTERRUPTED}
        return Drawn(render.tool_block(self.command, self.tool_state, outcome[self.tool_state], width))


def canonical_model(name: str) -> str:
    for choice in render.MODELS:
        if name.strip().lower() in (choice.name.lower(), choice.label.lower()):
            return choice.name
    return name.strip()


class DemoAgent:
    """The state machine. Feed it events (:meth:`handle`) and time (:meth:`tick`); read :meth:`frame`."""

    def __init__(
        self,
        *,
        delay: float = 0.3,
        model: str = "Default",
        log: Path | None = None,
        cwd: str = "/",
        size: tuple[int, int] = (80, 24),
    ) -> None:
        self.delay = delay
        self.model = canonical_model(model) or "Default"
        self.log = log
        self.width, self.height = size
        self.mode = Mode.IDLE
        self.input = InputBuffer()
        self.turn: Turn | None = None
        self.menu_echo: list[Line] = []
        self.menu_highlight = 0
        self.confirm_highlight = 0
        self.permission_highlight = 0
        self.allowed_commands: set[str] = set()
        self.has_conversation = False
        self.ctrl_c_until = 0.0
        self.exit_code: int | None = None
        self.static: list[Line] = render.header_block(VERSION, self.model, cwd)

    # -- output ---------------------------------------------------------------------------------------

    def commit(self, *blocks: list[Line]) -> None:
        """Print finished blocks into the conversation (they scroll, never redrawn)."""
        for block in blocks:
            self.static += [render.BLANK, *block]

    def take_static(self) -> list[Line]:
        lines, self.static = self.static, []
        return lines

    def footer(self, now: float) -> str:
        if now < self.ctrl_c_until:
            return "Press Ctrl-C again to exit"
        return "esc to interrupt" if self.mode is Mode.BUSY else "? for shortcuts"

    def frame(self, now: float) -> Drawn:
        """The dynamic area: the live turn, the open dialog, the input box."""
        width = self.width
        blocks: list[Drawn] = []
        if self.mode in (Mode.MODEL_MENU, Mode.MODEL_CONFIRM):
            blocks.append(Drawn(self.menu_echo))
            if self.mode is Mode.MODEL_MENU:
                blocks.append(render.model_menu_block(self.model, self.menu_highlight, width))
            else:
                chosen = render.MODELS[self.menu_highlight].name
                blocks.append(render.model_confirm_block(chosen, self.confirm_highlight, width))
        elif self.turn is not None:
            turn = self.turn
            if not turn.echo_static:
                blocks.append(Drawn(turn.echo(width)))
            if turn.tool_state is not None:
                blocks.append(turn.tool(width))
            if self.mode is Mode.BUSY:
                elapsed = now - turn.started
                blocks.append(Drawn(render.spinner_block(int(elapsed / SPINNER_INTERVAL), int(elapsed))))
            elif self.mode is Mode.PERMISSION:
                assert turn.command is not None
                blocks.append(render.permission_block(turn.command, self.permission_highlight, width))
        if self.mode in (Mode.IDLE, Mode.BUSY):
            blocks.append(
                render.input_box(
                    self.input.display,
                    busy=self.mode is Mode.BUSY,
                    footer=self.footer(now),
                    width=width,
                    max_rows=max(self.height - 8, 1),
                )
            )
        return _fit(render.stack(blocks), self.height - 1)

    def next_deadline(self, now: float) -> float | None:
        """When the screen or state changes next without input."""
        deadlines = []
        if self.mode is Mode.BUSY and self.turn is not None:
            frame = int((now - self.turn.started) / SPINNER_INTERVAL) + 1
            deadlines += [self.turn.busy_until, self.turn.started + frame * SPINNER_INTERVAL]
        if now < self.ctrl_c_until:
            deadlines.append(self.ctrl_c_until)
        return min(deadlines) if deadlines else None

    def resize(self, size: tuple[int, int]) -> None:
        self.width, self.height = size

    # -- input ------------------------------------------------------------------------------------------

    def handle(self, event: Event, now: float) -> None:
        handler = {
            Mode.IDLE: self._on_compose,
            Mode.BUSY: self._on_compose,
            Mode.MODEL_MENU: self._on_model_menu,
            Mode.MODEL_CONFIRM: self._on_model_confirm,
            Mode.PERMISSION: self._on_permission,
        }[self.mode]
        handler(event, now)

    def _on_compose(self, event: Event, now: float) -> None:
        if isinstance(event, Paste):
            self.input.paste(event.text)
        elif isinstance(event, Text):
            self.input.type(event.text)
        elif event.name == "tab":
            self.input.type("\t")
        elif event.name == "backspace":
            self.input.backspace()
        elif event.name == "ctrl-u":
            self.input.take()
        elif event.name == "enter" and self.mode is Mode.IDLE:
            self.submit(now)
        elif event.name == "escape" and self.mode is Mode.BUSY:
            self.interrupt()
        elif event.name == "ctrl-c":
            self._ctrl_c(now)

    def _ctrl_c(self, now: float) -> None:
        if self.mode is Mode.BUSY:
            self.interrupt()
        elif self.input.chunks:
            self.input.take()
        elif now < self.ctrl_c_until:
            self.exit_code = 0
            return
        self.ctrl_c_until = now + CTRL_C_WINDOW

    @staticmethod
    def _choice(event: Event, highlight: int, count: int) -> tuple[int, str | None]:
        """Menu navigation: (new highlight, "enter" / "escape" / None)."""
        if isinstance(event, Text):
            digits = [ch for ch in event.text if ch.isdigit() and 1 <= int(ch) <= count]
            return (int(digits[-1]) - 1 if digits else highlight), None
        if isinstance(event, Key):
            if event.name == "up":
                return max(highlight - 1, 0), None
            if event.name == "down":
                return min(highlight + 1, count - 1), None
            if event.name == "enter":
                return highlight, "enter"
            if event.name in ("escape", "ctrl-c"):
                return highlight, "escape"
        return highlight, None

    def _on_model_menu(self, event: Event, now: float) -> None:
        self.menu_highlight, action = self._choice(event, self.menu_highlight, len(render.MODELS))
        if action == "escape":
            self._model_done(render.result_line("Kept model as ", bold_tail=self.model))
        elif action == "enter":
            chosen = render.MODELS[self.menu_highlight].name
            if chosen == self.model:
                self._model_done(render.result_line("Kept model as ", bold_tail=chosen))
            elif self.has_conversation:
                self.mode, self.confirm_highlight = Mode.MODEL_CONFIRM, 0
            else:
                self.set_model(chosen)

    def _on_model_confirm(self, event: Event, now: float) -> None:
        self.confirm_highlight, action = self._choice(event, self.confirm_highlight, 2)
        if action == "enter" and self.confirm_highlight == 0:
            self.set_model(render.MODELS[self.menu_highlight].name)
        elif action is not None:
            self.mode = Mode.MODEL_MENU

    def _on_permission(self, event: Event, now: float) -> None:
        count = len(render.PERMISSION_OPTIONS)
        self.permission_highlight, action = self._choice(event, self.permission_highlight, count)
        turn = self.turn
        assert turn is not None and turn.command is not None
        if action == "escape" or (action == "enter" and self.permission_highlight == 2):
            turn.tool_state = "rejected"
            self._end_turn()
        elif action == "enter":
            if self.permission_highlight == 1:
                self.allowed_commands.add(turn.command)
            turn.tool_state = "ran"
            turn.started, turn.busy_until = now, now + self.delay
            self.mode = Mode.BUSY

    # -- turns ------------------------------------------------------------------------------------------

    def submit(self, now: float) -> None:
        text = self.input.text
        if not text.strip():
            return
        command = text.strip()
        if command in EXIT_COMMANDS:
            self.exit_code = 0
            return
        chunks = self.input.take()
        self.ctrl_c_until = 0.0
        if command == "/model" or command.startswith("/model "):
            self.open_model(command.removeprefix("/model").strip(), text)
            return
        self._log(text)
        self.has_conversation = True
        self.turn = Turn(text, chunks, now, now + delay_for(text, self.delay), tool_command(text))
        echo = self.turn.echo(self.width)
        if len(echo) > self.height // 2:  # too tall to redraw: print it now
            self.turn.echo_static = True
            self.commit(echo)
        self.mode = Mode.BUSY

    def tick(self, now: float) -> None:
        turn = self.turn
        if self.mode is not Mode.BUSY or turn is None or now < turn.busy_until:
            return
        if turn.command is not None and turn.tool_state is None:
            if turn.command in self.allowed_commands:
                turn.tool_state, turn.busy_until = "ran", now + self.delay
            else:
                turn.tool_state, self.permission_highlight = "waiting", 0
                self.mode = Mode.PERMISSION
            return
        reply = f"Done: {turn.command}" if turn.tool_state == "ran" else reply_for(turn.prompt)
        self._end_turn(render.reply_block(reply, self.width), render.worked_block(round(now - turn.started)))

    def interrupt(self) -> None:
        """Esc while busy: before any output the turn is taken back and its text returns to the input."""
        turn = self.turn
        if turn is None:
            return
        if turn.tool_state is None:
            self.input.put_back(turn.chunks)
            if turn.echo_static:
                self.commit([render.result_line(INTERRUPTED, tool=True, style=render.GREY)])
            self.turn, self.mode = None, Mode.IDLE
        else:
            self._end_turn([render.result_line(INTERRUPTED, tool=True, style=render.GREY)])

    def _end_turn(self, *blocks: list[Line]) -> None:
        turn = self.turn
        assert turn is not None
        done: list[list[Line]] = [] if turn.echo_static else [turn.echo(self.width)]
        if turn.tool_state is not None:
            done.append(turn.tool(self.width).lines)
        self.commit(*done, *blocks)
        self.turn, self.mode = None, Mode.IDLE

    def _log(self, text: str) -> None:
        if self.log is None:
            return
        with open(self.log, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"prompt": text, "model": self.model}) + "\n")

    # -- /model ------------------------------------------------------------------------------------------

    def open_model(self, name: str, text: str) -> None:
        self.menu_echo = render.user_turn_block(text, self.width)
        if name:
            self.set_model(canonical_model(name))
            return
        names = [choice.name for choice in render.MODELS]
        self.menu_highlight = names.index(self.model) if self.model in names else 0
        self.mode = Mode.MODEL_MENU

    def set_model(self, name: str) -> None:
        self.model = name
        self._model_done(render.result_line("Set model to ", bold_tail=name))

    def _model_done(self, result: Line) -> None:
        self.commit([*self.menu_echo, result])
        self.menu_echo, self.mode = [], Mode.IDLE


def _fit(drawn: Drawn, rows: int) -> Drawn:
    """Keep the bottom ``rows`` lines: the dynamic area must fit on the screen to be redrawn."""
    extra = len(drawn.lines) - max(rows, 1)
    if extra <= 0:
        return drawn
    cursor = drawn.cursor
    if cursor is not None:
        cursor = (max(cursor[0] - extra, 0), cursor[1])
    return Drawn(drawn.lines[extra:], cursor)


# -- running on a terminal --------------------------------------------------------------------------------

EXIT_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class App:
    """The event loop: terminal input and signals -> :class:`DemoAgent` -> :class:`InlineScreen`."""

    def __init__(self, agent: DemoAgent, terminal: Terminal) -> None:
        self.agent = agent
        self.term = terminal
        self.screen = InlineScreen(terminal)
        self.keys = KeyDecoder()
        self._escape_since: float | None = None

    def run(self) -> int:
        with self.term.session([signal.SIGWINCH, *EXIT_SIGNALS]):
            try:
                return self._loop()
            except EOFError:  # the terminal went away
                return 1
            except OSError as exc:
                if exc.errno in (errno.EIO, errno.EBADF, errno.EPIPE):  # ... while writing to it
                    return 1
                raise

    def _loop(self) -> int:
        agent = self.agent
        agent.resize(self.term.size())
        self.render()
        while agent.exit_code is None:
            readable = self.term.wait_readable(self._timeout(time.monotonic()))
            stop = self._signals()
            if stop:
                self.screen.leave("\r\n")
                return 128 + stop
            now = time.monotonic()
            events: list[Event] = []
            if readable:
                events = self.keys.feed(self.term.read_available())
            if self.keys.pending():
                self._escape_since = self._escape_since or now
                if now - self._escape_since >= ESCAPE_WAIT:
                    events += self.keys.flush()
            if not self.keys.pending():
                self._escape_since = None
            for event in events:
                agent.handle(event, now)
                if agent.exit_code is not None:
                    break
            agent.tick(now)
            self.render()
        self.screen.leave(f"\r\n\x1b[2mResume this session with:\r\n{RESUME_COMMAND}\x1b[0m\r\n")
        return agent.exit_code or 0

    def _timeout(self, now: float) -> float | None:
        deadline = self.agent.next_deadline(now)
        if self._escape_since is not None:
            escape = self._escape_since + ESCAPE_WAIT
            deadline = escape if deadline is None else min(deadline, escape)
        return None if deadline is None else max(deadline - now, 0.0)

    def _signals(self) -> int:
        """Handle pending signals; the number of one that asks to exit, else 0."""
        signals, self.term.signals[:] = list(self.term.signals), []
        if signal.SIGWINCH in signals:
            self.agent.resize(self.term.size())
            self.screen.forget()
        return next((sig for sig in signals if sig in EXIT_SIGNALS), 0)

    def render(self) -> None:
        now = time.monotonic()
        frame = self.agent.frame(now)
        self.screen.draw(self.agent.take_static(), frame.lines, frame.cursor, self.agent.width)


def _cwd() -> str:
    cwd = os.getcwd()
    home = os.path.expanduser("~")
    return "~" + cwd[len(home) :] if home not in ("", "/") and (cwd + "/").startswith(home + "/") else cwd


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bridge.demo",
        description="A small terminal agent that looks and behaves like Claude Code (mock replies).",
    )
    parser.add_argument(
        "--delay",
        type=float,
        default=0.3,
        metavar="SECONDS",
        help="how long each reply takes (a prompt with delayN waits N seconds)",
    )
    parser.add_argument(
        "--log",
        type=Path,
        metavar="PATH",
        help='append {"prompt": ..., "model": ...} as one JSON line per prompt',
    )
    parser.add_argument("--model", default="Default", metavar="NAME", help="the model shown at start")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not (os.isatty(sys.stdin.fileno()) and os.isatty(sys.stdout.fileno())):
        print("bridge.demo: needs a terminal (run it in tmux or a terminal window)", file=sys.stderr)
        return 2
    if args.log is not None:
        try:
            args.log.open("a", encoding="utf-8").close()
        except OSError as exc:
            print(f"bridge.demo: cannot write the log {args.log}: {exc.strerror}", file=sys.stderr)
            return 2
    terminal = Terminal(sys.stdin.fileno(), sys.stdout.fileno())
    agent = DemoAgent(
        delay=max(args.delay, 0.0), model=args.model, log=args.log, cwd=_cwd(), size=terminal.size()
    )
    return App(agent, terminal).run()
