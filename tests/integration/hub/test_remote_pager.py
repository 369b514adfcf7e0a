"""A host the hub cannot reach wakes its own agents (`agent-bridge hub pager`): the hub keeps the
rules and composes the line, the host's pager types it. Real hub process, real pager process,
demo agents in a private tmux server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from tests.helpers.fixtures import REPO, wait_for
from tests.helpers.hub import HubRun

pytestmark = pytest.mark.integration


def start_pager(hub: HubRun) -> subprocess.Popen[bytes]:
    env = {**os.environ, **hub.env, "AGENT_BRIDGE_TOKEN": hub.tokens["admin"],
           "AGENT_BRIDGE_HUB_URL": hub.url}  # fmt: skip
    return subprocess.Popen([sys.executable, "-m", "bridge", "--config", str(hub.registry), "hub", "pager",
                             "--poll", "0.3"], env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=open(hub.tmp / f"pager-{time.monotonic_ns()}.log", "wb"))


def send(hub: HubRun, to: str, subject: str) -> int:
    sent = hub.cli("--json", "msg", "send", to, "--subject", subject, "hello", who="alice")
    assert sent.returncode == 0, sent.stderr
    return int(json.loads(sent.stdout)["id"])


def test_the_host_s_own_pager_wakes_once_per_batch_and_survives_a_crash(
    make_hub: Callable[..., HubRun], store_url: str
) -> None:
    hub = make_hub(store_url)
    text = hub.registry.read_text()
    hub.registry.write_text(text.replace("local = true\n", 'local = true\nwake = "host"\n', 1))
    hub.start()
    pager: subprocess.Popen[bytes] | None = None
    try:
        for who in ("admin", "alice", "bob"):
            hub.mint(who)
        first = send(hub, "bob", "review")
        time.sleep(2.5)  # the hub does not wake bob itself: his host's pager does
        assert hub.wakes("bob") == []
        status = json.loads(hub.cli("--json", "msg", "status", str(first), who="alice").stdout)
        assert "its host's pager" in str(status["waiting"])
        pager = start_pager(hub)
        wait_for(lambda: len(hub.wakes("bob")) == 1, 20, 0.2)
        assert "[wake " in hub.wakes("bob")[0] and "alice" in hub.wakes("bob")[0]
        send(hub, "bob", "more")  # unread batch already announced: no second wake
        time.sleep(2.0)
        assert len(hub.wakes("bob")) == 1
        pager.send_signal(signal.SIGKILL)
        pager.wait(10)
        assert hub.cli("msg", "read", str(first), who="bob").returncode == 0
        listed = json.loads(hub.cli("--json", "msg", "inbox", who="bob").stdout)
        for message in listed:
            hub.cli("msg", "read", str(message["id"]), who="bob")
        send(hub, "bob", "again")  # a new batch: woken once more, by the pager started again
        pager = start_pager(hub)
        wait_for(lambda: len(hub.wakes("bob")) == 2, 20, 0.2)
        time.sleep(1.5)
        assert len(hub.wakes("bob")) == 2
        events = hub.api("GET", "/api/events", params={"agent": "bob"}).json()
        assert [e["data"]["outcome"] for e in events if e["kind"] == "wake"] == ["typed", "typed"]
    finally:
        if pager is not None and pager.poll() is None:
            pager.send_signal(signal.SIGKILL)
            pager.wait(10)
        hub.stop()
