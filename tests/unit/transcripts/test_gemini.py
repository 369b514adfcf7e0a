"""Gemini CLI's chat files (recorded from the real CLI 0.61.0): exact replies, usage, session,
and fetching only the chat of this folder."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from bridge.profiles import load_profile
from bridge.transcripts import reader_for
from bridge.transcripts.base import expand_path
from bridge.transcripts.gemini import GeminiTranscripts, messages, reply_after, usage
from bridge.transport.local import LocalTransport
from tests.e2e.mock_anthropic import multiline_text

CHATS = Path(__file__).resolve().parent / "gemini"
# The whole session: prompts, a 30-line reply, a /model switch, tool calls allowed once / denied /
# allowed for the session, a turn cancelled with Esc (after which Gemini writes the history again).
BEFORE = (CHATS / "session-before-resume.jsonl").read_text()
# The same file after `gemini --resume <id>`: the history written once more ($set messages).
AFTER = (CHATS / "session-after-resume.jsonl").read_text()
SESSION = "e77a2a7e-0a02-44fe-87f2-8eedbaa6b177"
PROJECT = "/tmp/ab-gemini/proj/gemini"  # where the recording ran (its projectHash)
TOOL_TURN = "I will run a shell command for you.\n\nMOCK-REPLY: tool done: MOCK-TOOL-RAN"


@pytest.mark.parametrize("text", [BEFORE, AFTER], ids=["before-resume", "after-resume"])
@pytest.mark.parametrize(
    ("prompt", "reply", "model"),
    [("hello there", "MOCK-REPLY: hello there", "gemini-3.1-pro-preview"),
     ("please answer multiline", multiline_text("please answer multiline"), "gemini-3.1-pro-preview"),
     ("which model now", "MOCK-REPLY: which model now", "gemini-2.5-pro"),
     ("please usetool now", TOOL_TURN, "gemini-2.5-pro"),
     ("please usetool again", TOOL_TURN, "gemini-2.5-pro"),
     ("please usetool to deny", "I will run a shell command for you.", "gemini-2.5-pro")],
)  # fmt: skip
def test_the_exact_reply_of_the_last_turn_with_that_prompt(
    text: str, prompt: str, reply: str, model: str
) -> None:
    found = reply_after(text, prompt)
    assert found is not None
    assert (found.text, found.model, found.complete) == (reply, model, True)


def test_no_reply_for_a_cancelled_turn_or_a_prompt_never_asked() -> None:
    assert reply_after(BEFORE, "busy then interrupt delay8") is None  # Esc: only "Request cancelled."
    assert reply_after(BEFORE, "never asked") is None
    assert reply_after("", "hello there") is None


def test_a_turn_waiting_for_its_tool_is_incomplete() -> None:
    lines = BEFORE.splitlines()
    # up to the reply that carries the tool call, before the tool's result came back
    cut = next(i for i, line in enumerate(lines) if '"toolCalls"' in line)
    found = reply_after("\n".join(lines[: cut + 1]), "please usetool now")
    assert found is not None and found.text == "I will run a shell command for you." and not found.complete


def test_messages_follow_the_log_a_repeated_id_replacing_the_first() -> None:
    listed = messages(BEFORE)
    ids = [m["id"] for m in listed]
    assert len(ids) == len(set(ids))
    with_tool = [m for m in listed if m.get("toolCalls")]
    assert len(with_tool) == 4 and all(m["type"] == "gemini" for m in with_tool)


def test_usage_counts_each_model_call_once() -> None:
    calls = usage(AFTER)
    assert usage(BEFORE) == calls  # the history written again on resume carries no tokens
    assert len(calls) == 11
    assert calls[0].model == "gemini-3.1-pro-preview" and (calls[0].input, calls[0].output) == (12204, 5)
    assert calls[0].when == "2026-12-05T03:05:28.539Z"
    assert {c.model for c in calls} == {"gemini-3.1-pro-preview", "gemini-2.5-pro"}
    assert sum(c.output for c in calls) == 604


def test_session_of_and_the_reader() -> None:
    reader = reader_for("gemini-json")
    assert isinstance(reader, GeminiTranscripts)
    assert reader.session_of(BEFORE) == SESSION == reader.session_of(AFTER)
    assert reader.session_of("") is None


def test_the_profile_path_names_the_session_by_its_first_eight_characters() -> None:
    rules = load_profile("gemini-cli").transcript
    assert rules.kind == "gemini-json" and rules.path is not None
    assert expand_path(rules.path, cwd=PROJECT, session_id=SESSION) == (
        "config", "tmp/*/chats/session-*-e77a2a7e.jsonl")  # fmt: skip
    assert expand_path(rules.path, cwd=PROJECT) == ("config", "tmp/*/chats/session-*-*.jsonl")


async def test_fetch_reads_only_a_chat_of_this_folder(tmp_path: Path) -> None:
    """The folder in the path is only the project's short name: the file's projectHash decides."""
    home = tmp_path / "agent-home"
    chats = home / ".gemini" / "tmp" / "gemini" / "chats"
    chats.mkdir(parents=True)
    shutil.copy(CHATS / "session-before-resume.jsonl", chats / "session-2026-12-05T03-05-e77a2a7e.jsonl")
    assert hashlib.sha256(PROJECT.encode()).hexdigest() in BEFORE.splitlines()[0]
    env = {"PATH": os.environ["PATH"], "HOME": str(home)}
    shell = subprocess.Popen(["sh", "-c", "sleep 30 & wait"], env=env, start_new_session=True)
    reader, rules = GeminiTranscripts(), load_profile("gemini-cli").transcript
    try:
        for _ in range(100):  # until the shell has started its child
            found = await reader.fetch(LocalTransport(), pane_pid=shell.pid, cwd=PROJECT, rules=rules)
            if found is not None:
                break
        assert found == BEFORE
        other = "/srv/gemini"  # the same short name, another folder
        assert await reader.fetch(LocalTransport(), pane_pid=shell.pid, cwd=other, rules=rules) is None
        assert await reader.fetch(LocalTransport(), pane_pid=shell.pid, cwd=PROJECT, rules=rules,
                                  session_id=SESSION) == BEFORE  # fmt: skip
        assert await reader.fetch(LocalTransport(), pane_pid=shell.pid, cwd=PROJECT, rules=rules,
                                  session_id="0123abcd-0000-0000-0000-000000000000") is None  # fmt: skip
    finally:
        os.killpg(shell.pid, signal.SIGKILL)
        shell.wait()
