"""One owner per file: an exclusive ``flock`` on a lock file, held by the open file for as long as
the owner runs (the kernel frees it when the process ends, however it ends). The owner's PID is
written in the file, so a second opener can say who holds it. Used by the hub's store and by a
swarm's plan."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

__all__ = ["take"]


def take(path: Path) -> tuple[IO[str] | None, str]:
    """Take ``path``'s lock: ``(the open file, "")`` to keep open while owning it, or ``(None,
    PID)`` when another process holds it (its PID as written, ``?`` if unknown). The file is 0600."""
    handle = open(path, "a+")  # noqa: SIM115 - held open for the owner's lifetime
    os.chmod(path, 0o600)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        pid = handle.read().strip() or "?"
        handle.close()
        return None, pid
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle, ""
