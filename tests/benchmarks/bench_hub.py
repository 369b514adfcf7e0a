"""The hub, measured: wake latency, messages accepted per second (SQLite, PostgreSQL), and the CPU a
hub spends watching idle agents.

    python tests/benchmarks/bench_hub.py            # all three, a few minutes
    python tests/benchmarks/bench_hub.py --json
    python tests/benchmarks/bench_hub.py --agents 50 --messages 3000 --wakes 40

Everything runs on this machine: a private tmux server with demo agents, the hub as its own
process (``agent-bridge hub serve`` on 127.0.0.1), a throwaway PostgreSQL cluster; all stopped by
PID or socket at the end. It prints numbers and the targets; it never fails on time.

* **wake**: message accepted (the HTTP answer to ``msg send``) -> the wake line submitted in an idle
  demo pane (the demo agent's own prompt log). The bridge's own part of that is the same typing
  done directly (``Bridge.send`` of a line of the same length: paste, the profile's 100 ms gap,
  Enter), measured on the same pane; the difference is the hub's (goal: <= 100 ms).
* **accepted/s**: ``POST /api/messages`` from 16 concurrent clients (goal: >= 1,000/s on SQLite).
* **watching**: the hub's CPU time (utime + stime from /proc) over 30 s with N idle demo agents.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.helpers.fixtures import free_port  # noqa: E402
from tests.helpers.postgres import start_postgres  # noqa: E402


class Setup:
    def __init__(self, root: Path, agents: int, store: str) -> None:
        self.root = root
        self.socket = str(root / "tmux.sock")
        self.port = free_port()
        self.env = {
            **os.environ,
            "XDG_RUNTIME_DIR": str(root / "run"),
            "XDG_STATE_HOME": str(root / "state"),
            "AGENT_BRIDGE_NO_BROKER": "1",
        }
        (root / "run").mkdir(mode=0o700, exist_ok=True)
        self.names = [f"a{n:02d}" for n in range(agents)]
        self.logs = {name: root / f"{name}.jsonl" for name in self.names}
        for n, name in enumerate(self.names):
            command = f"{sys.executable} -m bridge.demo --delay 0.05 --log {self.logs[name]}"
            size = ["-x", "150", "-y", "40"] if n == 0 else []
            verb = (
                ["new-session", "-d", "-s", "agents", *size]
                if n == 0
                else ["new-window", "-d", "-t", "agents:"]
            )
            subprocess.run(
                ["tmux", "-S", self.socket, "-f", "/dev/null", *verb, "-n", name, command],
                check=True,
                cwd=REPO,
            )
        lines = [
            "[hub]",
            f'listen = "127.0.0.1:{self.port}"',
            f'store = "{store}"',
            "[hosts.here]",
            "local = true",
            f'tmux_socket = "{self.socket}"',
        ]
        for name in [*self.names, "sink"]:
            target = "nowhere:0.0" if name == "sink" else f"agents:{name}.0"
            lines += [
                f"[agents.{name}]",
                'host = "here"',
                f'target = "{target}"',
                'profile = "demo"',
                "wake_budget = 1000",
            ]
        self.registry = root / "registry.toml"
        self.registry.write_text("\n".join(lines) + "\n")
        self.url = f"http://127.0.0.1:{self.port}"
        self.hub: subprocess.Popen[bytes] | None = None
        time.sleep(1.5)  # the demo agents draw their first screen

    def cli(self, *args: str, token: str | None = None) -> str:
        env = dict(self.env) | ({"AGENT_BRIDGE_TOKEN": token} if token else {})
        done = subprocess.run(
            [sys.executable, "-m", "bridge", "--config", str(self.registry), *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            check=True,
        )
        return done.stdout.strip()

    def start_hub(self) -> int:
        self.hub = subprocess.Popen(
            [sys.executable, "-m", "bridge", "--config", str(self.registry), "hub", "serve"],
            env=self.env,
            cwd=REPO,
            stderr=open(self.root / "hub.log", "wb"),  # noqa: SIM115
        )
        for _ in range(1200):  # 60 s: 50 agents' first looks on a busy machine
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return self.hub.pid
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"the hub did not start: {(self.root / 'hub.log').read_text()[-2000:]}")

    def close(self) -> None:
        if self.hub is not None:
            self.hub.terminate()
            self.hub.wait(10)
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True)


def wakes(path: Path) -> int:
    return path.read_text().count("[wake ") if path.exists() else 0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def bridge_typing(setup: Setup, agent: str, length: int, n: int) -> list[float]:
    from bridge.api import Bridge
    from bridge.config.registry import Registry

    times = []
    async with Bridge(Registry.load(setup.registry)) as bridge:
        for _ in range(n):
            await asyncio.sleep(0.3)  # the demo agent answers the previous line first
            start = time.perf_counter()
            await bridge.send(agent, "x" * length)
            times.append((time.perf_counter() - start) * 1000)
    return times


def bench_wake(setup: Setup, rounds: int) -> dict[str, float]:
    alice, bob = setup.cli("hub", "token", setup.names[0]), setup.cli("hub", "token", setup.names[1])
    log = setup.logs[setup.names[1]]
    latencies = []
    with httpx.Client(base_url=setup.url, timeout=30) as client:
        for n in range(rounds):
            before = wakes(log)
            start = time.perf_counter()
            sent = client.post(
                "/api/messages",
                json={"to": setup.names[1], "subject": f"r{n}", "body": "x"},
                headers={"Authorization": f"Bearer {alice}"},
            )
            accepted = time.perf_counter()
            sent.raise_for_status()
            while wakes(log) == before:
                if time.perf_counter() - start > 10:
                    raise RuntimeError("no wake within 10 s")
                time.sleep(0.002)
            latencies.append((time.perf_counter() - accepted) * 1000)
            client.post(f"/api/messages/{sent.json()['id']}/read", headers={"Authorization": f"Bearer {bob}"})
            time.sleep(0.4)  # the demo agent answers the wake line; idle again
    length = len(log.read_text().splitlines()[-1])
    typing = asyncio.run(bridge_typing(setup, setup.names[2], length, min(rounds, 20)))
    return {
        "wake_median_ms": statistics.median(latencies),
        "wake_p99_ms": percentile(latencies, 0.99),
        "bridge_typing_median_ms": statistics.median(typing),
        "hub_overhead_ms": statistics.median(latencies) - statistics.median(typing),
    }


async def post_loop(port: int, token: str, bodies: list[bytes]) -> None:
    """POST each body on one kept-alive connection: a bare HTTP/1.1 client (asyncio streams), so
    that the load generator costs far less CPU than the hub it loads (httpx costs ~1 ms a request,
    which on 2 cores measured the client, not the hub)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        "POST /api/messages HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: "
    ).encode()
    try:
        for body in bodies:
            writer.write(head + str(len(body)).encode() + b"\r\n\r\n" + body)
            status = await reader.readline()
            if b" 200 " not in status:
                raise RuntimeError(f"the hub answered {status!r}")
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
    finally:
        writer.close()


async def bench_accept(setup: Setup, messages: int, clients: int = 16) -> float:
    """Messages accepted per second: ``clients`` connections posting at once."""
    token = setup.cli("hub", "token", setup.names[0])
    per = messages // clients
    bodies = [json.dumps({"to": "sink", "subject": "load", "body": f"m{n}"}).encode() for n in range(per)]
    await post_loop(setup.port, token, bodies[:50])  # warm
    start = time.perf_counter()
    await asyncio.gather(*(post_loop(setup.port, token, bodies) for _ in range(clients)))
    return per * clients / (time.perf_counter() - start)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--agents", type=int, default=50, help="idle demo agents for the watching test")
    parser.add_argument("--messages", type=int, default=3200, help="messages for accepted/s")
    parser.add_argument("--wakes", type=int, default=40, help="wake rounds")
    parser.add_argument("--watch-s", type=float, default=30.0, help="seconds of watching")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="ab-bench-hub-") as tmp:
        root = Path(tmp)
        (root / "sqlite").mkdir()
        setup = Setup(root / "sqlite", 3, str(root / "sqlite" / "hub.db"))
        try:
            setup.start_hub()
            results["wake"] = bench_wake(setup, args.wakes)
            results["accepted_per_s_sqlite"] = asyncio.run(bench_accept(setup, args.messages))
        finally:
            setup.close()
        cluster = start_postgres()
        try:
            (root / "pg").mkdir()
            setup = Setup(root / "pg", 3, cluster.create_database())
            try:
                setup.start_hub()
                results["accepted_per_s_postgresql"] = asyncio.run(bench_accept(setup, args.messages))
            finally:
                setup.close()
        finally:
            cluster.stop()
        (root / "many").mkdir()
        setup = Setup(root / "many", args.agents, str(root / "many" / "hub.db"))
        try:
            pid = setup.start_hub()
            time.sleep(5)  # first looks at every agent
            before, start = cpu_seconds(pid), time.monotonic()
            time.sleep(args.watch_s)
            used = cpu_seconds(pid) - before
            results["watching"] = {
                "agents": args.agents,
                "cpu_share_percent": 100 * used / (time.monotonic() - start),
            }
        finally:
            setup.close()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    wake = results["wake"]
    assert isinstance(wake, dict)
    print(
        f"wake: accepted -> submitted median {wake['wake_median_ms']:.0f} ms, "
        f"p99 {wake['wake_p99_ms']:.0f} ms; "
        f"the bridge's own typing {wake['bridge_typing_median_ms']:.0f} ms; "
        f"the hub's part {wake['hub_overhead_ms']:.0f} ms (goal <= 100)"
    )
    print(
        f"accepted: SQLite {results['accepted_per_s_sqlite']:.0f}/s (goal >= 1000), "
        f"PostgreSQL {results['accepted_per_s_postgresql']:.0f}/s"
    )
    watching = results["watching"]
    assert isinstance(watching, dict)
    print(f"watching {watching['agents']} idle agents: {watching['cpu_share_percent']:.1f}% of one core")


if __name__ == "__main__":
    main()
