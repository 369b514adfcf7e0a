"""Running the demo agent on a real terminal: ``python -m bridge.demo [--delay SECONDS] [--log PATH]
[--model NAME]``.

:class:`App` is the event loop (terminal input and signals -> :class:`~bridge.demo.agent.DemoAgent`
-> :class:`~bridge.demo.terminal.InlineScreen`); :func:`main` parses the arguments and runs it.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bridge.demo.agent import DemoAgent
from bridge.demo.keys import Event, KeyDecoder
from bridge.demo.terminal import InlineScreen, Terminal

__all__ = ["App", "main"]

RESUME_COMMAND = "agent-bridge-demo"
ESCAPE_WAIT = 0.05
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
        resume = RESUME_COMMAND + (f" --session-id {agent.session}" if agent.session else "")
        self.screen.leave(f"\r\n\x1b[2mResume this session with:\r\n{resume}\x1b[0m\r\n")
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
        prog="agent-bridge-demo",
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
    parser.add_argument(
        "--session-id",
        metavar="ID",
        help="the session this run belongs to (written in the log; the demo keeps no conversation)",
    )
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
        delay=max(args.delay, 0.0), model=args.model, log=args.log, cwd=_cwd(), size=terminal.size(),
        session=args.session_id,
    )
    return App(agent, terminal).run()
