"""What every transcript reader shares: the reply and token usage it finds, the reader's steps,
and how a transcript file is found on the agent's host from the profile's path template.

The template (``transcript.path``) starts with ``{config}`` (``$<config_env>`` in the agent's own
environment if set there, else ``<agent's HOME>/<config_dir>``) or ``{home}``, and may name
``{cwd_slug}`` (the working directory with every non-alphanumeric character as ``-``),
``{cwd_sha256}`` (the hex SHA-256 of the working directory) and ``{session_id}`` (the pane's
session id, ``*`` when unknown). The newest file matching it is read (its last 8 MB).
"""

from __future__ import annotations

import hashlib
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from bridge.profiles import TranscriptRules
from bridge.transport import Transport

__all__ = [
    "TokenUsage",
    "TranscriptReader",
    "TranscriptReply",
    "expand_path",
    "fetch_newest",
    "json_lines",
    "project_slug",
    "run_script",
]

TAIL_BYTES = 8_000_000


@dataclass(frozen=True)
class TranscriptReply:
    """The assistant's text after a prompt, and the model that wrote it; ``complete`` once the
    turn has ended."""

    text: str
    model: str | None
    complete: bool
    transcript: str = field(default="", repr=False, compare=False)  # the text it was found in


@dataclass(frozen=True)
class TokenUsage:
    """Tokens one model call used, counted once: ``input`` (not cached), ``cached`` (read from
    the cache), ``output``; ``when`` is the transcript's ISO timestamp where it has one."""

    model: str | None
    input: int
    output: int
    cached: int = 0
    when: str | None = None


class TranscriptReader(ABC):
    """Reads the session transcripts of one agent CLI (the profile's ``transcript.kind``)."""

    kind: ClassVar[str]

    async def fetch(
        self, transport: Transport, *, pane_pid: int, cwd: str, rules: TranscriptRules, session_id: str = ""
    ) -> str | None:
        """The text of the newest transcript matching ``rules.path`` on the agent's host for the
        agent running under the pane's shell (PID ``pane_pid``) in ``cwd``, or ``None``."""
        return await fetch_newest(transport, pane_pid=pane_pid, cwd=cwd, rules=rules, session_id=session_id)

    @abstractmethod
    def reply_after(self, text: str, prompt: str) -> TranscriptReply | None:
        """The reply to the LAST turn whose prompt is ``prompt`` in the transcript ``text``."""

    def usage(self, text: str) -> list[TokenUsage]:
        """Every model call's token usage in the transcript ``text``, each counted once."""
        return []

    def session_of(self, text: str) -> str | None:
        """The agent session id the transcript ``text`` belongs to, where it records one (so a
        CLI that picks its own id can be resumed into this session later)."""
        return None


def project_slug(cwd: str) -> str:
    """A folder name from a path: every non-alphanumeric character becomes ``-`` (Claude Code's)."""
    return re.sub(r"[^A-Za-z0-9]", "-", cwd)


_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def expand_path(template: str, *, cwd: str, session_id: str = "") -> tuple[str, str]:
    """``(base, pattern)``: the template's base (``config`` or ``home``) and the glob below it,
    with every placeholder but the base filled in. Only a session id of safe characters is used
    (``*`` otherwise), and the glob holds no character a shell would split or expand."""
    base, sep, rest = template.partition("}/")
    if not sep or base not in ("{config", "{home"):
        raise ValueError(f"transcript path {template!r} must start with {{config}}/ or {{home}}/")
    pattern = rest.format(
        cwd_slug=project_slug(cwd),
        cwd_sha256=hashlib.sha256(cwd.encode()).hexdigest(),
        session_id=session_id if _SAFE_ID.match(session_id) else "*",
    )
    if not re.fullmatch(r"[A-Za-z0-9._*/?\[\]-]+", pattern):
        raise ValueError(f"transcript path {template!r} expands to an unsafe glob {pattern!r}")
    return base[1:], pattern


# Prints the newest file matching the glob $5 under the agent's config folder or home ($4) of the
# agent running under the pane's shell (PID $1): its HOME and $<override> ($3) are read from
# /proc/PID/environ where readable (an agent may run with another HOME than the login); $2 is the
# config folder's name under HOME (e.g. ".claude").
_FETCH = r"""
pid="$1"; sub="$2"; override="$3"; base="$4"; pattern="$5"; limit="$6"
home="$HOME"; cfg=""
kids=$(ps -o pid= --ppid "$pid" 2>/dev/null | tr -d ' ')
for p in $kids $pid; do
  env_file="/proc/$p/environ"
  [ -r "$env_file" ] || continue
  h=$(tr '\0' '\n' < "$env_file" | sed -n 's/^HOME=//p' | head -n 1)
  c=""
  [ -n "$override" ] && c=$(tr '\0' '\n' < "$env_file" | sed -n "s/^$override=//p" | head -n 1)
  if [ -n "$h" ]; then home="$h"; cfg="$c"; break; fi
done
if [ "$base" = home ]; then dir="$home"; else dir="${cfg:-$home/$sub}"; fi
cd "$dir" 2>/dev/null || exit 3
file=$(ls -td -- $pattern 2>/dev/null | head -n 1)
[ -n "$file" ] && [ -f "$file" ] || exit 3
tail -c "$limit" -- "$file"
"""


async def fetch_newest(
    transport: Transport, *, pane_pid: int, cwd: str, rules: TranscriptRules, session_id: str = ""
) -> str | None:
    """The newest transcript ``rules.path`` names for this pane's agent, or ``None``."""
    if not rules.path:
        return None
    base, pattern = expand_path(rules.path, cwd=cwd, session_id=session_id)
    return await run_script(
        transport, _FETCH, str(pane_pid), rules.config_dir or "", rules.config_env or "", base, pattern,
        str(TAIL_BYTES),
    )  # fmt: skip


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
