"""Network namespaces joined by a real WireGuard tunnel (wireguard-go), for end-to-end tests.

Topology (three namespaces, all created here with unique names, all deleted afterwards)::

    ab-<pid>-<tag>-local            ab-<pid>-<tag>-mid              ab-<pid>-<tag>-vps
    wg 10.77.0.2/32  ====== WireGuard over UDP (routed, or via the delay relay) ======  wg 10.77.0.1/24
    to-mid 192.0.2.1/24 --veth-- to-local 192.0.2.254 | to-vps 198.51.100.254 --veth-- to-mid 198.51.100.1

``mid`` is a router (ip_forward on) standing for "the internet": :meth:`WgNetns.tunnel_down` cuts
its link to ``local`` (packets vanish, like a dead Wi-Fi) and :meth:`WgNetns.tunnel_up` restores
it; :meth:`WgNetns.set_delay` puts a userspace UDP relay there (this kernel has no netem) that
holds every WireGuard datagram ``delay_ms`` in each direction. The tunnel addresses exist only in
these namespaces. Keys and configs come from :mod:`bridge.wireguard` (render -> strip -> setconf).

Use from a test::

    @pytest.fixture
    def net(tmp_path):
        with wg_netns(tmp_path) as net:      # skips unless root with ip netns, wireguard-go, wg, tun
            yield net

    def test_x(net):
        sshd = net.vps.popen(["/usr/sbin/sshd", "-D", "-e", "-f", cfg])   # listens on 10.77.0.1
        net.local.run([sys.executable, "-m", "bridge", "ask", ...])       # a process on the local side
        with net.local.entered():                                         # or in-process: sockets made
            sock = socket.create_connection((net.vps_ip, 22))            # here live in `local`

Processes started through :meth:`Namespace.popen` (and everything else found in our namespaces)
are killed by PID at the end, then the namespaces are deleted; helper processes also get SIGTERM
if the test process dies (PR_SET_PDEATHSIG), and the next run deletes the empty namespaces such a
killed run left (:func:`sweep_stale`). Every wait has a deadline.

Run as a script, this file is also the relay and a TCP echo server (stdlib only)::

    python netns.py relay LISTEN_PORT TARGET_HOST TARGET_PORT DELAY_MS LIFETIME_S
    python netns.py echo HOST PORT LIFETIME_S
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

LOCAL_LINK_IP = "192.0.2.1"  # TEST-NET-1: local <-> mid
MID_LOCAL_IP = "192.0.2.254"
VPS_LINK_IP = "198.51.100.1"  # TEST-NET-2: mid <-> vps
MID_VPS_IP = "198.51.100.254"
TUNNEL_SUBNET = "10.77.0.0/24"
VPS_TUNNEL_IP = "10.77.0.1"  # the hub gets the subnet's first address
LOCAL_TUNNEL_IP = "10.77.0.2"  # the first peer the next one
WG_PORT = 51820
RELAY_PORT = 51821
HELPER_LIFETIME = 3600.0  # the relay and echo servers end by themselves after this long
_CLONE_NEWNET = 0x40000000
_PR_SET_PDEATHSIG = 1
_ROLES = ("local", "mid", "vps")


# ------------------------------------------------------------------------------------ preconditions


def preflight() -> str | None:
    """Why this machine cannot run the netns tests, or None if it can (checks, changes nothing)."""
    if os.geteuid() != 0:
        return "needs root to create network namespaces (run the e2e tests as root)"
    for tool, package in (("ip", "iproute2"), ("wg", "wireguard-tools"), ("wireguard-go", "wireguard-go")):
        if not shutil.which(tool):
            return f"{tool} is not installed (apt-get install --no-install-recommends {package})"
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun is absent: wireguard-go cannot create its interface"
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10)
    if probe.returncode != 0:
        return f"`ip netns` does not work here: {probe.stderr.strip()}"
    return None


def sweep_stale() -> list[str]:
    """Delete namespaces an earlier, killed test run left: ``ab-<pid>-*`` whose pid is gone and
    which hold no process. Returns the names deleted."""
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10).stdout
    deleted = []
    for line in listed.splitlines():
        name = line.split()[0] if line.split() else ""
        parts = name.split("-")
        if len(parts) != 4 or parts[0] != "ab" or not parts[1].isdigit() or parts[3] not in _ROLES:
            continue
        if Path(f"/proc/{parts[1]}").exists():
            continue
        pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True, timeout=10)
        if pids.returncode == 0 and not pids.stdout.strip():
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
            deleted.append(name)
    return deleted


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the thread that started us dies."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _setns(fd: int) -> None:
    if hasattr(os, "setns"):  # Python >= 3.12
        os.setns(fd, _CLONE_NEWNET)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns failed: {os.strerror(err)}")


def wait_ready(proc: subprocess.Popen[bytes], word: bytes = b"ready", timeout: float = 10.0) -> None:
    """Wait (bounded) until ``proc`` prints a line starting with ``word`` on stdout."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    seen = b""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode} before '{word.decode()}'")
        ready, _, _ = select.select([proc.stdout], [], [], 0.1)
        if ready:
            seen += os.read(proc.stdout.fileno(), 4096)
            if any(line.startswith(word) for line in seen.splitlines()):
                return
    raise TimeoutError(f"{proc.args!r} did not print '{word.decode()}' within {timeout}s: {seen!r}")


# ---------------------------------------------------------------------------------------- namespace


class Namespace:
    """One network namespace: run commands inside it, or enter it from the current thread."""

    def __init__(self, name: str, logdir: Path) -> None:
        self.name = name
        self.logdir = logdir
        self.procs: list[subprocess.Popen[bytes]] = []

    def __repr__(self) -> str:
        return f"Namespace({self.name!r})"

    def argv(self, argv: Sequence[str]) -> list[str]:
        """``argv`` prefixed so that it runs inside this namespace."""
        return ["ip", "netns", "exec", self.name, *argv]

    def run(
        self,
        argv: Sequence[str],
        *,
        input: str | None = None,
        timeout: float = 30.0,
        check: bool = True,
        env: dict[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside the namespace to completion (text in/out); raise on failure if ``check``."""
        result = subprocess.run(
            self.argv(argv),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=None if env is None else {**os.environ, **env},
            cwd=cwd,
        )
        if check and result.returncode != 0:
            raise subprocess.CalledProcessError(result.returncode, result.args, result.stdout, result.stderr)
        return result

    def python(
        self, code: str, *args: str, timeout: float = 30.0, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run Python ``code`` (``sys.argv[1:]`` = ``args``) inside the namespace."""
        return self.run([sys.executable, "-c", code, *args], timeout=timeout, check=check)

    def popen(
        self,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        stdout: int | IO[Any] | None = subprocess.DEVNULL,
        stderr: int | IO[Any] | None = None,
        die_with_parent: bool = True,
        **kwargs: Any,
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` inside the namespace; it is killed (by PID) when the namespace goes away.

        stderr goes to ``<logdir>/<ns>.<program>.<n>.log`` unless given. ``die_with_parent`` makes
        it receive SIGTERM when the calling *thread* exits, so start long-lived processes from the
        test's main thread.
        """
        log = None
        if stderr is None:
            log = open(self.logdir / f"{self.name}.{Path(argv[0]).name}.{len(self.procs)}.log", "ab")  # noqa: SIM115
        try:
            proc = subprocess.Popen(
                self.argv(argv),
                env=None if env is None else {**os.environ, **env},
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=log if log is not None else stderr,
                preexec_fn=_die_with_parent if die_with_parent else None,
                **kwargs,
            )
        finally:
            if log is not None:
                log.close()
        self.procs.append(proc)
        return proc

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        """Switch the calling thread into this namespace for the ``with`` body.

        Sockets created inside stay in this namespace afterwards. Only this thread switches (an
        asyncio loop's own sockets do, its resolver threads do not: use IP literals).
        """
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            target = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
            try:
                _setns(target)
            finally:
                os.close(target)
            try:
                yield
            finally:
                _setns(own)
        finally:
            os.close(own)

    def pids(self) -> list[int]:
        """PIDs of every process living in this namespace."""
        out = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True, text=True, timeout=10)
        return [int(pid) for pid in out.stdout.split() if pid.isdigit()]

    def stop(self, timeout: float = 5.0) -> None:
        """Kill our processes by PID (TERM, then KILL), then any other process left inside."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            left = self.pids()
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            end = time.monotonic() + 2.0
            while left and time.monotonic() < end:
                left = [pid for pid in left if _alive(pid)]
                time.sleep(0.05)
            if not left:
                break


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie of ours still "exists": reap it if it is our child.
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    return True


# ------------------------------------------------------------------------------------- the topology


class WgNetns:
    """local <-> mid <-> vps namespaces with a wireguard-go tunnel between local and vps."""

    vps_ip = VPS_TUNNEL_IP
    local_ip = LOCAL_TUNNEL_IP
    subnet = TUNNEL_SUBNET

    def __init__(self, workdir: Path, *, delay_ms: float = 0.0) -> None:
        self.workdir = Path(workdir)
        self.tag = secrets.token_hex(3)
        prefix = f"ab-{os.getpid()}-{self.tag}"
        self.local = Namespace(f"{prefix}-local", self.workdir)
        self.mid = Namespace(f"{prefix}-mid", self.workdir)
        self.vps = Namespace(f"{prefix}-vps", self.workdir)
        # Interface names must be unique machine-wide: wireguard-go's socket is /var/run/wireguard/<if>.sock.
        self.local_if = f"wg-{self.tag}-l"
        self.vps_if = f"wg-{self.tag}-v"
        self.state_dir = self.workdir / "wg-state"
        self.hub_config = ""
        self.peer_config = ""
        self.hub_public_key = ""
        self.local_public_key = ""
        self.delay_ms = 0.0
        self._initial_delay = delay_ms
        self._relay: subprocess.Popen[bytes] | None = None
        self._created: list[Namespace] = []

    @property
    def namespaces(self) -> list[Namespace]:
        return [self.local, self.mid, self.vps]

    # -- lifecycle

    def __enter__(self) -> WgNetns:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Create the namespaces, the veth links and routes, then the WireGuard tunnel."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        for ns in self.namespaces:
            subprocess.run(["ip", "netns", "add", ns.name], check=True, capture_output=True, timeout=10)
            self._created.append(ns)
            ns.run(["ip", "link", "set", "lo", "up"])
        self._link(self.local, "to-mid", LOCAL_LINK_IP, self.mid, "to-local", MID_LOCAL_IP, 24)
        self._link(self.vps, "to-mid", VPS_LINK_IP, self.mid, "to-vps", MID_VPS_IP, 24)
        self.mid.run(["sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"])
        self.local.run(["ip", "route", "add", "198.51.100.0/24", "via", MID_LOCAL_IP])
        self.vps.run(["ip", "route", "add", "192.0.2.0/24", "via", MID_VPS_IP])
        self._make_configs()
        self._wireguard(self.vps, self.vps_if, self.hub_config)
        self._wireguard(self.local, self.local_if, self.peer_config)
        if self._initial_delay:
            self.set_delay(self._initial_delay)
        self.wait_handshake()

    def close(self) -> None:
        """Stop every process in our namespaces (by PID) and delete the namespaces. Idempotent."""
        self._relay = None
        for ns in reversed(self._created):
            with contextlib.suppress(Exception):
                ns.stop()
        for ns in reversed(self._created):
            subprocess.run(["ip", "netns", "del", ns.name], capture_output=True, timeout=10)
        self._created.clear()
        for name in (self.local_if, self.vps_if):  # wireguard-go removes these itself on SIGTERM
            with contextlib.suppress(OSError):
                os.unlink(f"/var/run/wireguard/{name}.sock")

    def _link(
        self, a: Namespace, a_if: str, a_ip: str, b: Namespace, b_if: str, b_ip: str, plen: int
    ) -> None:
        subprocess.run(
            [
                "ip",
                "link",
                "add",
                "name",
                a_if,
                "netns",
                a.name,
                "type",
                "veth",
                "peer",
                "name",
                b_if,
                "netns",
                b.name,
            ],
            check=True,
            capture_output=True,
            timeout=10,
        )
        for ns, ifname, ip in ((a, a_if, a_ip), (b, b_if, b_ip)):
            ns.run(["ip", "addr", "add", f"{ip}/{plen}", "dev", ifname])
            ns.run(["ip", "link", "set", ifname, "up"])

    def _make_configs(self) -> None:
        from bridge import wireguard as wg

        wg.init_hub(self.state_dir, f"{VPS_LINK_IP}:{WG_PORT}", TUNNEL_SUBNET, WG_PORT)
        peer = wg.add_peer(self.state_dir, "local")
        assert peer.address == LOCAL_TUNNEL_IP, peer
        self.hub_config = wg.render(self.state_dir, "hub")
        self.peer_config = wg.render(self.state_dir, "local")
        state = wg.show(self.state_dir)
        self.hub_public_key = state.hub.public_key
        self.local_public_key = peer.public_key

    def _wireguard(self, ns: Namespace, ifname: str, config: str) -> None:
        """Start wireguard-go in ``ns``, then configure it like wg-quick would (setconf, addr, up, routes)."""
        from bridge import wireguard as wg

        proc = ns.popen(["wireguard-go", ifname], env={"WG_PROCESS_FOREGROUND": "1", "LOG_LEVEL": "error"})
        sock = Path(f"/var/run/wireguard/{ifname}.sock")
        deadline = time.monotonic() + 10
        while not (sock.exists() and ns.run(["ip", "link", "show", ifname], check=False).returncode == 0):
            if proc.poll() is not None or time.monotonic() > deadline:
                log = "".join(p.read_text() for p in self.workdir.glob(f"{ns.name}.wireguard-go.*.log"))
                raise RuntimeError(f"wireguard-go {ifname} in {ns.name} did not come up: {log.strip()}")
            time.sleep(0.02)
        conf = self.workdir / f"{ifname}.conf"
        wg.write_private(conf, wg.strip(config))
        ns.run(["wg", "setconf", ifname, str(conf)])
        for address in wg.config_values(config, "Address"):
            ns.run(["ip", "addr", "add", address, "dev", ifname])
        ns.run(["ip", "link", "set", ifname, "up"])
        for allowed in wg.config_values(config, "AllowedIPs"):
            ns.run(["ip", "route", "replace", allowed, "dev", ifname])

    # -- faults

    def tunnel_down(self) -> None:
        """Cut the path between local and the VPS (mid's link to local goes down; packets vanish)."""
        self.mid.run(["ip", "link", "set", "to-local", "down"])

    def tunnel_up(self) -> None:
        """Restore the path cut by :meth:`tunnel_down`."""
        self.mid.run(["ip", "link", "set", "to-local", "up"])

    def set_delay(self, delay_ms: float) -> None:
        """Route WireGuard through the relay in mid, holding each datagram ``delay_ms`` each way
        (so the tunnel RTT grows by 2 x delay_ms); 0 routes directly again."""
        if self._relay is not None:
            self._relay.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._relay.wait(5)
            self._relay = None
        endpoint = f"{VPS_LINK_IP}:{WG_PORT}"
        if delay_ms > 0:
            argv = [sys.executable, __file__, "relay", str(RELAY_PORT), VPS_LINK_IP, str(WG_PORT)]
            self._relay = self.mid.popen([*argv, str(delay_ms), str(HELPER_LIFETIME)], stdout=subprocess.PIPE)
            wait_ready(self._relay)
            endpoint = f"{MID_LOCAL_IP}:{RELAY_PORT}"
        self.local.run(["wg", "set", self.local_if, "peer", self.hub_public_key, "endpoint", endpoint])
        self.delay_ms = delay_ms

    # -- probes

    def latest_handshake(self) -> int:
        """Unix time of the local side's latest handshake with the hub (0 = none yet)."""
        out = self.local.run(["wg", "show", self.local_if, "latest-handshakes"]).stdout.split()
        return int(out[1]) if len(out) >= 2 else 0

    def wait_handshake(self, timeout: float = 15.0) -> None:
        """Poke the tunnel (a UDP datagram to the VPS) until a handshake is recorded."""
        deadline = time.monotonic() + timeout
        poke = "import socket,sys; socket.socket(2, 2).sendto(b'x', (sys.argv[1], 9))"  # AF_INET, DGRAM
        while True:
            self.local.python(poke, self.vps_ip, check=False)
            if self.latest_handshake():
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"no WireGuard handshake in {timeout}s ({self.local_if} -> {self.vps_if})")
            time.sleep(0.1)

    def echo_server(
        self, port: int = 7, ns: Namespace | None = None, host: str | None = None
    ) -> subprocess.Popen[bytes]:
        """A TCP echo server (in ``vps`` on the tunnel address by default); returns once it listens."""
        ns = ns or self.vps
        host = host or self.vps_ip
        proc = ns.popen(
            [sys.executable, __file__, "echo", host, str(port), str(HELPER_LIFETIME)], stdout=subprocess.PIPE
        )
        wait_ready(proc)
        return proc

    def tcp_echo(self, host: str, port: int, *, timeout: float = 3.0) -> bool:
        """From ``local``: can we connect to host:port and get b'ping' echoed back within ``timeout``?"""
        code = (
            "import socket,sys\n"
            "try:\n"
            "    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]))\n"
            "    s.sendall(b'ping'); data = b''\n"
            "    while len(data) < 4:\n"
            "        chunk = s.recv(4)\n"
            "        if not chunk: break\n"
            "        data += chunk\n"
            "    sys.exit(0 if data == b'ping' else 1)\n"
            "except OSError:\n"
            "    sys.exit(1)\n"
        )
        result = self.local.python(code, host, str(port), str(timeout), timeout=timeout + 10, check=False)
        return result.returncode == 0


# ---------------------------------------------------------------------------------- pytest fixture


@contextlib.contextmanager
def wg_netns(workdir: Path, *, delay_ms: float = 0.0) -> Iterator[WgNetns]:
    """The topology for one test: skips (with the reason) if this machine cannot do it."""
    import pytest

    reason = preflight()
    if reason:
        pytest.skip(reason)
    sweep_stale()
    with WgNetns(workdir, delay_ms=delay_ms) as net:
        yield net


# ------------------------------------------------------------------------------ helper processes


def _relay(listen_port: int, target_host: str, target_port: int, delay_ms: float, lifetime: float) -> None:
    """Forward UDP datagrams between clients and target, holding each one delay_ms each way."""
    import asyncio

    async def main() -> None:
        loop = asyncio.get_running_loop()
        delay = delay_ms / 1000.0
        down = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        down.setblocking(False)
        down.bind(("0.0.0.0", listen_port))
        ups: dict[tuple[str, int], socket.socket] = {}

        def send(sock: socket.socket, data: bytes, addr: tuple[str, int] | None) -> None:
            with contextlib.suppress(OSError):  # a cut link drops packets, as a network would
                if addr is None:
                    sock.send(data)
                else:
                    sock.sendto(data, addr)

        def from_upstream(up: socket.socket, client: tuple[str, int]) -> None:
            for _ in range(64):  # bounded drain per wake-up
                try:
                    data = up.recv(65535)
                except OSError:
                    return
                loop.call_later(delay, send, down, data, client)

        def from_client() -> None:
            for _ in range(64):
                try:
                    data, client = down.recvfrom(65535)
                except OSError:
                    return
                up = ups.get(client)
                if up is None:
                    up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    up.setblocking(False)
                    up.connect((target_host, target_port))
                    ups[client] = up
                    loop.add_reader(up, from_upstream, up, client)
                loop.call_later(delay, send, up, data, None)

        loop.add_reader(down, from_client)
        print("ready", flush=True)
        await asyncio.sleep(lifetime)

    asyncio.run(main())


def _echo(host: str, port: int, lifetime: float) -> None:
    """A threaded TCP echo server that exits after ``lifetime`` seconds."""
    import socketserver
    import threading

    class Echo(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.settimeout(lifetime)
            with contextlib.suppress(OSError):
                while data := self.request.recv(65536):
                    self.request.sendall(data)

    socketserver.ThreadingTCPServer.allow_reuse_address = True
    server = socketserver.ThreadingTCPServer((host, port), Echo)
    server.daemon_threads = True
    threading.Timer(lifetime, server.shutdown).start()
    print("ready", flush=True)
    server.serve_forever(poll_interval=0.2)


if __name__ == "__main__":
    if sys.argv[1:2] == ["relay"] and len(sys.argv) == 7:
        _relay(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]))
    elif sys.argv[1:2] == ["echo"] and len(sys.argv) == 5:
        _echo(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    else:
        sys.exit(__doc__)
