"""Moved to the :mod:`bridge.tmux` package (this shim keeps the old import path working):
quoting, protocol, changes, channel, link, paste, failures."""

from bridge.tmux.changes import Answered, Stamp, Watcher
from bridge.tmux.channel import DEFAULT_TIMEOUT, HEARD_S, OPEN_TIMEOUT, WRITE_GRACE_S, ControlChannel
from bridge.tmux.failures import failure
from bridge.tmux.link import RETRY_AFTER_S, ControlLink
from bridge.tmux.paste import (
    ALIVE,
    CHANGED,
    DEAD,
    MISSING,
    paste_buffer,
    paste_via_control,
    refused_if_changed,
)
from bridge.tmux.protocol import (
    PRIVATE_PREFIX,
    Block,
    Chain,
    ControlParser,
    Event,
    Exit,
    IfFormat,
    Notification,
    Output,
    Stray,
)
from bridge.tmux.quoting import command_line, quote, unescape, words
from bridge.tmux.tasks import finish
from bridge.transport.base import Process, ProcessTransport

__all__ = [
    "ALIVE",
    "CHANGED",
    "DEAD",
    "DEFAULT_TIMEOUT",
    "HEARD_S",
    "MISSING",
    "OPEN_TIMEOUT",
    "PRIVATE_PREFIX",
    "RETRY_AFTER_S",
    "WRITE_GRACE_S",
    "Answered",
    "Block",
    "Chain",
    "ControlChannel",
    "ControlLink",
    "ControlParser",
    "Event",
    "Exit",
    "IfFormat",
    "Notification",
    "Output",
    "Process",
    "ProcessTransport",
    "Stamp",
    "Stray",
    "Watcher",
    "command_line",
    "failure",
    "finish",
    "paste_buffer",
    "paste_via_control",
    "quote",
    "refused_if_changed",
    "unescape",
    "words",
]
