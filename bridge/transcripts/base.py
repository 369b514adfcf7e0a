"""What every transcript reader shares: the reply it finds, the reader's two steps, and the
helpers to fetch a file on the agent's host and read JSON lines from it."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from bridge.profiles import TranscriptRules
from bridge.transport import Transport

__all__ = ["TranscriptReader", "TranscriptReply", "json_lines", "run_script"]


@dataclass(frozen=True)
class TranscriptReply:
    """The assistant's text after a prompt, and the model that wrote it; ``complete`` once the
    turn has ended."""

    text: str
    model: str | None
    complete: bool


class TranscriptReader(ABC):
    """Reads the session transcripts of one agent CLI (the profile's ``transcript.kind``)."""

    kind: ClassVar[str]

    @abstractmethod
    async def fetch(
        self, transport: Transport, *, pane_pid: int, cwd: str, rules: TranscriptRules
    ) -> str | None:
        """The newest transcript's text on the agent's host for the agent running under the
        pane's shell (PID ``pane_pid``) in ``cwd``, or ``None`` if there is none."""

    @abstractmethod
    def reply_after(self, text: str, prompt: str) -> TranscriptReply | None:
        """The reply to the LAST turn whose prompt is ``prompt`` in the transcript ``text``."""


async def run_script(transport: Transport, script: str, *args: str) -> str | None:
    """Run the ``sh`` script on the host with ``args`` as ``$1``...: its output if it succeeded."""
    result = await transport.run(["sh", "-c", script, "sh", *args])
    return result.stdout if result.ok else None


def json_lines(text: str) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSONL text, skipping lines that are not one (the first line may be
    cut by ``tail -c``, the last one half-written)."""
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            yield entry
