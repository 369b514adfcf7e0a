"""What the WireGuard tests share (the library's and the CLI's): an initialised hub state folder,
and a file's mode."""

from __future__ import annotations

import stat
from pathlib import Path

from bridge import wireguard as wg

ENDPOINT = "vps.example.org:51820"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def init_hub(tmp_path: Path) -> Path:
    """A hub's WireGuard state folder under ``tmp_path``, initialised (10.77.0.0/24)."""
    state_dir = tmp_path / "wireguard"
    wg.init_hub(state_dir, ENDPOINT, "10.77.0.0/24")
    return state_dir
