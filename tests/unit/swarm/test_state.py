"""The swarm's ledger on a real SQLite store (the hub's open_store, migrated): a lease is taken
once, a failed attempt goes back with its worker remembered, and one swarm per plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.errors import ConfigError
from bridge.hub.store.engine import open_store
from bridge.swarm.plan import read_plan
from bridge.swarm.state import Ledger, local_store, owner_lock


async def test_leases_attempts_and_results_survive_a_reopen(tmp_path: Path) -> None:
    plan_path = tmp_path / "PLAN.md"
    plan_path.write_text("# A\n- [ ] one\n- [x] two\n- [ ] three\n")
    plan = read_plan(plan_path)
    db = local_store(plan_path)
    store = await open_store(str(db), owner=False)
    try:
        ledger = Ledger(store.engine, plan_path)
        await ledger.sync(plan)
        await ledger.sync(plan)  # idempotent
        assert [(r.task, r.state) for r in await ledger.rows()] == [
            ("one", "queued"), ("two", "done"), ("three", "queued")]  # fmt: skip
        one, _, three = plan.tasks
        assert await ledger.lease(one, "w1", "do one", 60)
        assert not await ledger.lease(one, "w2", "do one", 60)  # leased once only
        row = await ledger.give_back(one.key, "timeout", worker="w1", counted=True, final=False)
        assert (row.state, row.attempts, row.tried, row.reason) == ("queued", 1, ("w1",), "timeout")
        assert await ledger.lease(one, "w2", "do one", 60)
        assert await ledger.done(one.key)
        assert await ledger.lease(three, "w1", "do three", 60)
        row = await ledger.give_back(three.key, "not reached", worker="w1", counted=False, final=False)
        assert (row.state, row.attempts, row.tried) == ("queued", 0, ())
        # a person checks "three" by hand and adds "four": the ledger follows the file
        plan_path.write_text("# A\n- [ ] one\n- [x] two\n- [x] three\n- [ ] four\n")
        await ledger.sync(read_plan(plan_path))
        assert [(r.task, r.state) for r in await ledger.rows()] == [
            ("one", "done"), ("two", "done"), ("three", "done"), ("four", "queued")]  # fmt: skip
    finally:
        await store.close()
    assert db.stat().st_mode & 0o777 == 0o600
    store = await open_store(str(db), owner=False)
    try:
        rows = {r.task: r for r in await Ledger(store.engine, plan_path).rows()}
        assert (rows["one"].state, rows["one"].worker, rows["one"].attempts) == ("done", "w2", 2)
    finally:
        await store.close()


def test_one_swarm_per_plan(tmp_path: Path) -> None:
    plan_path = tmp_path / "PLAN.md"
    held = owner_lock(plan_path)
    try:
        with pytest.raises(ConfigError, match=r"another swarm .* is running the plan"):
            owner_lock(plan_path)
    finally:
        held.close()
    owner_lock(plan_path).close()  # free again once the first one let go
