"""Read an agent's exact reply from its session transcript on the agent's host.

Screens show rendered Markdown (backticks vanish, wide lines wrap), so where an agent keeps a
JSONL transcript (Claude Code: ``<config>/projects/<cwd with non-alphanumerics as ->/<id>.jsonl``)
the bridge reads the raw text from it, over the same connection, and says so (``source``).

The agent's own ``HOME`` / ``CLAUDE_CONFIG_DIR`` are taken from its process environment where
readable (``/proc/PID/environ``), since an agent may run with another HOME than the SSH login.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bridge.transport import Transport

# Prints the newest transcript of the agent running under the pane's shell (PID $1), for the
# project slug $2, config sub-folder $3 (e.g. ".claude") and the env override name $4.
_FETCH = r"""
pid="$1"; slug="$2"; sub="$3"; override="$4"
home="$HOME"; cfg=""
kids=$(ps -o pid= --ppid "$pid" 2>/dev/null | tr -d ' ')
for p in $kids $pid; do
  env_file="/proc/$p/environ"
  [ -r "$env_file" ] || continue
  h=$(tr '\0' '\n' < "$env_file" | sed -n 's/^HOME=//p' | head -n 1)
  c=$(tr '\0' '\n' < "$env_file" | sed -n "s/^$override=//p" | head -n 1)
  if [ -n "$h" ]; then home="$h"; cfg="$c"; break; fi
done
dir="${cfg:-$home/$sub}/projects/$slug"
file=$(ls -t "$dir"/*.jsonl 2>/dev/null | head -n 1)
[ -n "$file" ] || exit 3
tail -c 8000000 "$file"
"""


@dataclass(frozen=True)
class TranscriptReply:
    """The assistant's text after a prompt, and the model that wrote it."""

    text: str
    model: str | None
    complete: bool


def project_slug(cwd: str) -> str:
    """Claude Code's folder name for a project: every non-alphanumeric character becomes ``-``."""
    return re.sub(r"[^A-Za-z0-9]", "-", cwd)


async def fetch(
    transport: Transport, *, pane_pid: int, cwd: str, sub: str = ".claude",
    override: str = "CLAUDE_CONFIG_DIR",
) -> str | None:
    """The newest transcript's JSONL text for ``cwd`` on the host, or ``None`` if there is none."""
    argv = ["sh", "-c", _FETCH, "sh", str(pane_pid), project_slug(cwd), sub, override]
    result = await transport.run(argv)
    return result.stdout if result.ok else None


def _texts(message: dict[str, Any]) -> list[str]:
    content = message.get("content")
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        return []
    return [b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"]


def _is_tool_result(message: dict[str, Any]) -> bool:
    content = message.get("content")
    return isinstance(content, list) and any(
        isinstance(b, dict) and b.get("type") == "tool_result" for b in content
    )


def reply_after(jsonl: str, prompt: str) -> TranscriptReply | None:
    """The assistant text that follows the LAST user turn whose text is ``prompt``.

    Text blocks of every assistant message in that turn (across tool calls) are joined by a
    blank line. ``complete`` says whether the turn has ended (a final assistant message whose
    ``stop_reason`` is not ``tool_use``), so a caller can tell a finished reply from a partial one.
    """
    entries: list[dict[str, Any]] = []
    for line in jsonl.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # the first line may be cut by tail -c; a line may be half-written
        if isinstance(entry, dict) and isinstance(entry.get("message"), dict):
            entries.append(entry)
    # Lines are not written in time order (the first reply can precede its prompt): sort, stably.
    entries.sort(key=lambda e: str(e.get("timestamp", "")))
    wanted = prompt.strip()
    start = None
    for index, entry in enumerate(entries):
        message = entry["message"]
        is_prompt = entry.get("type") == "user" and not _is_tool_result(message)
        if is_prompt and "\n".join(_texts(message)).strip() == wanted:
            start = index
    if start is None:
        return None
    texts: list[str] = []
    model: str | None = None
    complete = False
    for entry in entries[start + 1 :]:
        message = entry["message"]
        if entry.get("type") == "user" and not _is_tool_result(message):
            break  # the next prompt
        if entry.get("type") != "assistant":
            continue
        model = message.get("model") or model
        texts += [t for t in _texts(message) if t.strip()]
        stop = message.get("stop_reason")
        complete = stop is not None and stop != "tool_use"
    if not texts:
        return None
    return TranscriptReply("\n\n".join(t.strip("\n") for t in texts), model, complete)
