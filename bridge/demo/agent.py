"""The demo agent's state machine: a small terminal agent that looks and behaves like Claude Code
2.1.197.

:class:`DemoAgent` (idle, busy, model menu, model confirm, permission) is fed with key events and
clock ticks; :meth:`DemoAgent.frame` turns its state into lines with :mod:`bridge.demo.render`.
What is typed collects in :mod:`bridge.demo.buffer`; :mod:`bridge.demo.app` runs it on the real
terminal. Replies come from :mod:`bridge.demo.replies` (no network).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from pathlib import Path

import bridge.demo.render as render
from bridge.demo.buffer import Chunk, InputBuffer
from bridge.demo.keys import Event, Key, Paste, Text
from bridge.demo.render import Drawn, Line, ToolState
from bridge.demo.replies import delay_for, reply_for, tool_command

__all__ = ["DemoAgent", "Mode", "Turn", "canonical_model"]

VERSION = "0.1.0"
CTRL_C_WINDOW = 2.0
SPINNER_INTERVAL = 0.12
INTERRUPTED = "Interrupted · What should the demo agent do instead?"
EXIT_COMMANDS = ("/exit", "/quit")


class Mode(enum.Enum):
    IDLE = "idle"
    BUSY = "busy"
    MODEL_MENU = "model-menu"
    MODEL_CONFIRM = "model-confirm"
    PERMISSION = "permission"


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
        session: str | None = None,
    ) -> None:
        self.delay = delay
        self.session = session
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
            entry = {"prompt": text, "model": self.model}
            if self.session:
                entry["session"] = self.session
            handle.write(json.dumps(entry) + "\n")

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
