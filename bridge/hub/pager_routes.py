"""The hub's side of a host's own pager (``agent-bridge hub pager``, :mod:`bridge.hub.remote`):
for agents whose host has ``wake = "host"`` the hub keeps the rules (budget, one wake per batch,
the lease with its fencing token, the wake row written before anything is typed) and the host
types the line. An admin token is needed for every call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.routing import Route

from bridge import errors
from bridge.errors import BridgeError, ConfigError
from bridge.hub.models import Identity
from bridge.hub.pager import Claim

if TYPE_CHECKING:
    from bridge.hub.server import Hub

__all__ = ["pager_routes"]


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ConfigError(f"{key!r} must be a string")
    return value


def _int(value: object, key: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise ConfigError(f"{key} must be a number") from None


def pager_routes(
    hub: Hub,
    admin: Callable[[Request], Awaitable[Identity]],
    body: Callable[[Request], Awaitable[dict[str, Any]]],
    endpoint: Callable[[Callable[[Request], Awaitable[Any]]], Any],
) -> list[Route]:
    """The routes under ``/api/pager/``: queued, claim, typed, open, settle."""


    def remote_agent(data: dict[str, Any]) -> str:
        agent = _text(data, "agent")
        if agent not in hub.pager.remote:
            raise ConfigError(f"the hub wakes {agent!r} itself (its host's wake is not \"host\")")
        return agent

    def wanted(request: Request) -> set[str]:
        names = request.query_params.get("agents", "")
        return {n for n in names.split(",") if n} & hub.pager.remote

    async def pager_queued(request: Request) -> Any:
        await admin(request)
        agents = wanted(request)
        return [a for a in await hub.pager.queued_agents() if a in agents]

    async def pager_claim(request: Request) -> Any:
        await admin(request)
        agent = remote_agent(await body(request))
        batch = await hub.pager.due(agent)
        if isinstance(batch, str):
            return {"status": batch}
        claimed = await hub.pager.claim(agent, batch)
        if claimed is None or isinstance(claimed, str):
            return {"status": claimed or "done"}
        return {"wake_id": claimed.wake_id, "fence": claimed.fence, "nonce": claimed.nonce,
                "text": claimed.text}

    async def pager_typed(request: Request) -> Any:
        await admin(request)
        data = await body(request)
        agent = remote_agent(data)
        claim = Claim(agent, _int(data.get("fence"), "fence"), _int(data.get("wake_id"), "wake_id"), "", "")
        why = data.get("error")
        error: BridgeError | None = None
        if isinstance(why, dict):
            detail = str(why.get("detail") or "not typed")
            error = (errors.AgentNotReadyError(detail, state=str(why.get("state") or "not idle"))
                     if why.get("kind") == "not-idle" else BridgeError(detail))  # fmt: skip
        return {"outcome": await hub.pager.typed(agent, claim, error)}

    async def pager_open(request: Request) -> Any:
        await admin(request)
        return await hub.pager.open_wakes(wanted(request))

    async def pager_settle(request: Request) -> Any:
        await admin(request)
        data = await body(request)
        agent, wake_id = remote_agent(data), _int(data.get("wake_id"), "wake_id")
        seen = data.get("seen")
        if seen not in ("pending", "submitted", "absent"):
            raise ConfigError("seen must be pending, submitted or absent")
        rows = [r for r in await hub.pager.open_wakes({agent}) if r["wake_id"] == wake_id]
        if not rows:
            raise errors.NotFoundError(f"no unfinished wake {wake_id} of {agent}")
        return {"outcome": await hub.pager.settle(rows[0], seen)}

    return [
        Route("/api/pager/queued", endpoint(pager_queued)),
        Route("/api/pager/claim", endpoint(pager_claim), methods=["POST"]),
        Route("/api/pager/typed", endpoint(pager_typed), methods=["POST"]),
        Route("/api/pager/open", endpoint(pager_open)),
        Route("/api/pager/settle", endpoint(pager_settle), methods=["POST"]),
    ]
