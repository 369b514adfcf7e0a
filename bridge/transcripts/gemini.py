"""Gemini CLI's chat files: ``<config>/tmp/<project>/chats/session-<time>-<id8>.jsonl``.

``<project>`` is the working directory's name made unique (``proj``, ``proj-1`` …, recorded in
``~/.gemini/projects.json``), ``<id8>`` the first 8 characters of the session id. A file is a
log: the first line holds ``sessionId`` and ``projectHash`` (the hex SHA-256 of the working
directory); then one message object per line as it happens (``id``, ``type``: ``user`` /
``gemini`` / ``info``, ``content``; for ``gemini`` also ``model``, ``tokens`` and
``toolCalls``), a repeated ``id`` replacing the earlier one (a reply is written again when its
tool calls are added); a tool's result is a ``user`` message of ``functionResponse`` parts.
``{"$set": {...}}`` lines change the file's fields: their ``messages`` is the history the model
is sent (rewritten after a cancelled turn, and on resume, when earlier turns are also written
again as new messages without ``model`` and ``tokens``). The reader follows the log, not the
rewritten history, so a cancelled turn is still found.
"""

from __future__ import annotations

import hashlib
from typing import Any

from bridge.profiles import TranscriptRules
from bridge.transcripts.base import TokenUsage, TranscriptReader, TranscriptReply, json_lines
from bridge.transport import Transport

__all__ = ["GeminiTranscripts", "messages", "reply_after", "usage"]


def messages(text: str) -> list[dict[str, Any]]:
    """The messages the log ``text`` records, in order, each as last written."""
    found: dict[str, dict[str, Any]] = {}
    for entry in json_lines(text):
        if "$set" not in entry and "type" in entry and "id" in entry:
            found[str(entry["id"])] = entry  # a dict keeps the first position of a key
    return list(found.values())


def _parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}]
    return [p for p in content or [] if isinstance(p, dict)] if isinstance(content, list) else []


def _text(message: dict[str, Any]) -> str:
    return "".join(str(p["text"]) for p in _parts(message.get("content")) if "text" in p)


def _is_prompt(message: dict[str, Any]) -> bool:
    """A user message the user typed (not a tool's result)."""
    parts = _parts(message.get("content"))
    return message.get("type") == "user" and not any("functionResponse" in p for p in parts)


def reply_after(text: str, prompt: str) -> TranscriptReply | None:
    """Gemini's text after the LAST user message whose text is ``prompt``.

    The texts of every ``gemini`` message of that turn (across tool calls) are joined by a blank
    line. ``complete``: the turn's last message is a ``gemini`` one with no tool call waiting, or
    an ``info`` one (e.g. "Request cancelled.").
    """
    conversation = messages(text)
    wanted = prompt.strip()
    starts = [i for i, m in enumerate(conversation) if _is_prompt(m) and _text(m).strip() == wanted]
    if not starts:
        return None
    texts: list[str] = []
    model: str | None = None
    last: dict[str, Any] | None = None
    for message in conversation[starts[-1] + 1 :]:
        if _is_prompt(message):
            break
        last = message
        if message.get("type") == "gemini":
            model = message.get("model") or model
            if _text(message).strip():
                texts.append(_text(message).strip("\n"))
    if not texts:
        return None
    if model is None:  # a turn written again on resume: the model of its first writing
        said = {_text(m).strip() for m in conversation[starts[-1] + 1 :] if m.get("type") == "gemini"}
        model = next((m["model"] for m in conversation if m.get("model") and _text(m).strip() in said), None)
    calling = last is not None and (
        bool(last.get("toolCalls")) or any("functionCall" in p for p in _parts(last.get("content")))
    )
    kind = last.get("type") if last is not None else None
    complete = kind == "info" or (kind == "gemini" and not calling)
    return TranscriptReply("\n\n".join(texts), model, complete)


def usage(text: str) -> list[TokenUsage]:
    """Token usage per model call: each ``gemini`` message's ``tokens``, counted once (by message
    id; copies written again on resume have no ``tokens``). ``input`` leaves out the cached part;
    ``output`` includes the thinking tokens (both are billed as output)."""
    calls: list[TokenUsage] = []
    for message in messages(text):
        counts = message.get("tokens")
        if message.get("type") != "gemini" or not isinstance(counts, dict):
            continue
        cached = int(counts.get("cached") or 0)
        calls.append(
            TokenUsage(
                model=message.get("model"),
                input=max(int(counts.get("input") or 0) - cached, 0),
                output=int(counts.get("output") or 0) + int(counts.get("thoughts") or 0),
                cached=cached,
                when=message.get("timestamp"),
            )
        )
    return calls


def _header(text: str) -> dict[str, Any]:
    return next((e for e in json_lines(text) if "sessionId" in e and "$set" not in e), {})


class GeminiTranscripts(TranscriptReader):
    """``transcript.kind = "gemini-json"``."""

    kind = "gemini-json"

    async def fetch(
        self, transport: Transport, *, pane_pid: int, cwd: str, rules: TranscriptRules, session_id: str = ""
    ) -> str | None:
        """The newest chat file, only if it belongs to ``cwd`` (its ``projectHash``): the path
        names the folder only by its short name, which another folder may share."""
        text = await super().fetch(transport, pane_pid=pane_pid, cwd=cwd, rules=rules, session_id=session_id)
        if text is None:
            return None
        project = _header(text).get("projectHash")
        return text if project in (None, hashlib.sha256(cwd.encode()).hexdigest()) else None

    def reply_after(self, text: str, prompt: str) -> TranscriptReply | None:
        return reply_after(text, prompt)

    def usage(self, text: str) -> list[TokenUsage]:
        return usage(text)

    def session_of(self, text: str) -> str | None:
        session = _header(text).get("sessionId")
        return str(session) if session else None

