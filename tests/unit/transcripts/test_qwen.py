"""Qwen Code's transcripts, on a real session file of Qwen Code 0.15.10 (offline, mock API).

``qwen-code-0.15.10/session.jsonl`` is the session behind the screens in
``tests/unit/screens/qwen-code-0.15.10/``: a short reply, a 6 s reply, a 30-line reply, a
``/model`` switch, a tool call approved, one declined, then ``qwen --resume`` and one more prompt
(appended to the same file). Paths in it were renamed to ``/home/dev``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

from bridge.profiles import load_profile
from bridge.transcripts import TranscriptReply, reader_for
from bridge.transcripts.base import json_lines, project_slug
from bridge.transcripts.qwen import QwenTranscripts, reply_after, usage
from bridge.transport.local import LocalTransport
from tests.e2e.mock_anthropic import multiline_text

SESSION = (Path(__file__).parent / "qwen-code-0.15.10" / "session.jsonl").read_text()
SESSION_ID = "c5466058-7ebf-4bcb-a486-bc2652adaf51"


def test_short_and_thirty_line_replies_are_the_model_text_exactly() -> None:
    assert reply_after(SESSION, "hello there") == TranscriptReply(
        "MOCK-REPLY: hello there", "qwen-mock-coder", True
    )
    long = reply_after(SESSION, "please answer multiline")
    assert long is not None and long.complete
    assert long.text == multiline_text("please answer multiline")  # the screen indents the list


def test_the_model_of_each_reply_follows_the_model_switch() -> None:
    found = reply_after(SESSION, "which model now")
    assert found == TranscriptReply("MOCK-REPLY: which model now", "qwen-mock-max", True)


def test_a_tool_turn_joins_the_texts_before_and_after_the_call() -> None:
    found = reply_after(SESSION, "please usetool now")
    assert found is not None and found.complete
    before, after = found.text.split("\n\n")
    assert before == "I will run a shell command for you."
    assert after.startswith("MOCK-REPLY: tool done: Command: touch mock_tool_ran.txt && echo MOCK-TOOL-RAN\n")
    assert "Output: MOCK-TOOL-RAN" in after


def test_a_declined_tool_call_ends_the_turn() -> None:
    assert reply_after(SESSION, "please usetool again") == TranscriptReply(
        "I will run a shell command for you.", "qwen-mock-max", True
    )


def test_a_turn_waiting_for_its_tool_is_incomplete_and_unknown_prompts_have_no_reply() -> None:
    lines = SESSION.splitlines()
    cut = next(i for i, line in enumerate(lines) if '"type":"tool_result"' in line)
    found = reply_after("\n".join(lines[:cut]), "please usetool now")
    assert found == TranscriptReply("I will run a shell command for you.", "qwen-mock-max", False)
    assert reply_after(SESSION, "never asked") is None
    assert reply_after(SESSION, "/model") is None  # a slash command is a system entry, not a prompt


def test_the_resumed_session_appends_to_the_same_file() -> None:
    assert reply_after(SESSION, "back again") == TranscriptReply(
        "MOCK-REPLY: back again", "qwen-mock-max", True
    )
    assert {e.get("sessionId") for e in json_lines(SESSION)} == {SESSION_ID}
    assert QwenTranscripts().session_of(SESSION) == SESSION_ID


def test_usage_counts_each_model_call_once() -> None:
    calls = usage(SESSION)
    assistants = [e for e in json_lines(SESSION) if e.get("type") == "assistant"]
    assert len(calls) == len(assistants) == 8  # 6 prompts, two of them with a tool call
    first = calls[0]
    assert (first.model, first.input, first.output, first.cached) == ("qwen-mock-coder", 9667, 6, 0)
    assert first.when == "2026-12-05T03:03:09.417Z"
    assert [c.model for c in calls].count("qwen-mock-max") == 5
    # the same line twice (e.g. read across a resume) is still one call
    assert len(usage(SESSION + "\n" + SESSION)) == 8


def test_usage_separates_cached_tokens_and_counts_thoughts_as_output() -> None:
    row = {"type": "assistant", "uuid": "u1", "model": "m", "timestamp": "t",
           "message": {"role": "model", "parts": [{"text": "x", "thought": True}, {"text": "y"}]},
           "usageMetadata": {"promptTokenCount": 100, "cachedContentTokenCount": 60,
                             "candidatesTokenCount": 5, "thoughtsTokenCount": 7}}  # fmt: skip
    user = {"type": "user", "message": {"role": "user", "parts": [{"text": "q"}]}}
    text = "\n".join([json.dumps(user), json.dumps(row)])
    (call,) = usage(text)
    assert (call.input, call.cached, call.output) == (40, 60, 12)
    assert reply_after(text, "q") == TranscriptReply("y", "m", True)  # the thought is not reply text


async def test_the_profile_finds_this_sessions_file_under_the_agents_home(tmp_path: Path) -> None:
    """``{config}/projects/{cwd_slug}/chats/{session_id}.jsonl``, HOME read from the agent's process."""
    rules = load_profile("qwen-code").transcript
    assert reader_for(rules.kind).__class__ is QwenTranscripts
    chats = tmp_path / "home" / ".qwen" / "projects" / project_slug("/srv/my_proj") / "chats"
    chats.mkdir(parents=True)
    (chats / f"{SESSION_ID}.jsonl").write_text(SESSION)
    os.utime(chats / f"{SESSION_ID}.jsonl", (1_000_000, 1_000_000))
    (chats / "other.jsonl").write_text("newer, another session\n")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path / "home")}
    shell = subprocess.Popen(["sh", "-c", "sleep 30 & wait"], env=env, start_new_session=True)
    reader = QwenTranscripts()
    try:
        for _ in range(100):  # until the shell has started its child
            found = await reader.fetch(LocalTransport(), pane_pid=shell.pid, cwd="/srv/my_proj", rules=rules,
                                       session_id=SESSION_ID)  # fmt: skip
            if found is not None:
                break
        assert found == SESSION
        newest = await reader.fetch(LocalTransport(), pane_pid=shell.pid, cwd="/srv/my_proj", rules=rules)
        assert newest == "newer, another session\n"
    finally:
        os.killpg(shell.pid, signal.SIGKILL)  # the shell and its sleep: the group started here
        shell.wait()
