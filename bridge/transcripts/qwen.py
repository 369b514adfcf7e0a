"""Qwen Code's transcripts: ``<config>/projects/<cwd with non-alphanumerics as ->/chats/<id>.jsonl``.

One JSON object per line, in the order Qwen Code wrote them: ``type`` ``user`` (the prompt, in
``message.parts[].text``), ``assistant`` (one per model call: text parts, ``functionCall`` parts,
``model`` and ``usageMetadata``), ``tool_result`` (``functionResponse`` parts) and ``system``
(slash commands, telemetry). Every entry carries the ``sessionId``; a resumed session appends to
the same file. The file is found by the profile's path template (:mod:`.base`).
"""

from __future__ import annotations

from typing import Any

from bridge.transcripts.base import TokenUsage, TranscriptReader, TranscriptReply, json_lines

__all__ = ["QwenTranscripts", "reply_after", "session_of", "usage"]

# What Qwen Code records as the result of a tool call the user declined: the turn ends there.
_DECLINED = "[Operation Cancelled]"


def _parts(entry: dict[str, Any]) -> list[dict[str, Any]]:
    message = entry.get("message")
    parts = message.get("parts") if isinstance(message, dict) else None
    return [p for p in parts if isinstance(p, dict)] if isinstance(parts, list) else []


def _text(entry: dict[str, Any]) -> str:
    """The entry's text (its thought parts left out): one model call streams into one message."""
    return "".join(str(p["text"]) for p in _parts(entry) if "text" in p and not p.get("thought"))


def _declined(entry: dict[str, Any]) -> bool:
    for part in _parts(entry):
        response = (part.get("functionResponse") or {}).get("response")
        if isinstance(response, dict) and str(response.get("error", "")).startswith(_DECLINED):
            return True
    return False


def reply_after(text: str, prompt: str) -> TranscriptReply | None:
    """The assistant text that follows the LAST user entry whose text is ``prompt``.

    The texts of the turn's model calls (before and after its tool calls) are joined by a blank
    line. ``complete`` once the turn has ended: its last model call asked for no tool, or the
    user declined the tool it asked for.
    """
    entries = list(json_lines(text))
    asked = [
        i for i, e in enumerate(entries) if e.get("type") == "user" and _text(e).strip() == prompt.strip()
    ]
    if not asked:
        return None
    texts: list[str] = []
    model: str | None = None
    complete = False
    for entry in entries[asked[-1] + 1 :]:
        kind = entry.get("type")
        if kind == "user":
            break  # the next prompt
        if kind == "tool_result":
            complete = complete or _declined(entry)
        if kind != "assistant":
            continue
        model = entry.get("model") or model
        if said := _text(entry).strip("\n"):
            texts.append(said)
        complete = not any("functionCall" in p for p in _parts(entry))
    if not texts:
        return None
    return TranscriptReply("\n\n".join(texts), model, complete)


def _count(counts: dict[str, Any], key: str) -> int:
    value = counts.get(key)
    return value if isinstance(value, int) else 0


def usage(text: str) -> list[TokenUsage]:
    """Token usage per model call: each ``assistant`` entry's ``usageMetadata`` once (by its
    ``uuid``). ``promptTokenCount`` includes the cached tokens; thoughts count as output."""
    calls: dict[str, TokenUsage] = {}
    for entry in json_lines(text):
        counts = entry.get("usageMetadata")
        if entry.get("type") != "assistant" or not isinstance(counts, dict):
            continue
        cached = _count(counts, "cachedContentTokenCount")
        calls[str(entry.get("uuid", len(calls)))] = TokenUsage(
            model=entry.get("model"),
            input=max(_count(counts, "promptTokenCount") - cached, 0),
            output=_count(counts, "candidatesTokenCount") + _count(counts, "thoughtsTokenCount"),
            cached=cached,
            when=entry.get("timestamp"),
        )
    return list(calls.values())


def session_of(text: str) -> str | None:
    """The ``sessionId`` the entries carry."""
    return next((str(e["sessionId"]) for e in json_lines(text) if e.get("sessionId")), None)


class QwenTranscripts(TranscriptReader):
    """``transcript.kind = "qwen-jsonl"``: the functions of this module."""

    kind = "qwen-jsonl"
    reply_after = staticmethod(reply_after)
    usage = staticmethod(usage)
    session_of = staticmethod(session_of)
