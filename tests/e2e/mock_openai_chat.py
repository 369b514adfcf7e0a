"""A small mock of the OpenAI Chat Completions API, for running Qwen Code offline.

Stdlib only (``http.server`` in a daemon thread). It listens on 127.0.0.1 only, answers
``POST /v1/chat/completions`` (streaming SSE or JSON) and ``GET /v1/models``, and records every
request so tests can assert on what the CLI sent (model ids, messages, tools).

Behaviour (the same script as :mod:`tests.e2e.mock_anthropic`, see its ``scripted_reply``),
driven by the text of the last user message:

- default: ``MOCK-REPLY: <text>``; ``multiline``: 30 numbered lines and ``MOCK-END`` after it;
- ``usetool``: a short text and a call of the CLI's shell tool (the offered tool whose name holds
  ``shell``: Qwen Code's ``run_shell_command``) running ``touch mock_tool_ran.txt && echo
  MOCK-TOOL-RAN`` (the CLI asks for permission); when the tool's result comes back:
  ``MOCK-REPLY: tool done: <result>``;
- ``delayN``: sleep N seconds before answering (conversation turns only).

A request without ``tools`` is a side request of the CLI: it gets a short JSON answer at once.
Every streamed answer ends with a ``usage`` chunk (kept on the request as ``usage``), so the CLI's
transcript has token counts a test can compare.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.e2e.mock_anthropic import Reply, scripted_reply
from tests.e2e.mock_log import HTTPMock, JSONHandler

__all__ = ["MODELS", "ChatRequest", "MockOpenAIChat", "default_reply"]

MODELS = ("qwen-mock-coder", "qwen-mock-max")


@dataclass(frozen=True)
class ChatRequest:
    """One HTTP request the mock received."""

    seq: int
    method: str
    path: str
    body: Any  # parsed JSON, raw text, or None
    usage: dict[str, int] = field(default_factory=dict, compare=False)  # what the answer reported

    @property
    def is_chat(self) -> bool:
        return self.method == "POST" and self.path.rstrip("/").endswith("/chat/completions")

    @property
    def model(self) -> str:
        return str(self.body.get("model", "")) if isinstance(self.body, dict) else ""

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages") or []) if isinstance(self.body, dict) else []

    @property
    def tools(self) -> list[dict[str, Any]]:
        return list(self.body.get("tools") or []) if isinstance(self.body, dict) else []

    @property
    def is_turn(self) -> bool:
        """A conversation turn (it offers tools), not a side request."""
        return self.is_chat and bool(self.tools)

    @property
    def last_user_text(self) -> str:
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return _text(message.get("content")).strip()
        return ""

    @property
    def tool_result(self) -> str | None:
        """The content of the tool message(s) ending the conversation, if it ends with one."""
        results: list[str] = []
        for message in reversed(self.messages):
            if message.get("role") != "tool":
                break
            results.insert(0, _text(message.get("content")))
        return "\n".join(results).strip() if results else None

    def shell_tool(self) -> str:
        """The name of the offered shell tool (Qwen Code: ``run_shell_command``)."""
        names = [str((t.get("function") or {}).get("name", "")) for t in self.tools]
        return next((n for n in names if "shell" in n), "run_shell_command")


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def default_reply(request: ChatRequest) -> Reply:
    """The shared script for conversation turns; side requests get a JSON answer at once."""
    if not request.is_turn:
        return Reply(text='{"next_speaker": "user", "reasoning": "mock"}')
    return scripted_reply(request.last_user_text, request.tool_result)


def _tool_call(request: ChatRequest, reply: Reply) -> dict[str, Any] | None:
    """The script's shell call as a call of the CLI's own shell tool."""
    if not reply.tool:
        return None
    args = {**reply.tool["input"], "is_background": False}
    function = {"name": request.shell_tool(), "arguments": json.dumps(args)}
    return {"id": f"call_mock_{uuid.uuid4().hex[:12]}", "type": "function", "function": function}


def _tokens(value: Any) -> int:
    return max(1, len(json.dumps(value)) // 4)


class MockOpenAIChat(HTTPMock[ChatRequest]):
    """The mock server; ``start()`` / ``stop()`` or use it as a context manager."""

    def __init__(self, port: int = 0, responder: Callable[[ChatRequest], Reply] = default_reply) -> None:
        super().__init__(port, _handler)
        self.responder = responder

    # -- what tests read (and requests(), errors(), wait_for() of RequestLog) ------------------
    def chats(self) -> list[ChatRequest]:
        """Every model call (``POST …/chat/completions``), side requests included."""
        return [r for r in self.requests() if r.is_chat]

    def turns(self) -> list[ChatRequest]:
        """The conversation turns (requests that offered tools)."""
        return [r for r in self.requests() if r.is_turn]


def _handler(mock: MockOpenAIChat) -> type[BaseHTTPRequestHandler]:
    class Handler(JSONHandler):
        def _body(self) -> Any:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            try:
                return json.loads(raw) if raw else None
            except ValueError:
                return raw.decode("utf-8", "replace")

        def do_GET(self) -> None:
            mock._record(lambda seq: ChatRequest(seq, "GET", self.path, None))
            if self.path.rstrip("/").endswith("/models"):
                self._json(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in MODELS]})
            else:
                self._json(404, {"error": {"message": f"mock: no GET {self.path}"}})

        def do_POST(self) -> None:
            body = self._body()
            request = mock._record(lambda seq: ChatRequest(seq, "POST", self.path.split("?")[0], body))
            if not request.is_chat or not isinstance(request.body, dict):
                self._json(404, {"error": {"message": f"mock: no POST {self.path}"}})
                return
            try:
                reply = mock.responder(request)
                if reply.delay:
                    time.sleep(reply.delay)
                self._answer(request, reply)
            except Exception as exc:  # a broken test script must show, not hang the CLI
                mock._failed(repr(exc))
                raise

        def _answer(self, request: ChatRequest, reply: Reply) -> None:
            ident = f"chatcmpl-mock-{uuid.uuid4().hex[:16]}"
            model = request.model or MODELS[0]
            call = _tool_call(request, reply)
            prompt, completion = _tokens(request.messages), _tokens(reply.text)
            usage = {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            }
            request.usage.update(usage)
            finish = "tool_calls" if call else "stop"
            if not request.body.get("stream"):
                message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
                if call:
                    message["tool_calls"] = [call]
                choice = {"index": 0, "message": message, "finish_reason": finish}
                self._json(200, {"id": ident, "object": "chat.completion", "created": int(time.time()),
                                 "model": model, "usage": usage, "choices": [choice]})  # fmt: skip
                return
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()

            def chunk(delta: dict[str, Any] | None, finish_reason: str | None = None, **extra: Any) -> None:
                choices = (
                    [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
                )
                event = {"id": ident, "object": "chat.completion.chunk", "created": int(time.time()),
                         "model": model, "choices": choices, **extra}  # fmt: skip
                self._send(f"data: {json.dumps(event)}\n\n")

            chunk({"role": "assistant", "content": ""})
            for start in range(0, len(reply.text), 24):
                chunk({"content": reply.text[start : start + 24]})
                if reply.word_delay:
                    time.sleep(reply.word_delay)
            if call:
                chunk({"tool_calls": [{"index": 0, **call}]})
            chunk({}, finish)
            chunk(None, usage=usage)
            self._send("data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        def _send(self, text: str) -> None:
            data = text.encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    return Handler
