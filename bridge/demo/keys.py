"""Raw terminal input -> key events (pure: bytes in, events out; no I/O).

Understands UTF-8 text, C0 keys (Enter = CR, Backspace = DEL/BS, Ctrl-C, Tab, LF as a typed
newline), CSI/SS3 escape sequences (arrows, focus events, ...) and bracketed paste
(``ESC[200~ ... ESC[201~``), whose body is collected in bulk so a multi-megabyte paste costs a
few string operations per read, not work per byte. Inside a paste CRLF and lone CR become LF.

A lone ESC is ambiguous (the Escape key, or the start of a sequence still on its way):
:meth:`KeyDecoder.pending` says so and the caller calls :meth:`KeyDecoder.flush` after a short
quiet time to turn it into an Escape key.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

PASTE_START = "\x1b[200~"
PASTE_END = "\x1b[201~"


@dataclass(frozen=True)
class Key:
    """A named key: enter, backspace, escape, tab, ctrl-c, ctrl-d, up, down, left, right, ..."""

    name: str


@dataclass(frozen=True)
class Text:
    """Typed printable text (consecutive characters coalesced); a typed LF is ``"\\n"``."""

    text: str


@dataclass(frozen=True)
class Paste:
    """The body of one bracketed paste, newlines normalised to LF."""

    text: str


Event = Key | Text | Paste

_CONTROL_KEYS = {
    "\r": "enter",
    "\x7f": "backspace",
    "\x08": "backspace",
    "\t": "tab",
    "\x03": "ctrl-c",
    "\x04": "ctrl-d",
    "\x15": "ctrl-u",
}
_CSI_FINALS = {"A": "up", "B": "down", "C": "right", "D": "left", "H": "home", "F": "end", "Z": "shift-tab"}
_CSI_TILDE = {"1": "home", "2": "insert", "3": "delete", "4": "end", "5": "pageup", "6": "pagedown"}


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


class KeyDecoder:
    """Incremental decoder; feed it whatever ``os.read`` returned."""

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")("replace")
        self._buf = ""
        self._paste: list[str] | None = None

    @property
    def in_paste(self) -> bool:
        """True between a paste's start and end markers."""
        return self._paste is not None

    def pending(self) -> bool:
        """True if an incomplete escape sequence (maybe a lone Escape key) is buffered."""
        return self._paste is None and self._buf.startswith("\x1b")

    def feed(self, data: bytes) -> list[Event]:
        self._buf += self._utf8.decode(data)
        return self._drain(final=False)

    def flush(self) -> list[Event]:
        """The input went quiet: a buffered lone ESC is the Escape key."""
        if self._paste is not None:
            return []
        return self._drain(final=True)

    def _drain(self, *, final: bool) -> list[Event]:
        events: list[Event] = []
        typed: list[str] = []

        def emit(event: Event) -> None:
            if typed:
                events.append(Text("".join(typed)))
                typed.clear()
            events.append(event)

        buf, i = self._buf, 0
        while i < len(buf):
            if self._paste is not None:
                end = buf.find(PASTE_END, i)
                if end < 0:
                    keep = max(i, len(buf) - (len(PASTE_END) - 1))
                    self._paste.append(buf[i:keep])
                    i = keep
                    break
                self._paste.append(buf[i:end])
                emit(Paste(_normalise_newlines("".join(self._paste))))
                self._paste = None
                i = end + len(PASTE_END)
                continue
            ch = buf[i]
            if ch != "\x1b":
                if ch in _CONTROL_KEYS:
                    emit(Key(_CONTROL_KEYS[ch]))
                elif ch == "\n" or ch >= " ":
                    typed.append(ch)
                i += 1
                continue
            consumed, event = _parse_escape(buf, i, final=final)
            if consumed == 0:
                break  # incomplete sequence: wait for more bytes
            i += consumed
            if event == PASTE_START:
                if typed:
                    events.append(Text("".join(typed)))
                    typed.clear()
                self._paste = []
            elif isinstance(event, Key):
                emit(event)
        if typed:
            events.append(Text("".join(typed)))
        self._buf = buf[i:]
        return events


def _parse_escape(buf: str, i: int, *, final: bool) -> tuple[int, Key | str | None]:
    """Parse the sequence at ``buf[i] == ESC``: (characters consumed, Key / PASTE_START / None).

    Returns (0, None) when the sequence is incomplete and more input may complete it.
    """
    if i + 1 >= len(buf):
        return (1, Key("escape")) if final else (0, None)
    nxt = buf[i + 1]
    if nxt == "[":
        j = i + 2
        while j < len(buf) and "\x30" <= buf[j] <= "\x3f":
            j += 1
        while j < len(buf) and "\x20" <= buf[j] <= "\x2f":
            j += 1
        if j >= len(buf):
            return (len(buf) - i, None) if final else (0, None)
        final_char, params = buf[j], buf[i + 2 : j]
        consumed = j + 1 - i
        if final_char == "~":
            if params == "200":
                return consumed, PASTE_START
            name = _CSI_TILDE.get(params.split(";")[0])
            return consumed, Key(name) if name else None
        name = _CSI_FINALS.get(final_char)
        return consumed, Key(name) if name else None  # focus events (I/O) and others: ignored
    if nxt == "O":
        if i + 2 >= len(buf):
            return (2, None) if final else (0, None)
        name = _CSI_FINALS.get(buf[i + 2])
        return 3, Key(name) if name else None
    # ESC followed by something else: the Escape key, then that character on its own.
    return 1, Key("escape")
