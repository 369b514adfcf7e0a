"""The hub's HTTP API, its server-sent-events stream and the dashboard (Starlette).

Every endpoint takes ``Authorization: Bearer TOKEN``; the dashboard's page and stream also take
the ``ab_token`` cookie a browser gets once from ``POST /login`` (HttpOnly, SameSite=Strict; only
GET requests accept the cookie, so another site cannot make a browser post). An agent's token
reads and writes only that agent's messages and threads; admin endpoints (agents, events, stream,
tokens, the page) need an admin token. Errors are JSON ``{"error", "message", "exit_code"}`` with
the HTTP status of their kind; the client turns them back into the same error.

``local_admin``: the app behind the hub's private unix socket (0600, in the owner's runtime
folder) treats a caller without a token as admin: a process of the hub's own user on the hub's
machine. A caller that gives a token is who the token says.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from bridge import errors
from bridge.errors import BridgeError, ConfigError, TokenError
from bridge.hub import tokens
from bridge.hub.evidence import accept
from bridge.hub.models import Identity
from bridge.hub.report import build_report

if TYPE_CHECKING:
    from bridge.hub.server import Hub

WEB = Path(__file__).resolve().parent / "web"
COOKIE = "ab_token"
TOKEN_CACHE_S = 30.0
MAX_REQUEST = 8 * 2**20
_STATUS = {2: 400, 3: 401, 4: 409, 5: 409}
Handler = Callable[[Request], Awaitable[Response]]


def error_response(exc: BridgeError) -> JSONResponse:
    status = 404 if isinstance(exc, errors.NotFoundError) else _STATUS.get(exc.exit_code, 500)
    if isinstance(exc, errors.NotAdminError):
        status = 403
    body = {"error": type(exc).__name__, "message": exc.message, "hint": exc.hint, "exit_code": exc.exit_code}
    return JSONResponse(body, status_code=status)


def build_app(hub: Hub, *, local_admin: bool = False) -> Starlette:
    """The Starlette app serving ``hub``."""

    async def identify(request: Request, *, cookie: bool = False) -> Identity:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else None
        if token is None and local_admin:
            return Identity(agent=None, admin=True)  # the owner, on the hub's machine
        if token is None and cookie and request.method == "GET":
            token = request.cookies.get(COOKIE)
        who = await known(token) if token else None
        if who is None:
            raise TokenError(
                "the hub refused the token (missing, unknown or revoked)" if token else "no token given",
                hint="set AGENT_BRIDGE_TOKEN, or mint one on the hub: agent-bridge hub token AGENT",
            )
        return who

    seen: dict[str, tuple[Identity, float]] = {}  # token digest -> who, until when

    async def known(token: str) -> Identity | None:
        """The token's identity; a token seen in the last TOKEN_CACHE_S seconds is not looked up
        again (a revoked one stops working within that time)."""
        key, now = tokens.digest(token), time.monotonic()
        cached = seen.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        who = await tokens.identify(hub.store, token)
        if who is not None:
            if len(seen) > 10_000:
                seen.clear()
            seen[key] = (who, now + TOKEN_CACHE_S)
        return who

    async def admin(request: Request, *, cookie: bool = False) -> Identity:
        who = await identify(request, cookie=cookie)
        if not who.admin:
            raise errors.NotAdminError(f"this needs an admin token; {who.name}'s token is an agent's")
        return who

    def endpoint(job: Callable[[Request], Awaitable[Any]]) -> Handler:
        async def handle(request: Request) -> Response:
            try:
                result = await job(request)
            except BridgeError as exc:
                return error_response(exc)
            if isinstance(result, Response):
                return result
            return JSONResponse(_jsonable(result))

        return handle

    async def body(request: Request) -> dict[str, Any]:
        """The JSON object sent, read up to MAX_REQUEST bytes (a 1 MB message, JSON-escaped, fits)."""
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_REQUEST:
                raise ConfigError(f"the request is over {MAX_REQUEST // 2**20} MB")
            chunks.append(chunk)
        try:
            data = json.loads(b"".join(chunks))
        except (ValueError, UnicodeDecodeError):
            raise ConfigError("the request body is not JSON") from None
        if not isinstance(data, dict):
            raise ConfigError("the request body must be a JSON object")
        return data

    def number(request: Request, key: str) -> int:
        try:
            return int(request.path_params[key])
        except ValueError:
            raise ConfigError(f"{key} must be a number") from None

    # -- messages ---------------------------------------------------------------------------

    async def send(request: Request) -> Any:
        who, data = await identify(request), await body(request)
        thread = data.get("thread_id")
        return await hub.relay.send(
            who, _text(data, "to"), _text(data, "subject", ""), _text(data, "body"),
            thread_id=None if thread is None else _int(thread, "thread_id"),
        )  # fmt: skip

    async def inbox(request: Request) -> Any:
        everything = request.query_params.get("all") in ("1", "true")
        return await hub.relay.inbox(await identify(request), everything=everything)

    async def get_message(request: Request) -> Any:
        return await hub.relay.get(await identify(request), number(request, "id"))

    async def read(request: Request) -> Any:
        return await hub.relay.read(await identify(request), number(request, "id"))

    async def reply(request: Request) -> Any:
        who, data = await identify(request), await body(request)
        return await hub.relay.reply(who, number(request, "id"), _text(data, "body"))

    async def status(request: Request) -> Any:
        return await hub.relay.status(await identify(request), number(request, "id"))

    async def thread(request: Request) -> Any:
        return await hub.relay.thread(await identify(request), number(request, "id"))

    async def threads(request: Request) -> Any:
        everything = request.query_params.get("all") in ("1", "true")
        return await hub.relay.threads(await identify(request, cookie=True), open_only=not everything)

    async def close(request: Request) -> Any:
        return await hub.relay.close(await identify(request), number(request, "id"))

    # -- admin ------------------------------------------------------------------------------

    async def record(request: Request) -> Any:
        """A client's record of what it did (or an agent's note), into the event log."""
        return await accept(hub.events, set(hub.relay.agents), await identify(request), await body(request))

    async def report_of(request: Request) -> Any:
        await admin(request, cookie=True)
        if request.query_params.get("latest"):  # the last one the schedule wrote
            return hub.scheduler.last_report or {}
        since = request.query_params.get("since")
        return await build_report(hub, since=_float(since, "since") if since else None)

    async def me(request: Request) -> Any:
        return await identify(request, cookie=True)

    async def agents(request: Request) -> Any:
        await admin(request, cookie=True)
        return await hub.agents()

    async def events(request: Request) -> Any:
        await admin(request, cookie=True)
        after = _int(request.query_params.get("after", "0"), "after")
        tail = request.query_params.get("tail")
        limit = min(_int(tail, "tail"), 5000) if tail else 5000
        since = request.query_params.get("since")
        return await hub.events.since(
            after, agent=request.query_params.get("agent"), limit=limit, newest=bool(tail),
            since_time=_float(since, "since") if since else None,
        )  # fmt: skip

    async def mint(request: Request) -> Any:
        await admin(request)
        data = await body(request)
        if data.get("admin"):
            return {"token": await tokens.mint(hub.store, None, admin=True), "admin": True}
        agent = _text(data, "agent")
        if agent not in hub.relay.agents:
            raise errors.UnknownAgentError(f"no agent {agent!r} in the hub's registry")
        return {"token": await tokens.mint(hub.store, agent), "agent": agent}

    async def stream(request: Request) -> Response:
        try:
            await admin(request, cookie=True)
        except BridgeError as exc:
            return error_response(exc)
        start = request.headers.get("last-event-id") or request.query_params.get("after")
        after = _int(start, "after") if start else await hub.events.latest_id()

        async def feed() -> Any:
            nonlocal after
            yield "retry: 2000\n\n"
            while True:
                if not await hub.events.wait(after, 15.0):
                    yield ": keepalive\n\n"
                    continue
                for event in await hub.events.since(after):
                    after = event.id
                    yield f"id: {event.id}\nevent: hub\ndata: {event.model_dump_json()}\n\n"

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(feed(), media_type="text/event-stream", headers=headers)

    # -- the page ---------------------------------------------------------------------------

    async def page(request: Request) -> Response:
        try:
            await admin(request, cookie=True)
        except BridgeError:
            return HTMLResponse((WEB / "login.html").read_text(), headers={"Cache-Control": "no-store"})
        return HTMLResponse((WEB / "index.html").read_text(), headers={"Cache-Control": "no-store"})

    async def login(request: Request) -> Response:
        form = await request.form()
        token = str(form.get("token", "")).strip()
        who = await tokens.identify(hub.store, token)
        if who is None or not who.admin:
            return RedirectResponse("/?refused=1", status_code=303)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", max_age=30 * 86400)
        return response

    async def logout(request: Request) -> Response:
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ("app.js", "style.css"):
            return Response(status_code=404)
        return FileResponse(WEB / name, headers={"Cache-Control": "no-cache"})

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "store": hub.store.dialect})

    routes = [
        Route("/", page),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout),
        Route("/static/{name}", static),
        Route("/api/health", health),
        Route("/api/me", endpoint(me)),
        Route("/api/messages", endpoint(send), methods=["POST"]),
        Route("/api/inbox", endpoint(inbox)),
        Route("/api/messages/{id}", endpoint(get_message)),
        Route("/api/messages/{id}/read", endpoint(read), methods=["POST"]),
        Route("/api/messages/{id}/reply", endpoint(reply), methods=["POST"]),
        Route("/api/messages/{id}/status", endpoint(status)),
        Route("/api/threads", endpoint(threads)),
        Route("/api/threads/{id}", endpoint(thread)),
        Route("/api/threads/{id}/close", endpoint(close), methods=["POST"]),
        Route("/api/agents", endpoint(agents)),
        Route("/api/events", endpoint(events)),
        Route("/api/events", endpoint(record), methods=["POST"]),
        Route("/api/report", endpoint(report_of)),
        Route("/api/tokens", endpoint(mint), methods=["POST"]),
        Route("/api/stream", stream),
    ]
    return Starlette(routes=routes)


def _text(data: dict[str, Any], key: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"{key!r} must be a string" if key in data else f"{key!r} is missing")
    return value


def _int(value: object, key: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise ConfigError(f"{key} must be a number") from None


def _float(value: object, key: str) -> float:
    try:
        return float(str(value))
    except ValueError:
        raise ConfigError(f"{key} must be a number") from None


def _jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value
