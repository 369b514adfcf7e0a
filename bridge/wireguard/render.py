"""What a WireGuard state becomes: wg-quick configs for the hub and each peer, the same stripped
for ``wg setconf``, and QR codes a phone can scan.
"""

from __future__ import annotations

import importlib.util
import io
import ipaddress
import os
from pathlib import Path
from typing import Any

from bridge.errors import ConfigError
from bridge.wireguard.state import HUB, load, write_private

# agent-bridge is installed from a clone or git URL (not PyPI): add the extra's packages beside it.
QR_HINT = "pipx inject agent-bridge 'qrcode[png]', or pip install 'qrcode[png]' where agent-bridge is"
# Keys wg-quick understands but `wg setconf` does not (see `wg-quick strip`).
WG_QUICK_ONLY_KEYS = frozenset(
    {"address", "dns", "mtu", "table", "preup", "postup", "predown", "postdown", "saveconfig"}
)


def _host_prefix(address: str) -> int:
    return ipaddress.ip_address(address).max_prefixlen


def render(state_dir: str | os.PathLike[str], name: str) -> str:
    """The wg-quick config for ``name`` (a peer) or ``"hub"``; it holds that side's private key."""
    state = load(state_dir)
    hub = state.hub
    if name == HUB:
        prefix = ipaddress.ip_network(hub.subnet).prefixlen
        lines = [
            "# agent-bridge WireGuard hub; install as /etc/wireguard/wg0.conf (mode 0600),",
            "# then `systemctl enable --now wg-quick@wg0`.",
            "[Interface]",
            f"Address = {hub.address}/{prefix}",
            f"ListenPort = {hub.listen_port}",
            f"PrivateKey = {hub.private_key}",
        ]
        for peer in state.peers:
            lines += [
                "",
                f"# {peer.name}",
                "[Peer]",
                f"PublicKey = {peer.public_key}",
                f"PresharedKey = {peer.preshared_key}",
                f"AllowedIPs = {peer.address}/{_host_prefix(peer.address)}",
            ]
        return "\n".join(lines) + "\n"
    peer = state.peer(name)
    lines = [
        f"# agent-bridge WireGuard peer {peer.name!r}; `wg-quick up ./<name>.conf` or scan the QR code.",
        "[Interface]",
        f"Address = {peer.address}/{_host_prefix(peer.address)}",
        f"PrivateKey = {peer.private_key}",
        "",
        "# the hub",
        "[Peer]",
        f"PublicKey = {hub.public_key}",
        f"PresharedKey = {peer.preshared_key}",
        f"Endpoint = {hub.endpoint}",
        f"AllowedIPs = {hub.subnet}",
    ]
    if peer.keepalive:
        lines.append(f"PersistentKeepalive = {peer.keepalive}")
    return "\n".join(lines) + "\n"


def strip(config: str) -> str:
    """Like ``wg-quick strip``: drop comments and wg-quick-only keys so ``wg setconf`` accepts it."""
    out: list[str] = []
    for raw in config.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key = line.split("=", 1)[0].strip().lower()
        if "=" in line and key in WG_QUICK_ONLY_KEYS:
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def config_values(config: str, key: str) -> list[str]:
    """Every value of ``key`` in a wg-quick config (comma lists split), e.g. ``Address``."""
    values: list[str] = []
    for raw in config.splitlines():
        line = raw.split("#", 1)[0]
        name, sep, value = line.partition("=")
        if sep and name.strip().lower() == key.lower():
            values += [v.strip() for v in value.split(",") if v.strip()]
    return values


# ------------------------------------------------------------------------------------------------ QR


def _without_comments(config: str) -> str:
    """The config without comment lines: a smaller QR code, same meaning."""
    return "\n".join(line for line in config.splitlines() if not line.lstrip().startswith("#")).strip() + "\n"


def _qrcode() -> Any:
    try:
        import qrcode
    except ImportError as exc:
        raise ConfigError("QR codes need the optional 'qrcode' package", hint=QR_HINT) from exc
    return qrcode


def _qr_matrix(config: str) -> list[list[bool]]:
    qrcode = _qrcode()
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_L, border=2)
    qr.add_data(_without_comments(config))
    qr.make(fit=True)
    matrix: list[list[bool]] = qr.get_matrix()
    return matrix


def qr_text(config: str) -> str:
    """The config as a QR code drawn with half blocks, for a dark terminal (light modules drawn)."""
    matrix = _qr_matrix(config)
    if len(matrix) % 2:
        matrix.append([False] * len(matrix[0]))
    glyphs = {(True, True): "█", (True, False): "▀", (False, True): "▄", (False, False): " "}
    rows = []
    for top, bottom in zip(matrix[::2], matrix[1::2], strict=True):
        rows.append("".join(glyphs[(not t, not b)] for t, b in zip(top, bottom, strict=True)))
    return "\n".join(rows) + "\n"


def _png_factory() -> Any:
    """The image factory for QR PNG files: pypng's (pure) if present, else pillow's."""
    try:
        from qrcode.image.pure import PyPNGImage

        if importlib.util.find_spec("png") is None:  # pypng, which PyPNGImage needs
            raise ImportError("png")
        return PyPNGImage
    except ImportError:
        try:
            from qrcode.image.pil import PilImage

            return PilImage
        except ImportError as exc:
            raise ConfigError("QR PNG files need 'pypng' or 'pillow' besides 'qrcode'", hint=QR_HINT) from exc


def require_qr(*, png: bool = False) -> None:
    """Raise (:class:`ConfigError`, with how to install) unless QR codes (and, with ``png``, QR
    PNG files) can be made: checked before anything changes, so a missing extra never leaves a
    half-done step behind."""
    _qrcode()
    if png:
        _png_factory()


def qr_png(config: str, path: str | os.PathLike[str]) -> Path:
    """Write the config as a QR code PNG (mode 0600: it holds a private key); returns the path."""
    qrcode = _qrcode()
    factory = _png_factory()
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_L, border=4, image_factory=factory)
    qr.add_data(_without_comments(config))
    qr.make(fit=True)
    buffer = io.BytesIO()
    qr.make_image().save(buffer)
    target = Path(path).expanduser()
    write_private(target, buffer.getvalue())
    return target
