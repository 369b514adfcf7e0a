"""The real Claude Code 2.1.197, offline, driven with raw tmux only (no bridge driver).

These pin down what the driver relies on: the idle prompt, bracketed paste + Enter, replies on
screen and in the session transcript, the ``/model`` menu and the model ids it leads to, the
permission question, and what ``#{pane_current_command}`` shows when Claude dies.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.claude_code import ClaudeCode
from tests.e2e.mock_anthropic import MULTILINE_COUNT, TOOL_COMMAND, MockAnthropic

pytestmark = pytest.mark.e2e

# What 2.1.197 sends (observed against the mock). The title request always uses Haiku.
MODEL_IDS = {
    "Default": "claude-opus-4-8",  # "Opus 4.8 (1M context)": + anthropic-beta context-1m-2025-08-07
    "Opus": "claude-opus-4-8",  # settings.json "opus[1m]", also with the context-1m beta
    "Sonnet": "claude-sonnet-5",  # settings.json "sonnet"
    "Haiku": "claude-haiku-4-5-20251001",  # settings.json "haiku"
}
TITLE_MODEL = "claude-haiku-4-5-20251001"


def _done(cc: ClaudeCode, marker: str, timeout: float = 30) -> str:
    """Wait for ``marker`` on screen and the idle prompt back; returns the screen."""
    cc.wait_for(lambda s: marker in s and cc.is_idle(s), timeout)
    return cc.capture()


# ---------------------------------------------------------------------------------------------
# the mock on its own (no Claude needed)
# ---------------------------------------------------------------------------------------------
def test_mock_streams_like_anthropic(mock_anthropic: MockAnthropic) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", mock_anthropic.port, timeout=10)
    body = {"model": "claude-x", "stream": True, "max_tokens": 10, "tools": [{"name": "Bash"}],
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "<system-reminder>ctx</system-reminder>"},
                {"type": "text", "text": "hi multiline"}]}]}
    conn.request("POST", "/v1/messages?beta=true", json.dumps(body), {"content-type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("content-type").startswith("text/event-stream")
    lines = resp.read().decode().splitlines()
    events = [line.split(": ", 1)[1] for line in lines if line.startswith("event: ")]
    assert events[:3] == ["message_start", "ping", "content_block_start"]
    assert events[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    # non-streaming, on the same keep-alive connection
    conn.request("POST", "/v1/messages", json.dumps({**body, "stream": False}))
    msg = json.loads(conn.getresponse().read())
    text = msg["content"][0]["text"]
    assert text.startswith("MOCK-REPLY: hi multiline\n01. mock line 1 of 30 - ")
    assert text.endswith("\nMOCK-END") and len(text.splitlines()) == MULTILINE_COUNT + 2
    conn.request("POST", "/v1/messages", json.dumps({**body, "stream": False, "messages": [
        {"role": "user", "content": "please usetool"}]}))
    msg = json.loads(conn.getresponse().read())
    assert msg["stop_reason"] == "tool_use"
    assert msg["content"][1]["input"]["command"] == TOOL_COMMAND
    conn.request("POST", "/v1/messages", json.dumps({**body, "stream": False, "messages": [
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "x", "content": "OUT"}]}]}))
    assert json.loads(conn.getresponse().read())["content"][0]["text"] == "MOCK-REPLY: tool done: OUT"
    conn.request("POST", "/v1/messages", json.dumps({**body, "stream": False, "tools": []}))  # title
    title = json.loads(conn.getresponse().read())["content"][0]["text"]
    assert json.loads(title) == {"title": "Mock session"}
    conn.request("GET", "/v1/whatever")
    assert conn.getresponse().status == 404
    reqs = mock_anthropic.requests()
    assert [r.path for r in reqs] == ["/v1/messages"] * 5 + ["/v1/whatever"]
    assert reqs[0].query == {"beta": ["true"]} and reqs[0].last_user_text == "hi multiline"


# ---------------------------------------------------------------------------------------------
# Claude Code
# ---------------------------------------------------------------------------------------------
def test_idle_at_start(claude_code: ClaudeCode) -> None:
    cc = claude_code
    screen = cc.capture()
    assert "Claude Code v2.1.197" in screen
    assert cc.live_input(screen) == ""  # "❯" + NO-BREAK SPACE, empty
    assert "? for shortcuts" in screen
    print("footer:", [line for line in screen.splitlines() if line.strip()][-1])
    assert cc.current_command() == "claude"
    # At start-up Claude only sends a connectivity HEAD /, no model request.
    assert not cc.mock.message_requests()


def test_paste_enter_reply_and_transcript(claude_code: ClaudeCode) -> None:
    cc = claude_code
    cc.paste("hello there")
    cc.wait_for(lambda s: cc.live_input(s) == "hello there", 10)
    time.sleep(0.2)
    cc.send_keys("Enter")
    screen = _done(cc, "● MOCK-REPLY: hello there")
    assert "❯ hello there" in screen  # the past turn: "❯" + normal space
    reqs = cc.mock.wait_for_requests(2)
    msgs = [r for r in reqs if r.is_messages]
    assert len(msgs) == 2, [(r.model, len(r.tools)) for r in msgs]
    title, main = msgs
    assert title.model == TITLE_MODEL and not title.tools and "hello there" in title.last_user_text
    assert main.model == MODEL_IDS["Default"] and main.tools and main.last_user_text == "hello there"
    assert main.stream and main.query == {"beta": ["true"]}

    # The transcript: $HOME/.claude/projects/<cwd, non-alphanumerics -> "->/<session-id>.jsonl.
    # It is written a moment after the screen shows the reply.
    deadline = time.monotonic() + 10
    while "MOCK-REPLY: hello there" not in cc.assistant_texts() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert cc.assistant_texts() == ["MOCK-REPLY: hello there"]
    path = cc.transcripts()[-1]
    assert path.parent == cc.home / ".claude" / "projects" / re.sub(r"[^A-Za-z0-9]", "-", str(cc.cwd))
    entries = cc.transcript_entries(path)
    assistant = [e for e in entries if e.get("type") == "assistant"]
    user = [e for e in entries if e.get("type") == "user"]
    print("transcript:", path)
    print("entry types:", [e.get("type") for e in entries])
    print("assistant entry keys:", sorted(assistant[0]))
    print("assistant message:", json.dumps(assistant[0]["message"])[:400])
    assert assistant[0]["message"]["content"] == [{"type": "text", "text": "MOCK-REPLY: hello there"}]
    assert assistant[0]["message"]["role"] == "assistant"
    assert assistant[0]["message"]["model"] == MODEL_IDS["Default"]
    assert assistant[0]["sessionId"] == path.stem
    assert user[0]["message"] == {"role": "user", "content": "hello there"}
    # parentUuid links the chain user -> attachment(s) -> assistant; file order is NOT time order
    # (on the first turn the assistant line is written before the user line).
    by_uuid = {e["uuid"]: e for e in entries if "uuid" in e}
    node = assistant[0]
    while node.get("type") != "user":
        node = by_uuid[node["parentUuid"]]
    assert node is user[0]
    # ~/.claude/sessions/<pid>.json maps the running Claude to its session (and says idle/busy).
    session = json.loads(cc.session_file().read_text())  # type: ignore[union-attr]
    assert session["sessionId"] == path.stem and session["status"] == "idle"


def test_busy_while_waiting_for_the_model(claude_code: ClaudeCode) -> None:
    cc = claude_code
    cc.ask("first question delay3")
    screen = cc.wait_for("esc to interrupt", 10)  # the busy footer; a spinner line "<glyph> <Verb>…"
    assert not cc.is_idle(screen)
    assert cc.live_input(screen) == ""  # the input box stays while busy
    # ~/.claude/sessions/<pid>.json follows, a little later (it is written lazily).
    def status() -> str:
        return str(json.loads(cc.session_file().read_text())["status"])  # type: ignore[union-attr]

    t0 = time.monotonic()
    while status() != "busy" and time.monotonic() - t0 < 2.5:
        time.sleep(0.05)
    print(f"session status busy after {time.monotonic() - t0:.2f}s")
    assert status() == "busy"
    _done(cc, "● MOCK-REPLY: first question delay3", 15)


def test_multiline_reply(claude_code: ClaudeCode) -> None:
    cc = claude_code
    cc.ask("please give a multiline answer")
    _done(cc, "MOCK-END")
    screen = cc.capture(history=100)
    fox = "the quick brown fox jumps over the lazy dog"
    expected = [f"{i:02d}. mock line {i} of 30 - {fox}" for i in range(1, 31)]
    assert "● MOCK-REPLY: please give a multiline answer" in screen
    for line in expected:
        assert f"\n  {line}\n" in screen
    deadline = time.monotonic() + 10
    while not cc.assistant_texts() and time.monotonic() < deadline:
        time.sleep(0.05)
    raw = "\n".join(["MOCK-REPLY: please give a multiline answer", *expected, "MOCK-END"])
    assert cc.assistant_texts() == [raw]  # the exact model text (the screen shows rendered Markdown)


def _choose_model(cc: ClaudeCode, label: str) -> str:
    """Open /model, move the highlight to ``label`` one key at a time, Enter, confirm.

    Returns the ``⎿  Set model to …`` line.
    """

    def tail(screen: str) -> str:  # only what follows the latest "/model"
        return screen[screen.rfind("❯ /model") :]

    cc.send_keys("/model", literal=True)
    time.sleep(0.2)
    cc.send_keys("Enter")
    screen = tail(cc.wait_for(lambda s: "Select model" in tail(s), 10))
    rows = {m.group(3): (int(m.group(2)), bool(m.group(1)))
            for m in re.finditer(r"^\s*(❯ )?\s*(\d)\. (\S.*?)(?: ✔)?\s{2,}", screen, re.M)}
    names = [name for name in rows if name == label or name.startswith(f"{label} (")]
    assert len(names) == 1, rows
    current = next(n for n, highlighted in rows.values() if highlighted)  # starts on the current model
    target = rows[names[0]][0]
    while current != target:
        step = 1 if target > current else -1
        cc.send_keys("Down" if step > 0 else "Up")
        current += step
        cc.wait_for(lambda s, n=current: re.search(rf"❯ {n}\.", tail(s)), 5)
    cc.send_keys("Enter")
    screen = tail(cc.wait_for(lambda s: re.search(r"Switch model\?|Set model to|Kept model", tail(s)), 10))
    if "Switch model?" in screen:  # asked when a conversation already exists (not every time)
        print(f"{label}: 'Switch model?' asked")
        assert "❯ 1. Yes, switch to" in screen
        cc.send_keys("Enter")
        screen = tail(cc.wait_for(lambda s: "Set model to" in tail(s), 10))
    cc.wait_idle(10)
    return next(line.strip() for line in screen.splitlines() if "Set model to" in line)


def test_model_menu_switches_model(claude_code: ClaudeCode) -> None:
    cc = claude_code
    cc.ask("hello before switching")
    _done(cc, "MOCK-REPLY: hello before switching")
    settings = cc.home / ".claude" / "settings.json"
    seen = {}
    for label, saved in (("Sonnet", "sonnet"), ("Opus", "opus[1m]"), ("Haiku", "haiku"), ("Default", None)):
        result = _choose_model(cc, label)
        assert result.startswith("⎿  Set model to ") and "saved as your default" in result
        assert json.loads(settings.read_text()).get("model") == saved
        before = len(cc.mock.main_requests())
        cc.ask(f"after choosing {label}")
        _done(cc, f"MOCK-REPLY: after choosing {label}")
        request = cc.mock.wait_for(lambda rs, b=before: sum(r.is_main_turn for r in rs) > b, 10)
        model = [r for r in request if r.is_main_turn][-1].model
        seen[label] = model
        assert model == MODEL_IDS[label], (label, model)
    print("model ids:", seen)
    assert "sonnet" in seen["Sonnet"]


def test_usetool_asks_permission_then_runs(claude_code: ClaudeCode) -> None:
    cc = claude_code
    cc.ask("please usetool now")
    screen = cc.wait_for("Do you want to proceed\\?", 30)
    assert TOOL_COMMAND in screen and "❯ 1. Yes" in screen and "3. No" in screen
    assert cc.live_input(screen) is None  # the input box is gone while it asks
    assert not (cc.cwd / "mock_tool_ran.txt").exists()
    cc.send_keys("Enter")
    screen = _done(cc, "MOCK-REPLY: tool done: MOCK-TOOL-RAN")
    assert (cc.cwd / "mock_tool_ran.txt").exists()
    last = cc.mock.main_requests()[-1]
    assert last.tool_result_text == "MOCK-TOOL-RAN"


def test_kill9_leaves_the_shell_and_continue_restores(claude_code: ClaudeCode) -> None:
    cc = claude_code
    cc.ask("hello before crash")
    _done(cc, "MOCK-REPLY: hello before crash")
    assert cc.current_command() == "claude"
    pid = cc.claude_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    cc.wait_shell(10)
    assert cc.current_command() == "bash"
    assert cc.claude_pid() is None
    cc.wait_for("Killed", 5)
    # Restart in the same pane: the conversation comes back.
    cc.start(cc.restart_command)
    assert cc.current_command() == "claude"
    assert "MOCK-REPLY: hello before crash" in cc.capture()


def test_claude_stays_on_loopback(claude_code_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Every socket Claude (and its children) connects is on 127.0.0.1 (strace), no DNS at all."""
    if not shutil.which("strace") or subprocess.run(["strace", "-f", "-o", "/dev/null", "true"],
                                                    capture_output=True).returncode:
        pytest.skip(reason="strace is not available (or ptrace is not allowed)")
    cc = claude_code_factory(start=False)
    log = tmp_path / "strace.txt"
    cc.start(f"strace -f -qq -e trace=connect -o {log} claude")
    cc.ask("hello there")
    _done(cc, "MOCK-REPLY: hello there")
    time.sleep(2)  # let background start-up work (plugins, git probes) happen
    families = re.findall(r"connect\(\d+, \{sa_family=(AF_INET6?), [^}]*?(?:inet_addr\(\"([^\"]+)\"\)|"
                          r"inet_pton\(AF_INET6, \"([^\"]+)\")", log.read_text())
    addresses = {v4 or v6 for _, v4, v6 in families}
    assert addresses, "no TCP connect seen at all?"
    assert addresses <= {"127.0.0.1", "::1", "::ffff:127.0.0.1"}, addresses
