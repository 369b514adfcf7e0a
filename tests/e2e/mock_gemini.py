"""A small mock of the Gemini API for running the real Gemini CLI offline.

Stdlib only (``http.server`` in a daemon thread). It listens on 127.0.0.1 only and answers
``POST /v1beta/models/<model>:streamGenerateContent?alt=sse`` (streamed, with ``usageMetadata``),
``:generateContent`` (Gemini CLI's side requests: routing, next-speaker and loop checks) and
``:countTokens``. Every request is recorded (the model from the URL, the ``contents``), so a test
can prove which model the CLI asked.

Behaviour: the script every mock API follows (:func:`tests.e2e.mock_anthropic.scripted_reply`:
``MOCK-REPLY: <text>``, ``multiline``, ``usetool``, ``delayN``, ``slowstream``), with the tool
call as a function call to Gemini CLI's shell tool (``run_shell_command``, so the CLI asks for
permission) and, when its response comes back, ``MOCK-REPLY: tool done: MOCK-TOOL-RAN`` (or the
raw response if the marker is not in it). Gemini only: ``repeatloop`` answers one sentence 40
times over, which Gemini CLI's loop detection stops with its "A potential loop was detected"
dialog.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.e2e.mock_anthropic import Reply, scripted_reply
from tests.e2e.mock_log import RequestLog

__all__ = ["SHELL_TOOL", "GeminiRequest", "MockGemini"]

log = logging.getLogger(__name__)

SHELL_TOOL = "run_shell_command"
_PATH = re.compile(r"^/v1(?:beta|alpha)?/models/(?P<model>[^:/]+):(?P<method>[A-Za-z]+)$")


@dataclass(frozen=True)
class GeminiRequest:
    """One HTTP request the mock received; ``model`` and ``method`` come from the URL."""

    seq: int
    time: float
    path: str
    query: dict[str, list[str]]
    model: str
    method: str  # streamGenerateContent, generateContent, countTokens
    body: Any

    @property
    def contents(self) -> list[dict[str, Any]]:
        return list(self.body.get("contents") or []) if isinstance(self.body, dict) else []

    @property
    def is_turn(self) -> bool:
        """A conversation turn (streamed, offering tools); the rest are the CLI's side requests."""
        return self.method == "streamGenerateContent" and bool(
            isinstance(self.body, dict) and self.body.get("tools")
        )

    @property
    def last_user_text(self) -> str:
        """The last text part of the last user content (the prompt)."""
        for content in reversed(self.contents):
            if content.get("role") != "user":
                continue
            parts = [p for p in content.get("parts") or [] if isinstance(p, dict)]
            texts = [str(p["text"]) for p in parts if "text" in p]
            if texts:
                return texts[-1].strip()
            return ""
        return ""

    @property
    def function_response(self) -> Any:
        """The response of the function call the last user content answers, if it is one."""
        for content in reversed(self.contents):
            if content.get("role") != "user":
                continue
            for part in content.get("parts") or []:
                if isinstance(part, dict) and "functionResponse" in part:
                    return part["functionResponse"].get("response")
            return None
        return None


def default_reply(request: GeminiRequest) -> Reply:
    """The shared script (see the module docstring), plus ``repeatloop``."""
    response = request.function_response
    result = None
    if response is not None:
        raw = json.dumps(response)
        result = "MOCK-TOOL-RAN" if "MOCK-TOOL-RAN" in raw else raw
    prompt = request.last_user_text
    if result is None and "repeatloop" in prompt:
        return Reply(text="The same words again and again, over and over here.\n" * 40)
    return scripted_reply(prompt, result)


def _side_reply(request: GeminiRequest) -> str:
    """Text for a side request (the CLI's model router, next-speaker and loop checks): where the
    CLI asks for JSON, an object with every required field of its schema filled in (strings
    ``"mock"``, numbers 1), so the CLI's own fallbacks are not exercised."""
    config = request.body.get("generationConfig", {}) if isinstance(request.body, dict) else {}
    schema = config.get("responseJsonSchema") or config.get("responseSchema")
    if not isinstance(schema, dict):
        return "mock"
    props = schema.get("properties") or {}
    filler = {"STRING": "mock", "INTEGER": 1, "NUMBER": 1, "BOOLEAN": False}
    return json.dumps({
        key: (spec.get("enum") or [filler.get(str(spec.get("type", "STRING")).upper(), "mock")])[0]
        for key, spec in props.items() if isinstance(spec, dict)
    })  # fmt: skip


def _usage(request: GeminiRequest, text: str) -> dict[str, int]:
    prompt = max(1, len(json.dumps(request.body)) // 4)
    out = max(1, len(text) // 4)
    return {"promptTokenCount": prompt, "candidatesTokenCount": out, "totalTokenCount": prompt + out}


class MockGemini(RequestLog[GeminiRequest]):
    """The mock server: ``start()``, ``base_url`` for ``GOOGLE_GEMINI_BASE_URL``, ``stop()``;
    ``requests()`` / ``turns()`` / ``wait_for()`` read what it got."""

    def __init__(self, responder: Callable[[GeminiRequest], Reply] | None = None) -> None:
        super().__init__()
        self.responder = responder or default_reply
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> MockGemini:
        mock = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("mock Gemini: " + format, *args)

            def do_POST(self) -> None:
                mock._serve(self)

            def do_GET(self) -> None:
                mock._send_json(self, 404, {"error": {"code": 404, "message": f"mock: no GET {self.path}"}})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="mock-gemini", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)
        self._server = self._thread = None

    def turns(self) -> list[GeminiRequest]:
        """The conversation turns (streamed requests offering tools)."""
        return [r for r in self.requests() if r.is_turn]

    # -- HTTP --------------------------------------------------------------------------------
    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlsplit(handler.path)
        length = int(handler.headers.get("content-length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        match = _PATH.match(url.path)
        request = self._record(
            lambda seq: GeminiRequest(
                seq=seq, time=time.time(), path=url.path, query=parse_qs(url.query),
                model=match.group("model") if match else "", method=match.group("method") if match else "",
                body=body,
            )
        )  # fmt: skip
        log.info("mock Gemini: %s model=%s", request.method or url.path, request.model)
        if request.method == "countTokens":
            self._send_json(handler, 200, {"totalTokens": max(1, len(raw) // 4)})
        elif request.method == "generateContent":
            text = _side_reply(request)
            self._send_json(handler, 200, self._chunk(request, [{"text": text}], text, final=True))
        elif request.method == "streamGenerateContent":
            self._stream(handler, request)
        else:
            self._send_json(handler, 404, {"error": {"code": 404, "message": f"mock: no POST {url.path}"}})

    @staticmethod
    def _send_json(handler: BaseHTTPRequestHandler, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    @staticmethod
    def _chunk(
        request: GeminiRequest, parts: list[dict[str, Any]], text: str, *, final: bool
    ) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if final:
            candidate["finishReason"] = "STOP"
        return {"candidates": [candidate], "usageMetadata": _usage(request, text),
                "modelVersion": request.model or "gemini-mock"}  # fmt: skip

    def _stream(self, handler: BaseHTTPRequestHandler, request: GeminiRequest) -> None:
        reply = self.responder(request) if request.is_turn else Reply(text=_side_reply(request))
        if reply.delay:
            time.sleep(reply.delay)
        size = 8 if reply.word_delay else 40
        pieces = [reply.text[i : i + size] for i in range(0, len(reply.text), size)]
        chunks: list[list[dict[str, Any]]] = [[{"text": piece}] for piece in pieces]
        if reply.tool:  # the script's shell tool, as Gemini CLI's own
            chunks.append([{"functionCall": {"name": SHELL_TOOL, "args": reply.tool["input"]}}])
        handler.send_response(200)
        handler.send_header("content-type", "text/event-stream")
        handler.send_header("cache-control", "no-cache")
        handler.send_header("connection", "close")
        handler.end_headers()
        handler.close_connection = True
        for i, parts in enumerate(chunks or [[{"text": ""}]]):
            payload = self._chunk(request, parts, reply.text, final=i == len(chunks) - 1)
            handler.wfile.write(f"data: {json.dumps(payload)}\r\n\r\n".encode())
            handler.wfile.flush()
            if reply.word_delay:
                time.sleep(reply.word_delay)

