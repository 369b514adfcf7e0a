"""Soak: many exchanges through the demo agent over a real WireGuard tunnel, link cut at random.

    sudo python tests/benchmarks/soak.py [--n 1000] [--cuts 5] [--cut-seconds 2]

Builds the "local"/"vps" network namespaces with wireguard-go (tests/e2e/netns.py), runs sshd and
the demo agent (with --log) on the VPS side, and asks N questions from the local side through one
long-lived Bridge, while a timer takes the tunnel down for a few seconds at random moments. Prints
how many prompts were lost (an ask reported success but the agent never got it, or an ask failed
without the agent getting it) and doubled (the agent got one twice): both must be 0, and the
bridge's resident memory at the start and end (should stay flat). Not a unit test: no assertions
on time; exit status 1 if anything was lost or doubled.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bridge.api import Bridge  # noqa: E402
from bridge.config.registry import Registry  # noqa: E402
from bridge.errors import BridgeError  # noqa: E402
from tests.e2e.netns import WgNetns, preflight, wg_netns  # noqa: E402
from tests.e2e.test_wireguard_e2e import Remote, _start_remote  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cut_link(net: WgNetns, seconds: float) -> None:
    net.tunnel_down()
    time.sleep(seconds)
    net.tunnel_up()


async def soak(remote: Remote, log: Path, n: int, cuts: int, cut_seconds: float) -> int:
    cut_at = set(random.sample(range(5, n), min(cuts, max(n - 5, 0))))
    sent: list[str] = []
    errors: list[str] = []
    async with Bridge(Registry.load(remote.registry)) as bridge:
        await bridge.ask("demo", "warm up", timeout=60)
        rss_start = rss_mb()
        began = time.monotonic()
        for i in range(n):
            if i in cut_at:
                delay = random.uniform(0.0, 0.4)
                threading.Timer(delay, cut_link, (remote.net, cut_seconds)).start()
            prompt = f"soak {i}"
            try:
                reply = await bridge.ask("demo", prompt, timeout=60)
                if reply.reply != f"MOCK-REPLY: {prompt}":
                    errors.append(f"{prompt}: wrong reply {reply.reply!r}")
            except BridgeError as error:
                errors.append(f"{prompt}: {error}")
                for _ in range(100):  # let the agent finish before the next prompt
                    try:
                        if (await bridge.state("demo")).state.value == "idle":
                            break
                    except BridgeError:
                        pass
                    await asyncio.sleep(0.3)
            sent.append(prompt)
            if (i + 1) % 100 == 0:
                print(f"  {i + 1}/{n}  {time.monotonic() - began:.0f}s  rss {rss_mb():.1f} MB", flush=True)
        rss_end = rss_mb()
    received = [json.loads(line)["prompt"] for line in log.read_text().splitlines()]
    counts = Counter(received)
    lost = [p for p in sent if counts[p] == 0]
    doubled = [p for p, c in counts.items() if c > 1]
    print(f"exchanges {n}, link cuts {len(cut_at)} x {cut_seconds:g}s, errors reported {len(errors)}")
    for line in errors[:10]:
        print(f"  error: {line}")
    print(f"lost {len(lost)} {lost[:5]}, doubled {len(doubled)} {doubled[:5]}")
    print(f"bridge RSS: start {rss_start:.1f} MB, end {rss_end:.1f} MB")
    return 1 if lost or doubled else 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--cuts", type=int, default=5)
    parser.add_argument("--cut-seconds", type=float, default=2.0)
    ns = parser.parse_args()
    # Stopped with SIGTERM: unwind normally so the namespaces and their processes are removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    reason = preflight()
    if reason:
        print(f"soak skipped: {reason}")
        return 0
    with tempfile.TemporaryDirectory(prefix="ab-soak-") as tmp:
        work = Path(tmp)
        log = work / "prompts.jsonl"
        with wg_netns(work / "net") as net:
            remote = _start_remote(net, work / "vps", demo_args=f"--delay 0 --log {log}")
            with net.local.entered():
                return asyncio.run(soak(remote, log, ns.n, ns.cuts, ns.cut_seconds))


if __name__ == "__main__":
    sys.exit(main())
