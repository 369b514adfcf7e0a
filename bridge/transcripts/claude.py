"""Claude Code's transcripts: ``<config>/projects/<cwd with non-alphanumerics as ->/<id>.jsonl``.

The file is found by the profile's path template (:mod:`.base`); the pane's session id names it
exactly when the bridge started the agent with one.
"""

from __future__ import annotations

from typing import Any

from bridge.transcripts.base import TokenUsage, TranscriptReader, TranscriptReply, json_lines

__all__ = ["ClaudeTranscripts", "reply_after", "usage"]


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


def usage(jsonl: str) -> list[TokenUsage]:
    """Token usage per model call. Claude Code writes one row per content block, each repeating
    its message's usage: a call is counted once, by ``message.id`` + ``requestId`` (its last row,
    which carries the final output count)."""
    calls: dict[tuple[str, str], TokenUsage] = {}
    for entry in json_lines(jsonl):
        message = entry.get("message")
        if entry.get("type") != "assistant" or not isinstance(message, dict):
            continue
        counts = message.get("usage")
        if not isinstance(counts, dict):
            continue
        key = (str(message.get("id", "")), str(entry.get("requestId", "")))
        if key == ("", ""):
            key = (str(entry.get("uuid", len(calls))), "")
        calls[key] = TokenUsage(
            model=message.get("model"),
            input=int(counts.get("input_tokens") or 0) + int(counts.get("cache_creation_input_tokens") or 0),
            output=int(counts.get("output_tokens") or 0),
            cached=int(counts.get("cache_read_input_tokens") or 0),
            when=entry.get("timestamp"),
        )
    return list(calls.values())


class ClaudeTranscripts(TranscriptReader):
    """``transcript.kind = "claude-jsonl"``."""

    kind = "claude-jsonl"

    def reply_after(self, text: str, prompt: str) -> TranscriptReply | None:
        return reply_after(text, prompt)

    def usage(self, text: str) -> list[TokenUsage]:
        return usage(text)

    def session_of(self, text: str) -> str | None:
        return next((str(e["sessionId"]) for e in json_lines(text) if e.get("sessionId")), None)
