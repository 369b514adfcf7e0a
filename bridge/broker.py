"""A local background broker that keeps SSH connections warm between CLI calls.

Like OpenSSH's ControlPersist: the first CLI call starts ``python -m bridge _broker`` (a hidden
command of the CLI, which runs :meth:`Broker.serve`) in the background; it listens on a unix socket
(mode 0600, in a 0700 runtime folder), runs every request through :func:`bridge.ops.call` on a
long-lived :class:`~bridge.api.Bridge` per registry file (so connections are reused), and exits by
itself after ``idle`` seconds without requests.

A broker serves one environment: its socket name is derived from the package's code, ``HOME``,
``SSH_AUTH_SOCK`` and the config variables, so a call from another environment (or after an
upgrade) gets a broker of its own. A stale socket (nobody listening) or a broker that does not
answer a ping is replaced, never waited on forever.

Protocol: one JSON object per line. Request ``{"op", "args", "config"}`` (``args``: the JSON of
the operation's request model in :mod:`bridge.ops`); response ``{"ok": true, "result": ...}`` (the
JSON of its result model) or ``{"ok": false, "error": {"exit_code", "data"}}``.

The client half (:func:`call`) is what every CLI call imports, the fast path included: it needs
neither :mod:`bridge.ops` (pydantic) nor typer.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bridge.errors import BridgeError

if TYPE_CHECKING:
    from bridge.api import Bridge

log = logging.getLogger("bridge.broker")

DEFAULT_IDLE = 600.0
_ENV_KEYS = (
    "HOME", "SSH_AUTH_SOCK", "XDG_CONFIG_HOME", "XDG_RUNTIME_DIR",
    "AGENT_BRIDGE_CONFIG", "AGENT_BRIDGE_TIMEOUT",
)
_LINE_LIMIT = 64 * 1024 * 1024  # a 1 MB prompt JSON-escaped fits many times over
_SUN_PATH_MAX = 100  # AF_UNIX paths are at most 107 bytes on Linux
# Operations that never type into a pane (bridge.ops: read_only): safe to retry if a broker dies
# under them. Named here so that a client need not import bridge.ops (a test keeps the two equal).
READ_ONLY = frozenset({"hosts", "agents", "screen", "state", "reply"})


def _code_stamp() -> str:
    """Changes when the installed code changes (an upgrade must not talk to an old broker)."""
    from bridge import __version__

    here = Path(__file__).resolve().parent
    stamp = [__version__]
    for path in sorted(here.rglob("*.py")):
        with contextlib.suppress(OSError):
            stamp.append(f"{path.name}:{path.stat().st_mtime_ns}")
    return "|".join(stamp)


def socket_path() -> Path:
    """This environment's broker socket (in the private runtime folder)."""
    from bridge.config.paths import runtime_dir

    try:  # a call from another network namespace needs a broker that lives there
        netns = str(os.stat("/proc/self/ns/net").st_ino)
    except OSError:
        netns = ""
    key = "\0".join([_code_stamp(), netns, *(os.environ.get(k, "") for k in _ENV_KEYS)])
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    path = runtime_dir() / f"broker-{digest}.sock"
    if len(os.fsencode(path)) > _SUN_PATH_MAX:  # a deep $XDG_RUNTIME_DIR: use the short private dir
        path = runtime_dir(short=True) / f"broker-{digest}.sock"
    return path


def idle_seconds() -> float:
    raw = os.environ.get("AGENT_BRIDGE_BROKER_IDLE")
    try:
        return float(raw) if raw else DEFAULT_IDLE
    except ValueError:
        return DEFAULT_IDLE


# -- server -------------------------------------------------------------------------------------


class Broker:
    """The server: one Bridge per registry file, reloaded when the file changes."""

    def __init__(self, path: Path, idle: float) -> None:
        self.path = path
        self.idle = idle
        self.bridges: dict[str, tuple[float, Bridge]] = {}
        self.active = 0
        self.last = time.monotonic()
        self.done = asyncio.Event()

    async def bridge_for(self, config: str | None) -> Bridge:
        from bridge.api import Bridge  # the server half only: see _run
        from bridge.config.paths import find_registry

        path = find_registry(config)
        key, mtime = str(path.resolve()), path.stat().st_mtime
        cached = self.bridges.get(key)
        if cached and cached[0] == mtime:
            return cached[1]
        if cached:
            await cached[1].close()
        bridge = Bridge.from_config(path)
        self.bridges[key] = (mtime, bridge)
        return bridge

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.active += 1
        try:
            line = await reader.readline()
            if not line:
                return
            request = json.loads(line)
            if request.get("op") == "ping":
                response: dict[str, Any] = {"ok": True, "result": {"pid": os.getpid()}}
            else:
                task = asyncio.ensure_future(self._run(request))
                gone = asyncio.ensure_future(reader.read(1))  # the client hung up (Ctrl-C)
                finished, _ = await asyncio.wait({task, gone}, return_when=asyncio.FIRST_COMPLETED)
                if task not in finished:
                    task.cancel()
                    with contextlib.suppress(BaseException):
                        await task
                    return
                gone.cancel()
                response = task.result()
            writer.write(json.dumps(response, ensure_ascii=False).encode() + b"\n")
            await writer.drain()
        except (ValueError, ConnectionError) as exc:
            log.warning("bad request: %s", exc)
        finally:
            self.active -= 1
            self.last = time.monotonic()
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _run(self, request: dict[str, Any]) -> dict[str, Any]:
        from bridge import ops  # the server half only: the client (every CLI call) must stay light

        try:
            bridge = await self.bridge_for(request.get("config"))
            result = await ops.call(bridge, str(request["op"]), dict(request.get("args", {})))
            return {"ok": True, "result": result}
        except BridgeError as error:
            return {"ok": False, "error": error_to_wire(error)}
        except Exception as exc:  # a bug: report it, keep serving
            log.exception("operation failed")
            wire = error_to_wire(BridgeError(f"broker: {type(exc).__name__}: {exc}"))
            return {"ok": False, "error": wire}

    async def idle_watch(self) -> None:
        while not self.done.is_set():
            await asyncio.sleep(min(5.0, self.idle / 2))
            if self.active == 0 and time.monotonic() - self.last > self.idle:
                log.info("idle for %.0fs: exiting", self.idle)
                self.done.set()

    def _remove_own(self, made: int) -> None:
        """Remove the socket (inode ``made``) and pid file this broker created, and nothing else:
        a broker replaced while it was stopped must not delete its successor's."""
        with contextlib.suppress(FileNotFoundError):
            if self.path.stat().st_ino == made:
                self.path.unlink()
        pidfile = Path(f"{self.path}.pid")
        with contextlib.suppress(FileNotFoundError, ValueError):
            if int(pidfile.read_text()) == os.getpid():
                pidfile.unlink()
        _tidy(self.path)

    async def serve(self) -> None:
        old = os.umask(0o077)
        try:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            server = await asyncio.start_unix_server(self.handle, path=str(self.path), limit=_LINE_LIMIT)
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        made = self.path.stat().st_ino  # the socket this broker made (a successor makes another)
        Path(f"{self.path}.pid").write_text(f"{os.getpid()}\n")
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.done.set)
        watcher = asyncio.ensure_future(self.idle_watch())
        try:
            await self.done.wait()
        finally:
            watcher.cancel()
            server.close()
            self._remove_own(made)
            for _, bridge in self.bridges.values():
                with contextlib.suppress(Exception):
                    await bridge.close()


# -- client -------------------------------------------------------------------------------------


def _connect(path: Path, timeout: float) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path))
    except OSError:
        sock.close()
        return None
    return sock


def _exchange(sock: socket.socket, request: dict[str, Any], timeout: float | None) -> dict[str, Any]:
    sock.settimeout(timeout)
    sock.sendall(json.dumps(request, ensure_ascii=False).encode() + b"\n")
    chunks: list[bytes] = []
    while True:
        chunk = sock.recv(1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
        if chunk.endswith(b"\n"):
            break
    data = b"".join(chunks)
    if not data.endswith(b"\n"):
        raise ConnectionError("the broker closed the connection without an answer")
    answer: dict[str, Any] = json.loads(data)
    return answer


def _alive(path: Path) -> bool:
    sock = _connect(path, 2.0)
    if sock is None:
        return False
    try:
        return bool(_exchange(sock, {"op": "ping"}, 2.0).get("ok"))
    except (OSError, ValueError):
        return False
    finally:
        sock.close()


def _tidy(path: Path) -> None:
    """The last broker of ``path`` gone (no socket there, nobody starting one: its lock is free),
    its lock and log files go too; a broker that is starting or running keeps them."""
    if path.exists():
        return
    try:
        lock = os.open(f"{path}.lock", os.O_RDWR)
    except FileNotFoundError:
        return
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return  # someone is starting a broker right now
        if not path.exists():
            for leftover in (f"{path}.log", f"{path}.lock"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(leftover)
    finally:
        os.close(lock)


def ensure_broker(path: Path | None = None) -> Path:
    """A live broker's socket: reuse it, or (under a lock) replace a stale one and start one."""
    path = path or socket_path()
    if _alive(path):
        return path
    lock = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _alive(path):
            return path
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # stale: nobody answers
        fd = os.open(f"{path}.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        logfile = os.fdopen(fd, "ab")
        child = subprocess.Popen(
            [sys.executable, "-m", "bridge", "_broker", "--socket", str(path), "--idle", str(idle_seconds())],
            stdin=subprocess.DEVNULL, stdout=logfile, stderr=logfile,
            start_new_session=True, close_fds=True,
        )
        logfile.close()
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline and child.poll() is None:
            if _alive(path):
                return path
            time.sleep(0.02)
        raise BridgeError("the broker did not start", hint=f"see {path}.log, or use --no-broker")
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        os.close(lock)


def call(op: str, args: dict[str, Any], *, config: str | None, timeout: float | None = None) -> Any:
    """Run ``op`` through the broker (starting it if needed); raise its errors as our own."""
    path = ensure_broker()
    sock = _connect(path, 5.0)
    if sock is None:
        raise BridgeError("cannot connect to the broker", hint="retry, or use --no-broker")
    try:
        answer = _exchange(sock, {"op": op, "args": args, "config": config}, timeout)
    except (OSError, ValueError) as exc:
        if op in READ_ONLY:
            raise RetryInProcess from exc
        lost = BridgeError(
            f"the broker died during {op}: {exc}",
            hint="check the agent with: agent-bridge screen AGENT (the text may have been typed)",
        )
        lost.delivered = True  # it may have been: never say it is safe to send again
        raise lost from exc
    finally:
        sock.close()
    if answer.get("ok"):
        return answer.get("result")
    raise error_from_wire(answer.get("error", {}))


class RetryInProcess(Exception):
    """A read-only call lost its broker: the caller may run it again (in-process)."""


# -- errors on the wire -------------------------------------------------------------------------


class RemoteError(BridgeError):
    """A :class:`BridgeError` raised in the broker, carried back with its exit code and data."""

    def __init__(self, data: dict[str, Any], exit_code: int) -> None:
        super().__init__(str(data.get("message", "error")))
        self.exit_code = exit_code
        self.data = data
        self.state = data.get("state")
        self.screen = data.get("screen")
        self.delivered = bool(data.get("delivered", False))

    def __str__(self) -> str:
        return str(self.data.get("message", "error"))

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)


def error_to_wire(error: BridgeError) -> dict[str, Any]:
    return {"exit_code": error.exit_code, "data": error.to_dict()}


def error_from_wire(wire: dict[str, Any]) -> RemoteError:
    return RemoteError(dict(wire.get("data", {})), int(wire.get("exit_code", 1)))
