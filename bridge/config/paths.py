"""Where things live: the config folder, the registry file, the private runtime folder; and the
one rule for what counts as private (:func:`not_private`).

Kept free of heavy imports: the CLI's client side resolves these before anything else loads.
"""

from __future__ import annotations

import os
from pathlib import Path

from bridge.errors import BridgeError, ConfigError


def not_private(info: os.stat_result, *, owner: bool = False) -> bool:
    """True when a file or folder that must be private is not: group or others have any
    permission on it (``mode & 0o077``), or, with ``owner``, it is not the caller's own."""
    return bool(info.st_mode & 0o077) or (owner and info.st_uid != os.getuid())


def config_dir() -> Path:
    """The user's config folder: ``$XDG_CONFIG_HOME/agent-bridge`` or ``~/.config/agent-bridge``."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "agent-bridge"


def runtime_dir(*, short: bool = False) -> Path:
    """A private folder for sockets: ``$XDG_RUNTIME_DIR/agent-bridge`` or ``/tmp/agent-bridge-UID``.

    ``short`` always gives the latter (unix socket paths are limited to ~107 bytes).
    """
    import tempfile

    base = None if short else os.environ.get("XDG_RUNTIME_DIR")
    if base:
        path = Path(base) / "agent-bridge"
    else:
        path = Path(tempfile.gettempdir()) / f"agent-bridge-{os.getuid()}"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    if not_private(info, owner=True):
        raise BridgeError(f"{path} is not private to you", hint=f"remove it or chmod 700 {path}")
    return path


def registry_path(cli_path: str | os.PathLike[str] | None = None) -> tuple[Path, str]:
    """The registry path to use, by precedence, and where it came from (the file may not exist)."""
    if cli_path:
        return Path(cli_path).expanduser(), "--config"
    if os.environ.get("AGENT_BRIDGE_CONFIG"):
        return Path(os.environ["AGENT_BRIDGE_CONFIG"]).expanduser(), "$AGENT_BRIDGE_CONFIG"
    return config_dir() / "registry.toml", "default location"


def find_registry(cli_path: str | os.PathLike[str] | None = None) -> Path:
    """Return the registry path to use, by precedence; raise if the chosen file does not exist."""
    path, origin = registry_path(cli_path)
    if path.is_dir():
        raise ConfigError(f"{path} ({origin}) is a directory, not a registry file",
                          hint=f"pass the file in it, e.g. --config {path / 'registry.toml'}")  # fmt: skip
    if not path.is_file():
        raise ConfigError(
            f"no registry file at {path} ({origin})",
            hint="make one: agent-bridge init (or agent-bridge init --vps ADDRESS), or pass --config PATH",
        )
    return path
