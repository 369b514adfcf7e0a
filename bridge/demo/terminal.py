"""The terminal side: raw mode, bracketed paste, signals, and an inline (no alternate screen) painter.

:class:`InlineScreen` works like Claude Code's renderer: finished conversation blocks are printed
once and scroll into the terminal's history ("static"), and only the bottom area (spinner, input
box, menus, dialogs: "dynamic") is redrawn, by moving the cursor up to its first row, clearing to
the end of the screen and printing it again. Every line is pre-wrapped to the width, so the number
of rows drawn is always known.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import signal
import termios
import tty
from collections.abc import Iterator, Sequence
from types import FrameType

from bridge.demo.render import Line, to_ansi

BRACKETED_PASTE_ON = "\x1b[?2004h"
BRACKETED_PASTE_OFF = "\x1b[?2004l"
HIDE_CURSOR = "\x1b[?25l"
SHOW_CURSOR = "\x1b[?25h"
READ_SIZE = 1 << 20


class Terminal:
    """Raw-mode terminal on two file descriptors, with a signal self-pipe for the event loop."""

    def __init__(self, fd_in: int, fd_out: int) -> None:
        self.fd_in = fd_in
        self.fd_out = fd_out
        self._wake_r, self._wake_w = os.pipe()
        for fd in (self._wake_r, self._wake_w):
            os.set_blocking(fd, False)
        self.signals: list[int] = []

    def size(self) -> tuple[int, int]:
        """(columns, rows)."""
        try:
            cols, rows = os.get_terminal_size(self.fd_out)
        except OSError:
            return 80, 24
        return max(cols, 20), max(rows, 8)

    @contextlib.contextmanager
    def session(self, handled: Sequence[signal.Signals]) -> Iterator[None]:
        """Raw mode + bracketed paste + hidden cursor + signal handlers; all undone on exit."""
        saved = termios.tcgetattr(self.fd_in)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in handled}
        old_wakeup = signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        try:
            tty.setraw(self.fd_in)
            self.write(BRACKETED_PASTE_ON + HIDE_CURSOR)
            yield
        finally:
            with contextlib.suppress(OSError):
                self.write(BRACKETED_PASTE_OFF + SHOW_CURSOR)
            with contextlib.suppress(termios.error, OSError):
                termios.tcsetattr(self.fd_in, termios.TCSAFLUSH, saved)
            signal.set_wakeup_fd(old_wakeup)
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.signals.append(signum)

    def wait_readable(self, timeout: float | None) -> bool:
        """Wait for input or a signal; True if there is input to read."""
        try:
            ready, _, _ = select.select([self.fd_in, self._wake_r], [], [], timeout)
        except InterruptedError:  # pragma: no cover - PEP 475 retries, kept for safety
            return False
        if self._wake_r in ready:
            with contextlib.suppress(BlockingIOError):
                while os.read(self._wake_r, 4096):
                    pass
        return self.fd_in in ready

    def read_available(self, limit: int = 64 << 20) -> bytes:
        """Everything readable right now (blocks for the first read only), up to ``limit`` bytes."""
        chunks = [os.read(self.fd_in, READ_SIZE)]
        if not chunks[0]:
            raise EOFError
        total = len(chunks[0])
        while total < limit and select.select([self.fd_in], [], [], 0)[0]:
            chunk = os.read(self.fd_in, READ_SIZE)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks)

    def write(self, text: str) -> None:
        data = memoryview(text.encode("utf-8", "replace"))
        while data:
            try:
                written = os.write(self.fd_out, data)
            except OSError as exc:
                if exc.errno == errno.EAGAIN:
                    select.select([], [self.fd_out], [], 1.0)
                    continue
                raise
            data = data[written:]


class InlineScreen:
    """Paints static lines once and keeps redrawing the dynamic bottom area."""

    def __init__(self, terminal: Terminal) -> None:
        self._term = terminal
        self._rows = 0  # rows of the dynamic area now on screen
        self._cursor_row = 0  # the cursor's row inside it
        self._last: tuple[str, int, int] | None = None

    def draw(
        self, static: Sequence[Line], dynamic: Sequence[Line], cursor: tuple[int, int] | None, width: int
    ) -> None:
        """Print ``static`` above the dynamic area, then redraw ``dynamic`` and place the cursor."""
        body = "\r\n".join(to_ansi(ln, width) for ln in dynamic)
        rows = max(len(dynamic), 1)
        row, col = cursor if cursor is not None else (rows - 1, 0)
        if not static and self._last == (body, row, col):
            return
        out = [self._to_top()]
        out.extend(to_ansi(ln, width) + "\r\n" for ln in static)
        out.append(body)
        up = rows - 1 - row
        out.append("\r" + (f"\x1b[{up}A" if up > 0 else "") + (f"\x1b[{col}C" if col > 0 else ""))
        self._rows, self._cursor_row, self._last = rows, row, (body, row, col)
        self._term.write("".join(out))

    def _to_top(self) -> str:
        """Cursor to the first row of the dynamic area, and clear from there down."""
        up = f"\x1b[{self._cursor_row}A" if self._cursor_row > 0 else ""
        return "\r" + up + "\x1b[J"

    def forget(self) -> None:
        """After a resize the old area cannot be trusted: redraw in full next time."""
        self._last = None

    def leave(self, text: str = "") -> None:
        """Move below the dynamic area (left as it is) and print ``text`` there."""
        down = self._rows - 1 - self._cursor_row
        self._term.write((f"\x1b[{down}B" if down > 0 else "") + "\r\n" + text)
        self._rows = self._cursor_row = 0
