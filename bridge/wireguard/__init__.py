"""WireGuard for agent-bridge: keys, a small hub-and-spoke state, wg-quick configs and phone QR codes.

One *hub* (the VPS) and any number of *peers* (laptop, phone, ...) share one tunnel subnet. The hub
gets the subnet's first address, each peer the next free one. Everything lives in one state file,
``<state_dir>/state.json`` (mode 0600, folder 0700), which holds private keys: it is refused when
group or others can read it (:mod:`.state`).

Keys are made with ``cryptography`` and written exactly as ``wg genkey`` / ``wg pubkey`` /
``wg genpsk`` write them (base64 of 32 raw bytes; private keys clamped). Nothing here runs ``wg``
(:mod:`.keys`). Configs and QR codes: :mod:`.render`.

    init_hub(state_dir, "vps.example.org:51820", "10.77.0.0/24")
    peer = add_peer(state_dir, "laptop")
    print(render(state_dir, "laptop"))   # wg-quick config for the laptop
    print(render(state_dir, "hub"))      # wg-quick config for the VPS

This module only re-exports (``from bridge import wireguard as wg; wg.add_peer(...)``).
"""

from bridge.wireguard.cloud_init import cloud_init
from bridge.wireguard.keys import decode_key, generate_preshared_key, generate_private_key, public_key
from bridge.wireguard.render import (
    QR_HINT,
    WG_QUICK_ONLY_KEYS,
    config_values,
    qr_png,
    qr_text,
    render,
    require_qr,
    strip,
)
from bridge.wireguard.state import (
    CLOUD_INIT,
    DEFAULT_PORT,
    HUB,
    KEEPALIVE_SECONDS,
    STATE_FILE,
    STATE_VERSION,
    Hub,
    IPAddress,
    IPNetwork,
    Peer,
    State,
    add_peer,
    check_private_file,
    init_hub,
    load,
    parse_endpoint,
    parse_subnet,
    remove_peer,
    save,
    show,
    state_path,
    validate_name,
    write_private,
)

__all__ = [
    "CLOUD_INIT",
    "DEFAULT_PORT",
    "HUB",
    "KEEPALIVE_SECONDS",
    "QR_HINT",
    "STATE_FILE",
    "STATE_VERSION",
    "WG_QUICK_ONLY_KEYS",
    "Hub",
    "IPAddress",
    "IPNetwork",
    "Peer",
    "State",
    "add_peer",
    "check_private_file",
    "cloud_init",
    "config_values",
    "decode_key",
    "generate_preshared_key",
    "generate_private_key",
    "init_hub",
    "load",
    "parse_endpoint",
    "parse_subnet",
    "public_key",
    "qr_png",
    "qr_text",
    "remove_peer",
    "render",
    "require_qr",
    "save",
    "show",
    "state_path",
    "strip",
    "validate_name",
    "write_private",
]
