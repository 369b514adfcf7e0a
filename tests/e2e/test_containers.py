"""The ask/doctor scenario against the deploy/docker image (sshd + tmux + the demo agent), with
testcontainers: build the image, run it with our throwaway key, then from this machine `ask` ->
42, `doctor` passes, the container is paused (ask fails with exit 3 within its connect timeout) and
unpaused (ask works again).

Skips with the reason when no Docker engine answers (``docker info``), when testcontainers is not
installed (it is not a hard dependency), or when the engine's ports are not on 127.0.0.0/8.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.fixtures import REPO, keygen

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

CONNECT_TIMEOUT = 3
QUESTION = "What is 6 x 7?"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def docker_engine_problem() -> str | None:
    """Why no Docker engine can be used here, or None if `docker info` (or the SDK's ping) works."""
    docker = shutil.which("docker")
    if docker:
        try:
            info = subprocess.run(
                [docker, "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, timeout=30
            )
        except subprocess.TimeoutExpired:
            return "no Docker engine reachable (docker info failed: no answer within 30s)"
        if info.returncode != 0:
            why = _last_line(info.stderr or info.stdout)
            return f"no Docker engine reachable (docker info failed: {why})"
        return None
    try:
        import docker as docker_sdk  # type: ignore[import-untyped]
    except ImportError:
        return "no Docker engine reachable (docker info failed: no docker CLI and no docker SDK here)"
    try:
        docker_sdk.from_env(timeout=10).ping()
    except Exception as exc:
        return f"no Docker engine reachable (docker info failed: {_last_line(str(exc))})"
    return None


@pytest.fixture(scope="module")
def engine() -> None:
    """Skip unless a Docker engine answers and testcontainers is importable (checked in that order)."""
    problem = docker_engine_problem()
    if problem:
        pytest.skip(reason=problem)
    try:
        import testcontainers  # noqa: F401
    except ImportError:
        pytest.skip(reason="testcontainers is not installed (pip install 'testcontainers>=4.7')")
    try:
        from testcontainers.core.image import DockerImage  # noqa: F401
    except ImportError:
        pytest.skip(reason="testcontainers is too old: DockerImage needs testcontainers>=4.7")


@pytest.fixture(scope="module")
def image(engine: None) -> Iterator[str]:
    """deploy/docker/Dockerfile built from the repository root (removed afterwards)."""
    from testcontainers.core.image import DockerImage

    tag = f"agent-bridge-sshd:test-{uuid.uuid4().hex[:8]}"
    with DockerImage(path=str(REPO), dockerfile_path="deploy/docker/Dockerfile", tag=tag) as built:
        yield str(built)


@dataclass
class Box:
    """The running container, as a registry host + agent, and a way to call the CLI on it."""

    container: Any  # testcontainers DockerContainer
    registry: Path
    port: int

    def cli(self, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bridge", "--config", str(self.registry), *args],
            capture_output=True, text=True, timeout=timeout, cwd=REPO,
        )  # fmt: skip

    def doctor(self, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bridge", "--config", str(self.registry), "doctor", *args],
            capture_output=True, text=True, timeout=timeout, cwd=REPO,
        )  # fmt: skip

    def ask(self) -> tuple[subprocess.CompletedProcess[str], float]:
        began = time.monotonic()
        result = self.cli("ask", "demo", QUESTION, "--timeout", "60")
        return result, time.monotonic() - began


def _loopback(host: str) -> str | None:
    """``host`` as an address on 127.0.0.0/8, or None if it is anywhere else."""
    try:
        address = socket.getaddrinfo(host, None, socket.AF_INET)[0][4][0]
    except OSError:
        return None
    return str(address) if ipaddress.ip_address(address).is_loopback else None


def _wait(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(0.25)


def _banner(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0) as sock:
            sock.settimeout(2.0)
            return sock.recv(4).startswith(b"SSH-")
    except OSError:
        return False


@pytest.fixture
def box(image: str, tmp_path: Path) -> Iterator[Box]:
    from testcontainers.core.container import DockerContainer

    client_key = tmp_path / "client_ed25519"
    keygen(client_key, "agent-bridge-container-test")
    os.chmod(client_key, 0o600)
    pubkey = Path(f"{client_key}.pub").read_text().strip()
    container = DockerContainer(image).with_env("AUTHORIZED_KEYS", pubkey).with_exposed_ports(22)
    with container:
        host = _loopback(container.get_container_host_ip())
        if host is None:
            reason = (
                f"the Docker engine publishes ports on {container.get_container_host_ip()}, not on "
                "127.0.0.0/8 (these tests only talk to loopback)"
            )
            pytest.skip(reason=reason)
        port = int(container.get_exposed_port(22))

        def host_key() -> str | None:
            out = container.get_logs()[0].decode(errors="replace")
            keys = [line.split()[:2] for line in out.splitlines() if line.startswith("ssh-ed25519 ")]
            return " ".join(keys[0]) if keys else None

        key = _wait(host_key, 60, "the container printing its ssh-ed25519 host key")
        _wait(lambda: _banner(host, port), 60, f"sshd answering on {host}:{port}")
        known_hosts = tmp_path / "known_hosts"
        known_hosts.write_text(f"[{host}]:{port} {key}\n")
        registry = tmp_path / "registry.toml"
        registry.write_text(
            "\n".join(
                [
                    "[hosts.box]",
                    f'address = "{host}"',
                    f"port = {port}",
                    'user = "agents"',
                    f'identity_file = "{client_key}"',
                    f'known_hosts = "{known_hosts}"',
                    f"connect_timeout = {CONNECT_TIMEOUT}",
                    "",
                    "[agents.demo]",
                    'host = "box"',
                    'target = "agents:demo.0"',
                    'profile = "demo"',
                    "",
                ]
            )
        )
        found = Box(container, registry, port)

        def idle() -> bool:
            state = found.cli("state", "demo", timeout=30)
            return state.returncode == 0 and state.stdout.strip() == "idle"

        try:
            _wait(idle, 60, "the demo agent in the container to be idle")
        except AssertionError as exc:
            screen = found.cli("screen", "demo", timeout=30)
            state = found.cli("state", "demo", "--json", timeout=30)
            raise AssertionError(f"{exc}\nstate: {state.stdout}{state.stderr}\n{screen.stdout}") from None
        yield found


def _checks(result: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    return {f"{row['target']}/{row['check']}": row for row in json.loads(result.stdout)}


def test_ask_and_doctor_against_the_container(box: Box) -> None:
    result, elapsed = box.ask()
    assert result.returncode == 0, result.stderr
    assert result.stdout == "42\n"
    print(f"ask against the container: {elapsed:.2f}s")

    doctor = box.doctor("--json")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    checks = _checks(doctor)
    for name in ("box/rtt", "box/ssh", "box/host-key", "box/tmux", "demo/pane", "demo/profile", "demo/state"):
        assert checks[name]["status"] == "ok", checks[name]
    assert checks["box/wireguard"]["status"] == "skip"  # loopback is not routed through WireGuard
    assert "agents@" in checks["box/ssh"]["detail"]


def test_paused_container_is_exit_3_then_works_again(box: Box) -> None:
    assert box.ask()[0].returncode == 0
    wrapped = box.container.get_wrapped_container()
    wrapped.pause()
    try:
        result, elapsed = box.ask()
        print(f"ask with the container paused: exit {result.returncode} after {elapsed:.2f}s")
        assert result.returncode == 3, result.stdout + result.stderr
        assert elapsed < CONNECT_TIMEOUT + 6.0, elapsed  # connect + login timeout, plus start-up
        doctor = box.doctor("--json")
        assert doctor.returncode == 3, doctor.stdout + doctor.stderr
        assert _checks(doctor)["box/ssh"]["status"] == "fail"
    finally:
        wrapped.unpause()
    attempts = []
    for _ in range(5):
        result, elapsed = box.ask()
        attempts.append((result.returncode, round(elapsed, 2), result.stderr.strip()))
        if result.returncode == 0:
            break
        time.sleep(1)
    assert result.returncode == 0 and result.stdout == "42\n", attempts
