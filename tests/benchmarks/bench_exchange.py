"""One exchange with an agent, measured three ways side by side, over loopback and WireGuard.

    python tests/benchmarks/bench_exchange.py [--n 20] [--json] [--no-wireguard] [--rtt-ms 41]

The exchange: an echo agent (bash in a tmux pane) is sent ``echo TOKEN``; it is done when
``TOKEN`` and the prompt are back. Done three ways against the same tmux server, each on a pane
of its own:

  (a) naive       a fresh ``ssh host tmux send-keys ...``, then ``sleep 0.5; ssh host tmux
                  capture-pane`` until the reply shows (what people script today)
  (b) ControlMaster  one OpenSSH master connection held open (what ControlPersist gives), each
                  step ``ssh -S ctl host tmux ...``, capture-pane polled every 50 ms
  (c) agent-bridge   the Python API (``Bridge.ask`` on a warm Bridge; also ``Driver.ask``, which
                  skips the per-pane lock), and the CLI (a new ``python -m bridge ask`` process
                  per call, the broker warm)

over (1) a private sshd on 127.0.0.1 and (2), when root with wireguard-go, a real WireGuard tunnel
between two network namespaces (tests/e2e/netns.py) whose relay delay gives a ~41 ms round trip.
Also: a 14 KB / 200-line prompt vs a short one (asked through the shell with an md5 check, and
delivered to tests/helpers/receiver.py byte for byte), a 1 MB prompt (byte-exact, timed), 16
agents on one host asked at once over one SSH connection (sshd MaxSessions 10; channels counted),
and the broker's resident memory after serving 16 agents. A table of medians and ratios, then
each target, met or missed.

Everything is bounded and cleaned up by PID / socket: sshd, the ssh master, the broker, the tmux
servers (``kill-server`` on their private sockets) and the namespaces (netns.py's context manager).
Traffic goes only to 127.0.0.1 or inside the namespaces made here. Not a pytest test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

T = TypeVar("T")

SHELL = shlex.join(["env", "PS1=$ ", "HISTFILE=/dev/null", "bash", "--norc", "--noprofile"])
PANE_SIZE = ("200", "50")
BIG_SIZE = ("200", "80")  # the 14 KB command line must fit on the screen to be read back
MANY = 16
CPU_ROUNDS = 100  # single asks whose CPU cost is measured (jiffies: 10 ms each; 100 asks >> that)
NAIVE_POLL = 0.5
CM_POLL = 0.05
STEP_TIMEOUT = 30.0
WORKER_TIMEOUT = 1800.0
TARGET_RTT_MS = 41.0
ROLES = ("naive", "cm", "api", "drv", "cli", "big")


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def stats(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "min": round(min(values), 2),
        "median": round(statistics.median(values), 2),
        "max": round(max(values), 2),
    }


# ------------------------------------------------------------------------------------------- setup


@dataclass
class Site:
    """One place to measure: an sshd, a tmux server with the panes, a registry for the bridge."""

    label: str
    host: str
    port: int
    user: str
    key: str
    known_hosts: str
    tmux_socket: str
    workdir: str
    runtime: str
    registry: str = ""
    panes: dict[str, str] = field(default_factory=dict)
    many: list[str] = field(default_factory=list)
    recv_out: str = ""
    result_file: str = ""
    n: int = 20


def sshd_config(workdir: Path, host_key: Path, authorized: Path, listen: str, port: int, user: str) -> Path:
    config = workdir / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                f"ListenAddress {listen}",
                f"HostKey {host_key}",
                f"PidFile {workdir / 'sshd.pid'}",
                f"AuthorizedKeysFile {authorized}",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password",
                f"AllowUsers {user}",
                "UsePAM no",
                "StrictModes no",
                "MaxSessions 10",  # OpenSSH's default, stated: 16 agents must live with it
                "LogLevel ERROR",
                "",
            ]
        )
    )
    return config


def keys(workdir: Path, host: str, port: int) -> tuple[Path, Path, Path, Path]:
    """Host and client keys, authorized_keys and known_hosts for ``host:port`` (all throwaway)."""
    from tests.helpers.fixtures import keygen

    host_key, client_key = workdir / "host_ed25519", workdir / "client_ed25519"
    keygen(host_key, "bench-host")
    keygen(client_key, "bench-client")
    authorized = workdir / "authorized_keys"
    authorized.write_text(Path(f"{client_key}.pub").read_text())
    name = host if port == 22 else f"[{host}]:{port}"
    pub = Path(f"{host_key}.pub").read_text().split()
    known = workdir / "known_hosts"
    known.write_text(f"{name} {pub[0]} {pub[1]}\n")
    return host_key, client_key, authorized, known


def sshd_argv(config: Path, workdir: Path, keep_rc: bool) -> list[str]:
    """sshd -D; as root with ~/.bashrc hidden (tests.helpers.fixtures.sshd_command); ``keep_rc``
    measures with it.

    On a machine whose rc does real work (pyenv init here) that is paid on every tmux command by
    every method alike and would drown what is measured.
    """
    from tests.helpers.fixtures import sshd_command

    return ["/usr/sbin/sshd", "-D", "-e", "-f", str(config)] if keep_rc else sshd_command(config, workdir)


def rc_cost_ms() -> float | None:
    """What sourcing ~/.bashrc costs (median of 3), i.e. what sshd adds to every command here."""
    rc = Path.home() / ".bashrc"
    if not rc.is_file():
        return None
    times = []
    for argv in (["bash", "-c", ". ~/.bashrc"], ["bash", "-c", "true"]) * 3:
        began = time.perf_counter()
        subprocess.run(argv, capture_output=True, timeout=30)
        times.append((time.perf_counter() - began) * 1000)
    return round(statistics.median(times[0::2]) - statistics.median(times[1::2]), 1)


def wait_banner(connect: Callable[[], socket.socket], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with connect() as sock:
                sock.settimeout(1.0)
                if sock.recv(4).startswith(b"SSH-"):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come up within {timeout}s")
        time.sleep(0.1)


def make_panes(site: Site, tmux: Callable[..., str]) -> None:
    """The panes of every method, 16 agents, and a receiver; then the registry naming them."""
    fmt = ["-P", "-F", "#{pane_id}"]
    first = True
    for role in (*ROLES, "recv"):
        command = SHELL
        if role == "recv":
            site.recv_out = str(Path(site.workdir) / "received.jsonl")
            command = shlex.join([sys.executable, "-m", "tests.helpers.receiver", site.recv_out])
        if first:
            args = ["new-session", "-d", "-s", "bench", "-x", PANE_SIZE[0], "-y", PANE_SIZE[1]]
            first = False
        else:
            args = ["new-window", "-d", "-t", "bench:"]
        site.panes[role] = tmux(*args, "-n", role, "-c", str(REPO), *fmt, command).strip()
    tmux("resize-window", "-t", "bench:big", "-x", BIG_SIZE[0], "-y", BIG_SIZE[1])
    for i in range(MANY):
        if i == 0:
            args = ["new-session", "-d", "-s", "many", "-x", PANE_SIZE[0], "-y", PANE_SIZE[1]]
        else:
            args = ["new-window", "-d", "-t", "many:"]
        site.many.append(tmux(*args, "-n", f"m{i:02d}", *fmt, SHELL).strip())
    deadline = time.monotonic() + 20
    for pane in [*(site.panes[r] for r in ROLES), *site.many]:
        while "$" not in tmux("capture-pane", "-p", "-t", pane):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the shell in pane {pane} did not start")
            time.sleep(0.05)
    while "READY" not in tmux("capture-pane", "-p", "-t", site.panes["recv"]):
        if time.monotonic() > deadline:
            raise RuntimeError("the receiver did not start")
        time.sleep(0.05)
    lines = [
        "[hosts.box]",
        f'address = "{site.host}"',
        f"port = {site.port}",
        f'user = "{site.user}"',
        f'identity_file = "{site.key}"',
        f'known_hosts = "{site.known_hosts}"',
        f'tmux_socket = "{site.tmux_socket}"',
        "",
    ]
    agents = {role: site.panes[role] for role in ("api", "drv", "cli", "big", "recv")}
    agents |= {f"m{i:02d}": pane for i, pane in enumerate(site.many)}
    for name, pane in agents.items():
        lines += [f"[agents.{name}]", 'host = "box"', f'target = "{pane}"', 'profile = "shell"', ""]
    site.registry = str(Path(site.workdir) / "registry.toml")
    Path(site.registry).write_text("\n".join(lines))


def new_workdir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="ab-bx-", dir="/tmp"))  # short: socket paths are limited
    os.chmod(path, 0o700)
    return path


def user_name() -> str:
    done = subprocess.run(["id", "-un"], capture_output=True, text=True, check=True, timeout=10)
    return done.stdout.strip()


@contextlib.contextmanager
def loopback_site(n: int, keep_rc: bool) -> Iterator[Site]:
    """sshd on 127.0.0.1 and a private tmux server; both stopped afterwards."""
    from tests.helpers.fixtures import free_port

    workdir = new_workdir()
    port = free_port()
    host_key, client_key, authorized, known = keys(workdir, "127.0.0.1", port)
    user = user_name()
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    config = sshd_config(workdir, host_key, authorized, "127.0.0.1", port, user)
    sshd = subprocess.Popen(
        sshd_argv(config, workdir, keep_rc),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(workdir / "sshd.log", "ab"),  # noqa: SIM115
    )  # fmt: skip
    socket_path = str(workdir / "tmux.sock")
    site = Site("loopback", "127.0.0.1", port, user, str(client_key), str(known), socket_path,
                str(workdir), str(workdir / "run"), n=n)  # fmt: skip
    Path(site.runtime).mkdir(mode=0o700)

    def tmux(*args: str) -> str:
        argv = ["tmux", "-S", socket_path, *args]
        return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=30).stdout

    try:
        wait_banner(lambda: socket.create_connection(("127.0.0.1", port), timeout=1.0), "sshd")
        subprocess.run(["tmux", "-S", socket_path, "-f", "/dev/null", "start-server", ";",
                        "set", "-g", "exit-empty", "off"], check=True, timeout=30)  # fmt: skip
        make_panes(site, tmux)
        yield site
    finally:
        subprocess.run(["tmux", "-S", socket_path, "kill-server"], capture_output=True, timeout=30)
        stop_brokers(Path(site.runtime))
        sshd.terminate()
        try:
            sshd.wait(10)
        except subprocess.TimeoutExpired:
            sshd.kill()
            sshd.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


def tcp_rtt_from(net: Any, ip: str, port: int, count: int = 15) -> float:
    """Median TCP connect time (one round trip: SYN, SYN-ACK) from the local namespace, in ms."""
    code = (
        "import socket,statistics,sys,time\n"
        "ts=[]\n"
        "for _ in range(int(sys.argv[3])):\n"
        "    t=time.perf_counter(); s=socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)\n"
        "    ts.append((time.perf_counter()-t)*1000); s.close(); time.sleep(0.02)\n"
        "print(statistics.median(ts))\n"
    )
    return float(net.local.python(code, ip, str(port), str(count)).stdout.strip())


@contextlib.contextmanager
def wireguard_site(n: int, rtt_ms: float, keep_rc: bool) -> Iterator[tuple[Site, Any, float]]:
    """The WgNetns topology, sshd and tmux in ``vps``, the relay set for ``rtt_ms``."""
    from tests.e2e.netns import WgNetns, sweep_stale

    workdir = new_workdir()
    sweep_stale()
    try:
        with WgNetns(workdir / "net") as net:
            host_key, client_key, authorized, known = keys(workdir, net.vps_ip, 22)
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
            config = sshd_config(workdir, host_key, authorized, net.vps_ip, 22, "root")
            net.vps.popen(sshd_argv(config, workdir, keep_rc))

            def connect() -> socket.socket:
                with net.local.entered():
                    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.settimeout(1.0)
                try:
                    sock.connect((net.vps_ip, 22))
                except OSError:
                    sock.close()
                    raise
                return sock

            wait_banner(connect, f"sshd on {net.vps_ip}")
            base = tcp_rtt_from(net, net.vps_ip, 22)
            net.set_delay(max((rtt_ms - base) / 2, 0.0))
            socket_path = str(workdir / "tmux.sock")
            site = Site("wireguard", net.vps_ip, 22, "root", str(client_key), str(known), socket_path,
                        str(workdir), str(workdir / "run"), n=n)  # fmt: skip
            Path(site.runtime).mkdir(mode=0o700)

            def tmux(*args: str) -> str:
                return net.vps.run(["tmux", "-S", socket_path, *args]).stdout

            try:
                net.vps.run(["tmux", "-S", socket_path, "-f", "/dev/null", "start-server", ";",
                             "set", "-g", "exit-empty", "off"])  # fmt: skip
                make_panes(site, tmux)
                measured = tcp_rtt_from(net, net.vps_ip, 22)
                yield site, net, measured
            finally:
                subprocess.run(["tmux", "-S", socket_path, "kill-server"], capture_output=True, timeout=30)
                stop_brokers(Path(site.runtime))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def stop_brokers(runtime: Path) -> None:
    """SIGTERM (by the PID each wrote) every broker whose socket lives under ``runtime``."""
    for pidfile in runtime.glob("agent-bridge/broker-*.sock.pid"):
        with contextlib.suppress(ValueError, ProcessLookupError, FileNotFoundError):
            os.kill(int(pidfile.read_text()), signal.SIGTERM)


def run_worker(site: Site, runner: Callable[[list[str]], subprocess.CompletedProcess[str]]) -> dict[str, Any]:
    """Run the measurements in a child process (``runner`` may put it in a namespace)."""
    config = Path(site.workdir) / "site.json"
    site.result_file = str(Path(site.workdir) / "result.json")
    config.write_text(json.dumps(asdict(site)))
    done = runner([sys.executable, str(Path(__file__).resolve()), "--worker", str(config)])
    if done.returncode != 0:
        raise RuntimeError(f"the {site.label} worker failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(Path(site.result_file).read_text())
    return result


# ------------------------------------------------------------------------------------------ worker


class Worker:
    """The measurements, run on the client side (in the local namespace for WireGuard)."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.n = site.n
        self.env = {**os.environ, "XDG_RUNTIME_DIR": site.runtime, "AGENT_BRIDGE_BROKER_IDLE": "600"}
        self.ctl = str(Path(site.workdir) / "cm")
        self.master: subprocess.Popen[bytes] | None = None
        self.seq = 0

    def token(self, kind: str) -> str:
        self.seq += 1
        return f"bx{kind}{self.seq:04d}{os.getpid() % 1000:03d}"

    # -- plain OpenSSH -----------------------------------------------------------------------

    def ssh_argv(self, *extra: str) -> list[str]:
        s = self.site
        return ["ssh", "-F", "/dev/null", "-p", str(s.port), "-l", s.user, "-i", s.key,
                "-o", "IdentitiesOnly=yes", "-o", f"UserKnownHostsFile={s.known_hosts}",
                "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
                "-o", "ConnectTimeout=10", *extra, s.host]  # fmt: skip

    def ssh_tmux(self, extra: list[str], *args: str) -> str:
        remote = shlex.join(["tmux", "-S", self.site.tmux_socket, *args])
        done = subprocess.run([*self.ssh_argv(*extra), remote], capture_output=True, text=True,
                              timeout=STEP_TIMEOUT)  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"ssh {remote[:60]}: exit {done.returncode}: {done.stderr.strip()}")
        return done.stdout

    @staticmethod
    def replied(screen: str, token: str) -> bool:
        """``TOKEN`` alone on a line, and the prompt back below it."""
        lines = [line.rstrip() for line in screen.splitlines()]
        for i, line in enumerate(lines):
            if line == token and any(rest == "$" for rest in lines[i + 1 :]):
                return True
        return False

    def polled_exchange(self, pane: str, extra: list[str], interval: float) -> float:
        token = self.token("p")
        began = time.perf_counter()
        self.ssh_tmux(extra, "send-keys", "-t", pane, "-l", f"echo {token}", ";",
                      "send-keys", "-t", pane, "Enter")  # fmt: skip
        deadline = began + STEP_TIMEOUT
        while time.perf_counter() < deadline:
            time.sleep(interval)
            if self.replied(self.ssh_tmux(extra, "capture-pane", "-p", "-J", "-t", pane), token):
                return (time.perf_counter() - began) * 1000
        raise RuntimeError(f"no reply to echo {token} in pane {pane}")

    def naive(self) -> dict[str, float]:
        pane = self.site.panes["naive"]
        self.polled_exchange(pane, [], NAIVE_POLL)  # warm-up (bash's first command)
        return stats([self.polled_exchange(pane, [], NAIVE_POLL) for _ in range(self.n)])

    def controlmaster(self) -> dict[str, float]:
        self.master = subprocess.Popen(
            self.ssh_argv("-o", "ControlMaster=yes", "-o", f"ControlPath={self.ctl}", "-N"),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while not Path(self.ctl).exists():
            if self.master.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the OpenSSH ControlMaster did not come up")
            time.sleep(0.02)
        extra = ["-o", "ControlMaster=no", "-o", f"ControlPath={self.ctl}"]
        pane = self.site.panes["cm"]
        self.polled_exchange(pane, extra, CM_POLL)
        return stats([self.polled_exchange(pane, extra, CM_POLL) for _ in range(self.n)])

    # -- the CLI -----------------------------------------------------------------------------

    def cli(self, *args: str, timeout: float = 120) -> tuple[float, subprocess.CompletedProcess[str]]:
        argv = [sys.executable, "-m", "bridge", "--config", self.site.registry, *args]
        began = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, env=self.env, cwd=REPO, timeout=timeout)
        return (time.perf_counter() - began) * 1000, done

    def cli_ask(self, agent: str) -> float:
        token = self.token("c")
        elapsed, done = self.cli("--json", "ask", agent, f"echo {token}", "--timeout", "30")
        if done.returncode != 0 or json.loads(done.stdout).get("reply", "").strip() != token:
            raise RuntimeError(f"CLI ask {agent}: exit {done.returncode}: {done.stderr.strip()[-300:]}")
        return elapsed

    def cli_exchanges(self) -> dict[str, float]:
        self.cli_ask("cli")  # starts the broker, opens its connection
        return stats([self.cli_ask("cli") for _ in range(self.n)])

    def cli_many(self) -> dict[str, Any]:
        """16 CLI processes at once (one per agent) through the one broker; then its memory."""
        argvs = []
        tokens = []
        for i in range(MANY):
            tokens.append(self.token("m"))
            argvs.append([sys.executable, "-m", "bridge", "--config", self.site.registry, "--json",
                          "ask", f"m{i:02d}", f"echo {tokens[-1]}", "--timeout", "60"])  # fmt: skip
        began = time.perf_counter()
        procs = [subprocess.Popen(a, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env,
                                  cwd=REPO) for a in argvs]  # fmt: skip
        failures = []
        try:
            for i, proc in enumerate(procs):
                out, err = proc.communicate(timeout=120)
                reply = json.loads(out).get("reply", "").strip() if proc.returncode == 0 else None
                if reply != tokens[i]:
                    failures.append(f"m{i:02d}: exit {proc.returncode}: {err.strip()[-200:]}")
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(10)
        total = (time.perf_counter() - began) * 1000
        rss = hwm = None
        for pidfile in Path(self.site.runtime).glob("agent-bridge/broker-*.sock.pid"):
            status = Path(f"/proc/{int(pidfile.read_text())}/status").read_text()
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            rss = int(fields["VmRSS"].split()[0]) / 1024
            hwm = int(fields["VmHWM"].split()[0]) / 1024
        return {"all_ms": round(total, 1), "failures": failures,
                "broker_rss_mb": rss and round(rss, 1), "broker_hwm_mb": hwm and round(hwm, 1)}  # fmt: skip

    # -- the Python API ----------------------------------------------------------------------

    async def api(self) -> dict[str, Any]:
        from bridge.api import Bridge
        from bridge.bench import prompt_14k

        out: dict[str, Any] = {}
        async with Bridge.from_config(self.site.registry) as bridge:

            async def ask(agent: str, prompt: str | None = None) -> str:
                token = self.token("a")
                reply = await bridge.ask(agent, prompt or f"echo {token}", timeout=60)
                if prompt is None and reply.reply.strip() != token:
                    raise RuntimeError(f"{agent} answered {reply.reply[:60]!r}, expected {token}")
                return reply.reply

            await ask("api")
            out["api"] = stats([await timed_ms(ask("api")) for _ in range(self.n)])

            driver = await bridge.driver("drv")

            async def drive() -> None:
                token = self.token("d")
                reply = await driver.ask(f"echo {token}", timeout=60)
                if reply.reply.strip() != token:
                    raise RuntimeError(f"drv answered {reply.reply[:60]!r}")

            await drive()
            out["driver"] = stats([await timed_ms(drive()) for _ in range(self.n)])

            out["prompt"] = await self.prompts(bridge, ask, prompt_14k)
            out["mb1"] = await self.one_mb(bridge)
            out["many"] = await self.many(bridge, ask)
            out["many"]["bare"] = await self.bare(bridge)
            from bridge.bench import measure

            log(f"{self.site.label}: `agent-bridge bench api` (bridge.bench.measure)")
            out["bench_cmd"] = await measure(bridge, "api", min(self.n, 10))
        return out

    async def prompts(
        self, bridge: Any, ask: Callable[..., Awaitable[str]], prompt_14k: Callable[[str], tuple[str, str]]
    ) -> dict[str, Any]:
        """14 KB vs short: asked through the shell (md5 of the 200 lines back), and delivered
        with real line feeds to the receiver (compared byte for byte)."""
        rounds = max(3, min(self.n, 7))
        short, big, size = [], [], 0
        await ask("big")
        for _ in range(rounds):
            short.append(await timed_ms(ask("big")))
            command, digest = prompt_14k(self.token("k"))
            size = len(command.encode())
            began = time.perf_counter()
            reply = await ask("big", command)
            big.append((time.perf_counter() - began) * 1000)
            if digest not in reply:
                raise RuntimeError(f"the 14 KB prompt did not arrive whole: {reply[-80:]!r}")
        lines = [f"{i:03d} " + "the quick brown fox jumps over the lazy dog " * 2 for i in range(199)]
        text_14k = "".join(line[:69] + "\n" for line in lines)  # + a 200th line: a unique token
        recv_short, recv_big, big_bytes = [], [], 0
        for _ in range(rounds):
            recv_short.append(await self.deliver(bridge, f"hello {self.token('r')}"))
            text = text_14k + f"{self.token('r')} " + "." * 49
            big_bytes = len(text.encode())
            recv_big.append(await self.deliver(bridge, text))
        s, b = statistics.median(short), statistics.median(big)
        rs, rb = statistics.median(recv_short), statistics.median(recv_big)
        return {
            "ask_short": stats(short), "ask_14k": stats(big), "ask_14k_bytes": size,
            "ask_14k_extra_ms": round(b - s, 2), "md5_ok": True,
            "deliver_short": stats(recv_short), "deliver_14k": stats(recv_big),
            "deliver_14k_bytes": big_bytes, "deliver_14k_extra_ms": round(rb - rs, 2),
            "deliver_exact": True,
        }  # fmt: skip

    async def deliver(self, bridge: Any, text: str, timeout: float = 60.0) -> float:
        """Bridge.send(text) to the receiver; ms until it has recorded the text, checked exactly."""
        out = Path(self.site.recv_out)
        start = out.stat().st_size if out.exists() else 0
        began = time.perf_counter()
        await bridge.send("recv", text)
        deadline = began + timeout
        while True:
            size = out.stat().st_size if out.exists() else 0
            if size > start:
                with out.open("rb") as handle:
                    handle.seek(start)
                    new = handle.read()
                if new.endswith(b"\n"):  # the receiver's whole JSON line is written
                    elapsed = (time.perf_counter() - began) * 1000
                    got = json.loads(new.splitlines()[0])["text"]
                    if got != text:
                        raise RuntimeError(f"the receiver got {len(got)} chars, not the {len(text)} sent")
                    return elapsed
            if time.perf_counter() > deadline:
                raise RuntimeError(f"the receiver did not record {len(text)} chars within {timeout}s")
            await asyncio.sleep(0.002)

    async def one_mb(self, bridge: Any) -> dict[str, Any]:
        line = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-élan-ünïcödé-" * 2
        text = ""
        i = 0
        while len(text.encode()) < 1_048_576:
            text += f"{i:05d} {line}\n"
            i += 1
        text = text.encode()[:1_048_576].decode(errors="ignore").rstrip("\n")
        times = [await self.deliver(bridge, text, timeout=120) for _ in range(2)]
        digest = hashlib.md5(text.encode()).hexdigest()
        return {"ms": round(min(times), 1), "all_ms": [round(t, 1) for t in times],
                "bytes": len(text.encode()), "exact": True, "md5": digest}  # fmt: skip

    async def many(self, bridge: Any, ask: Callable[..., Awaitable[str]]) -> dict[str, Any]:
        """16 agents asked at once over the one SSH connection, vs one; channels counted."""
        transport = bridge.pool.get("box", bridge.registry.host("box"))
        conn = await transport.connection()
        live = peak = opened = refused = 0
        original = conn.create_process

        async def counting(*args: Any, **kwargs: Any) -> Any:
            nonlocal live, peak, opened, refused
            try:
                proc = await original(*args, **kwargs)
            except Exception:
                refused += 1
                raise
            opened += 1
            live += 1
            peak = max(peak, live)

            def closed(_: Any) -> None:
                nonlocal live
                live -= 1

            asyncio.ensure_future(proc.wait_closed()).add_done_callback(closed)
            return proc

        conn.create_process = counting
        names = [f"m{i:02d}" for i in range(MANY)]
        failures: list[str] = []

        async def all_at_once() -> None:
            results = await asyncio.gather(*(ask(name) for name in names), return_exceptions=True)
            for name, result in zip(names, results, strict=True):
                if isinstance(result, BaseException):
                    failures.append(f"{name}: {type(result).__name__}: {result}")

        try:
            await all_at_once()  # warm-up: every pane resolved, every bash past its first command
            one = [await timed_ms(ask(names[0])) for _ in range(5)]
            together = [await timed_ms(all_at_once()) for _ in range(3)]
            # What one exchange costs the whole machine (this process, sshd, tmux, bash, and for
            # WireGuard the tunnel and relay), alone and 16 at once; and what it costs this process
            # when 16 run at once: one thread runs its event loop, so that CPU is spent in series.
            began = busy_core_s()
            for _ in range(CPU_ROUNDS):
                await ask(names[0])
            cpu_ms = (busy_core_s() - began) * 1000 / CPU_ROUNDS
            began, own = busy_core_s(), time.process_time()
            for _ in range(CPU_ROUNDS // 5):
                await all_at_once()
            asks = CPU_ROUNDS // 5 * MANY
            cpu_many_ms = (busy_core_s() - began) * 1000 / asks
            own_many_ms = (time.process_time() - own) * 1000 / asks
        finally:
            conn.create_process = original
        same = transport._conn is conn  # a refused channel would have made it reconnect
        o, t = statistics.median(one), statistics.median(together)
        floor = max(o, MANY * cpu_many_ms / (os.cpu_count() or 1), MANY * own_many_ms)
        return {"one": stats(one), "all": stats(together), "ratio": round(t / o, 2), "failures": failures,
                "peak_channels": peak, "channels_opened": opened, "channels_refused": refused,
                "one_connection": same, "cpu_ms_per_exchange": round(cpu_ms, 2),
                "cpu_ms_per_exchange_16": round(cpu_many_ms, 2),
                "own_cpu_ms_per_exchange_16": round(own_many_ms, 2),
                "cpu_floor_ratio": round(floor / o, 1)}  # fmt: skip

    async def bare(self, bridge: Any) -> dict[str, Any]:
        """The same 16-at-once exchange with nothing of agent-bridge but its control channel: type
        ``echo TOKEN`` + Enter, wake on ``%output``, capture until TOKEN and the prompt are back.
        No lock, no screen model, no reply reading: what tmux, sshd and the shells cost alone."""
        names = [f"m{i:02d}" for i in range(MANY)]
        panes = [(await bridge.pane(name)).pane_id for name in names]
        tmux = (await bridge.pane(names[0])).tmux
        channel = await tmux.control.channel()
        watchers = {pane: await channel.watch(pane) for pane in panes}

        async def exchange(pane: str) -> None:
            token = self.token("b")
            keys = [("send-keys", "-t", pane, "-l", f"echo {token}"), ("send-keys", "-t", pane, "Enter")]
            await channel.commands(keys)
            deadline = time.monotonic() + STEP_TIMEOUT
            while time.monotonic() < deadline:
                await watchers[pane].changed(1.0)
                shown = (await channel.command("capture-pane", "-p", "-J", "-t", pane)).stdout
                rows = shown.rstrip("\n").split("\n")
                if token in rows[-3:] and rows[-1].startswith("$"):
                    return
            raise RuntimeError(f"bare exchange: {token} did not come back in {pane}")

        async def at_once() -> None:
            await asyncio.gather(*(exchange(pane) for pane in panes))

        try:
            await at_once()
            one = [await timed_ms(exchange(panes[0])) for _ in range(self.n)]
            together = [await timed_ms(at_once()) for _ in range(max(3, self.n // 2))]
        finally:
            for watcher in watchers.values():
                watcher.close()
        o, t = statistics.median(one), statistics.median(together)
        return {"one": stats(one), "all": stats(together), "ratio": round(t / o, 2)}

    # -- run -------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        result: dict[str, Any] = {"label": self.site.label, "n": self.n}
        try:
            result["net_rtt_ms"] = round(self.tcp_rtt(), 3)
            log(f"{self.site.label}: network RTT {result['net_rtt_ms']} ms; (a) fresh ssh + 0.5 s polling")
            ex: dict[str, Any] = {"naive": self.naive()}
            log(f"{self.site.label}: (b) ControlMaster + 50 ms polling")
            ex["controlmaster"] = self.controlmaster()
            log(f"{self.site.label}: (c) agent-bridge API, 14 KB, 1 MB, {MANY} agents")
            api = asyncio.run(self.api())
            ex["api"], ex["driver"] = api.pop("api"), api.pop("driver")
            log(f"{self.site.label}: (c) agent-bridge CLI, {MANY} CLI calls at once, broker memory")
            ex["cli"] = self.cli_exchanges()
            result["exchange"] = ex
            result |= api
            result["cli_many"] = self.cli_many()
        finally:
            if self.master is not None:
                self.master.terminate()
                try:
                    self.master.wait(10)
                except subprocess.TimeoutExpired:
                    self.master.kill()
                    self.master.wait(10)
            stop_brokers(Path(self.site.runtime))
        return result

    def tcp_rtt(self, count: int = 15) -> float:
        times = []
        for _ in range(count):
            began = time.perf_counter()
            with socket.create_connection((self.site.host, self.site.port), timeout=5):
                times.append((time.perf_counter() - began) * 1000)
            time.sleep(0.02)
        return statistics.median(times)


def busy_core_s() -> float:
    """Core-seconds this machine has spent busy so far, all processes (``/proc/stat``)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


async def timed_ms(step: Awaitable[Any]) -> float:
    began = time.perf_counter()
    await step
    return (time.perf_counter() - began) * 1000


def worker_main(config: Path) -> None:
    site = Site(**json.loads(config.read_text()))
    os.environ["XDG_RUNTIME_DIR"] = site.runtime  # every broker started from here is ours to stop
    os.environ["AGENT_BRIDGE_BROKER_IDLE"] = "600"
    result = Worker(site).run()
    Path(site.result_file).write_text(json.dumps(result))


# ------------------------------------------------------------------------------------------ report


def targets(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def add(name: str, site: str, limit: float, value: float | None, unit: str = "ms") -> None:
        if value is None:
            return
        rows.append({"target": name, "site": site, "limit": round(limit, 1), "measured": round(value, 1),
                     "unit": unit, "met": value <= limit, "by": round(value - limit, 1)})  # fmt: skip

    for label, r in results.items():
        rtt = r["net_rtt_ms"]
        api = r["exchange"]["api"]["median"]
        if label == "wireguard":
            add(f"exchange (API) <= 2 RTT + 15 ms  [RTT {rtt:.1f}]", label, 2 * rtt + 15, api)
        else:
            add("exchange (API) <= 5 ms", label, 5.0, api)
        add(f"cold CLI ask, warm broker <= 2 RTT + 300 ms  [RTT {rtt:.1f}]", label, 2 * rtt + 300,
            r["exchange"]["cli"]["median"])  # fmt: skip
        add("14 KB ask: extra over short <= 1 RTT + 30 ms", label, rtt + 30, r["prompt"]["ask_14k_extra_ms"])
        add("14 KB delivery: extra over short <= 1 RTT + 30 ms", label, rtt + 30,
            r["prompt"]["deliver_14k_extra_ms"])  # fmt: skip
        if label == "loopback":
            add("1 MB prompt delivered <= 3 s", label, 3000, r["mb1"]["ms"])
        add(f"{MANY} agents at once <= 1.3 x one", label, 1.3, r["many"]["ratio"], "x")
        if r["cli_many"]["broker_rss_mb"] is not None:
            add(f"broker RSS with {MANY} agents <= 80 MB", label, 80, r["cli_many"]["broker_rss_mb"], "MB")
    return rows


def render(results: dict[str, dict[str, Any]], skipped: str | None, facts: dict[str, str]) -> str:
    sites = list(results)
    out = ["", "machine: " + ", ".join(f"{k} {v}" for k, v in facts.items())]
    head = f"{'exchange (echo TOKEN -> TOKEN + prompt back), median ms':<52}"
    for label in sites:
        head += f" {label + ' [RTT ' + format(results[label]['net_rtt_ms'], '.1f') + ']':>24} {'x API':>6}"
    out += ["", head]
    methods = [
        ("naive", "(a) fresh ssh per step + 0.5 s polling"),
        ("controlmaster", "(b) ControlMaster + 50 ms polling"),
        ("api", "(c) agent-bridge API (Bridge.ask, warm)"),
        ("driver", "    agent-bridge Driver.ask (no pane lock)"),
        ("cli", "    agent-bridge CLI (new process, warm broker)"),
    ]
    for key, label in methods:
        line = f"{label:<52}"
        for site in sites:
            ex = results[site]["exchange"]
            med = ex[key]["median"]
            line += f" {med:>24.1f} {med / ex['api']['median']:>6.1f}"
        out.append(line)
    out += ["", f"{'other measurements':<52}" + "".join(f" {s:>24} {'':>6}" for s in sites)]

    def row(label: str, get: Callable[[dict[str, Any]], Any]) -> None:
        line = f"{label:<52}"
        for site in sites:
            try:
                value = get(results[site])
            except (KeyError, TypeError):
                value = None
            text = "-" if value is None else f"{value:.1f}" if isinstance(value, float) else str(value)
            line += f" {text:>24} {'':>6}"
        out.append(line)

    row("ask short (shell), ms", lambda r: r["prompt"]["ask_short"]["median"])
    row("ask 14 KB (printf %b | md5sum, md5 checked), ms", lambda r: r["prompt"]["ask_14k"]["median"])
    row("  extra over short, ms", lambda r: r["prompt"]["ask_14k_extra_ms"])
    row("deliver short to receiver, ms", lambda r: r["prompt"]["deliver_short"]["median"])
    row("deliver 14 KB / 200 lines (byte-exact), ms", lambda r: r["prompt"]["deliver_14k"]["median"])
    row("  extra over short, ms", lambda r: r["prompt"]["deliver_14k_extra_ms"])
    row("deliver 1 MB (byte-exact), ms", lambda r: r["mb1"]["ms"])
    row(f"{MANY} agents: one ask, ms", lambda r: r["many"]["one"]["median"])
    row(f"{MANY} agents: all at once (API, one conn), ms", lambda r: r["many"]["all"]["median"])
    row("  ratio all / one", lambda r: r["many"]["ratio"])
    row("  failures", lambda r: len(r["many"]["failures"]))
    row("  CPU per exchange, whole machine, core-ms", lambda r: r["many"]["cpu_ms_per_exchange"])
    row(f"    the same, {MANY} at once", lambda r: r["many"]["cpu_ms_per_exchange_16"])
    row(f"    of it this process ({MANY} at once, one thread)",
        lambda r: r["many"]["own_cpu_ms_per_exchange_16"])  # fmt: skip
    row(f"  CPU floor for {MANY} at once on {os.cpu_count()} cores, x one",
        lambda r: r["many"]["cpu_floor_ratio"])  # fmt: skip
    row(f"  bare tmux protocol, {MANY} at once, x one", lambda r: r["many"]["bare"]["ratio"])
    row("  peak SSH channels open (sshd MaxSessions 10)", lambda r: r["many"]["peak_channels"])
    row("  still one SSH connection", lambda r: "yes" if r["many"]["one_connection"] else "NO")
    row(f"{MANY} CLI asks at once (16 processes), ms", lambda r: r["cli_many"]["all_ms"])
    row("  failures", lambda r: len(r["cli_many"]["failures"]))
    row("broker RSS after 16 agents, MB (peak)", lambda r: f"{r['cli_many']['broker_rss_mb']} "
        f"({r['cli_many']['broker_hwm_mb']})")  # fmt: skip
    row("bench: tmux round trip on the warm connection, ms", lambda r: r["bench_cmd"]["rtt_ms"])
    row("bench: connect (fresh Bridge + first command), ms", lambda r: r["bench_cmd"]["connect_ms"])
    row("bench: exchange (Bridge.ask) median, ms", lambda r: r["bench_cmd"]["exchange_ms"]["median"])
    row("bench: exchange / tmux round trip", lambda r: r["bench_cmd"]["in_rtt"]["exchange_ms"])
    row("bench: cold CLI ask, ms", lambda r: r["bench_cmd"]["cli_cold_ms"])
    row("bench: 14 KB prompt, ms", lambda r: r["bench_cmd"]["prompt_14k_ms"])
    out += ["", f"{'target':<58} {'site':<10} {'limit':>8} {'measured':>9}  result"]
    for t in targets(results):
        verdict = "met" if t["met"] else f"MISSED by {t['by']} {t['unit']}"
        out.append(f"{t['target']:<58} {t['site']:<10} {t['limit']:>8} {t['measured']:>9}  {verdict}")
    if skipped:
        out += ["", f"wireguard: skipped: {skipped}"]
    for site in sites:
        for what in ("many", "cli_many"):
            for failure in results[site][what]["failures"][:3]:
                out.append(f"{site} {what} failure: {failure}")
    return "\n".join(out)


def machine_facts() -> dict[str, str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "?")  # fmt: skip
    tmux = subprocess.run(["tmux", "-V"], capture_output=True, text=True, timeout=10).stdout.strip()
    ssh = subprocess.run(["ssh", "-V"], capture_output=True, text=True, timeout=10).stderr.strip()
    return {"nproc": str(os.cpu_count()), "cpu": cpu, "tmux": tmux, "python": sys.version.split()[0],
            "ssh": ssh.split(",")[0]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=20, help="samples per exchange method (default 20)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--no-wireguard", action="store_true", help="only the loopback sshd")
    parser.add_argument("--rtt-ms", type=float, default=TARGET_RTT_MS, help="WireGuard round trip to set up")
    parser.add_argument("--keep-rc", action="store_true",
                        help="let sshd's shell source ~/.bashrc (as root it is hidden from sshd by default)")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(args.worker)
        return
    if not (shutil.which("tmux") and shutil.which("ssh") and Path("/usr/sbin/sshd").exists()):
        sys.exit("bench: needs tmux, ssh and /usr/sbin/sshd (apt-get install tmux openssh-server)")
    n = max(1, min(args.n, 500))
    results: dict[str, dict[str, Any]] = {}
    log(f"loopback sshd, {n} samples per method")
    with loopback_site(n, args.keep_rc) as site:
        results["loopback"] = run_worker(site, lambda argv: subprocess.run(
            argv, capture_output=True, text=True, cwd=REPO, timeout=WORKER_TIMEOUT))  # fmt: skip
    skipped: str | None = None
    if args.no_wireguard:
        skipped = "--no-wireguard"
    else:
        from tests.e2e.netns import preflight

        skipped = preflight()
    if skipped is None:
        log(f"WireGuard between namespaces, relay set for a {args.rtt_ms:g} ms round trip")
        with wireguard_site(n, args.rtt_ms, args.keep_rc) as (site, net, measured):
            log(f"wireguard: TCP round trip through the tunnel {measured:.1f} ms")
            results["wireguard"] = run_worker(site, lambda argv: net.local.run(
                argv, timeout=WORKER_TIMEOUT, check=False, cwd=REPO))  # fmt: skip
    else:
        log(f"WireGuard part skipped: {skipped}")
    facts = machine_facts()
    cost = rc_cost_ms()
    if cost is not None:
        hidden = "kept" if args.keep_rc or os.geteuid() != 0 else "hidden from sshd"
        facts["~/.bashrc"] = f"{cost:g} ms per command ({hidden})"
    if args.json:
        print(json.dumps({"machine": facts, "results": results, "targets": targets(results),
                          "wireguard_skipped": skipped}, indent=2))  # fmt: skip
    else:
        print(render(results, skipped, facts))


if __name__ == "__main__":
    main()
