"""Codex CLI's rollouts: ``<config>/sessions/YYYY/MM/DD/rollout-<local time>-<session id>.jsonl``.

One JSON object a line, ``{"timestamp", "type", "payload"}``, written in order. What the reader
uses (Codex 0.169.0):

* ``session_meta`` (the first line): ``payload.id`` is the session id ``codex resume`` takes;
* ``event_msg`` ``task_started`` opens a turn; ``task_complete`` or ``turn_aborted`` ends it;
* ``turn_context``: the turn's ``model``;
* ``response_item`` ``message``: the user's prompt (role ``user``; Codex's own context messages
  such as ``<environment_context>`` are role ``user`` too) and the assistant's text (role
  ``assistant``, ``output_text`` parts), one item per model call that spoke;
* ``event_msg`` ``token_count``: after each model call, that call's usage (``last_token_usage``)
  and the session's running total (``total_token_usage``).

A resumed session appends to the same file.
"""

from __future__ import annotations

from typing import Any

from bridge.transcripts.base import TokenUsage, TranscriptReader, TranscriptReply, json_lines

__all__ = ["CodexTranscripts", "reply_after", "usage"]

_TURN_ENDS = ("task_complete", "turn_aborted")


def _payload(entry: dict[str, Any]) -> dict[str, Any]:
    payload = entry.get("payload")
    return payload if isinstance(payload, dict) else {}


def _event(entry: dict[str, Any]) -> str:
    """The ``payload.type`` of an ``event_msg`` (``""`` for other lines)."""
    return str(_payload(entry).get("type", "")) if entry.get("type") == "event_msg" else ""


def _message(entry: dict[str, Any], role: str) -> str | None:
    """The text of a ``response_item`` message from ``role``, or ``None`` for other lines."""
    payload = _payload(entry)
    if (
        entry.get("type") != "response_item"
        or payload.get("type") != "message"
        or payload.get("role") != role
    ):
        return None
    parts = payload.get("content")
    if not isinstance(parts, list):
        return ""
    return "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict) and "text" in p)


def reply_after(jsonl: str, prompt: str) -> TranscriptReply | None:
    """The assistant text of the LAST turn whose prompt is ``prompt``.

    The texts of every model call in that turn (before and after tool calls) are joined by a
    blank line. ``complete`` once the turn has ended (completed, or aborted: a refused permission
    or an interrupt), so a caller can tell a finished reply from a partial one.
    """
    entries = list(json_lines(jsonl))
    wanted = prompt.strip()
    start = None
    for index, entry in enumerate(entries):
        text = _message(entry, "user")
        if text is not None and text.strip() == wanted:
            start = index
    if start is None:
        return None
    model = next(
        (_payload(e).get("model") for e in reversed(entries[:start]) if e.get("type") == "turn_context"), None
    )
    texts: list[str] = []
    complete = False
    for entry in entries[start + 1 :]:
        if _event(entry) == "task_started":
            break  # the next turn
        if _event(entry) in _TURN_ENDS:
            complete = True
            break
        if entry.get("type") == "turn_context":
            model = _payload(entry).get("model") or model
        text = _message(entry, "assistant")
        if text and text.strip():
            texts.append(text.strip("\n"))
    if not texts:
        return None
    return TranscriptReply("\n\n".join(texts), str(model) if model else None, complete)


def _count(counts: Any, key: str) -> int:
    return int(counts.get(key) or 0) if isinstance(counts, dict) else 0


def usage(jsonl: str) -> list[TokenUsage]:
    """Token usage per model call, from ``token_count`` events: each call's own figures
    (``last_token_usage``), counted once: an event whose running total did not move repeats the
    last call and is skipped. ``input_tokens`` includes the cached ones, so those are taken out."""
    calls: list[TokenUsage] = []
    model: str | None = None
    total: Any = None
    for entry in json_lines(jsonl):
        if entry.get("type") == "turn_context":
            model = _payload(entry).get("model") or model
            continue
        if _event(entry) != "token_count":
            continue
        info = _payload(entry).get("info")
        if not isinstance(info, dict) or not isinstance(info.get("last_token_usage"), dict):
            continue  # a rate-limit update without usage
        if info.get("total_token_usage") == total:
            continue
        total = info.get("total_token_usage")
        last = info["last_token_usage"]
        cached = _count(last, "cached_input_tokens")
        calls.append(
            TokenUsage(
                model=model,
                input=max(_count(last, "input_tokens") - cached, 0),
                output=_count(last, "output_tokens"),
                cached=cached,
                when=entry.get("timestamp"),
            )
        )
    return calls


class CodexTranscripts(TranscriptReader):
    """``transcript.kind = "codex-jsonl"``."""

    kind = "codex-jsonl"

    def reply_after(self, text: str, prompt: str) -> TranscriptReply | None:
        return reply_after(text, prompt)

    def usage(self, text: str) -> list[TokenUsage]:
        return usage(text)

    def session_of(self, text: str) -> str | None:
        meta = next((e for e in json_lines(text) if e.get("type") == "session_meta"), None)
        found = _payload(meta).get("id") if meta else None
        return str(found) if found else None
