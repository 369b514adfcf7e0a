"""A real WireGuard tunnel (wireguard-go) between two network namespaces, with keys and configs made by
bridge/wireguard/: it comes up, a delay relay raises the RTT, a cut makes it unreachable and a
restore brings it (and an open TCP connection) back. Needs root; skips with the reason otherwise.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bridge import wireguard as wg
from tests.e2e.netns import WgNetns, wg_netns

pytestmark = [pytest.mark.e2e, pytest.mark.netns, pytest.mark.timeout(120)]

ECHO_PORT = 7007


@pytest.fixture
def net(tmp_path: Path) -> Iterator[WgNetns]:
    with wg_netns(tmp_path) as net:
        yield net


def _rtts_ms(net: WgNetns, port: int, count: int = 7) -> list[float]:
    """Round trips of one byte over one TCP connection from local to the VPS's tunnel address."""
    with net.local.entered():
        sock = socket.create_connection((net.vps_ip, port), timeout=5)
    with sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        times = []
        for _ in range(count):
            start = time.perf_counter()
            sock.sendall(b"x")
            assert sock.recv(1) == b"x"
            times.append((time.perf_counter() - start) * 1000)
    return times


def _eventually(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_tunnel_comes_up_with_bridge_keys(net: WgNetns) -> None:
    state = wg.show(net.state_dir)
    # The running interfaces carry exactly the keys bridge/wireguard/ made.
    local_dump = net.local.run(["wg", "show", net.local_if, "dump"]).stdout.splitlines()
    assert local_dump[0].split("\t")[1] == state.peer("local").public_key
    assert local_dump[1].split("\t")[0] == state.hub.public_key
    assert local_dump[1].split("\t")[1] == state.peer("local").preshared_key
    assert local_dump[1].split("\t")[3] == state.hub.subnet
    vps_dump = net.vps.run(["wg", "show", net.vps_if, "dump"]).stdout.splitlines()
    assert vps_dump[0].split("\t")[1] == state.hub.public_key
    assert vps_dump[1].split("\t")[3] == f"{net.local_ip}/32"
    assert net.latest_handshake() > 0

    net.echo_server(ECHO_PORT)
    assert net.tcp_echo(net.vps_ip, ECHO_PORT)
    # The tunnel addresses exist only inside our namespaces.
    root = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True, check=True).stdout
    assert f"{net.vps_ip}/" not in root and f"{net.local_ip}/" not in root
    assert net.local.run(["ip", "-o", "addr", "show", "dev", net.local_if]).stdout.count(net.local_ip) == 1


def test_entered_switches_only_inside_the_block(net: WgNetns) -> None:
    before = os.readlink("/proc/thread-self/ns/net")
    with net.local.entered():
        inside = os.readlink("/proc/thread-self/ns/net")
    assert inside != before
    assert os.readlink("/proc/thread-self/ns/net") == before


def test_delay_relay_raises_rtt(net: WgNetns) -> None:
    net.echo_server(ECHO_PORT)
    direct = statistics.median(_rtts_ms(net, ECHO_PORT))
    net.set_delay(20)
    delayed = _rtts_ms(net, ECHO_PORT)
    assert min(delayed) >= 40.0, delayed
    assert statistics.median(delayed) < 400, delayed  # delayed, not stalled
    net.set_delay(0)
    assert statistics.median(_rtts_ms(net, ECHO_PORT)) < 40.0, direct


def test_tunnel_down_and_up(net: WgNetns) -> None:
    net.echo_server(ECHO_PORT)
    assert net.tcp_echo(net.vps_ip, ECHO_PORT)
    net.tunnel_down()
    assert not net.tcp_echo(net.vps_ip, ECHO_PORT, timeout=2)
    net.tunnel_up()
    assert _eventually(lambda: net.tcp_echo(net.vps_ip, ECHO_PORT, timeout=3), 20)


def test_open_connection_survives_a_short_cut(net: WgNetns) -> None:
    """What an SSH session over the tunnel sees: a stall, not a reset."""
    net.echo_server(ECHO_PORT)
    with net.local.entered():
        sock = socket.create_connection((net.vps_ip, ECHO_PORT), timeout=5)
    with sock:
        net.tunnel_down()
        sock.sendall(b"during the cut")
        sock.settimeout(1.5)
        with pytest.raises(TimeoutError):
            sock.recv(100)
        net.tunnel_up()
        sock.settimeout(20)
        data = b""
        while len(data) < len(b"during the cut"):
            chunk = sock.recv(100)
            assert chunk, "connection closed"
            data += chunk
        assert data == b"during the cut"


def test_cleanup_leaves_nothing(tmp_path: Path) -> None:
    with wg_netns(tmp_path) as net:
        net.echo_server(ECHO_PORT)
        net.set_delay(5)
        pids = [pid for ns in net.namespaces for pid in ns.pids()]
        names = [ns.name for ns in net.namespaces]
        assert len(pids) >= 4  # two wireguard-go, the relay, the echo server
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    assert not any(name in listed for name in names)
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
    assert not Path(f"/var/run/wireguard/{net.local_if}.sock").exists()
    assert not Path(f"/var/run/wireguard/{net.vps_if}.sock").exists()
