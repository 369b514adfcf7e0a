"""Claude Code's transcripts: ``<config>/projects/<cwd with non-alphanumerics as ->/<id>.jsonl``.

The agent's own ``HOME`` / ``CLAUDE_CONFIG_DIR`` are taken from its process environment where
readable (``/proc/PID/environ``), since an agent may run with another HOME than the SSH login.
"""

from __future__ import annotations

import re
from typing import Any

from bridge.profiles import TranscriptRules
from bridge.transcripts.base import TranscriptReader, TranscriptReply, json_lines, run_script
from bridge.transport import Transport

__all__ = ["ClaudeTranscripts", "project_slug", "reply_after"]

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


def project_slug(cwd: str) -> str:
    """Claude Code's folder name for a project: every non-alphanumeric character becomes ``-``."""
    return re.sub(r"[^A-Za-z0-9]", "-", cwd)


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
    entries = [entry for entry in json_lines(jsonl) if isinstance(entry.get("message"), dict)]
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


class ClaudeTranscripts(TranscriptReader):
    """``transcript.kind = "claude-jsonl"``."""

    kind = "claude-jsonl"

    async def fetch(
        self, transport: Transport, *, pane_pid: int, cwd: str, rules: TranscriptRules
    ) -> str | None:
        sub = rules.config_dir or ".claude"
        override = rules.config_env or "CLAUDE_CONFIG_DIR"
        return await run_script(transport, _FETCH, str(pane_pid), project_slug(cwd), sub, override)

    def reply_after(self, text: str, prompt: str) -> TranscriptReply | None:
        return reply_after(text, prompt)
