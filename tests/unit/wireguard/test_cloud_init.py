"""``agent-bridge wg render cloud-init`` (#16 item 9): the VPS's user data made from the ``wg``
state, so sshd's ListenAddress, the firewall's port and the lock-down check follow the hub's
subnet and port instead of the example's 10.77.0.1 / 51820."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bridge import wireguard as wg
from bridge.cli.wg import wg_app
from bridge.errors import ConfigError
from bridge.wireguard.cloud_init import example
from tests.helpers.wg import mode

yaml = pytest.importorskip("yaml")
REPO = Path(__file__).resolve().parents[3]
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyKeyKeyKeyKeyKeyKeyKeyKeyKeyKeyKeyKeyKeyK me@laptop"


def written(data: dict[str, Any], path: str) -> str:
    return str(next(f["content"] for f in data["write_files"] if f["path"] == path))


def lockdown_check(user_data: str, device: str) -> list[str]:
    """The lock-down script's "is the tunnel up with the hub's address?" test, as an sh command
    on ``device`` instead of wg0 (so it can run here, on a real interface)."""
    script = written(yaml.safe_load(user_data), "/usr/local/sbin/agent-bridge-lockdown")
    (condition,) = re.findall(r"^if ! (.+); then$", script, re.MULTILINE)
    return ["sh", "-c", condition.replace("dev wg0", f"dev {device}")]


def test_deploy_file_is_the_template_rendered_with_example_values() -> None:
    assert (REPO / "deploy" / "cloud-init" / "user-data.yaml").read_text() == example()


def test_another_subnet_and_port_reach_sshd_firewall_and_lockdown(tmp_path: Path) -> None:
    state = tmp_path / "wireguard"
    wg.init_hub(state, "vps.example.org:51999", "10.99.0.0/24")
    wg.add_peer(state, "laptop")
    out = tmp_path / "user-data.yaml"
    result = CliRunner().invoke(
        wg_app,
        ["render", "cloud-init", "--ssh-key", KEY, "--source", "git+https://example.org/ab.git",
         "-o", str(out), "--state-dir", str(state)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert mode(out) == 0o600, "it holds the hub's private key"
    text = out.read_text()
    assert text.startswith("#cloud-config\n") and "10.77.0.1" not in text and "@" + "HUB" not in text
    data = yaml.safe_load(text)
    assert written(data, "/etc/wireguard/wg0.conf") == wg.render(state, "hub")
    assert "ListenAddress 10.99.0.1\n" in written(data, "/etc/agent-bridge/10-agent-bridge.conf")
    assert "udp dport 51999 accept" in written(data, "/etc/nftables.conf")
    assert 'listen = "10.99.0.1:7878"' in written(data, "/home/agents/.config/agent-bridge/registry.toml")
    assert written(data, "/etc/agent-bridge/source") == "AGENT_BRIDGE_SOURCE=git+https://example.org/ab.git\n"
    agents = next(u for u in data["users"] if isinstance(u, dict) and u["name"] == "agents")
    assert agents["ssh_authorized_keys"] == [KEY]


@pytest.mark.skipif(shutil.which("ip") is None, reason="iproute2 (ip) is not installed")
def test_the_lockdown_check_looks_for_the_hubs_own_address(tmp_path: Path) -> None:
    """Run on the loopback interface: a hub whose address lo carries (127.0.0.1) passes, the
    example's 10.77.0.1 does not: the check is the state's address, not a fixed one."""
    state = tmp_path / "wireguard"
    wg.init_hub(state, "vps.example.org:51820", "127.0.0.0/24")
    assert subprocess.run(lockdown_check(wg.cloud_init(state), "lo"), timeout=10).returncode == 0
    assert subprocess.run(lockdown_check(example(), "lo"), timeout=10).returncode != 0


def test_ipv6_hub_and_a_key_file(tmp_path: Path) -> None:
    state = tmp_path / "wireguard"
    wg.init_hub(state, "vps.example.org:51820", "fd00:77::/64")
    pub = tmp_path / "id.pub"
    pub.write_text(KEY + "\n")
    args = ["render", "cloud-init", "--ssh-key", str(pub), "--state-dir", str(state)]
    result = CliRunner().invoke(wg_app, args)
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(result.stdout)
    assert "ListenAddress fd00:77::1\n" in written(data, "/etc/agent-bridge/10-agent-bridge.conf")
    assert 'listen = "[fd00:77::1]:7878"' in written(data, "/home/agents/.config/agent-bridge/registry.toml")
    assert "REPLACE-with-a-clone-URL" in result.stdout, "no --source: the placeholder stays"


def test_cloud_init_is_not_a_peer_name(tmp_path: Path) -> None:
    state = tmp_path / "wireguard"
    wg.init_hub(state, "vps.example.org:51820", "10.77.0.0/24")
    with pytest.raises(ConfigError, match="reserved"):
        wg.add_peer(state, "cloud-init")
