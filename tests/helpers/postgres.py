"""A throwaway PostgreSQL cluster for the tests: ``initdb`` + ``pg_ctl`` as an unprivileged user.

PostgreSQL refuses to run as root; as root the cluster belongs to the ``postgres`` system user
(Debian's ``postgresql`` package creates it) and every server command runs through ``runuser``.
It listens on 127.0.0.1 on a free port (trust auth: only this machine, only for the test run) and
in a private socket folder; it is stopped by ``pg_ctl stop`` (its own PID file), never by name.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL server's bin folder (Debian: /usr/lib/postgresql/N/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Postgres:
    """A running throwaway cluster."""

    bin: Path
    data: Path
    port: int
    user: str | None  # the OS user it runs as (None: this process's user)
    root: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://ab@127.0.0.1:{self.port}/{database}"

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / argv[0]), *argv[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    def create_database(self) -> str:
        """A fresh, empty database; its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        result = self.run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "ab", name)
        if result.returncode != 0:
            raise RuntimeError(f"createdb failed: {result.stderr}")
        return self.url(name)

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "stop", "-m", "immediate", "-w")
        shutil.rmtree(self.root, ignore_errors=True)


def start_postgres() -> Postgres:
    """initdb a cluster in a new private folder and start it; raise RuntimeError if that fails."""
    binary = pg_bin()
    if binary is None:
        raise FileNotFoundError("PostgreSQL is not installed (apt-get install postgresql)")
    user = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError as exc:
            raise FileNotFoundError("running as root needs the postgres system user") from exc
        user = "postgres"
    root = Path(tempfile.mkdtemp(prefix="ab-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    if user is not None:
        shutil.chown(root, user)
        shutil.chown(sockets, user)
    os.chmod(root, 0o700)
    cluster = Postgres(binary, data, _free_port(), user, root)
    made = cluster.run("initdb", "-D", str(data), "-U", "ab", "-A", "trust", "-E", "UTF8", "--no-sync")
    if made.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {made.stderr.strip()[-500:]}")
    options = (
        f"-c listen_addresses=127.0.0.1 -p {cluster.port} -k {sockets} -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    started = cluster.run("pg_ctl", "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start")
    if started.returncode != 0:
        log = (root / "log").read_text() if (root / "log").exists() else started.stderr
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"pg_ctl start failed: {log.strip()[-500:]}")
    return cluster
