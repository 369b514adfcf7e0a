"""A small mock of the OpenAI Chat Completions API, for running Qwen Code offline.

Stdlib only (``http.server`` in a daemon thread). It listens on 127.0.0.1 only, answers
``POST /v1/chat/completions`` (streaming SSE or JSON) and ``GET /v1/models``, and records every
request so tests can assert on what the CLI sent (model ids, messages, tools).

Behaviour (the same as :mod:`tests.e2e.mock_anthropic`, so replies compare), driven by the text of
the last user message:

- default: ``MOCK-REPLY: <text>``
- ``multiline``: that line, then 30 lines ``NN. mock line N of 30 - the quick brown fox …``,
  then ``MOCK-END``
- ``usetool``: a short text and a call of the CLI's shell tool (the offered tool whose name
  holds ``shell``) running ``touch mock_tool_ran.txt && echo MOCK-TOOL-RAN`` (the CLI asks for
  permission). When the tool result comes back: ``MOCK-REPLY: tool done: <tool result text>``.
- ``delayN``: sleep N seconds before streaming (conversation turns only).

A request without ``tools`` is a side request of the CLI (e.g. a "who speaks next" check): it
gets a short JSON answer at once. Every streamed answer ends with a ``usage`` chunk (prompt and
completion tokens), so the CLI's transcript has token counts.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.e2e.mock_anthropic import FILLER, MULTILINE_COUNT, TOOL_COMMAND, TOOL_INTRO

__all__ = ["ChatReply", "ChatRequest", "MockOpenAIChat", "multiline_text", "scripted_reply", "usage_of"]

MODELS = ("qwen-mock-coder", "qwen-mock-max")


@dataclass(frozen=True)
class ChatRequest:
    """One HTTP request the mock received."""

    seq: int
    method: str
    path: str
    body: Any  # parsed JSON, raw text, or None

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


@dataclass(frozen=True)
class ChatReply:
    """What the mock answers: text and/or one tool call, after ``delay`` seconds."""

    text: str = ""
    tool: tuple[str, dict[str, Any]] | None = None  # (function name, arguments)
    delay: float = 0.0


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def multiline_text(prompt: str) -> str:
    """The ``multiline`` reply: the echo, 30 numbered lines, ``MOCK-END``."""
    lines = [f"{i:02d}. mock line {i} of {MULTILINE_COUNT} - {FILLER}" for i in range(1, MULTILINE_COUNT + 1)]
    return "\n".join([f"MOCK-REPLY: {prompt}", *lines, "MOCK-END"])


def scripted_reply(request: ChatRequest) -> ChatReply:
    """The scripted behaviour (see the module docstring)."""
    if not request.is_turn:
        return ChatReply(text='{"next_speaker": "user", "reasoning": "mock"}')
    result = request.tool_result
    if result is not None:
        return ChatReply(text=f"MOCK-REPLY: tool done: {result}")
    prompt = request.last_user_text
    delay = float(m.group(1)) if (m := re.search(r"delay(\d+(?:\.\d+)?)", prompt)) else 0.0
    if "usetool" in prompt:
        args = {
            "command": TOOL_COMMAND,
            "description": "Mock tool call: print a marker",
            "is_background": False,
        }
        return ChatReply(text=TOOL_INTRO, tool=(request.shell_tool(), args), delay=delay)
    if "multiline" in prompt:
        return ChatReply(text=multiline_text(prompt), delay=delay)
    return ChatReply(text=f"MOCK-REPLY: {prompt}", delay=delay)


def _tokens(value: Any) -> int:
    return max(1, len(json.dumps(value)) // 4)


def usage_of(request: ChatRequest, reply: ChatReply) -> dict[str, int]:
    """The token counts the mock reports for ``reply`` to ``request`` (a rough estimate)."""
    prompt, completion = _tokens(request.messages), _tokens(reply.text)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


class MockOpenAIChat:
    """The mock server; ``start()`` / ``stop()`` or use it as a context manager."""

    def __init__(self, port: int = 0, responder: Callable[[ChatRequest], ChatReply] | None = None) -> None:
        self.responder = responder or scripted_reply
        self._requests: list[ChatRequest] = []
        self._cond = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """What the CLI's ``baseUrl`` / ``OPENAI_BASE_URL`` should be."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> MockOpenAIChat:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="mock-openai-chat", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> MockOpenAIChat:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def record(self, method: str, path: str, body: Any) -> ChatRequest:
        with self._cond:
            request = ChatRequest(len(self._requests) + 1, method, path, body)
            self._requests.append(request)
            self._cond.notify_all()
        return request

    def requests(self) -> list[ChatRequest]:
        """Every request so far, in arrival order (a copy)."""
        with self._cond:
            return list(self._requests)

    def turns(self) -> list[ChatRequest]:
        """The conversation turns (requests that offered tools)."""
        return [r for r in self.requests() if r.is_turn]


def _handler(mock: MockOpenAIChat) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _body(self) -> Any:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            try:
                return json.loads(raw) if raw else None
            except ValueError:
                return raw.decode("utf-8", "replace")

        def _json(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            mock.record("GET", self.path, None)
            if self.path.rstrip("/").endswith("/models"):
                self._json(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in MODELS]})
            else:
                self._json(404, {"error": {"message": f"mock: no GET {self.path}"}})

        def do_POST(self) -> None:
            request = mock.record("POST", self.path.split("?")[0], self._body())
            if not request.is_chat or not isinstance(request.body, dict):
                self._json(404, {"error": {"message": f"mock: no POST {self.path}"}})
                return
            reply = mock.responder(request)
            if reply.delay:
                time.sleep(reply.delay)
            self._answer(request, reply)

        def _answer(self, request: ChatRequest, reply: ChatReply) -> None:
            ident = f"chatcmpl-mock-{uuid.uuid4().hex[:16]}"
            model = request.model or MODELS[0]
            call = None
            if reply.tool:
                call = {
                    "id": f"call_mock_{uuid.uuid4().hex[:12]}",
                    "type": "function",
                    "function": {"name": reply.tool[0], "arguments": json.dumps(reply.tool[1])},
                }
            usage = usage_of(request, reply)
            finish = "tool_calls" if call else "stop"
            if not request.body.get("stream"):
                message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
                if call:
                    message["tool_calls"] = [call]
                self._json(
                    200,
                    {
                        "id": ident,
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": model,
                        "usage": usage,
                        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    },
                )
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
                event = {
                    "id": ident,
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": model,
                    "choices": choices,
                    **extra,
                }
                self._send(f"data: {json.dumps(event)}\n\n")

            chunk({"role": "assistant", "content": ""})
            for start in range(0, len(reply.text), 24):
                chunk({"content": reply.text[start : start + 24]})
            if call:
                chunk({"tool_calls": [{"index": 0, **call}]})
            chunk({}, finish)
            chunk(None, usage=usage)
            self._send("data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")

        def _send(self, text: str) -> None:
            data = text.encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    return Handler


if __name__ == "__main__":  # manual use: python -m tests.e2e.mock_openai_chat [port]
    import sys

    server = MockOpenAIChat(int(sys.argv[1]) if len(sys.argv) > 1 else 0).start()
    print(server.base_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
