"""The swarm's own cost: a 200-task PLAN.md over 16 local demo workers answering at once.

    python tests/benchmarks/bench_swarm.py [--tasks 200] [--workers 16] [--json]

Sixteen demo agents (``--delay 0``) in a private tmux server (its own socket, killed at the end)
are brought up by :func:`bridge.fleet.up`; the runner (:class:`bridge.swarm.runner.Swarm`, as
``swarm run`` runs it, with its SQLite ledger next to the plan) works through the plan. Measured:

* total wall time, and the sum of the workers' busy time (each attempt from its lease to its
  reply, from the ledger): how well the pool is kept busy (utilisation = busy / (wall × workers));
* per task: the attempt's time against one plain ``ask`` of the same kind on a warm bridge (the
  exchange itself, measured before on each worker); the difference is the swarm's dispatch
  overhead (lease, events, tick, the ledger's writes), also shown in round trips of the pane's
  host (the median exchange over loopback is a few of those).

Not a pytest test. Everything runs on this machine; nothing is left running.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bridge.api import Bridge  # noqa: E402
from bridge.config.registry import Registry  # noqa: E402
from bridge.fleet import up  # noqa: E402
from bridge.hub.store.engine import open_store  # noqa: E402
from bridge.swarm.runner import Options, Swarm  # noqa: E402
from bridge.swarm.state import Ledger, local_store  # noqa: E402

SHELL = shlex.join(["env", "PS1=$ ", "HISTFILE=/dev/null", "bash", "--norc", "--noprofile"])


def registry_text(socket: str, workers: int, logs: Path) -> str:
    demo = f"{sys.executable} -m bridge.demo --delay 0 --session-id {{session_id}}"
    lines = ["[hosts.here]", "local = true", f'tmux_socket = "{socket}"']
    for i in range(workers):
        lines += [f"[agents.w{i}]", 'host = "here"', f'target = "bench:w{i}.0"', 'profile = "demo"',
                  f'start = "{demo} --log {logs}/w{i}.jsonl"', f'cwd = "{logs}"']  # fmt: skip
    lines += ["[groups]", "pool = [" + ", ".join(f'"w{i}"' for i in range(workers)) + "]"]
    return "\n".join(lines) + "\n"


async def bench(tasks: int, workers: int, work: Path, socket: str) -> dict[str, Any]:
    registry_path = work / "registry.toml"
    registry_path.write_text(registry_text(socket, workers, work))
    async with Bridge(Registry.from_cli(str(registry_path)), hooks=False) as bridge:
        rows = await up(bridge, ["pool"], timeout=60)
        assert all("error" not in row for row in rows), rows
        names = [row["agent"] for row in rows]
        plain = []
        for name in names:  # warm each worker's pane and lock; then one plain exchange each
            await bridge.ask(name, "warm up")
            began = time.perf_counter()
            await bridge.ask(name, "Write section 0 of the report")
            plain.append(time.perf_counter() - began)
        plan = work / "PLAN.md"
        plan.write_text(
            "# Report\n" + "".join(f"- [ ] Write section {n} of the report\n" for n in range(1, tasks + 1))
        )
        store = await open_store(str(local_store(plan)), owner=False)
        try:
            swarm = Swarm(bridge, plan, Ledger(store.engine, plan), Options(workers=("pool",), timeout=60))
            began = time.perf_counter()
            done = await swarm.run()
            wall = time.perf_counter() - began
        finally:
            await store.close()
        rtt = (await bridge.check_host("here"))["rtt_ms"] / 1000
    attempts = [row.finished_at - row.started_at for row in done if row.finished_at and row.started_at]
    busy = sum(attempts)
    exchange = statistics.median(plain)
    per_task = statistics.median(attempts)
    return {
        "tasks": tasks, "workers": workers, "done": sum(row.state == "done" for row in done),
        "ticked": plan.read_text().count("- [x] "),
        "wall_s": round(wall, 2), "busy_s": round(busy, 2),
        "utilisation": round(busy / (wall * workers), 3),
        "tasks_per_s": round(tasks / wall, 1),
        "exchange_ms": round(exchange * 1000, 1), "attempt_ms": round(per_task * 1000, 1),
        "overhead_ms": round((per_task - exchange) * 1000, 1),
        "idle_between_tasks_ms": round((wall * workers - busy) / tasks * 1000, 1),
        "rtt_ms": round(rtt * 1000, 2),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ab-swarm-bench-"))
    socket = str(work / "tmux.sock")
    subprocess.run(["tmux", "-S", socket, "-f", "/dev/null", "start-server", ";", "set", "-g", "exit-empty",
                    "off", ";", "set", "-g", "default-command", SHELL], check=True)  # fmt: skip
    try:
        result = asyncio.run(bench(args.tasks, args.workers, work, socket))
    finally:
        subprocess.run(["tmux", "-S", socket, "kill-server"], capture_output=True, timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(result))
        return
    print(f"{result['tasks']} tasks over {result['workers']} demo workers (--delay 0), all on this machine")
    print(f"  done and ticked         {result['done']} / {result['ticked']}")
    print(f"  wall time               {result['wall_s']} s ({result['tasks_per_s']} tasks/s)")
    print(f"  workers' busy time      {result['busy_s']} s (utilisation {result['utilisation']:.0%})")
    print(f"  one plain ask (median)  {result['exchange_ms']} ms")
    print(f"  one swarm attempt       {result['attempt_ms']} ms (overhead {result['overhead_ms']} ms, "
          f"round trip {result['rtt_ms']} ms)")  # fmt: skip
    print(f"  idle between tasks      {result['idle_between_tasks_ms']} ms per task")


if __name__ == "__main__":
    main()
