"""The entry point of ``agent-bridge``, with a fast path for the calls a local agent makes most.

``agent-bridge ask`` and ``agent-bridge state`` in their plain forms go straight to the broker
without importing typer (whose option parsing alone costs ~100 ms of every call):

    agent-bridge [--config PATH | -c PATH] [--json] ask AGENT PROMPT [--timeout S | -t S] [--json]
    agent-bridge [--config PATH | -c PATH] [--json] state AGENT [--json]

Everything else goes to the full CLI (:mod:`bridge.cli.main`), and so does any of these when it
has another option (``-v``, ``--no-broker``, ``--model``, ``--help``, ...), when
``AGENT_BRIDGE_NO_BROKER=1``, when stdout and stderr are both a terminal (the full CLI shows a
spinner there), or when the broker was lost during a read-only call. Requests, output and exit
codes are the same either way: both build the request with :mod:`bridge.cli.requests` and print
through :mod:`bridge.cli.output` (this module must not import pydantic or typer, each ~50 ms).
"""

from __future__ import annotations

import math
import os
import sys
from typing import Any

from bridge.cli.output import print_error, print_result
from bridge.cli.requests import ask_request, state_request


def _parse(argv: list[str]) -> tuple[str, dict[str, Any], str | None, bool] | None:
    """``(op, args, config, json)`` for the plain forms above, else ``None``."""
    config: str | None = None
    as_json = False
    i = 0
    while i < len(argv) and argv[i] not in ("ask", "state"):
        arg = argv[i]
        if arg == "--json":
            as_json = True
        elif arg in ("--config", "-c") and i + 1 < len(argv):
            config = argv[i + 1]
            i += 1
        elif arg.startswith("--config="):
            config = arg.partition("=")[2]
        else:
            return None
        i += 1
    if i == len(argv):
        return None
    op, rest = argv[i], argv[i + 1 :]
    positional: list[str] = []
    timeout: float | None = None
    j = 0
    while j < len(rest):
        arg = rest[j]
        if arg == "--json":
            as_json = True
        elif op == "ask" and (arg in ("--timeout", "-t") or arg.startswith("--timeout=")):
            if "=" in arg:
                raw = arg.partition("=")[2]
            elif j + 1 < len(rest):
                raw, j = rest[j + 1], j + 1
            else:
                return None
            try:
                timeout = float(raw)
            except ValueError:
                return None
            if not math.isfinite(timeout) or timeout < 0.1:
                return None  # the full CLI says why
        elif arg.startswith("-") and arg != "-":
            return None
        else:
            positional.append(arg)
        j += 1
    if op == "state" and len(positional) == 1:
        return op, state_request(positional[0]), config, as_json
    if op == "ask" and len(positional) == 2:
        return op, ask_request(positional[0], positional[1], timeout=timeout), config, as_json
    return None


def try_quick(argv: list[str]) -> int | None:
    """Run a plain ``ask``/``state`` through the broker; the exit code, or ``None`` if not taken."""
    if os.environ.get("AGENT_BRIDGE_NO_BROKER") == "1" or (sys.stdout.isatty() and sys.stderr.isatty()):
        return None
    parsed = _parse(argv)
    if parsed is None:
        return None
    op, args, config, as_json = parsed
    # Imported only once the call is taken: --help and the other commands do without them.
    from bridge import broker
    from bridge.config.paths import find_registry
    from bridge.errors import BridgeError

    try:
        if op == "ask":
            from bridge.text import argv_text, decode_prompt

            raw = args["prompt"]
            args["prompt"] = decode_prompt(sys.stdin.buffer.read()) if raw == "-" else argv_text(raw)
        result = broker.call(op, args, config=str(find_registry(config).resolve()))
    except broker.RetryInProcess:
        return None  # only read-only calls (state): the full CLI runs it again in-process
    except BridgeError as error:
        print_error(error, as_json)
        return error.exit_code
    print_result(result, result["reply"] if op == "ask" else result["state"], as_json)
    return 0


def main() -> None:
    """Console-script entry point: the fast path, else the full typer CLI. Ctrl-C exits 130."""
    try:
        code = try_quick(sys.argv[1:])
    except KeyboardInterrupt:  # waiting for the broker: it sees the hang-up and stops the call
        print("agent-bridge: interrupted", file=sys.stderr)
        sys.exit(130)
    if code is not None:
        sys.exit(code)
    from bridge.cli.main import main as full  # typer and every command: only when needed

    full()
