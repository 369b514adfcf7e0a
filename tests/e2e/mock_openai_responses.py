"""A small mock of the OpenAI Responses API for running the real Codex CLI offline.

Stdlib only (``http.server`` in a thread). It listens on 127.0.0.1 only, answers
``POST /v1/responses`` as a stream of server-sent events, and records every request so tests can
assert on what the CLI sent (the model above all). Anything else Codex asks for (its model list)
gets an offline answer.

Behaviour (the same script as :mod:`tests.e2e.mock_anthropic`, see :func:`scripted_reply`), driven
by the text of the last user message:

- default: ``MOCK-REPLY: <text>``; ``multiline``: 30 numbered lines and ``MOCK-END`` after it;
- ``usetool``: a short text and a shell call ``touch mock_tool_ran.txt && echo MOCK-TOOL-RAN``
  asking to run outside the sandbox (Codex asks for permission with ``approval_policy =
  "on-request"``); when its output comes back: ``MOCK-REPLY: tool done: <output>``;
- ``delayN``: the turn takes N seconds (the stream is open, nothing in it, the whole time).

Every completed response carries its token usage, so transcripts have ``token_count`` events.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from tests.e2e.mock_anthropic import TOOL_COMMAND, Reply, scripted_reply
from tests.e2e.mock_log import HTTPMock, JSONHandler

log = logging.getLogger(__name__)

__all__ = ["TOOL_COMMAND", "MockResponses", "ResponsesRequest", "default_reply"]

TITLE_REQUEST = "Generate a concise, single-line task title"
JUSTIFICATION = "Mock tool call: allow running the marker command?"


@dataclass(frozen=True)
class ResponsesRequest:
    """One HTTP request the mock received."""

    seq: int
    method: str
    path: str  # without the query string
    headers: dict[str, str]  # lower-case names
    body: Any  # parsed JSON, or raw text, or None

    @property
    def is_turn(self) -> bool:
        return self.method == "POST" and self.path.endswith("/responses")

    @property
    def is_title(self) -> bool:
        """Codex's side request for the thread's title (sent with each of the first prompts)."""
        return self.last_user_text.startswith(TITLE_REQUEST)

    @property
    def model(self) -> str:
        return str(self.body.get("model", "")) if isinstance(self.body, dict) else ""

    @property
    def effort(self) -> str:
        """The reasoning effort asked for (``""`` when none)."""
        reasoning = self.body.get("reasoning") if isinstance(self.body, dict) else None
        return str((reasoning or {}).get("effort") or "")

    @property
    def items(self) -> list[dict[str, Any]]:
        items = self.body.get("input") if isinstance(self.body, dict) else None
        return [i for i in items or [] if isinstance(i, dict)]

    @property
    def tool_names(self) -> list[str]:
        tools = self.body.get("tools") if isinstance(self.body, dict) else None
        return [str(t.get("name") or t.get("type")) for t in tools or [] if isinstance(t, dict)]

    @property
    def last_user_text(self) -> str:
        """What the user typed last (Codex's ``<environment_context>``-style messages skipped)."""
        for item in reversed(self.items):
            if item.get("type") != "message" or item.get("role") != "user":
                continue
            texts = [c.get("text", "") for c in item.get("content") or [] if isinstance(c, dict)]
            text = "\n".join(t for t in texts if t).strip()
            if text and not text.startswith("<"):
                return text
        return ""

    @property
    def tool_output(self) -> str | None:
        """The output of the shell call when the last input item is one, else ``None``."""
        last = self.items[-1] if self.items else {}
        if last.get("type") not in ("function_call_output", "custom_tool_call_output"):
            return None
        output = last.get("output")
        if isinstance(output, dict):
            output = output.get("content") or output.get("output") or ""
        if isinstance(output, list):
            output = "\n".join(str(c.get("text", "")) for c in output if isinstance(c, dict))
        text = str(output or "")
        # Codex's exec tool wraps the output: "Chunk ID: …\nWall time: …\n…\nOutput:\n<output>".
        return text.split("Output:\n", 1)[-1].strip()


def default_reply(request: ResponsesRequest) -> Reply:
    """The scripted behaviour (see the module docstring). Codex's side request for a thread title
    is answered at once, never delayed or with a tool call."""
    if request.is_title:
        return Reply(text="Mock session")
    return scripted_reply(request.last_user_text, request.tool_output)


class MockResponses(HTTPMock[ResponsesRequest]):
    """The mock server. ``start()`` / ``stop()`` (or ``with``); ``base_url`` ends in ``/v1``."""

    def __init__(self, port: int = 0, responder: Callable[[ResponsesRequest], Reply] = default_reply) -> None:
        super().__init__(port, _handler)
        self.responder = responder

    # -- what tests read (and requests(), errors(), wait_for() of RequestLog) ------------------
    def turns(self) -> list[ResponsesRequest]:
        """The conversation's model calls (``POST …/responses``, title requests left out)."""
        return [r for r in self.requests() if r.is_turn and not r.is_title]

    def _add(self, method: str, path: str, headers: dict[str, str], body: Any) -> ResponsesRequest:
        request = self._record(lambda seq: ResponsesRequest(seq, method, path, headers, body))
        log.info("mock Responses: %s %s model=%s effort=%s user=%r tool output=%r", method, path,
                 request.model, request.effort, request.last_user_text[:60], request.tool_output)  # fmt: skip
        return request


def _handler(mock: MockResponses) -> type[BaseHTTPRequestHandler]:
    class Handler(JSONHandler):
        def log_message(self, format: str, *args: Any) -> None:
            log.debug("mock Responses: " + format, *args)

        def do_GET(self) -> None:
            request = mock._add("GET", urlsplit(self.path).path, self._headers(), None)
            if request.path.rstrip("/").endswith("/models"):
                self._json(200, {"models": [], "data": [], "object": "list"})
            else:
                self._json(404, {"error": {"message": f"mock: no GET {request.path}"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body: Any = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            request = mock._add("POST", urlsplit(self.path).path, self._headers(), body)
            if not request.is_turn or not isinstance(body, dict):
                self._json(404, {"error": {"message": f"mock: no POST {request.path}"}})
                return
            try:
                self._stream(request, mock.responder(request))
            except (BrokenPipeError, ConnectionResetError):
                pass  # Codex hung up (an interrupted turn)
            except Exception as exc:
                log.exception("mock Responses: handler failed")
                mock._failed(repr(exc))

        def _headers(self) -> dict[str, str]:
            return {name.lower(): value for name, value in self.headers.items()}


        def _event(self, data: dict[str, Any]) -> None:
            chunk = f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()
            self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.flush()

        def _stream(self, request: ResponsesRequest, reply: Reply) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            response_id = f"resp_mock_{uuid.uuid4().hex[:20]}"
            model = request.model or "gpt-mock"
            head = {"id": response_id, "object": "response", "model": model, "output": []}
            self._event({"type": "response.created", "response": {**head, "status": "in_progress"}})
            if reply.delay:
                time.sleep(reply.delay)
            output: list[dict[str, Any]] = []
            if reply.text:
                output.append(self._message(len(output), reply.text))
            if reply.tool:
                output.append(self._tool_call(len(output), request))
            tokens = max(1, len(json.dumps(request.body)) // 4)
            spoken = max(1, len(json.dumps(output)) // 4)
            usage = {
                "input_tokens": tokens,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": spoken,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": tokens + spoken,
            }
            done = {**head, "status": "completed", "output": output, "usage": usage}
            self._event({"type": "response.completed", "response": done})
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        def _message(self, index: int, text: str) -> dict[str, Any]:
            item_id = f"msg_mock_{uuid.uuid4().hex[:20]}"
            part: dict[str, Any] = {"type": "output_text", "text": "", "annotations": []}
            item: dict[str, Any] = {"type": "message", "id": item_id, "role": "assistant",
                                    "status": "in_progress", "content": []}  # fmt: skip
            self._event({"type": "response.output_item.added", "output_index": index, "item": item})
            where = {"item_id": item_id, "output_index": index, "content_index": 0}
            self._event({"type": "response.content_part.added", **where, "part": part})
            for piece in re.findall(r"\S+\s*|\s+", text):
                self._event({"type": "response.output_text.delta", **where, "delta": piece})
            final = {**part, "text": text}
            self._event({"type": "response.output_text.done", **where, "text": text})
            self._event({"type": "response.content_part.done", **where, "part": final})
            done = {**item, "status": "completed", "content": [final]}
            self._event({"type": "response.output_item.done", "output_index": index, "item": done})
            return done

        def _tool_call(self, index: int, request: ResponsesRequest) -> dict[str, Any]:
            names = request.tool_names
            if "shell_command" in names:
                name, args = "shell_command", {"command": TOOL_COMMAND}
            elif "shell" in names:
                name, args = "shell", {"command": ["bash", "-lc", TOOL_COMMAND]}
            else:  # Codex's exec tool (offered to gpt-5-codex; other models get no tool list)
                name, args = "exec_command", {"cmd": TOOL_COMMAND}
            args |= {"sandbox_permissions": "require_escalated", "justification": JUSTIFICATION}
            item = {"type": "function_call", "id": f"fc_mock_{uuid.uuid4().hex[:20]}",
                    "call_id": f"call_mock_{uuid.uuid4().hex[:20]}", "name": name,
                    "arguments": json.dumps(args), "status": "completed"}  # fmt: skip
            self._event({"type": "response.output_item.added", "output_index": index, "item": item})
            self._event({"type": "response.output_item.done", "output_index": index, "item": item})
            return item

    return Handler
