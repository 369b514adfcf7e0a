"""Shared fixtures, a pytest plugin (see tests/conftest.py): a real tmux server per test, a real
OpenSSH sshd per session, registries, a throwaway PostgreSQL cluster, the CLI as a user runs it.

Nothing here is mocked: ``tmux_server`` runs tmux on a private socket (killed after the test),
``sshd`` runs /usr/sbin/sshd on 127.0.0.1 with throwaway host and client keys and key-only auth.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bridge.config import HostSpec
from bridge.transport.local import LocalTransport
from bridge.transport.ssh import SSHTransport
from tests.helpers.postgres import Postgres, start_postgres
from tests.helpers.tmux_under_test import INSTALLED_BIN, sshd_setenv

REPO = Path(__file__).resolve().parents[2]
SHELL_ENV = {"PS1": "$ ", "HISTFILE": "/dev/null", "TERM": "xterm-256color"}


def pytest_configure(config: pytest.Config) -> None:
    """Panes of the tests' tmux servers inherit this PATH: give them the console scripts an
    install puts on PATH (``agent-bridge-demo`` is the demo profile's start command)."""
    path = os.environ.get("PATH", "").split(":")
    if INSTALLED_BIN not in path:
        os.environ["PATH"] = ":".join([INSTALLED_BIN, *path])


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Which tmux the run uses, locally and (through :func:`sshd_setenv`) on the sshd side."""
    found = shutil.which("tmux")
    if found is None:
        return ["tmux: not installed (tests that need it skip)"]
    version = subprocess.run([found, "-V"], capture_output=True, text=True, timeout=10).stdout.strip()
    return [f"tmux: {version} at {found} (locally and over the test sshd)"]


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {predicate}")
        time.sleep(interval)


@dataclass
class TmuxServer:
    """A private tmux server for one test."""

    socket: str
    panes: list[str] = field(default_factory=list)

    def tmux(self, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-S", self.socket, *args],
            input=input.decode() if input is not None else None,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )

    def new_pane(
        self,
        session: str,
        command: str | None = None,
        *,
        width: int = 200,
        height: int = 50,
        cwd: str | os.PathLike[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> str:
        """A new session with a shell pane; ``command`` is typed into the shell if given."""
        assignments = [f"{k}={v}" for k, v in {**SHELL_ENV, **(env or {})}.items()]
        args = ["new-session", "-d", "-s", session, "-x", str(width), "-y", str(height)]
        args += ["-c", str(cwd or REPO), "-P", "-F", "#{pane_id}"]
        args += [shlex.join(["env", *assignments, "bash", "--norc", "--noprofile"])]
        pane = self.tmux(*args).stdout.strip()
        self.panes.append(pane)
        wait_for(lambda: "$" in self.capture(pane), 5)
        if command:
            self.tmux("send-keys", "-t", pane, "-l", "--", command)
            self.tmux("send-keys", "-t", pane, "Enter")
        return pane

    def capture(self, pane: str, *, ansi: bool = False) -> str:
        return self.tmux("capture-pane", "-p", *(["-e"] if ansi else []), "-t", pane).stdout

    def current_command(self, pane: str) -> str:
        return self.tmux("display-message", "-p", "-t", pane, "#{pane_current_command}").stdout.strip()


@pytest.fixture
def tmux_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TmuxServer]:
    """A tmux server on its own socket; killed after the test."""
    if not shutil.which("tmux"):
        pytest.skip(reason="tmux is not installed (apt-get install tmux)")
    # Socket paths must stay short (sun_path is 108 bytes).
    sockdir = Path(f"/tmp/ab-tmux-{uuid.uuid4().hex[:8]}")
    sockdir.mkdir(mode=0o700)
    server = TmuxServer(str(sockdir / "sock"))
    # Panes the bridge creates (agent-bridge start) get a shell without rc files too: the test
    # host's ~/.bashrc must neither slow them down nor be killed half-way at teardown.
    shell = shlex.join(["env", *(f"{k}={v}" for k, v in SHELL_ENV.items()), "bash", "--norc", "--noprofile"])
    server.tmux("-f", "/dev/null", "start-server", ";", "set", "-g", "exit-empty", "off",
                ";", "set", "-g", "default-command", shell)  # fmt: skip
    try:
        yield server
    finally:
        subprocess.run(["tmux", "-S", server.socket, "kill-server"], capture_output=True, timeout=10)
        shutil.rmtree(sockdir, ignore_errors=True)


@dataclass(frozen=True)
class Sshd:
    """A running sshd on 127.0.0.1 and what a client needs to use it."""

    host: str
    port: int
    user: str
    client_key: Path
    known_hosts: Path
    host_pubkey: str
    pid: int

    def host_toml(self, name: str = "box", **extra: Any) -> str:
        lines = [
            f"[hosts.{name}]",
            f'address = "{self.host}"',
            f"port = {self.port}",
            f'user = "{self.user}"',
            f'identity_file = "{self.client_key}"',
            f'known_hosts = "{self.known_hosts}"',
        ]
        lines += [f"{key} = {_toml(value)}" for key, value in extra.items()]
        return "\n".join(lines) + "\n"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- the receiver: tests/helpers/receiver.py in a pane records each bracketed paste it gets ----

RECEIVER = f"{sys.executable} -m tests.helpers.receiver"


def recorded(out: Path) -> list[str]:
    """The texts the receiver recorded in ``out`` so far (a line still being written is not one)."""
    if not out.exists():
        return []
    complete = out.read_text().rpartition("\n")[0]
    return [json.loads(line)["text"] for line in complete.splitlines()]


def received(out: Path, count: int = 1, timeout: float = 30.0) -> list[str]:
    """:func:`recorded`, once it holds at least ``count`` texts (else the test fails)."""
    wait_for(lambda: len(recorded(out)) >= count, timeout)
    return recorded(out)


@pytest.fixture
def receiver_pane(tmux_server: TmuxServer, tmp_path: Path) -> tuple[str, Path]:
    """A pane running the receiver, and the file it records into."""
    out = tmp_path / "received.jsonl"
    pane = tmux_server.new_pane("recv", f"{RECEIVER} {out}")
    wait_for(lambda: "READY" in tmux_server.capture(pane), 10)
    return pane, out


@pytest.fixture
def demo(tmux_server: TmuxServer, tmp_path: Path) -> tuple[str, Path]:
    """A pane running the demo agent (0.3 s per reply), and the log of the prompts it got."""
    log = tmp_path / "prompts.jsonl"
    pane = tmux_server.new_pane("demo", f"{sys.executable} -m bridge.demo --delay 0.3 --log {log}")
    wait_for(lambda: "? for shortcuts" in tmux_server.capture(pane), 10)
    return pane, log


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def keygen(path: Path, comment: str = "agent-bridge-test") -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        timeout=30,
    )


def sshd_command(config: Path, workdir: Path) -> list[str]:
    """``sshd -D -e -f config``; as root, in a mount namespace of its own where ~/.bashrc is empty.

    OpenSSH runs every command through the login shell and bash then sources ~/.bashrc. On a
    machine whose rc does real work (``pyenv init`` runs ``pyenv rehash``, which takes a lock file)
    that costs every tmux command, and a test that cuts a link while the rc runs can leave that lock
    behind, after which every later SSH command waits 60 s for it. The test hosts are clean hosts.
    """
    argv = ["/usr/sbin/sshd", "-D", "-e", "-f", str(config)]
    rc = Path.home() / ".bashrc"
    if os.geteuid() != 0 or not rc.is_file() or not shutil.which("unshare"):
        return argv
    empty = workdir / "empty-bashrc"
    empty.write_text("")
    script = f"mount --bind {shlex.quote(str(empty))} {shlex.quote(str(rc))} && exec {shlex.join(argv)}"
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]


def start_sshd(
    workdir: Path, host_key: Path, authorized: Path, port: int, *, extra: tuple[str, ...] = ()
) -> subprocess.Popen[bytes]:
    """Start sshd -D on 127.0.0.1:port with key-only auth; wait until it accepts connections."""
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    user = os.environ.get("USER") or subprocess.run(
        ["id", "-un"], capture_output=True, text=True, check=True
    ).stdout.strip()
    config = workdir / f"sshd_config.{port}"
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {host_key}",
                f"PidFile {workdir / f'sshd.{port}.pid'}",
                f"AuthorizedKeysFile {authorized}",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password",
                f"AllowUsers {user}",
                "UsePAM no",
                "StrictModes no",
                "LogLevel ERROR",
                sshd_setenv(),
                *extra,
                "",
            ]
        )
    )
    proc = subprocess.Popen(
        sshd_command(config, workdir),
        stdout=subprocess.DEVNULL,
        stderr=open(workdir / f"sshd.{port}.log", "ab"),  # noqa: SIM115
    )

    def accepting() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"sshd exited: {(workdir / f'sshd.{port}.log').read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                return sock.recv(4).startswith(b"SSH-")
        except OSError:
            return False

    wait_for(accepting, 10)
    return proc


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    """A real OpenSSH sshd on 127.0.0.1 for the whole session (key-only auth, throwaway keys)."""
    if not Path("/usr/sbin/sshd").exists():
        pytest.skip(reason="OpenSSH server is not installed (apt-get install openssh-server)")
    workdir = tmp_path_factory.mktemp("sshd")
    os.chmod(workdir, 0o700)
    host_key, client_key = workdir / "host_ed25519", workdir / "client_ed25519"
    keygen(host_key, "host")
    keygen(client_key, "client")
    authorized = workdir / "authorized_keys"
    authorized.write_text(Path(f"{client_key}.pub").read_text())
    port = free_port()
    proc = start_sshd(workdir, host_key, authorized, port)
    host_pub = Path(f"{host_key}.pub").read_text().split()
    known_hosts = workdir / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
    user = subprocess.run(["id", "-un"], capture_output=True, text=True, check=True).stdout.strip()
    try:
        yield Sshd("127.0.0.1", port, user, client_key, known_hosts, " ".join(host_pub[:2]), proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def make_registry(tmp_path: Path) -> Callable[..., Path]:
    """Write a registry file from TOML text pieces; returns its path."""

    def make(*parts: str, name: str = "registry.toml") -> Path:
        path = tmp_path / name
        path.write_text("\n".join(parts))
        return path

    return make


def agent_toml(name: str, host: str, target: str, profile: str = "shell", **extra: Any) -> str:
    """The TOML of one ``[agents.NAME]`` table."""
    lines = [f"[agents.{name}]", f'host = "{host}"', f'target = "{target}"', f'profile = "{profile}"']
    lines += [f"{key} = {_toml(value)}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


def local_host_toml(name: str, socket: str) -> str:
    return f'[hosts.{name}]\nlocal = true\ntmux_socket = "{socket}"\n'


_RUNTIME: list[Path] = []


@pytest.fixture(scope="session", autouse=True)
def broker_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private runtime dir for the brokers this session's CLI calls start; stopped by PID after."""
    runtime = Path(tempfile.mkdtemp(prefix="ab-run-"))  # short: unix socket paths are limited
    _RUNTIME.append(runtime)
    yield runtime
    _RUNTIME.remove(runtime)
    stop_brokers(runtime)
    shutil.rmtree(runtime, ignore_errors=True)


def stop_brokers(runtime: Path) -> None:
    """Stop (by the PID each wrote) every broker whose socket lives in ``runtime``."""
    for pidfile in runtime.glob("agent-bridge/broker-*.sock.pid"):
        with contextlib.suppress(ValueError, ProcessLookupError, FileNotFoundError):
            os.kill(int(pidfile.read_text()), signal.SIGTERM)


def run_cli(*args: str, input: bytes | None = None, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    """Run ``agent-bridge`` as a user would (a new process, through the broker), from the repo."""
    session_env = {}
    if _RUNTIME:
        session_env = {"XDG_RUNTIME_DIR": str(_RUNTIME[-1]), "AGENT_BRIDGE_BROKER_IDLE": "120"}
    full_env = {**os.environ, **session_env, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "bridge", *args],
        input=input,
        capture_output=True,
        env=full_env,
        timeout=timeout,
        cwd=REPO,
    )


# -- transports to the test hosts -------------------------------------------------------------


def ssh_transport(sshd: Sshd) -> SSHTransport:
    spec = HostSpec(
        address=sshd.host,
        port=sshd.port,
        user=sshd.user,
        identity_file=str(sshd.client_key),
        known_hosts=str(sshd.known_hosts),
    )
    return SSHTransport("box", spec)


@pytest.fixture(params=["local", "ssh"])
async def transport(request: pytest.FixtureRequest) -> AsyncIterator[LocalTransport | SSHTransport]:
    if request.param == "local":
        yield LocalTransport()
        return
    sshd: Sshd = request.getfixturevalue("sshd")
    remote = ssh_transport(sshd)
    try:
        yield remote
    finally:
        await remote.close()


# -- PostgreSQL and the hub's store -------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A throwaway PostgreSQL cluster for the whole run (tests/helpers/postgres.py)."""
    try:
        cluster = start_postgres()
    except FileNotFoundError as exc:
        pytest.skip(reason=str(exc))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty hub store: a SQLite file, then a new PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "state" / "hub.db")
    cluster: Postgres = request.getfixturevalue("postgres")
    return cluster.create_database()
