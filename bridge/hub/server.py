"""``agent-bridge hub serve``: one asyncio process owning the store, serving the HTTP API, the event
stream and the dashboard, running the wake pager and watching the agents' states.

It listens on 127.0.0.1:7878 unless told (``[hub] listen`` or ``--listen``; the WireGuard address
for other machines), never on every address unless ``0.0.0.0`` is given explicitly; and on a
private unix socket in the owner's runtime folder, through which the owner's own commands on this
machine (``hub token``) act as admin.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bridge.api import Bridge
from bridge.config.paths import runtime_dir
from bridge.config.registry import Registry
from bridge.errors import BridgeError, ConfigError
from bridge.hub.events import EventLog
from bridge.hub.evidence import keep_locally
from bridge.hub.pager import DEFAULT_TEXT, Pager, Rules
from bridge.hub.relay import Relay
from bridge.hub.schedule import Scheduler
from bridge.hub.store.engine import Store, open_store
from bridge.hub.supervisor import Supervisor
from bridge.hub.waker import BridgeWaker
from bridge.usage import AgentUsage, agent_usage

log = logging.getLogger("bridge.hub")

DEFAULT_LISTEN = "127.0.0.1:7878"


def parse_listen(text: str | None) -> tuple[str, int]:
    """``ADDR:PORT`` (``[v6]:PORT`` too) -> (addr, port); refuses what is not an IP address."""
    value = (text or DEFAULT_LISTEN).strip()
    host, sep, port_text = value.rpartition(":")
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
        port = int(port_text)
        if not sep or not 0 < port < 65536:
            raise ValueError
    except ValueError:
        raise ConfigError(
            f"listen {value!r} is not ADDR:PORT with an IP address",
            hint="e.g. --listen 10.77.0.1:7878 (the WireGuard address) or 127.0.0.1:7878",
        ) from None
    return host, port


def socket_path() -> Path:
    """The hub's private unix socket (the owner's runtime folder, 0700)."""
    return runtime_dir() / "hub.sock"


class Hub:
    """Everything one hub process runs, on one open store."""

    def __init__(self, store: Store, registry: Registry, bridge: Bridge, *, poll_s: float = 1.0) -> None:
        self.store = store
        self.registry = registry
        self.bridge = bridge
        self.events = EventLog(store)
        self.relay = Relay(store, self.events, registry.agents)
        rules = {
            name: Rules(budget=spec.wake_budget, text=spec.wake_text or DEFAULT_TEXT)
            for name, spec in registry.agents.items()
        }
        self.pager = Pager(store, self.events, self.relay, BridgeWaker(bridge), rules=rules, poll_s=poll_s)
        self.supervisor = Supervisor(bridge, registry, self.events)
        keep_locally(bridge, self.events)  # what the hub's own Bridge does goes straight into the log
        self.scheduler = Scheduler(self)
        self.states: dict[str, dict[str, Any]] = {}  # agent -> {"state", "since", "seen"}
        self.usage: dict[str, AgentUsage] = {}  # agent -> tokens and model, from its transcript
        self.started = time.time()

    @classmethod
    async def open(cls, registry: Registry, store: str | None = None, **kwargs: Any) -> Hub:
        opened = await open_store(store if store is not None else registry.model.hub.store)
        return cls(opened, registry, Bridge(registry, hooks=False), **kwargs)

    async def close(self) -> None:
        with contextlib.suppress(BridgeError):
            await self.bridge.close()
        await self.store.close()

    # -- what the dashboard shows -----------------------------------------------------------

    async def agents(self) -> list[dict[str, Any]]:
        unread = await self.relay.unread()
        rows = []
        for name, spec in self.registry.agents.items():
            seen = self.states.get(name, {})
            rows.append({
                "agent": name, "host": spec.host, "target": spec.target, "profile": spec.profile,
                "state": seen.get("state", "unknown"), "last_activity": seen.get("since"),
                "unread": unread.get(name, 0),
                "waiting": self.pager.why.get(name),
                **self._usage_of(name),
            })  # fmt: skip
        return rows

    def _usage_of(self, name: str) -> dict[str, Any]:
        used = self.usage.get(name)
        if used is None:
            return {"model": None, "tokens": None}
        tokens = {"input": used.input, "output": used.output, "cached": used.cached, "calls": used.calls,
                  "exact": used.exact}  # fmt: skip
        return {"model": used.model, "tokens": tokens}

    async def read_usage(self, name: str) -> None:
        """Read the agent's tokens and model from its transcript (agents without one: nothing)."""
        try:
            used = await agent_usage(self.bridge, name)
        except BridgeError as exc:
            log.debug("%s: no usage read: %s", name, exc)
            return
        if used is not None:
            self.usage[name] = used

    async def _record(self, name: str, before: dict[str, Any] | None, state: str) -> None:
        """A state change is remembered (since when) and is an event."""
        if before is None or before["state"] != state:
            self.states[name] = {"state": state, "since": time.time()}
            await self.events.add("state", agent=name, actor="hub", state=state,
                                  was=None if before is None else before["state"])  # fmt: skip

    async def watch_states(self, interval: float = 2.0, usage_s: float = 5.0) -> None:
        """Look at every agent's state every ``interval`` s (each change is an event); read an
        idle agent's tokens from its transcript when its screen changed since the last read (at
        most every ``usage_s`` s: a finished turn changes the screen; a quiet agent costs nothing)."""
        limit = asyncio.Semaphore(8)
        read: dict[str, tuple[int, float]] = {}  # agent -> (screen hash, when) of its last usage read

        async def look(name: str) -> None:
            async with limit:
                screen = 0
                try:
                    obs = await self.bridge.state(name)
                    state, screen = obs.state.value, hash(obs.text)
                except BridgeError as exc:
                    state = "unreachable" if exc.exit_code == 3 else "missing"
                before = self.states.get(name)
                if state == "dead" and (before is None or before["state"] != "dead"):
                    await self._record(name, before, state)  # the crash, before the restart
                state = await self.supervisor.seen(name, state)
            now = time.time()
            await self._record(name, self.states.get(name), state)
            last_screen, last_when = read.get(name, (None, 0.0))
            if state == "idle" and screen != last_screen and now - last_when >= usage_s:
                read[name] = (screen, now)
                await self.read_usage(name)

        while True:
            await asyncio.gather(*(look(name) for name in self.registry.agents))
            await asyncio.sleep(interval)

    # -- serving ----------------------------------------------------------------------------

    async def serve(self, address: tuple[str, int], *, ready: Callable[[], None] | None = None) -> None:
        """Serve until cancelled: HTTP on ``address`` (see :func:`parse_listen`), the private
        socket, the pager, the watcher; ``ready`` is called once both servers listen."""
        import uvicorn

        from bridge.hub.app import build_app

        host, port = address
        try:
            tcp = _tcp_socket(host, port)
        except OSError as exc:
            raise BridgeError(
                f"the hub cannot listen on {host}:{port}: {exc.strerror or exc}",
                hint="is another hub (or program) on that port? pick one with --listen",
            ) from exc
        try:
            local = _unix_socket(socket_path())
        except BaseException:
            tcp.close()
            raise

        class Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield  # signals are the CLI's: Ctrl-C cancels serve(), which stops both servers

        def config(local_admin: bool) -> uvicorn.Config:
            app = build_app(self, local_admin=local_admin)
            return uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)

        servers = [Server(config(False)), Server(config(True))]
        await self.events.add("hub-started", actor="hub", listen=f"{host}:{port}", store=self.store.dialect)
        tasks = [
            asyncio.create_task(servers[0].serve(sockets=[tcp]), name="hub-http"),
            asyncio.create_task(servers[1].serve(sockets=[local]), name="hub-local"),
            asyncio.create_task(self.pager.run(), name="hub-pager"),
            asyncio.create_task(self.watch_states(), name="hub-states"),
            asyncio.create_task(self.scheduler.run(), name="hub-schedule"),
        ]
        try:
            while not all(s.started for s in servers):
                if any(t.done() for t in tasks):
                    break
                await asyncio.sleep(0.02)
            if ready is not None and all(s.started for s in servers):
                ready()
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                error = task.exception()
                if error is not None:
                    raise error
        finally:
            for server in servers:
                server.should_exit = True
            for task in tasks[2:]:
                task.cancel()
            await asyncio.wait(tasks, timeout=5)
            with contextlib.suppress(OSError):
                os.unlink(socket_path())


def _tcp_socket(host: str, port: int) -> socket.socket:
    """The listening socket, made here so a taken port is one clear error. Its protocol is named
    (IPPROTO_TCP): asyncio sets TCP_NODELAY only on such sockets, and without it every answer on a
    kept-alive connection waits ~40 ms for the client's delayed ACK."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    return sock


def _unix_socket(path: Path) -> socket.socket:
    """Bind the private socket 0600 from the start (no window where others could connect)."""
    with contextlib.suppress(FileNotFoundError):
        probe = socket.socket(socket.AF_UNIX)
        try:
            probe.connect(str(path))
        except OSError:
            path.unlink()  # a dead hub's socket
        else:
            raise BridgeError(f"a hub is already serving on {path}", hint="stop it first")
        finally:
            probe.close()
    sock = socket.socket(socket.AF_UNIX)
    old = os.umask(0o177)
    try:
        sock.bind(str(path))
    finally:
        os.umask(old)
    sock.listen(64)
    return sock
