"""Where an agent CLI connected to, from ``strace``: the e2e tests prove the CLIs stay offline.

Run the CLI as :func:`traced` ``(log, command)`` (``strace -f`` follows its children), then
:func:`connections` lists every IPv4/IPv6 ``connect()`` as ``(port, address)``; :func:`remote`
is the addresses outside the loopback (DNS on port 53 left out: a failed lookup goes nowhere).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

__all__ = ["LOOPBACK", "connections", "remote", "require_strace", "traced"]

LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}
_CONNECT = re.compile(r"sa_family=AF_INET6?, sin6?_port=htons\((\d+)\), [^}]*?\"([0-9a-f.:]+)\"")


def require_strace() -> None:
    """Skip the test when ``strace`` is missing or ptrace is not allowed here."""
    if (
        not shutil.which("strace")
        or subprocess.run(["strace", "-f", "-o", "/dev/null", "true"], capture_output=True).returncode
    ):
        pytest.skip(reason="strace is not available (or ptrace is not allowed)")


def traced(log: Path, command: str) -> str:
    """``command`` under ``strace``, logging every ``connect()`` of it and its children to ``log``."""
    return f"strace -f -qq -e trace=connect -o {log} {command}"


def connections(log: Path) -> list[tuple[str, str]]:
    """Every IPv4/IPv6 ``connect()`` in the strace ``log``: ``(port, address)``."""
    return _CONNECT.findall(log.read_text())


def remote(log: Path) -> set[str]:
    """The addresses outside the loopback connected to (DNS lookups left out)."""
    return {address for port, address in connections(log) if port != "53"} - LOOPBACK
