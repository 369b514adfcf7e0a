"""Claude Code's transcripts: the exact reply after a prompt, and fetching the newest file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bridge.profiles import TranscriptRules, load_profile
from bridge.transcripts import READERS, TranscriptReply, reader_for
from bridge.transcripts.base import expand_path, project_slug
from bridge.transcripts.claude import ClaudeTranscripts, reply_after, usage
from bridge.transport.local import LocalTransport


def entry(kind: str, stamp: str, content: Any, **message: Any) -> str:
    return json.dumps({"type": kind, "timestamp": stamp, "message": {"content": content, **message}})


def text(value: str) -> list[dict[str, str]]:
    return [{"type": "text", "text": value}]


TRANSCRIPT = "\n".join([
    '{"type": "user", "message": {"content": "cut by tail -c',  # a first line cut short
    entry("user", "01", "hello"),
    entry("assistant", "02", text("first answer"), model="m-1", stop_reason="end_turn"),
    entry("user", "03", "hello"),
    # the reply's first part is written before its prompt's line, but stamped after it
    entry("assistant", "05", [{"type": "tool_use", "name": "Bash"}], model="m-2", stop_reason="tool_use"),
    entry("assistant", "04", text("let me look\n"), model="m-2", stop_reason="tool_use"),
    entry("user", "06", [{"type": "tool_result", "content": "ok"}]),
    entry("assistant", "07", text("\n`done`: 42"), model="m-2", stop_reason="end_turn"),
    entry("user", "08", "next prompt"),
    entry("assistant", "09", text("still going"), model="m-2", stop_reason="tool_use"),
    '{"type": "assistant", "timestamp": "10", "mess',  # a last line half-written
])  # fmt: skip


def test_the_reply_to_the_last_such_prompt_across_tool_calls() -> None:
    assert reply_after(TRANSCRIPT, " hello\n") == TranscriptReply("let me look\n\n`done`: 42", "m-2", True)


def test_a_turn_still_running_is_incomplete() -> None:
    assert reply_after(TRANSCRIPT, "next prompt") == TranscriptReply("still going", "m-2", False)


def test_no_reply_for_a_prompt_never_asked_or_not_answered_yet() -> None:
    assert reply_after(TRANSCRIPT, "never asked") is None
    assert reply_after(entry("user", "01", "quiet"), "quiet") is None
    assert reply_after("", "hello") is None


def test_project_slug_and_the_readers() -> None:
    assert project_slug("/srv/my project/v1.2") == "-srv-my-project-v1-2"
    assert isinstance(reader_for("claude-jsonl"), ClaudeTranscripts)
    assert reader_for("none") is None
    assert "claude-jsonl" in READERS


async def test_fetch_reads_the_newest_transcript_of_the_agent_under_the_pane(tmp_path: Path) -> None:
    """The agent's HOME comes from its process (a child of the pane's shell), not from ours."""
    home = tmp_path / "agent-home"
    folder = home / ".claude" / "projects" / project_slug("/srv/project")
    folder.mkdir(parents=True)
    (folder / "old.jsonl").write_text("old session\n")
    os.utime(folder / "old.jsonl", (1_000_000, 1_000_000))
    (folder / "new.jsonl").write_text("new session\n")
    env = {"PATH": os.environ["PATH"], "HOME": str(home)}
    shell = subprocess.Popen(["sh", "-c", "sleep 30 & wait"], env=env, start_new_session=True)
    reader = ClaudeTranscripts()
    rules = load_profile("claude-code").transcript
    try:
        for _ in range(100):  # until the shell has started its child
            found = await reader.fetch(LocalTransport(), pane_pid=shell.pid, cwd="/srv/project",
                                       rules=rules)  # fmt: skip
            if found is not None:
                break
        assert found == "new session\n"
        assert await reader.fetch(LocalTransport(), pane_pid=shell.pid, cwd="/srv/other",
                                  rules=rules) is None  # fmt: skip
        # The pane's session id names its own file, even when another one is newer.
        assert await reader.fetch(LocalTransport(), pane_pid=shell.pid, cwd="/srv/project",
                                  rules=rules, session_id="old") == "old session\n"  # fmt: skip
        elsewhere = rules.model_copy(update={"config_dir": ".elsewhere"})
        assert await reader.fetch(LocalTransport(), pane_pid=shell.pid, cwd="/srv/project",
                                  rules=elsewhere) is None  # fmt: skip
    finally:
        os.killpg(shell.pid, signal.SIGKILL)  # the shell and its sleep: the group started here
        shell.wait()


def test_usage_counts_each_model_call_once() -> None:
    """Claude writes one row per content block, each repeating the message's usage."""

    def row(msg: str, req: str, out: int, block: str) -> str:
        usage = {"input_tokens": 10, "cache_creation_input_tokens": 5, "cache_read_input_tokens": 100,
                 "output_tokens": out}  # fmt: skip
        message = {"id": msg, "model": "claude-opus-4", "role": "assistant", "usage": usage,
                   "content": [{"type": "text", "text": block}]}  # fmt: skip
        return json.dumps({"type": "assistant", "requestId": req, "message": message,
                           "timestamp": "2026-12-05T01:00:00Z"})  # fmt: skip

    text = "\n".join([row("m1", "r1", 3, "a"), row("m1", "r1", 40, "b"), row("m2", "r2", 7, "c")])
    calls = usage(text)
    assert [(u.input, u.output, u.cached, u.model) for u in calls] == [
        (15, 40, 100, "claude-opus-4"),
        (15, 7, 100, "claude-opus-4"),
    ]


def test_expand_path_fills_placeholders_and_refuses_unsafe_globs() -> None:
    assert expand_path("{config}/projects/{cwd_slug}/{session_id}.jsonl", cwd="/a b", session_id="x-1") == (
        "config",
        "projects/-a-b/x-1.jsonl",
    )
    assert expand_path("{home}/s/{session_id}", cwd="/", session_id="$(rm -rf ~)")[1] == "s/*"
    digest = expand_path("{home}/t/{cwd_sha256}/c", cwd="/p")[1].split("/")[1]
    assert len(digest) == 64
    with pytest.raises(ValueError, match="must start with"):
        expand_path("/etc/{session_id}", cwd="/")
    with pytest.raises(ValueError, match="must start with"):
        TranscriptRules(kind="claude-jsonl", path="/etc/passwd")
    with pytest.raises(ValueError, match="needs a path"):
        TranscriptRules(kind="codex-jsonl")
