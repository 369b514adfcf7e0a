"""What every mock model API keeps of the requests it got, for tests to read and wait on."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["RequestLog"]

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
