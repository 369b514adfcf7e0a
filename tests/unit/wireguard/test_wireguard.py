"""bridge/wireguard/: keys byte-compatible with `wg`, state files and their
modes, rendered configs that `wg-quick strip` accepts, QR output, and one-line errors."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bridge import wireguard as wg
from bridge.errors import ConfigError
from tests.helpers.wg import ENDPOINT, init_hub, mode


@pytest.fixture
def hub(tmp_path: Path) -> Path:
    return init_hub(tmp_path)


WG = shutil.which("wg")
needs_wg = pytest.mark.skipif(
    WG is None, reason="`wg` is not installed (apt-get install --no-install-recommends wireguard-tools)"
)


def _wg(*args: str, input: str | None = None) -> str:
    return subprocess.run(
        ["wg", *args], input=input, capture_output=True, text=True, check=True
    ).stdout.strip()


# ---------------------------------------------------------------------------------------- keys


def test_keys_have_wg_format() -> None:
    private = wg.generate_private_key()
    raw = base64.b64decode(private, validate=True)
    assert len(private) == 44 and len(raw) == 32
    assert raw[0] & 7 == 0 and raw[31] & 0x80 == 0 and raw[31] & 0x40  # clamped, like `wg genkey`
    assert len(base64.b64decode(wg.generate_preshared_key(), validate=True)) == 32
    assert wg.generate_private_key() != private


@needs_wg
def test_our_public_key_matches_wg_pubkey() -> None:
    for _ in range(5):
        private = wg.generate_private_key()
        assert _wg("pubkey", input=private + "\n") == wg.public_key(private)


@needs_wg
def test_we_derive_the_public_key_of_a_wg_genkey_key() -> None:
    for _ in range(5):
        private = _wg("genkey")
        assert wg.public_key(private) == _wg("pubkey", input=private + "\n")


@needs_wg
def test_wg_accepts_our_preshared_key_format() -> None:
    psk = _wg("genpsk")
    assert len(psk) == len(wg.generate_preshared_key())
    # `wg pubkey` parses any 32-byte base64 key: our PSK is well-formed for it too.
    _wg("pubkey", input=wg.generate_preshared_key() + "\n")


def test_bad_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not base64 of 32 bytes"):
        wg.public_key("not-a-key")


# ---------------------------------------------------------------------------------- state & modes


def test_init_makes_private_state(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        state = wg.init_hub(tmp_path / "a" / "wireguard", ENDPOINT, "10.77.0.0/24")
    finally:
        os.umask(old)
    path = tmp_path / "a" / "wireguard" / "state.json"
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert state.hub.address == "10.77.0.1"
    assert state.hub.listen_port == 51820  # from the endpoint
    assert json.loads(path.read_text())["hub"]["public_key"] == wg.public_key(state.hub.private_key)
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp files left


def test_listen_port_can_differ_from_endpoint(tmp_path: Path) -> None:
    state = wg.init_hub(tmp_path, "203.0.113.7:443", "10.9.0.0/24", 51820)
    assert (state.hub.endpoint, state.hub.listen_port) == ("203.0.113.7:443", 51820)


def test_init_refuses_to_overwrite_without_force(hub: Path) -> None:
    before = wg.show(hub).hub.private_key
    with pytest.raises(ConfigError, match="already exists") as err:
        wg.init_hub(hub, ENDPOINT, "10.77.0.0/24")
    assert "--force" in str(err.value)
    assert wg.init_hub(hub, ENDPOINT, "10.77.0.0/24", force=True).hub.private_key != before


def test_peers_get_sequential_addresses_and_own_keys(hub: Path) -> None:
    laptop, phone = wg.add_peer(hub, "laptop"), wg.add_peer(hub, "phone", keepalive=False)
    assert (laptop.address, phone.address) == ("10.77.0.2", "10.77.0.3")
    assert laptop.preshared_key != phone.preshared_key
    assert laptop.public_key == wg.public_key(laptop.private_key)
    assert (laptop.keepalive, phone.keepalive) == (25, None)
    assert mode(hub / "state.json") == 0o600
    wg.remove_peer(hub, "laptop")
    assert [p.name for p in wg.show(hub).peers] == ["phone"]
    assert wg.add_peer(hub, "tablet").address == "10.77.0.2"  # the freed address is reused


def test_subnet_full(tmp_path: Path) -> None:
    wg.init_hub(tmp_path, ENDPOINT, "10.1.0.0/30")
    wg.add_peer(tmp_path, "one")
    with pytest.raises(ConfigError, match="is full"):
        wg.add_peer(tmp_path, "two")


def test_ipv6_subnet(tmp_path: Path) -> None:
    wg.init_hub(tmp_path, "[2001:db8::1]:51820", "fd00:77::/64")
    peer = wg.add_peer(tmp_path, "laptop")
    assert peer.address == "fd00:77::2"
    assert "AllowedIPs = fd00:77::2/128" in wg.render(tmp_path, "hub")
    assert "Endpoint = [2001:db8::1]:51820" in wg.render(tmp_path, "laptop")


def test_group_readable_state_is_refused(hub: Path) -> None:
    path = hub / "state.json"
    path.chmod(0o640)
    with pytest.raises(ConfigError) as err:
        wg.show(hub)
    assert str(path) in str(err.value) and f"chmod 600 {path}" in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_and_corrupt_state(tmp_path: Path, hub: Path) -> None:
    with pytest.raises(ConfigError, match="no WireGuard state") as err:
        wg.show(tmp_path / "nowhere")
    assert "agent-bridge wg init" in str(err.value)
    (hub / "state.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not a valid WireGuard state file"):
        wg.show(hub)
    data = {
        "version": 1,
        "hub": {
            "endpoint": ENDPOINT,
            "subnet": "10.77.0.0/24",
            "listen_port": 1,
            "address": "10.77.0.1",
            "private_key": "x",
            "public_key": "y",
        },
    }
    (hub / "state.json").write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=r"not a valid WireGuard state file.*WireGuard key"):
        wg.show(hub)


# ----------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("endpoint", "fragment"),
    [
        ("vps.example.org", "invalid endpoint"),
        ("vps.example.org:0", "not in 1-65535"),
        ("vps.example.org:70000", "not in 1-65535"),
        ("bad host:51820", "not a host name"),
        ("[vps]:51820", "invalid endpoint"),
        ("2001:db8::1:51820", "invalid endpoint"),
    ],
)
def test_bad_endpoint(tmp_path: Path, endpoint: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment) as err:
        wg.init_hub(tmp_path, endpoint, "10.77.0.0/24")
    assert "HOST:PORT" in str(err.value)
    assert not (tmp_path / "state.json").exists()


@pytest.mark.parametrize(
    "endpoint", ["vps.example.org:51820", "203.0.113.7:1", "[2001:db8::1]:51820", "vps:9"]
)
def test_good_endpoint(endpoint: str) -> None:
    assert wg.parse_endpoint(endpoint)[1] in (51820, 1, 9)


def test_bad_subnet(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"did you mean 10\.77\.0\.0/24"):
        wg.init_hub(tmp_path, ENDPOINT, "10.77.0.1/24")
    with pytest.raises(ConfigError, match="invalid tunnel subnet"):
        wg.init_hub(tmp_path, ENDPOINT, "10.77.0/banana")
    with pytest.raises(ConfigError, match="too small"):
        wg.init_hub(tmp_path, ENDPOINT, "10.77.0.0/31")
    with pytest.raises(ConfigError, match="listen port"):
        wg.init_hub(tmp_path, ENDPOINT, "10.77.0.0/24", 0)


@pytest.mark.parametrize("name", ["", "-x", "has space", "a/b", "x" * 33, "hub", "HUB"])
def test_bad_peer_name(hub: Path, name: str) -> None:
    with pytest.raises(ConfigError):
        wg.add_peer(hub, name)


def test_duplicate_and_unknown_peer(hub: Path) -> None:
    wg.add_peer(hub, "laptop")
    with pytest.raises(ConfigError, match="already exists"):
        wg.add_peer(hub, "laptop")
    with pytest.raises(ConfigError, match=r"no WireGuard peer named 'phone' \(peers: laptop\)"):
        wg.remove_peer(hub, "phone")
    with pytest.raises(ConfigError, match="no WireGuard peer named"):
        wg.render(hub, "phone")


# --------------------------------------------------------------------------------------- render


def _lines(config: str) -> list[str]:
    return [line for line in config.splitlines() if line and not line.startswith("#")]


def test_render_peer(hub: Path) -> None:
    peer = wg.add_peer(hub, "laptop")
    state = wg.show(hub)
    assert _lines(wg.render(hub, "laptop")) == [
        "[Interface]",
        "Address = 10.77.0.2/32",
        f"PrivateKey = {peer.private_key}",
        "[Peer]",
        f"PublicKey = {state.hub.public_key}",
        f"PresharedKey = {peer.preshared_key}",
        f"Endpoint = {ENDPOINT}",
        "AllowedIPs = 10.77.0.0/24",
        "PersistentKeepalive = 25",
    ]
    wg.add_peer(hub, "quiet", keepalive=False)
    assert "PersistentKeepalive" not in wg.render(hub, "quiet")


def test_render_hub(hub: Path) -> None:
    laptop, phone = wg.add_peer(hub, "laptop"), wg.add_peer(hub, "phone")
    state = wg.show(hub)
    assert _lines(wg.render(hub, "hub")) == [
        "[Interface]",
        "Address = 10.77.0.1/24",
        "ListenPort = 51820",
        f"PrivateKey = {state.hub.private_key}",
        "[Peer]",
        f"PublicKey = {laptop.public_key}",
        f"PresharedKey = {laptop.preshared_key}",
        "AllowedIPs = 10.77.0.2/32",
        "[Peer]",
        f"PublicKey = {phone.public_key}",
        f"PresharedKey = {phone.preshared_key}",
        "AllowedIPs = 10.77.0.3/32",
    ]


def test_strip_and_config_values(hub: Path) -> None:
    wg.add_peer(hub, "laptop")
    stripped = wg.strip(wg.render(hub, "laptop"))
    assert "Address" not in stripped and "#" not in stripped and "Endpoint = " in stripped
    assert wg.config_values(wg.render(hub, "laptop"), "address") == ["10.77.0.2/32"]
    assert wg.config_values("AllowedIPs = 10.0.0.0/8, fd00::/8\n", "AllowedIPs") == ["10.0.0.0/8", "fd00::/8"]


@pytest.mark.skipif(shutil.which("wg-quick") is None, reason="wg-quick is not installed (wireguard-tools)")
@pytest.mark.skipif(os.geteuid() != 0, reason="`wg-quick strip` re-executes itself with sudo unless root")
def test_wg_quick_strip_accepts_rendered_configs(hub: Path, tmp_path: Path) -> None:
    wg.add_peer(hub, "laptop")
    wg.add_peer(hub, "phone", keepalive=False)
    for name in ("hub", "laptop", "phone"):
        config = wg.render(hub, name)
        path = tmp_path / f"wg{len(name)}.conf"  # wg-quick wants <interface>.conf
        wg.write_private(path, config)
        out = subprocess.run(["wg-quick", "strip", str(path)], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        assert out.stderr == ""  # no warnings (e.g. about a world-readable file)
        assert wg.strip(out.stdout) == wg.strip(config)


# ------------------------------------------------------------------------------------------- QR


def test_qr_text(hub: Path) -> None:
    pytest.importorskip("qrcode")
    wg.add_peer(hub, "phone")
    text = wg.qr_text(wg.render(hub, "phone"))
    rows = text.splitlines()
    assert len(rows) > 20 and len({len(row) for row in rows}) == 1
    assert set(text) <= set("█▀▄ \n")


def test_qr_png(hub: Path, tmp_path: Path) -> None:
    pytest.importorskip("qrcode")
    if not (_has("png") or _has("PIL")):
        pytest.skip(reason="neither pypng nor pillow is installed")
    wg.add_peer(hub, "phone")
    path = wg.qr_png(wg.render(hub, "phone"), tmp_path / "phone.png")
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert mode(path) == 0o600


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def test_qr_without_qrcode_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "qrcode", None)
    with pytest.raises(ConfigError, match="qrcode") as err:
        wg.qr_text("[Interface]\n")
    assert "pipx inject agent-bridge 'qrcode[png]'" in str(err.value)
    with pytest.raises(ConfigError, match="qrcode"):
        wg.qr_png("[Interface]\n", tmp_path / "x.png")
