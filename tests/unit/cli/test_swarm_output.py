"""`swarm run`'s summary: the JSON counts and the table (task, worker, attempts, time, result)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from bridge.cli.swarm import summary, summary_table
from bridge.swarm.state import Row


def row(task: str, state: str, worker: str | None, attempts: int, reason: str | None = None) -> Row:
    return Row("k" + task, task, "Work", state, worker, None, attempts, (), reason, None, 100.0, 112.5)


def test_summary_counts_and_table() -> None:
    rows = [row("Write a", "done", "w1", 1), row("Write b", "failed", "w2", 2, "timeout after 3 s"),
            row("Write c", "queued", None, 0)]  # fmt: skip
    data = summary(rows, Path("PLAN.md"))
    counts = {k: data[k] for k in ("done", "failed", "queued", "leased")}
    assert counts == {"done": 1, "failed": 1, "queued": 1, "leased": 0}
    assert data["tasks"][1] == {"task": "Write b", "section": "Work", "state": "failed", "worker": "w2",
                                "attempts": 2, "elapsed_s": 12.5, "reason": "timeout after 3 s"}  # fmt: skip
    console = Console(width=120, record=True)
    console.print(summary_table(rows))
    text = console.export_text()
    assert all(word in text for word in ("task", "worker", "attempts", "time", "result"))
    assert "FAILED: timeout after 3 s" in text and "12.5s" in text and "—" in text
