"""``agent-bridge wg render cloud-init``: the VPS's cloud-init user data, made from the ``wg`` state.

The template (``user-data.yaml`` beside this module) names the tunnel address and WireGuard port
only through placeholders, so sshd's ``ListenAddress``, the firewall's port and the lock-down check
("is wg0 up with the hub's address?") always agree with the keys in the state: a hub made with
another ``--subnet`` or port gets a file that locks down *its* address, never an example's.
``deploy/cloud-init/user-data.yaml`` is this template rendered with :func:`example` values.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shlex
from importlib import resources

from bridge.wireguard.render import render
from bridge.wireguard.state import HUB, load

SSH_KEY_PLACEHOLDER = "ssh-ed25519 AAAA...REPLACE... you@laptop"
SOURCE_PLACEHOLDER = "REPLACE-with-a-clone-URL-of-agent-bridge"
EXAMPLE_WG0 = (
    "[Interface]\nAddress = 10.77.0.1/24\nListenPort = 51820\n"
    "PrivateKey = REPLACE-with-agent-bridge-wg-render-hub\n"
)


def user_data(hub_address: str, wg_port: int, wg0_conf: str, ssh_key: str, source: str) -> str:
    """The template with every placeholder filled in (values quoted for YAML and for sh)."""
    address = ipaddress.ip_address(hub_address)
    host = f"[{address}]" if address.version == 6 else str(address)
    indented = "\n".join(f"      {line}" if line else "" for line in wg0_conf.rstrip("\n").split("\n"))
    text = resources.files("bridge.wireguard").joinpath("user-data.yaml").read_text(encoding="utf-8")
    values = {
        "@WG0_CONF@": indented,
        "@SSH_KEY@": json.dumps(" ".join(ssh_key.split())),  # a JSON string is a YAML string
        "@SOURCE@": shlex.quote(source),  # the file is read by sh (`. /etc/agent-bridge/source`)
        "@HUB_HOST@": host,
        "@HUB_ADDRESS@": str(address),
        "@WG_PORT@": str(wg_port),
    }
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text


def cloud_init(
    state_dir: str | os.PathLike[str], *, ssh_key: str | None = None, source: str | None = None
) -> str:
    """The user data for the hub of the state in ``state_dir`` (it holds the hub's private key).

    ``ssh_key`` is the public key line for the user ``agents`` and ``source`` where pipx installs
    agent-bridge from (a ``git+https://…`` URL); each left out stays a REPLACE placeholder.
    """
    hub = load(state_dir).hub
    wg0 = render(state_dir, HUB)
    key, origin = ssh_key or SSH_KEY_PLACEHOLDER, source or SOURCE_PLACEHOLDER
    return user_data(hub.address, hub.listen_port, wg0, key, origin)


def example() -> str:
    """What ``deploy/cloud-init/user-data.yaml`` holds: the default subnet, placeholders for secrets."""
    return user_data("10.77.0.1", 51820, EXAMPLE_WG0, SSH_KEY_PLACEHOLDER, SOURCE_PLACEHOLDER)
