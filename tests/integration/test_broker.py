"""The background broker: start on demand, reuse, idle exit, stale socket, crash, hang, --no-broker."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers.fixtures import (
    REPO,
    TmuxServer,
    agent_toml,
    local_host_toml,
    run_cli,
    stop_brokers,
    wait_for,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def runtime() -> Iterator[Path]:
    """A runtime dir of this test's own; every broker found in it is stopped after."""
    run = Path(tempfile.mkdtemp(prefix="ab-rt-"))  # short: unix socket paths are limited
    yield run
    stop_brokers(run)
    shutil.rmtree(run, ignore_errors=True)


@pytest.fixture
def cli(
    tmux_server: TmuxServer, make_registry: Callable[..., Path], runtime: Path
) -> Callable[..., tuple[int, str, str]]:
    tmux_server.new_pane("work")
    registry = make_registry(local_host_toml("here", tmux_server.socket), agent_toml("sh", "here", "work"))

    def call(*args: str, idle: str = "60") -> tuple[int, str, str]:
        env = {"XDG_RUNTIME_DIR": str(runtime), "AGENT_BRIDGE_BROKER_IDLE": idle}
        result = run_cli("--config", str(registry), *args, env=env, timeout=60)
        return result.returncode, result.stdout.decode(), result.stderr.decode()

    return call


def brokers(runtime: Path) -> list[int]:
    pids = []
    for pidfile in runtime.glob("agent-bridge/broker-*.pid"):
        try:
            pid = int(pidfile.read_text())
            os.kill(pid, 0)
            pids.append(pid)
        except (ValueError, ProcessLookupError, FileNotFoundError):
            pass
    return pids


def test_started_on_demand_then_reused(cli: Callable[..., tuple[int, str, str]], runtime: Path) -> None:
    assert brokers(runtime) == []
    assert cli("state", "sh") == (0, "idle\n", "")
    first = brokers(runtime)
    assert len(first) == 1
    assert cli("screen", "sh")[0] == 0
    assert brokers(runtime) == first, "the second call reuses the running broker"
    sock = next(runtime.glob("agent-bridge/broker-*.sock"))
    assert sock.stat().st_mode & 0o777 == 0o600
    assert (runtime / "agent-bridge").stat().st_mode & 0o777 == 0o700


def test_exits_when_idle(cli: Callable[..., tuple[int, str, str]], runtime: Path) -> None:
    assert cli("state", "sh", idle="1")[0] == 0
    pid = brokers(runtime)[0]
    wait_for(lambda: not _running(pid), 15, 0.1)
    assert not list(runtime.glob("agent-bridge/broker-*.sock")), "its socket is removed"
    left = sorted(p.name for p in runtime.glob("agent-bridge/broker-*"))
    assert left == [], f"the last broker leaves nothing behind (no .lock, .log, .pid): {left}"


def test_crashed_broker_is_replaced(cli: Callable[..., tuple[int, str, str]], runtime: Path) -> None:
    assert cli("state", "sh")[0] == 0
    old = brokers(runtime)[0]
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: not _running(old), 5)
    assert cli("state", "sh") == (0, "idle\n", "")
    new = brokers(runtime)
    assert len(new) == 1 and new[0] != old


def test_stale_socket_and_hung_broker_are_replaced(
    cli: Callable[..., tuple[int, str, str]], runtime: Path
) -> None:
    assert cli("state", "sh")[0] == 0
    pid = brokers(runtime)[0]
    path = next(runtime.glob("agent-bridge/broker-*.sock"))
    os.kill(pid, signal.SIGSTOP)  # hung: the socket accepts but nobody answers
    try:
        code, out, err = cli("state", "sh")
        assert (code, out) == (0, "idle\n"), err
        assert pid not in brokers(runtime) or len(brokers(runtime)) == 2
    finally:
        os.kill(pid, signal.SIGKILL)
    # A stale socket file with nobody listening:
    for leftover in runtime.glob("agent-bridge/broker-*.pid"):
        os.kill(int(leftover.read_text()), signal.SIGKILL)
    wait_for(lambda: not any(_running(p) for p in brokers(runtime)), 5)
    stale = socket.socket(socket.AF_UNIX)
    path.unlink(missing_ok=True)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody listens
    assert cli("state", "sh") == (0, "idle\n", "")


def test_no_broker_runs_in_process(cli: Callable[..., tuple[int, str, str]], runtime: Path) -> None:
    assert cli("--no-broker", "state", "sh") == (0, "idle\n", "")
    assert brokers(runtime) == []


def test_concurrent_first_calls_start_one_broker(
    cli: Callable[..., tuple[int, str, str]], runtime: Path
) -> None:
    results: list[tuple[int, str, str]] = []
    threads = [threading.Thread(target=lambda: results.append(cli("state", "sh"))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [r[:2] for r in results] == [(0, "idle\n")] * 4
    assert len(brokers(runtime)) == 1


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_deep_runtime_dir_falls_back_to_a_short_socket_path(
    tmux_server: TmuxServer, make_registry: Callable[..., Path], tmp_path: Path
) -> None:
    """$XDG_RUNTIME_DIR too deep for a unix socket: the broker still starts, and fast."""
    tmux_server.new_pane("work")
    registry = make_registry(local_host_toml("here", tmux_server.socket), agent_toml("sh", "here", "work"))
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True, mode=0o700)
    env = {"XDG_RUNTIME_DIR": str(deep), "AGENT_BRIDGE_BROKER_IDLE": "2"}
    result = run_cli("--config", str(registry), "state", "sh", env=env, timeout=30)
    assert (result.returncode, result.stdout) == (0, b"idle\n"), result.stderr


def test_prompt_text_is_not_logged_at_default_verbosity(
    cli: Callable[..., tuple[int, str, str]], runtime: Path
) -> None:
    secret = "SECRET-PROMPT-7f3a"
    code, out, err = cli("ask", "sh", f"echo {secret}")
    assert code == 0 and secret in out, err
    assert secret not in err
    logs = "".join(p.read_text() for p in runtime.glob("agent-bridge/*.log"))
    assert secret not in logs, "the broker's log holds no prompt text"


# -- the CLI's fast path (bridge.cli.fastpath): straight to the broker, same output as the full CLI --

PARITY = [
    (["state", "sh"], None),
    (["--json", "state", "sh"], None),
    (["ask", "sh", "echo parity-$((40+1))"], None),
    (["-c", "{registry}", "ask", "sh", "echo parity-$((40+2))", "--json", "--timeout", "20"], None),
    (["ask", "sh", "-"], b"echo parity-$((40+3))"),
    (["state", "nosuch"], None),
    (["--json", "ask", "nosuch", "hi"], None),
    (["ask", "sh", "bad \x1b[31m text"], None),
]


def _normalised(result: subprocess.CompletedProcess[bytes]) -> tuple[int, str, str]:
    out = result.stdout.decode()
    with contextlib.suppress(ValueError):
        data = json.loads(out)
        data.pop("elapsed_s", None)
        out = json.dumps(data)
    return result.returncode, out, result.stderr.decode()


def test_fast_path_prints_what_the_full_cli_prints(
    tmux_server: TmuxServer, make_registry: Callable[..., Path], runtime: Path
) -> None:
    tmux_server.new_pane("work")
    registry = make_registry(local_host_toml("here", tmux_server.socket), agent_toml("sh", "here", "work"))
    env = {"XDG_RUNTIME_DIR": str(runtime), "AGENT_BRIDGE_BROKER_IDLE": "60"}
    for argv, stdin in PARITY:
        args = [a.format(registry=registry) for a in argv]
        if "{registry}" not in argv:
            args = ["--config", str(registry), *args]
        fast = _normalised(run_cli(*args, input=stdin, env=env, timeout=60))
        in_process = {**env, "AGENT_BRIDGE_NO_BROKER": "1"}
        full = _normalised(run_cli(*args, input=stdin, env=in_process, timeout=60))
        assert fast == full, argv
        assert fast[0] != 0 or fast[1], argv  # every success printed something
    assert brokers(runtime), "the fast path went through the broker"


def test_fast_path_does_not_load_typer(
    tmux_server: TmuxServer, runtime: Path, make_registry: Callable[..., Path]
) -> None:
    tmux_server.new_pane("work")
    registry = make_registry(local_host_toml("here", tmux_server.socket), agent_toml("sh", "here", "work"))
    probe = (
        "import sys; from bridge.cli.fastpath import try_quick; "
        "c = try_quick(sys.argv[1:]); print(c, 'typer' in sys.modules)"
    )
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "AGENT_BRIDGE_BROKER_IDLE": "60"}
    for argv, expected in [(["state", "sh"], "idle\n0 False\n"), (["-v", "state", "sh"], "None False\n")]:
        result = subprocess.run([sys.executable, "-c", probe, "--config", str(registry), *argv],
                                capture_output=True, env=env, cwd=REPO, timeout=60)  # fmt: skip
        assert result.stdout.decode() == expected, result.stderr
