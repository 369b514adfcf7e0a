"""Running a :mod:`bridge.ops` operation from the CLI: through the broker, or in this process.

The broker keeps SSH connections warm between calls; ``--no-broker`` and ``-v`` (so that the log
shows here) run the operation in this process instead. Either way the same :func:`bridge.ops.call`
runs it, so results and errors are the same.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

from bridge.cli.app import OPTS, reported, run_async
from bridge.cli.requests import state_request

_SLOW_OPS = frozenset({"ask", "approve", "model", "restart"})


def invoke(op: str, args: dict[str, Any], *, as_json: bool = False) -> Any:
    """Run operation ``op`` with ``args`` (its request's JSON); its result's JSON.

    Errors end the command (one line, exit code: :func:`bridge.cli.app.fail`).
    """
    # Lazy, as all heavy imports of the CLI: `agent-bridge --help` must not pay for them.
    from bridge.config.paths import find_registry

    with reported(as_json):
        config = str(find_registry(OPTS.config).resolve())
        if OPTS.broker:
            from bridge import broker

            try:
                with _progress(op, args, config):
                    return broker.call(op, args, config=config)
            except broker.RetryInProcess:
                pass

        async def main() -> Any:
            from bridge import ops
            from bridge.api import Bridge

            async with Bridge.from_config(config) as bridge:
                return await ops.call(bridge, op, args)

        return run_async(main, as_json=as_json)


@contextlib.contextmanager
def _progress(op: str, args: dict[str, Any], config: str) -> Iterator[None]:
    """On a terminal, show a spinner with the agent's state and the elapsed time on stderr.

    Only when both stdout and stderr are terminals: piped output gets nothing but the result.
    The state comes from a cheap ``state`` call through the broker once a second.
    """
    if op not in _SLOW_OPS or not (sys.stdout.isatty() and sys.stderr.isatty()):
        yield
        return
    import threading  # lazy: only a terminal sees the spinner
    import time

    from bridge import broker

    stop = threading.Event()
    agent = str(args.get("agent", ""))

    def spin() -> None:
        began, state, frame = time.monotonic(), "working", 0
        next_probe = began + 1.0
        while not stop.wait(0.1):
            now = time.monotonic()
            if now >= next_probe:
                next_probe = now + 1.0
                with contextlib.suppress(Exception):
                    state = broker.call("state", state_request(agent), config=config, timeout=5)["state"]
            glyph = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"[frame % 10]
            frame += 1
            sys.stderr.write(f"\r{glyph} {agent}: {state} · {now - began:.0f}s ")
            sys.stderr.flush()
        sys.stderr.write("\r\x1b[K")
        sys.stderr.flush()

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(1)
