"""Named operations over a :class:`~bridge.api.Bridge`, with JSON-ready arguments and results.

The CLI (in-process or through the broker) calls ``dispatch(bridge, op, args)``; the broker runs
the same table on its long-lived Bridge, so both paths behave identically. Errors stay
:class:`~bridge.errors.BridgeError`; :func:`error_to_wire` / :func:`error_from_wire` carry them
across the broker's socket with their exit code, message and data intact.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from bridge.errors import BridgeError

if TYPE_CHECKING:
    from bridge.api import Bridge

Op = Callable[["Bridge", dict[str, Any]], Awaitable[Any]]


async def _hosts(bridge: Bridge, args: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name, spec in bridge.registry.hosts.items():
        row: dict[str, Any] = {"host": name, "local": spec.local, "address": spec.address}
        if args.get("check"):
            try:
                row.update(await bridge.check_host(name))
            except BridgeError as exc:
                row.update(reachable=False, error=str(exc))
        rows.append(row)
    return rows


async def _agents(bridge: Bridge, args: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name, spec in bridge.registry.agents.items():
        row: dict[str, Any] = {
            "agent": name, "host": spec.host, "target": spec.target, "profile": spec.profile,
        }
        if args.get("check"):
            try:
                row["state"] = (await bridge.state(name)).state.value
            except BridgeError as exc:
                row.update(state=getattr(exc, "state", None) or "unreachable", error=str(exc))
        rows.append(row)
    return rows


async def _screen(bridge: Bridge, args: dict[str, Any]) -> dict[str, Any]:
    text = await bridge.screen(args["agent"], ansi=args.get("ansi", False), history=args.get("history", 0))
    return {"agent": args["agent"], "screen": text}


async def _send(bridge: Bridge, args: dict[str, Any]) -> dict[str, Any]:
    removed = await bridge.send(
        args["agent"], args["text"], enter=args.get("enter", True),
        strip_controls=args.get("strip_controls", False),
    )
    return {"agent": args["agent"], "sent": len(args["text"]), "removed_controls": removed}


async def _keys(bridge: Bridge, args: dict[str, Any]) -> dict[str, Any]:
    await bridge.keys(args["agent"], list(args["keys"]))
    return {"agent": args["agent"], "keys": list(args["keys"])}


async def _start(bridge: Bridge, args: dict[str, Any]) -> dict[str, Any]:
    return await bridge.start(args["agent"])


async def _ask(bridge: Bridge, args: dict[str, Any]) -> dict[str, Any]:
    reply = await bridge.ask(
        args["agent"], args["prompt"], timeout=args.get("timeout"), model=args.get("model"),
        strip_controls=args.get("strip_controls", False),
    )
    return reply.to_dict()


async def _state(bridge: Bridge, args: dict[str, Any]) -> dict[str, Any]:
    obs = await bridge.state(args["agent"])
    return {
        "agent": args["agent"], "state": obs.state.value,
        "command": obs.facts.current_command, "pane": obs.facts.pane_id,
    }


async def _model(bridge: Bridge, args: dict[str, Any]) -> dict[str, Any]:
    chosen = await bridge.switch_model(args["agent"], args["name"], timeout=args.get("timeout", 60.0))
    return {"agent": args["agent"], "model": chosen}


async def _approve(bridge: Bridge, args: dict[str, Any]) -> dict[str, Any]:
    from bridge.driver import Reply

    result = await bridge.approve(
        args["agent"], args.get("answer", "yes"), wait=args.get("wait", False), timeout=args.get("timeout")
    )
    if isinstance(result, Reply):
        return result.to_dict()
    return {"agent": args["agent"], "answered": args.get("answer", "yes"), "state": result.state.value}


async def _restart(bridge: Bridge, args: dict[str, Any]) -> dict[str, Any]:
    obs = await bridge.restart(args["agent"], timeout=args.get("timeout", 60.0))
    return {"agent": args["agent"], "state": obs.state.value}


OPS: dict[str, Op] = {
    "hosts": _hosts,
    "agents": _agents,
    "screen": _screen,
    "send": _send,
    "keys": _keys,
    "start": _start,
    "ask": _ask,
    "state": _state,
    "model": _model,
    "approve": _approve,
    "restart": _restart,
}

# Operations that never type into a pane: safe to retry if a broker dies under them.
READ_ONLY = frozenset({"hosts", "agents", "screen", "state"})


async def dispatch(bridge: Bridge, op: str, args: dict[str, Any]) -> Any:
    """Run operation ``op`` with ``args`` on ``bridge``; return a JSON-ready result."""
    try:
        handler = OPS[op]
    except KeyError:
        raise BridgeError(f"unknown operation {op!r}") from None
    return await handler(bridge, args)


class RemoteError(BridgeError):
    """A :class:`BridgeError` raised in the broker, carried back with its exit code and data."""

    def __init__(self, data: dict[str, Any], exit_code: int) -> None:
        super().__init__(str(data.get("message", "error")))
        self.exit_code = exit_code
        self.data = data
        self.state = data.get("state")
        self.screen = data.get("screen")

    def __str__(self) -> str:
        return str(self.data.get("message", "error"))

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)


def error_to_wire(error: BridgeError) -> dict[str, Any]:
    return {"exit_code": error.exit_code, "data": error.to_dict()}


def error_from_wire(wire: dict[str, Any]) -> RemoteError:
    return RemoteError(dict(wire.get("data", {})), int(wire.get("exit_code", 1)))
