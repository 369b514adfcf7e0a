"""``agent-bridge wg`` (bridge/cli/wg.py): the state folder it picks, the whole flow, QR output, and
errors that surface as BridgeErrors for the CLI to print (tests/unit/test_wireguard.py tests the
WireGuard layer itself)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bridge import wireguard as wg
from bridge.cli.wg import default_state_dir, wg_app
from bridge.errors import ConfigError
from tests.helpers.wg import ENDPOINT, init_hub, mode


@pytest.fixture
def hub(tmp_path: Path) -> Path:
    return init_hub(tmp_path)


def test_default_state_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """#16 item 9: the keys stay in the config folder, whatever registry $AGENT_BRIDGE_CONFIG
    names (often a file in a repository, where private keys must not land)."""
    monkeypatch.setenv("AGENT_BRIDGE_CONFIG", str(tmp_path / "repo" / "hosts" / "vps.toml"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert default_state_dir() == tmp_path / "xdg" / "agent-bridge" / "wireguard"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_state_dir() == tmp_path / "home" / ".config" / "agent-bridge" / "wireguard"


def test_cli_flow(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AGENT_BRIDGE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    runner = CliRunner()
    result = runner.invoke(wg_app, ["init", "--endpoint", ENDPOINT, "--subnet", "10.77.0.0/24"])
    assert result.exit_code == 0, result.output
    state_dir = tmp_path / "agent-bridge" / "wireguard"
    assert mode(state_dir / "state.json") == 0o600

    result = runner.invoke(wg_app, ["add-peer", "laptop"])
    assert result.exit_code == 0, result.output
    assert "Address = 10.77.0.2/32" in result.stdout and "PrivateKey = " in result.stdout
    assert "Added peer laptop" in result.stderr

    result = runner.invoke(wg_app, ["show"])
    assert "laptop" in result.stdout and "10.77.0.2" in result.stdout
    assert wg.show(state_dir).peer("laptop").private_key not in result.stdout

    out = tmp_path / "wg0.conf"
    result = runner.invoke(wg_app, ["render", "hub", "-o", str(out)])
    assert result.exit_code == 0 and mode(out) == 0o600
    assert out.read_text() == wg.render(state_dir, "hub")

    result = runner.invoke(wg_app, ["remove-peer", "laptop"])
    assert result.exit_code == 0 and not wg.show(state_dir).peers


def test_cli_qr(tmp_path: Path) -> None:
    pytest.importorskip("qrcode")
    runner = CliRunner()
    runner.invoke(wg_app, ["init", "--endpoint", ENDPOINT, "--state-dir", str(tmp_path)])
    result = runner.invoke(wg_app, ["add-peer", "phone", "--qr", "--state-dir", str(tmp_path)])
    assert result.exit_code == 0 and "█" in result.stdout and "PrivateKey" not in result.stdout


def test_cli_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(wg_app, ["show", "--state-dir", str(tmp_path)])
    assert result.exit_code == 2 and "agent-bridge wg init" in result.stderr
    assert result.stderr.startswith("agent-bridge: error: ") and result.stderr.count("\n") == 1
    result = runner.invoke(wg_app, ["init", "--endpoint", "nope", "--state-dir", str(tmp_path)])
    assert result.exit_code == 2 and result.stderr.startswith("agent-bridge: error: ")


def test_unwritable_output_is_a_config_error(hub: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot write"):
        wg.write_private(tmp_path / "no" / "such" / "dir" / "wg0.conf", "x")
    result = CliRunner().invoke(
        wg_app, ["render", "hub", "-o", str(tmp_path / "missing" / "wg0.conf"), "--state-dir", str(hub)]
    )
    assert result.exit_code == 2 and "cannot write" in result.stderr


def test_cli_help() -> None:
    result = CliRunner().invoke(wg_app, ["--help"])
    assert result.exit_code == 0
    for command in ("init", "add-peer", "show", "remove-peer", "render"):
        assert command in result.stdout


def test_add_peer_qr_without_the_extra_changes_nothing(monkeypatch: pytest.MonkeyPatch, hub: Path) -> None:
    """#16 item 7: the missing `qr` extra is found before the peer is added; a retry with the
    extra installed then works (the peer is not already there)."""
    runner = CliRunner()
    with monkeypatch.context() as without:
        without.setitem(sys.modules, "qrcode", None)
        for extra in (["--qr"], ["--qr-png", str(hub.parent / "phone.png")]):
            result = runner.invoke(wg_app, ["add-peer", "phone", *extra, "--state-dir", str(hub)])
            assert result.exit_code == 2 and "pipx inject agent-bridge 'qrcode[png]'" in result.stderr
            assert not wg.show(hub).peers, "nothing added"
    pytest.importorskip("qrcode")
    result = runner.invoke(wg_app, ["add-peer", "phone", "--qr", "--state-dir", str(hub)])
    assert result.exit_code == 0 and "█" in result.stdout


def test_render_qr(hub: Path, tmp_path: Path) -> None:
    pytest.importorskip("qrcode")
    wg.add_peer(hub, "phone")
    runner = CliRunner()
    result = runner.invoke(wg_app, ["render", "phone", "--qr", "--state-dir", str(hub)])
    assert result.exit_code == 0 and "█" in result.stdout and "PrivateKey" not in result.stdout
    assert result.stdout == wg.qr_text(wg.render(hub, "phone"))
    png = tmp_path / "phone.png"
    result = runner.invoke(wg_app, ["render", "phone", "--qr-png", str(png), "--state-dir", str(hub)])
    assert result.exit_code == 0 and result.stdout == "" and mode(png) == 0o600


def test_add_peer_output_file_is_private(hub: Path, tmp_path: Path) -> None:
    """#16 item 8: `add-peer NAME -o FILE` writes the config (a private key) 0600, even under a
    permissive umask, and prints nothing on stdout; a missing folder fails before the peer is added."""
    out = tmp_path / "laptop.conf"
    old = os.umask(0o022)
    try:
        result = CliRunner().invoke(wg_app, ["add-peer", "laptop", "-o", str(out), "--state-dir", str(hub)])
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert mode(out) == 0o600 and out.read_text() == wg.render(hub, "laptop")
    assert result.stdout == "" and "mode 0600" in result.stderr
    missing = tmp_path / "nope" / "desk.conf"
    result = CliRunner().invoke(wg_app, ["add-peer", "desk", "-o", str(missing), "--state-dir", str(hub)])
    assert result.exit_code == 2 and [p.name for p in wg.show(hub).peers] == ["laptop"]
