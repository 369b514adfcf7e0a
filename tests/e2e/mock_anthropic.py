"""A small mock of the Anthropic Messages API for running the real Claude Code CLI offline.

Stdlib only (asyncio). It listens on 127.0.0.1 only, answers ``POST /v1/messages`` (with or
without ``?beta=true``) as streaming SSE or as JSON, and records every request so tests can assert
on what the CLI sent (model ids, messages, tools).

Behaviour (the same as the mock used for the recorded screens in ``shared/screens``), driven by
the text of the last user message:

- default: ``MOCK-REPLY: <text>``
- ``multiline``: that line, then 30 lines ``NN. mock line N of 30 - the quick brown fox …``,
  then ``MOCK-END``
- ``usetool``: a short text and a ``Bash`` tool_use running
  ``touch mock_tool_ran.txt && echo MOCK-TOOL-RAN`` (Claude asks for permission);
  ``useechotool``: the read-only ``echo MOCK-TOOL-RAN`` (auto-approved, no question).
  When the tool_result comes back: ``MOCK-REPLY: tool done: <tool result text>``.
- ``delayN``: sleep N seconds before streaming (main turn only);
  ``slowstream``: stream the reply word by word (~0.25 s per word).

A request without ``tools`` is Claude's short side request (session title etc.): it gets a short
JSON-ish title at once, without delays or tool calls.

Use::

    with MockAnthropic() as mock:           # or mock.start() / mock.stop()
        env["ANTHROPIC_BASE_URL"] = mock.base_url
        ...
        mock.wait_for_requests(2)
        assert "sonnet" in mock.main_requests()[-1].model
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.e2e.mock_log import RequestLog

log = logging.getLogger(__name__)

MULTILINE_COUNT = 30
FILLER = "the quick brown fox jumps over the lazy dog"
TOOL_COMMAND = "touch mock_tool_ran.txt && echo MOCK-TOOL-RAN"
ECHO_TOOL_COMMAND = "echo MOCK-TOOL-RAN"
TOOL_INTRO = "I will run a shell command for you."
MAX_BODY = 64 * 1024 * 1024


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request the mock received."""

    seq: int
    time: float
    method: str
    path: str  # without the query string
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: Any  # parsed JSON, or raw text, or None
    usage: dict[str, int] = field(default_factory=dict, compare=False)  # what the answer reported

    @property
    def is_messages(self) -> bool:
        return self.method == "POST" and self.path == "/v1/messages"

    @property
    def model(self) -> str:
        return str(self.body.get("model", "")) if isinstance(self.body, dict) else ""

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", [])) if isinstance(self.body, dict) else []

    @property
    def tools(self) -> list[dict[str, Any]]:
        return list(self.body.get("tools") or []) if isinstance(self.body, dict) else []

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream")) if isinstance(self.body, dict) else False

    @property
    def is_main_turn(self) -> bool:
        """A real conversation turn (it offers tools); the rest are Claude's side requests."""
        return self.is_messages and bool(self.tools)

    @property
    def last_user_text(self) -> str:
        return last_user_text(self.messages)

    @property
    def tool_result_text(self) -> str | None:
        return last_tool_result(self.messages)


@dataclass
class Reply:
    """What the mock will answer: text blocks and/or one tool_use, with pacing."""

    text: str = ""
    tool: dict[str, Any] | None = None  # {"name": ..., "input": {...}}
    delay: float = 0.0
    word_delay: float = 0.0
    stop_reason: str = "end_turn"
    extra: dict[str, Any] = field(default_factory=dict)


def _block_text(block: Any) -> str:
    if isinstance(block, str):
        return block
    if isinstance(block, dict):
        if block.get("type") == "text":
            return str(block.get("text", ""))
        if block.get("type") == "tool_result":
            content = block.get("content")
            if isinstance(content, list):
                return "\n".join(_block_text(b) for b in content)
            return str(content or "")
    return ""


def last_user_text(messages: list[dict[str, Any]]) -> str:
    """The text the user typed in the last user message (Claude's ``<system-reminder>``s skipped)."""
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content.strip()
        texts = [
            _block_text(b)
            for b in content or []
            if isinstance(b, dict) and b.get("type") == "text"
        ]
        texts = [t for t in texts if t.strip() and not t.lstrip().startswith("<system-reminder>")]
        if texts:
            return texts[-1].strip()
        if any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content or []):
            return ""
    return ""


def last_tool_result(messages: list[dict[str, Any]]) -> str | None:
    """The text of the tool_result in the last user message, if it carries one."""
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if not isinstance(content, list):
            return None
        results = [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]
        if not results:
            return None
        return "\n".join(_block_text(b) for b in results).strip()
    return None


def default_reply(request: RecordedRequest) -> Reply:
    """The scripted behaviour (see the module docstring)."""
    if not request.is_main_turn:
        # Claude's side requests (title/topic). Keep them instant and unremarkable.
        return Reply(text='{"title": "Mock session"}')
    return scripted_reply(request.last_user_text, request.tool_result_text)


def multiline_text(prompt: str) -> str:
    """The answer to a prompt with ``multiline`` in it: 30 numbered lines and ``MOCK-END``."""
    lines = [f"{i:02d}. mock line {i} of {MULTILINE_COUNT} - {FILLER}" for i in range(1, MULTILINE_COUNT + 1)]
    return "\n".join([f"MOCK-REPLY: {prompt}", *lines, "MOCK-END"])


def scripted_reply(prompt: str, tool_result: str | None) -> Reply:
    """The script every mock API follows, from the user's last ``prompt`` (or the result of the
    tool the model asked to run, when that came back): see the module docstring."""
    if tool_result is not None:
        return Reply(text=f"MOCK-REPLY: tool done: {tool_result}")
    delay = 0.0
    if match := re.search(r"delay(\d+(?:\.\d+)?)", prompt):
        delay = float(match.group(1))
    word_delay = 0.25 if "slowstream" in prompt else 0.0
    for word, command in (("useechotool", ECHO_TOOL_COMMAND), ("usetool", TOOL_COMMAND)):
        if word in prompt:
            args = {"command": command, "description": "Mock tool call: print a marker"}
            tool = {"name": "Bash", "input": args}
            return Reply(text=TOOL_INTRO, tool=tool, delay=delay, stop_reason="tool_use")
    text = multiline_text(prompt) if "multiline" in prompt else f"MOCK-REPLY: {prompt}"
    return Reply(text=text, delay=delay, word_delay=word_delay)


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _chunks(text: str, word_delay: float) -> list[str]:
    if word_delay:
        return re.findall(r"\S+\s*|\s+", text)
    # Anthropic streams a few tokens per delta; a handful of characters is close enough.
    return [text[i : i + 24] for i in range(0, len(text), 24)] or [""]


class MockAnthropic(RequestLog[RecordedRequest]):
    """The mock server. Runs its own asyncio loop in a daemon thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        responder: Callable[[RecordedRequest], Reply] | None = None,
    ) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the mock only listens on the loopback interface")
        self.host = host
        self.port = port
        super().__init__()
        self.responder = responder or default_reply
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> MockAnthropic:
        if self._thread is not None:
            raise RuntimeError("already started")
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                self._server = loop.run_until_complete(
                    asyncio.start_server(self._handle, self.host, self.port, limit=MAX_BODY)
                )
                self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name="mock-anthropic", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise RuntimeError("mock Anthropic server did not start")
        if failure:
            raise RuntimeError(f"mock Anthropic server failed to start: {failure[0]!r}") from failure[0]
        log.info("mock Anthropic API on %s", self.base_url)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for writer in list(self._writers):
                writer.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        with contextlib.suppress(RuntimeError):
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._thread = self._loop = self._server = None

    def __enter__(self) -> MockAnthropic:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests read (and requests(), errors(), clear(), wait_for() of RequestLog) ----------
    def message_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests() if r.is_messages]

    def main_requests(self) -> list[RecordedRequest]:
        """The conversation turns (requests that offered tools)."""
        return [r for r in self.requests() if r.is_main_turn]

    def wait_for_requests(self, count: int, timeout: float = 30.0) -> list[RecordedRequest]:
        """Block until at least ``count`` ``/v1/messages`` requests have arrived."""
        return self.wait_for(lambda rs: sum(r.is_messages for r in rs) >= count, timeout)

    # -- HTTP --------------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                keep_alive = await self._one_request(reader, writer)
                if not keep_alive:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        except Exception as exc:
            log.exception("mock Anthropic: handler failed")
            self._failed(repr(exc))
        finally:
            self._writers.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()

    async def _one_request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = [*lines[0].split(" ", 2), "", ""][:3]
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        raw = b""
        if headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")
                    break
                raw += await reader.readexactly(size)
                await reader.readexactly(2)
        elif length := int(headers.get("content-length", "0") or 0):
            raw = await reader.readexactly(length)
        body: Any = None
        if raw:
            text = raw.decode("utf-8", "replace")
            try:
                body = json.loads(text)
            except ValueError:
                body = text
        url = urlsplit(target)
        request = self._record(
            lambda seq: RecordedRequest(
                seq=seq,
                time=time.time(),
                method=method,
                path=url.path,
                query=parse_qs(url.query),
                headers=headers,
                body=body,
            )
        )
        log.info("mock Anthropic: %s %s model=%s", method, target, request.model)
        keep_alive = version.upper() == "HTTP/1.1" and headers.get("connection", "").lower() != "close"

        if request.is_messages:
            if not isinstance(body, dict):
                error = _error("invalid_request_error", "body must be JSON")
                await self._json(writer, 400, error, keep_alive)
            else:
                await self._messages(writer, request, keep_alive)
        elif method == "POST" and url.path == "/v1/messages/count_tokens":
            await self._json(writer, 200, {"input_tokens": _estimate_tokens(body)}, keep_alive)
        elif method == "GET" and url.path.rstrip("/") == "/v1/models":
            await self._json(writer, 200, _models(), keep_alive)
        elif method in ("GET", "HEAD") and url.path in ("/", "/health", "/api/hello"):
            await self._json(writer, 200, {"ok": True}, keep_alive, head=method == "HEAD")
        else:
            await self._json(writer, 404, _error("not_found_error", f"mock: no {method} {url.path}"),
                             keep_alive, head=method == "HEAD")
        return keep_alive

    async def _json(self, writer: asyncio.StreamWriter, status: int, payload: Any, keep_alive: bool,
                    *, head: bool = False) -> None:
        data = json.dumps(payload).encode()
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}.get(status, "OK")
        hdrs = [
            f"HTTP/1.1 {status} {reason}",
            "content-type: application/json",
            f"content-length: {len(data)}",
            f"request-id: req_mock_{uuid.uuid4().hex[:20]}",
            f"connection: {'keep-alive' if keep_alive else 'close'}",
        ]
        writer.write(("\r\n".join(hdrs) + "\r\n\r\n").encode() + (b"" if head else data))
        await writer.drain()

    async def _messages(
        self, writer: asyncio.StreamWriter, request: RecordedRequest, keep_alive: bool
    ) -> None:
        reply = self.responder(request)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        body = request.body
        msg_id = f"msg_mock_{uuid.uuid4().hex[:24]}"
        model = request.model or "claude-mock"
        input_tokens = _estimate_tokens(body)
        content: list[dict[str, Any]] = []
        if reply.text:
            content.append({"type": "text", "text": reply.text})
        tool_id = f"toolu_mock_{uuid.uuid4().hex[:20]}"
        if reply.tool:
            content.append({"type": "tool_use", "id": tool_id, "name": reply.tool["name"],
                            "input": reply.tool["input"]})
        output_tokens = max(1, (len(reply.text) + len(json.dumps(reply.tool or {}))) // 4)
        usage_final = {
            "input_tokens": input_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": output_tokens,
        }
        request.usage.update(usage_final)
        if not request.stream:
            await self._json(writer, 200, {
                "id": msg_id, "type": "message", "role": "assistant", "model": model,
                "content": content, "stop_reason": reply.stop_reason, "stop_sequence": None,
                "usage": usage_final,
            }, keep_alive)
            return

        hdrs = [
            "HTTP/1.1 200 OK",
            "content-type: text/event-stream; charset=utf-8",
            "cache-control: no-cache",
            "transfer-encoding: chunked",
            f"request-id: req_mock_{uuid.uuid4().hex[:20]}",
            f"connection: {'keep-alive' if keep_alive else 'close'}",
        ]
        writer.write(("\r\n".join(hdrs) + "\r\n\r\n").encode())

        async def send(event: str, data: dict[str, Any]) -> None:
            chunk = _sse(event, data)
            writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            await writer.drain()

        await send("message_start", {"type": "message_start", "message": {
            "id": msg_id, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {**usage_final, "output_tokens": 1},
        }})
        await send("ping", {"type": "ping"})
        index = 0
        if reply.text:
            await send("content_block_start", {"type": "content_block_start", "index": index,
                                               "content_block": {"type": "text", "text": ""}})
            for piece in _chunks(reply.text, reply.word_delay):
                await send("content_block_delta", {"type": "content_block_delta", "index": index,
                                                   "delta": {"type": "text_delta", "text": piece}})
                if reply.word_delay:
                    await asyncio.sleep(reply.word_delay)
            await send("content_block_stop", {"type": "content_block_stop", "index": index})
            index += 1
        if reply.tool:
            await send("content_block_start", {"type": "content_block_start", "index": index,
                                               "content_block": {"type": "tool_use", "id": tool_id,
                                                                 "name": reply.tool["name"], "input": {}}})
            args = json.dumps(reply.tool["input"])
            for i in range(0, len(args), 20):
                await send("content_block_delta", {"type": "content_block_delta", "index": index,
                                                   "delta": {"type": "input_json_delta",
                                                             "partial_json": args[i : i + 20]}})
            await send("content_block_stop", {"type": "content_block_stop", "index": index})
        await send("message_delta", {"type": "message_delta",
                                     "delta": {"stop_reason": reply.stop_reason, "stop_sequence": None},
                                     "usage": {"output_tokens": output_tokens}})
        await send("message_stop", {"type": "message_stop"})
        writer.write(b"0\r\n\r\n")
        await writer.drain()


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


def _estimate_tokens(body: Any) -> int:
    return max(1, len(json.dumps(body)) // 4) if body is not None else 1


def _models() -> dict[str, Any]:
    ids = ["claude-opus-4-8", "claude-sonnet-5", "claude-haiku-4-5"]
    data = [{"type": "model", "id": i, "display_name": i, "created_at": "2026-01-01T00:00:00Z"} for i in ids]
    return {"data": data, "has_more": False, "first_id": ids[0], "last_id": ids[-1]}


if __name__ == "__main__":  # manual use: python -m tests.e2e.mock_anthropic [port]
    import sys

    logging.basicConfig(level=logging.INFO)
    server = MockAnthropic(port=int(sys.argv[1]) if len(sys.argv) > 1 else 0).start()
    print(server.base_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
