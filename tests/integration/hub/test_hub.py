"""The hub as a real process on 127.0.0.1 over real demo agents in a private tmux server, on SQLite
and on a real PostgreSQL server: messages, wakes (each counted in the agent's own prompt log),
tokens, refusals, a second hub, a hub killed mid-wake."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable

import pytest

from tests.helpers.fixtures import REPO, TmuxServer, wait_for
from tests.helpers.hub import HubRun

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


def sent_id(result: subprocess.CompletedProcess[str]) -> tuple[int, int]:
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    return data["id"], data["thread_id"]


def status(hub: HubRun, message: int, who: str) -> dict[str, object]:
    result = hub.cli("--json", "msg", "status", str(message), who=who)
    assert result.returncode == 0, result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


@pytest.fixture
def hub(make_hub: Callable[..., HubRun], store_url: str) -> HubRun:
    run = make_hub(store_url)
    run.start()
    for who in ("alice", "bob", "carol", "admin"):
        run.mint(who)
    return run


def test_a_messages_b_woken_once_reads_replies_closes(hub: HubRun) -> None:
    sent = hub.cli("--json", "msg", "send", "bob", "--subject", "review", "look at PLAN.md", who="alice")
    message, thread = sent_id(sent)
    wait_for(lambda: len(hub.wakes("bob")) == 1, 20)
    wake = hub.wakes("bob")[0]
    assert "alice" in wake and "review" in wake and "agent-bridge msg inbox --as bob" in wake
    wait_for(lambda: status(hub, message, "alice")["status"] == "woken", 10)
    inbox = json.loads(hub.cli("--json", "msg", "inbox", who="bob").stdout)
    assert [(m["id"], m["sender"], m["subject"], m["body"]) for m in inbox] == [
        (message, "alice", "review", "look at PLAN.md")
    ]
    assert json.loads(hub.cli("--json", "msg", "read", str(message), who="bob").stdout)["read_at"]
    answer, same = sent_id(hub.cli("--json", "msg", "reply", str(message), "done", who="bob"))
    assert same == thread
    assert status(hub, message, "alice")["status"] == "read"
    mine = json.loads(hub.cli("--json", "msg", "inbox", who="alice").stdout)
    assert [(m["id"], m["body"], m["subject"]) for m in mine] == [(answer, "done", "Re: review")]
    wait_for(lambda: len(hub.wakes("alice")) == 1, 20)  # alice was idle: woken for the reply
    assert hub.cli("msg", "close", str(thread), who="alice").returncode == 0
    refused = hub.cli("msg", "send", "bob", "--thread", str(thread), "one more", who="alice")
    assert refused.returncode == 2 and "closed" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    time.sleep(2)  # nothing else wakes anyone
    assert len(hub.wakes("bob")) == 1 and len(hub.wakes("alice")) == 1


def test_tokens_identity_and_big_bodies(hub: HubRun) -> None:
    body = ("ünïcödé — 日本 🙂 tab\t\n" * 40000).encode()[: 1024 * 1024 - 8] + b"END.\n\n\n"
    body = body.decode("utf-8", "ignore").encode()
    message, _ = sent_id(hub.cli("--json", "msg", "send", "bob", "-s", "big", "-", who="alice", input=body))
    got = hub.api("GET", f"/api/messages/{message}", who="bob").json()["body"]
    assert got.encode() == body
    too_big = hub.cli("msg", "send", "bob", "-", who="alice", input=b"x" * (1024 * 1024 + 1))
    assert too_big.returncode == 2 and "1 MB" in too_big.stderr
    # another agent's token reads nothing of it; a bad token is exit 3, one line
    other = hub.cli("msg", "read", str(message), who="carol")
    assert other.returncode == 2 and "no message" in other.stderr
    hub.tokens["mallory"] = "abt_" + "x" * 43
    bad = hub.cli("msg", "inbox", who="mallory")
    assert bad.returncode == 3 and len(bad.stderr.strip().splitlines()) == 1
    huge = hub.api(
        "POST", "/api/messages", who="alice", content=b'{"to": "bob", "body": "' + b"x" * (9 * 2**20) + b'"}'
    )
    assert huge.status_code == 400 and "over 8 MB" in huge.json()["message"]  # read no further than that
    assert hub.api("GET", "/api/agents", who="bob").status_code == 403  # an agent is not an admin
    assert hub.api("GET", "/api/agents").status_code == 200
    # tokens appear nowhere: not on any pane, not in the hub's log
    hub.stop()
    assert hub.stderr is not None
    logged = hub.stderr.read_text()
    for who, token in hub.tokens.items():
        assert token not in logged, who
        for pane in hub.panes.values():
            screen = subprocess.run(["tmux", "-S", hub.socket, "capture-pane", "-p", "-S", "-", "-t", pane],
                                    capture_output=True, text=True, timeout=10).stdout  # fmt: skip
            assert screen.strip()
            assert token not in screen


def test_never_wakes_a_busy_permission_or_menu_pane(hub: HubRun) -> None:
    for setup, state in (("delay4 think hard", "busy"), ("usetool", "permission"), ("/model", "menu")):
        hub.cli("send", "bob", setup)
        wait_for(lambda state=state: hub.cli("state", "bob").stdout.strip() == state, 15)
        message, _ = sent_id(
            hub.cli("--json", "msg", "send", "bob", "-s", f"while {state}", "hi", who="alice")
        )
        wanted = f"recipient {state}"
        wait_for(
            lambda message=message, wanted=wanted: status(hub, message, "alice").get("waiting") == wanted, 15
        )
        assert hub.wakes("bob") == []
        if state in ("permission", "menu"):
            hub.cli("keys", "bob", "Escape")  # the person deals with it; then bob is idle
        wait_for(lambda: len(hub.wakes("bob")) == 1, 20)  # idle again: woken once for the batch
        assert status(hub, message, "alice")["status"] == "woken"
        for m in json.loads(hub.cli("--json", "msg", "inbox", who="bob").stdout):
            hub.cli("msg", "read", str(m["id"]), who="bob")
        wait_for(lambda: hub.cli("state", "bob").stdout.strip() == "idle", 15)
        hub.logs["bob"].write_text("")  # count afresh


def test_a_second_hub_on_the_same_store_refuses(hub: HubRun) -> None:
    second = hub.cli("hub", "serve", "--listen", "127.0.0.1:1")
    assert second.returncode != 0
    assert "already open by another hub" in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("after_ms", [0, 40, 120, 400])
def test_a_hub_killed_around_a_wake_wakes_exactly_once(hub: HubRun, after_ms: int) -> None:
    sent_id(hub.cli("--json", "msg", "send", "bob", "-s", "crash", "during the wake", who="alice"))
    time.sleep(after_ms / 1000)
    hub.stop(signal.SIGKILL)
    hub.start()
    wait_for(lambda: len(hub.wakes("bob")) >= 1, 20)
    time.sleep(2.5)  # a second wake, if any, would have come by now
    assert len(hub.wakes("bob")) == 1
    inbox = json.loads(hub.cli("--json", "msg", "inbox", who="bob").stdout)
    assert len(inbox) == 1 and inbox[0]["body"] == "during the wake"  # nothing lost


def test_budget_holds_wakes_back_visibly(make_hub: Callable[..., HubRun], store_url: str) -> None:
    run = make_hub(store_url, extra={"bob": "wake_budget = 2"})
    run.start()
    for who in ("alice", "bob"):
        run.mint(who)
    for n in range(3):
        message, _ = sent_id(run.cli("--json", "msg", "send", "bob", "-s", f"ping {n}", "again", who="alice"))
        if n < 2:
            wait_for(lambda n=n: len(run.wakes("bob")) == n + 1, 20)
            run.cli("msg", "read", str(message), who="bob")
        else:
            wait_for(
                lambda message=message: "budget" in str(status(run, message, "alice").get("waiting")), 15
            )
    time.sleep(1.5)
    assert len(run.wakes("bob")) == 2


async def test_message_tools_over_mcp(hub: HubRun) -> None:
    """An MCP client speaking for alice (her name and token in the server's environment)."""
    import sys

    import anyio
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    from tests.helpers.fixtures import REPO

    env = {**hub.env, "AGENT_BRIDGE_AGENT": "alice", "AGENT_BRIDGE_TOKEN": hub.tokens["alice"],
           "AGENT_BRIDGE_HUB_URL": hub.url, "PYTHONPATH": str(REPO)}  # fmt: skip
    params = StdioServerParameters(command=sys.executable, cwd=str(REPO), env=env,
                                   args=["-m", "bridge", "--config", str(hub.registry), "mcp"])  # fmt: skip
    with (hub.tmp / "mcp.stderr").open("w") as errlog, anyio.fail_after(90):
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as mcp:
            await mcp.initialize()
            sent = await mcp.call_tool(
                "send_message", {"to": "bob", "subject": "via mcp", "body": "hello bob"}
            )
            assert not sent.is_error, sent
            message = sent.structured_content["id"]  # type: ignore[index]
            wait_for(lambda: len(hub.wakes("bob")) == 1, 20)
            answer = json.loads(hub.cli("--json", "msg", "read", str(message), who="bob").stdout)
            assert answer["body"] == "hello bob" and answer["sender"] == "alice"
            hub.cli("msg", "reply", str(message), "hi alice", who="bob")
            inbox = await mcp.call_tool("inbox", {})
            assert [m["body"] for m in inbox.structured_content["messages"]] == ["hi alice"]  # type: ignore[index]
            read = await mcp.call_tool("read_message", {"id": message + 1})
            assert "hi alice" in read.content[0].text  # type: ignore[union-attr]
            status = await mcp.call_tool("message_status", {"id": message})
            assert status.structured_content["status"] == "read"  # type: ignore[index]
            closed = await mcp.call_tool("close_thread", {"thread_id": answer["thread_id"]})
            assert not closed.is_error
            refused = await mcp.call_tool("reply", {"id": message, "body": "more"})
            assert refused.is_error and "closed" in refused.content[0].text  # type: ignore[union-attr]


def test_top_shows_agents_and_events(hub: HubRun) -> None:
    sent_id(hub.cli("--json", "msg", "send", "bob", "-s", "for top", "hi", who="alice"))
    wait_for(lambda: len(hub.wakes("bob")) == 1, 20)
    snapshot = json.loads(hub.cli("top", "--json", who="admin").stdout)
    rows = {row["agent"]: row for row in snapshot["agents"]}
    assert set(rows) == {"alice", "bob", "carol"} and rows["bob"]["unread"] == 1
    assert {"message", "wake"} <= {event["kind"] for event in snapshot["events"]}
    table = hub.cli("top", "--once", who="admin")
    assert table.returncode == 0 and "bob" in table.stdout and "wake" in table.stdout
    refused = hub.cli("top", "--once", who="bob")  # an agent's token is not an admin's
    assert refused.returncode == 3 and len(refused.stderr.strip().splitlines()) == 1


def test_top_follows_the_hub_live(hub: HubRun, tmux_server: TmuxServer) -> None:
    """The live table in a real terminal (a tmux pane): a new message shows within a second or
    two, from the hub's event stream (the fallback redraw is every 5 s)."""
    import shlex
    import sys

    env = {**hub.env, "AGENT_BRIDGE_TOKEN": hub.tokens["admin"], "PYTHONPATH": str(REPO)}
    command = shlex.join([sys.executable, "-m", "bridge", "--config", str(hub.registry), "top"])
    pane = tmux_server.new_pane("top", f"cd {shlex.quote(str(REPO))} && {command}", width=160, env=env)
    wait_for(lambda: "carol" in tmux_server.capture(pane), 20)
    time.sleep(5.5)  # past one fallback redraw: what follows comes from the stream
    began = time.monotonic()
    sent_id(hub.cli("--json", "msg", "send", "bob", "-s", "live-subject-7q", "hi", who="alice"))
    wait_for(lambda: "live-subject-7q" in tmux_server.capture(pane), 10)
    assert time.monotonic() - began < 3.0
    tmux_server.tmux("send-keys", "-t", pane, "C-c")
    wait_for(lambda: tmux_server.current_command(pane) == "bash", 10)
