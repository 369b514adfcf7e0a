"""Talking to the hub over HTTP (httpx): what ``agent-bridge msg``, ``top`` and the MCP tools use.

Where the hub is: ``--hub URL``, ``$AGENT_BRIDGE_HUB_URL``, the registry's ``[hub] url``, else the
hub's private unix socket on this machine (its owner acts as admin there).

Who is asking: the token decides (``$AGENT_BRIDGE_TOKEN``, the registry's ``[hub] token_file``, or
``~/.config/agent-bridge/tokens/AGENT`` for ``--as AGENT`` / ``$AGENT_BRIDGE_AGENT``; token files
must be private, 0600). Tokens are never printed, logged or typed into a pane.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from bridge import errors
from bridge.config.paths import config_dir, not_private, runtime_dir
from bridge.errors import BridgeError, ConfigError, HubUnreachableError, TokenError
from bridge.hub.models import Event, Identity, Message, Status, Thread

if TYPE_CHECKING:
    from bridge.config.models import HubSpec

_BY_CODE: dict[int, type[BridgeError]] = {
    2: ConfigError, 3: errors.HostError, 4: errors.AgentError, 5: errors.PermissionPendingError,
    6: errors.AnswerError,
}  # fmt: skip


def tokens_dir() -> Path:
    return config_dir() / "tokens"


def read_token_file(path: Path) -> str:
    """A token file's token; refused unless it is private to its owner (0600)."""
    try:
        info = path.stat()
        if not_private(info, owner=True):
            raise TokenError(
                f"the token file {path} is not private to you (mode {stat.S_IMODE(info.st_mode):o})",
                hint=f"chmod 600 {path}",
            )
        return path.read_text().strip()
    except OSError as exc:
        raise TokenError(f"cannot read the token file {path}: {exc.strerror or exc}") from exc


def write_token_file(path: Path, token: str) -> None:
    """Write ``token`` to ``path``, 0600 from the start."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    os.chmod(path, 0o600)


def find_token(agent: str | None, token_file: str | None = None) -> str | None:
    if os.environ.get("AGENT_BRIDGE_TOKEN"):
        return os.environ["AGENT_BRIDGE_TOKEN"].strip()
    if token_file:
        return read_token_file(Path(token_file).expanduser())
    for name in ([agent] if agent else []) + ["admin"]:
        path = tokens_dir() / name
        if path.exists():
            return read_token_file(path)
    return None


class HubClient:
    """One hub, one identity. ``async with HubClient(...) as hub: await hub.inbox()``."""

    def __init__(self, url: str | None, token: str | None, *, timeout: float = 30.0) -> None:
        self.token = token
        self.local = not url  # through the hub's private socket on this machine (its owner: admin)
        if url:
            self.url = url.rstrip("/")
            transport = None
        else:
            sock = runtime_dir() / "hub.sock"
            if not sock.exists():
                raise HubUnreachableError(
                    "no hub configured and none running on this machine",
                    hint='set [hub] url = "http://ADDR:7878" in the registry, or run: agent-bridge hub serve',
                )
            self.url = "http://hub"
            transport = httpx.AsyncHTTPTransport(uds=str(sock))
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport, trust_env=False
        )

    @classmethod
    def configured(
        cls,
        hub: HubSpec | None = None,
        *,
        url: str | None = None,
        agent: str | None = None,
        token: str | None = None,
    ) -> HubClient:
        """From ``--hub``/env/registry ``[hub]`` (``hub``: the registry's, if there is one)."""
        agent = agent or os.environ.get("AGENT_BRIDGE_AGENT") or None
        url = url or os.environ.get("AGENT_BRIDGE_HUB_URL") or (hub.url if hub is not None else None)
        token = token or find_token(agent, hub.token_file if hub is not None else None)
        return cls(url, token)

    async def __aenter__(self) -> HubClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        params: dict[str, Any] | None = None,
    ) -> Any:
        try:
            response = await self._http.request(method, path, json=body, params=params)
        except httpx.TransportError as exc:
            raise HubUnreachableError(
                f"the hub at {self.url} did not answer: {exc or type(exc).__name__}",
                hint="is `agent-bridge hub serve` running, and the WireGuard tunnel up? agent-bridge doctor",
            ) from exc
        if response.status_code >= 400:
            raise _error(response)
        return response.json()

    # -- messages ---------------------------------------------------------------------------

    async def send(self, to: str, subject: str, body: str, *, thread_id: int | None = None) -> Message:
        data = {"to": to, "subject": subject, "body": body, "thread_id": thread_id}
        return Message.model_validate(await self.call("POST", "/api/messages", data))

    async def inbox(self, *, everything: bool = False) -> list[Message]:
        rows = await self.call("GET", "/api/inbox", params={"all": "1"} if everything else None)
        return [Message.model_validate(r) for r in rows]

    async def read(self, message_id: int) -> Message:
        return Message.model_validate(await self.call("POST", f"/api/messages/{message_id}/read"))

    async def reply(self, message_id: int, body: str) -> Message:
        return Message.model_validate(
            await self.call("POST", f"/api/messages/{message_id}/reply", {"body": body})
        )

    async def thread(self, thread_id: int) -> Thread:
        return Thread.model_validate(await self.call("GET", f"/api/threads/{thread_id}"))

    async def threads(self, *, everything: bool = False) -> list[Thread]:
        rows = await self.call("GET", "/api/threads", params={"all": "1"} if everything else None)
        return [Thread.model_validate(r) for r in rows]

    async def close_thread(self, thread_id: int) -> Thread:
        return Thread.model_validate(await self.call("POST", f"/api/threads/{thread_id}/close"))

    async def status(self, message_id: int) -> Status:
        return Status.model_validate(await self.call("GET", f"/api/messages/{message_id}/status"))

    # -- admin ------------------------------------------------------------------------------

    async def me(self) -> Identity:
        return Identity.model_validate(await self.call("GET", "/api/me"))

    async def agents(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.call("GET", "/api/agents")
        return result

    async def events(
        self, after: int = 0, *, agent: str | None = None, tail: int | None = None
    ) -> list[Event]:
        params: dict[str, Any] = {"after": after} | ({"agent": agent} if agent else {})
        if tail is not None:
            params["tail"] = tail
        return [Event.model_validate(r) for r in await self.call("GET", "/api/events", params=params)]

    async def mint(self, agent: str | None, *, admin: bool = False) -> str:
        body = {"admin": True} if admin else {"agent": agent}
        return str((await self.call("POST", "/api/tokens", body))["token"])

    async def stream(self, after: int | None = None) -> AsyncIterator[Event]:
        """The hub's live events (server-sent events), from ``after`` if given."""
        params = {} if after is None else {"after": after}
        try:
            async with self._http.stream("GET", "/api/stream", params=params, timeout=None) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise _error(response)
                async for line in response.aiter_lines():
                    if line.startswith("data: "):
                        yield Event.model_validate_json(line[6:])
        except httpx.TransportError as exc:
            raise HubUnreachableError(f"the hub's event stream at {self.url} ended: {exc}") from exc


def _error(response: httpx.Response) -> BridgeError:
    try:
        data = response.json()
    except (ValueError, json.JSONDecodeError):
        data = {}
    message = str(data.get("message") or f"the hub answered HTTP {response.status_code}")
    hint = data.get("hint")
    cls = getattr(errors, str(data.get("error")), None)
    if isinstance(cls, type) and issubclass(cls, BridgeError):
        try:
            return cls(message, hint=hint)
        except TypeError:  # an error that needs more data than the wire carries
            pass
    fallback = _BY_CODE.get(int(data.get("exit_code") or 0), BridgeError)
    if response.status_code in (401, 403):
        fallback = TokenError
    return fallback(message, hint=hint)
