"""``agent-bridge init``: a first registry, written with comments, never over an existing file.

An installed wheel has no ``hosts/*.toml`` to copy, so the starting point is made here: a local
host with the demo agent (which runs on the interpreter agent-bridge runs on, from any folder) and
a commented Claude Code agent; with a VPS address, also that host and its agent.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from bridge.errors import ConfigError

_LOCAL = """\
# agent-bridge registry, written by `agent-bridge init`. Every key is documented in the
# README ("Registry format"); `agent-bridge agents --check` shows what is reachable.

[hosts.local]
local = true                    # tmux on this machine; nothing goes over the network
# tmux_socket = "/tmp/my-tmux"  # optional: a private tmux server (tmux -S); default: your usual one

# The bundled demo agent: `agent-bridge start demo`, then `agent-bridge ask demo "What is 6 x 7?"`.
[agents.demo]
host = "local"
target = "demo:agent.0"         # tmux session:window.pane
profile = "demo"                # how to read its screen (agent-bridge profiles)
start = {demo}

# A real agent: uncomment, then `agent-bridge start claude`.
# [agents.claude]
# host = "local"
# target = "agents:claude.0"
# profile = "claude-code"
# start = "claude"
# cwd = "~/project"             # where it starts
# permissions = "ask"           # "ask" (default): permission questions come back to you; "deny"
"""

_VPS = """
# The VPS, over SSH (inside the WireGuard tunnel: see `agent-bridge wg`).
[hosts.vps]
address = {address}             # its tunnel address, a DNS name, or a ~/.ssh/config alias
user = "agents"                 # optional (default: ~/.ssh/config or your login name)
# identity_file = "~/.ssh/id_ed25519"   # optional: ssh-agent works too
host_key_policy = "strict"      # unknown host keys are refused; "accept-new" trusts a first one

[agents.claude]
host = "vps"
target = "agents:claude.0"
profile = "claude-code"
start = "claude"
cwd = "~/project"
"""


def _toml_string(value: str) -> str:
    """A TOML basic string (JSON's escaping is TOML's for these characters)."""
    import json

    return json.dumps(value, ensure_ascii=False)


def starter_registry(vps: str | None = None) -> str:
    """The text of a first registry (with a VPS host at address ``vps`` when given)."""
    demo = f"{shlex.quote(sys.executable)} -m bridge.demo"
    text = _LOCAL.replace("{demo}", _toml_string(demo))
    if vps:
        text += _VPS.replace("{address}", _toml_string(vps))
    return text


def write_starter(path: Path, vps: str | None = None) -> Path:
    """Write :func:`starter_registry` to ``path`` (its folder made if missing); never overwrite."""
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(
            f"{path} already exists; not overwritten",
            hint="edit it, or write a new one elsewhere: agent-bridge --config NEW.toml init",
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(starter_registry(vps))
    return path
