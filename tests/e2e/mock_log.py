"""What every mock model API keeps of the requests it got, for tests to read and wait on, and the
``http.server`` life cycle the threaded ones share."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, Self, TypeVar

__all__ = ["HTTPMock", "JSONHandler", "RequestLog"]

R = TypeVar("R")


class RequestLog(Generic[R]):
    """The requests a mock received, in arrival order, and the errors its handlers raised;
    thread-safe (the server's threads add, the test's thread reads and waits)."""

    def __init__(self) -> None:
        self._requests: list[R] = []
        self._errors: list[str] = []
        self._cond = threading.Condition()

    def requests(self) -> list[R]:
        """Every request so far, in arrival order (a copy)."""
        with self._cond:
            return list(self._requests)

    def errors(self) -> list[str]:
        with self._cond:
            return list(self._errors)

    def clear(self) -> None:
        with self._cond:
            self._requests.clear()

    def wait_for(self, predicate: Callable[[list[R]], bool], timeout: float = 30.0) -> list[R]:
        """Block until ``predicate(requests)`` is true; raise TimeoutError with what was seen."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(list(self._requests)):
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(getattr(r, "method", ""), getattr(r, "path", ""), getattr(r, "model", ""))
                            for r in self._requests]  # fmt: skip
                    raise TimeoutError(f"mock: condition not met in {timeout}s; requests: {seen}")
                self._cond.wait(min(left, 0.5))
            return list(self._requests)

    def _record(self, make: Callable[[int], R]) -> R:
        """Add the request ``make(seq)`` builds (``seq`` counts from 1) and wake the waiters."""
        with self._cond:
            request = make(len(self._requests) + 1)
            self._requests.append(request)
            self._cond.notify_all()
        return request

    def _failed(self, error: str) -> None:
        with self._cond:
            self._errors.append(error)


class JSONHandler(BaseHTTPRequestHandler):
    """A quiet HTTP/1.1 request handler that can answer with JSON."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return  # the mock's log is its RequestLog

    def _json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class HTTPMock(RequestLog[R]):
    """A mock API served by ``http.server`` on 127.0.0.1 in a daemon thread: ``start()`` /
    ``stop()`` or ``with``. ``handler(mock)`` makes its request handler class."""

    def __init__(self, port: int, handler: Callable[[Any], type[BaseHTTPRequestHandler]]) -> None:
        super().__init__()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL (``…/v1``) a CLI is pointed at."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> Self:
        name = type(self).__name__
        self._thread = threading.Thread(target=self._server.serve_forever, name=name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(10)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
