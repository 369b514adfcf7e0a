"""`agent-bridge swarm run PLAN.md`: a checklist fanned out to four demo workers (2x2 in one window
of a private tmux server, one of them reached through the real sshd). The workers' own logs are the
ground truth: every prompt they got, once per attempt."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.fixtures import REPO, Sshd, TmuxServer, local_host_toml, run_cli, wait_for

pytestmark = pytest.mark.integration

WORKERS = ("w1", "w2", "w3", "w4")  # w4 through the sshd


@dataclass
class Fleet:
    registry: Path
    logs: Path
    tmp: Path
    tmux: TmuxServer

    def prompts(self, worker: str | None = None) -> list[str]:
        """Every prompt the workers (or one) got, from their logs."""
        found = []
        for name in [worker] if worker else WORKERS:
            log = self.logs / f"{name}.jsonl"
            if log.exists():
                found += [json.loads(line)["prompt"] for line in log.read_text().splitlines() if line.strip()]
        return found

    def who_got(self, text: str) -> list[str]:
        return [name for name in WORKERS for prompt in self.prompts(name) if text in prompt]

    def swarm(self, plan: Path, *args: str) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-m", "bridge", "--config", str(self.registry), "--json", "swarm", "run",
                str(plan), "--workers", "pool", *args]  # fmt: skip
        return subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def run(self, plan: Path, *args: str, timeout: float = 240) -> tuple[int, Any, str]:
        proc = self.swarm(plan, *args)
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, json.loads(out or b"null"), err.decode()

    def agent_pid(self, worker: str) -> int:
        """The demo agent's PID: the child of the worker pane's shell."""
        target = f"swarm:grid.{WORKERS.index(worker)}"
        shell = self.tmux.tmux("display-message", "-p", "-t", target, "#{pane_pid}").stdout.strip()
        children = subprocess.run(["ps", "-o", "pid=", "--ppid", shell], capture_output=True, text=True)
        return int(children.stdout.split()[0])


@pytest.fixture
def fleet(sshd: Sshd, tmux_server: TmuxServer, make_registry: Callable[..., Path], tmp_path: Path
          ) -> Iterator[Fleet]:  # fmt: skip
    logs = tmp_path / "logs"
    logs.mkdir()

    def agent(name: str, host: str, index: int) -> str:
        demo = f"agent-bridge-demo --delay 0.2 --log {logs / name}.jsonl --session-id {{session_id}}"
        return "\n".join([f"[agents.{name}]", f'host = "{host}"', f'target = "swarm:grid.{index}"',
                          'profile = "demo"', f'start = "{demo}"', f'resume = "{demo}"',
                          f'cwd = "{tmp_path}"', 'restart = "auto"']) + "\n"  # fmt: skip

    registry = make_registry(
        local_host_toml("here", tmux_server.socket),
        sshd.host_toml("vps", tmux_socket=tmux_server.socket),
        *(agent(name, "here" if name != "w4" else "vps", i) for i, name in enumerate(WORKERS)),
        '[groups]\npool = ["w1", "w2", "w3", "w4"]\n',
        '[windows."swarm:grid"]\nlayout = "tiled"\n',
    )
    up = run_cli("--config", str(registry), "--json", "up", timeout=180)
    assert up.returncode == 0, up.stderr.decode()
    yield Fleet(registry, logs, tmp_path, tmux_server)


def plan_text(tasks: list[str]) -> str:
    body = "\n".join(f"- [ ] {task}" for task in tasks)
    return f"# Docs\n\nSome intro.\n\n## Work\n{body}\n\n## Notes\nKeep this line.\n"


def test_twelve_tasks_once_each_a_worker_killed_a_persons_edit_kept(fleet: Fleet) -> None:
    tasks = [f"Write chapter {n}" for n in range(1, 12)] + ["Write the long chapter delay3"]
    plan = fleet.tmp / "PLAN.md"
    plan.write_text(plan_text(tasks))
    proc = fleet.swarm(plan, "--timeout", "60")
    # The long task: its worker is killed (-9) while on it.
    victim = wait_for(lambda: (fleet.who_got("delay3") or [None])[0], timeout=120)
    os.kill(fleet.agent_pid(victim), signal.SIGKILL)
    # A person edits the plan meanwhile: a line of their own, kept whatever the swarm ticks.
    plan.write_text(plan.read_text().replace("Some intro.", "Some intro, edited by a person."))
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err.decode()
    result = json.loads(out)
    assert (result["done"], result["failed"]) == (12, 0)
    # Each task went to exactly one worker, once; the killed one's task once more, elsewhere.
    sent = Counter(fleet.prompts())
    assert {task: sent[task] for task in tasks[:-1]} == dict.fromkeys(tasks[:-1], 1)
    assert sent[tasks[-1]] == 2
    got = fleet.who_got("delay3")
    assert len(got) == 2 and victim in got
    second = next(name for name in got if name != victim)
    by_task = {row["task"]: row for row in result["tasks"]}
    assert (by_task[tasks[-1]]["attempts"], by_task[tasks[-1]]["worker"]) == (2, second)
    # The worker was restarted: idle again.
    states = json.loads(run_cli("--config", str(fleet.registry), "--json", "status", "pool").stdout)
    assert {row["agent"]: row["state"] for row in states} == dict.fromkeys(WORKERS, "idle")
    # Every item ticked with its worker; every other byte as the person left it.
    final = plan.read_text()
    expected = plan_text(tasks).replace("Some intro.", "Some intro, edited by a person.")
    for task in tasks:
        line = next(line for line in final.splitlines() if f"] {task}" in line)
        assert line.startswith(f"- [x] {task} <!-- done by {by_task[task]['worker']} at ")
        final = final.replace(line, f"- [ ] {task}")
    assert final == expected


def test_a_killed_swarm_rerun_sends_nothing_twice(fleet: Fleet) -> None:
    tasks = [f"Part {n} delay2" for n in range(1, 9)]
    plan = fleet.tmp / "PLAN.md"
    plan.write_text(plan_text(tasks))
    proc = fleet.swarm(plan, "--timeout", "60")
    wait_for(lambda: len(fleet.prompts()) >= 4, timeout=120)  # four workers on a task each
    code, _, err = fleet.run(plan)  # a second swarm on the same plan is refused
    assert code == 2 and "another swarm (pid " in err and "is running the plan" in err, err
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    code, result, err = fleet.run(plan, "--timeout", "60")
    assert code == 0, err
    assert result["done"] == 8
    assert err.count("(leased before the swarm stopped)") >= 1, err  # found on their workers, waited for
    assert Counter(fleet.prompts()) == Counter(tasks)  # each one prompt, across both runs
    assert plan.read_text().count("- [x] ") == 8
    code, again, err = fleet.run(plan)  # a third run: nothing to do, nothing sent
    assert code == 0 and again["done"] == 8, err
    assert len(fleet.prompts()) == 8
    status = run_cli("--config", str(fleet.registry), "--json", "swarm", "status", str(plan))
    assert [row["state"] for row in json.loads(status.stdout)["tasks"]] == ["done"] * 8


def test_a_task_that_always_times_out_fails_with_its_reason(fleet: Fleet) -> None:
    plan = fleet.tmp / "PLAN.md"
    plan.write_text(plan_text(["Quick one", "Endless delay40"]))
    code, result, err = fleet.run(plan, "--timeout", "3", "--attempts", "2")
    assert code == 1, err
    by_task = {row["task"]: row for row in result["tasks"]}
    assert by_task["Quick one"]["state"] == "done"
    endless = by_task["Endless delay40"]
    assert (endless["state"], endless["attempts"]) == ("failed", 2)
    assert len(set(fleet.who_got("Endless"))) == 2  # retried on another worker
    line = next(line for line in plan.read_text().splitlines() if "Endless" in line)
    assert line == "- [ ] Endless delay40 <!-- failed: timeout after 3 s (after 2 attempts) -->"


def test_done_files_are_checked_on_the_workers_host(fleet: Fleet) -> None:
    plan = fleet.tmp / "PLAN.md"
    plan.write_text(plan_text(["Task one", "Task two"]))
    (fleet.tmp / "done").mkdir()
    (fleet.tmp / "done" / "1.done").write_text("")  # task one's worker "wrote" it; task two's did not
    code, result, err = fleet.run(plan, "--workers", "w4", "--done-file", "done/{n}.done", "--attempts", "1")
    assert code == 1, err
    by_task = {row["task"]: row for row in result["tasks"]}
    assert (by_task["Task one"]["state"], by_task["Task one"]["worker"]) == ("done", "w4")
    assert by_task["Task two"]["state"] == "failed"
    assert "no done file done/2.done" in by_task["Task two"]["reason"]
    assert "create the file done/1.done" in fleet.prompts("w4")[0]
    assert "<!-- failed: replied, but no done file done/2.done (after 1 attempts) -->" in plan.read_text()
    # The worker's file appears; a rerun gives the failed task a new attempt, and only it.
    (fleet.tmp / "done" / "2.done").write_text("")
    code, result, err = fleet.run(plan, "--workers", "w4", "--done-file", "done/{n}.done", "--attempts", "1")
    assert code == 0 and result["done"] == 2, err
    sent = fleet.prompts("w4")
    assert [sum("Task one" in p for p in sent), sum("Task two" in p for p in sent)] == [1, 2]
    assert "failed" not in plan.read_text() and plan.read_text().count("- [x] Task") == 2


def test_a_permission_question_is_answered_no_and_the_task_fails(fleet: Fleet) -> None:
    plan = fleet.tmp / "PLAN.md"
    plan.write_text(plan_text(["Please run rm -rf build", "Say hello"]))
    code, result, err = fleet.run(plan, "--permissions", "deny", "--attempts", "2")
    assert code == 1, err
    by_task = {row["task"]: row for row in result["tasks"]}
    assert by_task["Say hello"]["state"] == "done"
    asked = by_task["Please run rm -rf build"]
    assert (asked["state"], asked["attempts"]) == ("failed", 2)
    assert asked["reason"].startswith("permission denied: ")
    assert len(set(fleet.who_got("rm -rf build"))) == 2
    assert "<!-- failed: permission denied: " in plan.read_text()
    states = json.loads(run_cli("--config", str(fleet.registry), "--json", "status", "pool").stdout)
    assert {row["state"] for row in states} == {"idle"}  # nobody left at the question


def test_a_malformed_plan_is_one_line_exit_2(fleet: Fleet) -> None:
    plan = fleet.tmp / "PLAN.md"
    plan.write_bytes(b"# Nothing to do\n\nJust prose.\n")
    code, _, err = fleet.run(plan)
    line = f"agent-bridge: error: the plan {plan} has no tasks (tasks are list items: - [ ] what to do)"
    assert code == 2 and err.strip().splitlines() == [line]
    assert not (fleet.tmp / ".PLAN.md.swarm.db").exists()
    assert fleet.prompts() == []


def test_the_hubs_log_and_report_agree_with_the_workers_logs(
    make_hub: Callable[..., Any], tmp_path: Path
) -> None:
    hub = make_hub(str(tmp_path / "hub.db"), delay=0.2)
    hub.start()
    try:
        hub.mint("admin")
        plan = tmp_path / "PLAN.md"
        plan.write_text(plan_text(["Say one", "Say two", "Endless delay30"]))
        ran = hub.cli("--json", "swarm", "run", str(plan), "--workers", "alice,bob,carol", "--timeout", "2",
                      "--attempts", "2", who="admin", timeout=120)  # fmt: skip
        assert ran.returncode == 1, ran.stderr
        sent = {name: hub.prompts(name) for name in ("alice", "bob", "carol")}

        def logged() -> list[dict[str, Any]] | None:
            shown = hub.cli("--json", "log", "--since", "1h", who="admin")
            assert shown.returncode == 0, shown.stderr
            events = [e for e in json.loads(shown.stdout) if e["kind"] == "task"]
            return events if sum(e["data"]["outcome"] == "failed" for e in events) else None

        events = wait_for(logged, 15, 0.5)
        outcomes = Counter((e["data"]["task"], e["data"]["outcome"]) for e in events)
        steps = {"leased": 1, "dispatched": 1, "done": 1}
        expected = {(task, step): n for task in ("Say one", "Say two") for step, n in steps.items()}
        endless = {"leased": 2, "dispatched": 2, "retry": 1, "failed": 1}
        expected |= {("Endless delay30", step): n for step, n in endless.items()}
        assert outcomes == Counter(expected)
        # each dispatch is one prompt in the worker's own log
        dispatched = Counter(e["agent"] for e in events if e["data"]["outcome"] == "dispatched")
        assert dispatched == Counter({name: len(prompts) for name, prompts in sent.items() if prompts})
        report = json.loads(hub.cli("--json", "report", "--since", "1h", who="admin").stdout)
        failed = [a for a in report["attention"] if a["kind"] == "task-failed"]
        assert len(failed) == 1
        assert "Endless delay30" in failed[0]["detail"] and "timeout" in failed[0]["detail"]
        for name, prompts in sent.items():
            assert report["agents"].get(name, {}).get("asks", 0) == len(prompts), name
    finally:
        hub.stop()


def test_a_permission_question_waits_for_a_person(fleet: Fleet) -> None:
    plan = fleet.tmp / "PLAN.md"
    plan.write_text(plan_text(["Please run make docs"]))
    proc = fleet.swarm(plan, "--permissions", "ask", "--timeout", "60")
    asker = wait_for(lambda: (fleet.who_got("make docs") or [None])[0], timeout=60)

    def state() -> str:
        return run_cli("--config", str(fleet.registry), "state", asker).stdout.decode().strip()

    wait_for(lambda: state() == "permission", timeout=30, interval=0.3)
    time.sleep(1.5)  # the swarm shows the question and waits: nothing is answered for the person
    assert state() == "permission" and proc.poll() is None
    answered = run_cli("--config", str(fleet.registry), "approve", asker, "yes")
    assert answered.returncode == 0, answered.stderr
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert "WAITING for a person to answer" in err.decode()
    row = json.loads(out)["tasks"][0]
    assert (row["state"], row["worker"], row["attempts"]) == ("done", asker, 1)
    assert fleet.who_got("make docs") == [asker]


async def test_the_ledger_on_sqlite_and_postgresql_leases_a_task_once(store_url: str, tmp_path: Path) -> None:
    from bridge.hub.store.engine import open_store
    from bridge.swarm.plan import read_plan
    from bridge.swarm.state import Ledger

    plan = tmp_path / "PLAN.md"
    plan.write_text(plan_text([f"Task {n}" for n in range(1, 6)]))
    parsed = read_plan(plan)
    store = await open_store(store_url, owner=False)
    try:
        ledger = Ledger(store.engine, plan)
        await ledger.sync(parsed)
        # eight workers race for every task: each is leased exactly once
        for task in parsed.tasks:
            won = await asyncio.gather(*(ledger.lease(task, f"w{i}", task.text, 60) for i in range(8)))
            assert sum(won) == 1
        rows = await ledger.rows()
        expected = [(f"Task {n}", "leased", 1) for n in range(1, 6)]
        assert [(r.task, r.state, r.attempts) for r in rows] == expected
    finally:
        await store.close()


def test_a_template_and_its_fields(fleet: Fleet) -> None:
    plan = fleet.tmp / "PLAN.md"
    plan.write_text("# Book\n## Part one\n- [ ] Write the opening\n  - in the first person\n")
    bad = fleet.tmp / "bad.txt"
    bad.write_text("{task} for {nobody}")
    code, _, err = fleet.run(plan, "--template", str(bad))
    assert code == 2 and "--template: '{task} for {nobody}' cannot be filled ('nobody')" in err, err
    good = fleet.tmp / "good.txt"
    good.write_text("[{section}] {task} (plan {plan}){context}")
    code, _, err = fleet.run(plan, "--template", str(good), "--workers", "w1")
    assert code == 0, err
    assert fleet.prompts("w1") == [f"[Part one] Write the opening (plan {plan})\n\n- in the first person"]


def test_state_in_the_hubs_postgresql_store(fleet: Fleet, postgres: Any) -> None:
    url = postgres.create_database()
    with fleet.registry.open("a") as registry:
        registry.write(f'\n[hub]\nstore = "{url}"\n')
    plan = fleet.tmp / "PLAN.md"
    plan.write_text(plan_text(["Say one", "Say two"]))
    code, result, err = fleet.run(plan)
    assert code == 0 and result["done"] == 2, err
    assert not (fleet.tmp / ".PLAN.md.swarm.db").exists()  # the state is in the hub's store
    status = run_cli("--config", str(fleet.registry), "--json", "swarm", "status", str(plan))
    assert [(t["state"], t["attempts"]) for t in json.loads(status.stdout)["tasks"]] == [("done", 1)] * 2
    rows = postgres.run("psql", "-At", "-h", "127.0.0.1", "-p", str(postgres.port), "-U", "ab", "-d",
                        url.rsplit("/", 1)[1], "-c", "SELECT task, state FROM swarm_tasks ORDER BY position"
                        ).stdout  # fmt: skip
    assert rows.split() == ["Say", "one|done", "Say", "two|done"]


def test_on_a_terminal_a_live_panel_then_the_summary_table(fleet: Fleet) -> None:
    plan = fleet.tmp / "PLAN.md"
    plan.write_text(plan_text(["Short one", "Long one delay3"]))
    # (the typed command itself does not show EXIT=)
    swarm = f"{sys.executable} -m bridge --config {fleet.registry} swarm run {plan} --workers w1,w2"
    command = f'{swarm}; echo "E""XIT=$?"'
    pane = fleet.tmux.new_pane("viewer", command, width=120, height=40, cwd=REPO)
    live = wait_for(lambda: next((s for s in [fleet.tmux.capture(pane)] if "swarm: 1 done" in s), None), 60)
    assert "Long one delay3" in live and "worker" in live and "doing" in live
    shown = wait_for(lambda: next((s for s in [fleet.tmux.capture(pane)] if "EXIT=" in s), None), 60)
    assert "EXIT=0" in shown
    for cell in ("task", "worker", "attempts", "time", "result", "Short one", "Long one delay3", "done"):
        assert cell in shown, cell
    assert "swarm: 1 done" not in shown  # the live panel went away
