"""Codex CLI's rollouts: the exact reply after a prompt, token usage, the session id, the file.

``codex-0.169.0/rollout-….jsonl`` is a real rollout of Codex 0.169.0 against the mock Responses
API (tests/e2e/mock_openai_responses.py), its HOME renamed to /home/dev. Its turns, in order:
a 5 s answer; ``usetool`` refused (aborted); ``usetool`` approved; ``/model`` to gpt-6-luna, a
reply; the agent killed (kill -9) and resumed by id (``codex resume --no-daemon <id>``, the same
file); a 30-line answer; ``/model`` to gpt-6-astra; two tool turns; one refused, one interrupted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

from bridge.profiles import load_profile
from bridge.transcripts import READERS, TranscriptReply, reader_for
from bridge.transcripts.base import json_lines
from bridge.transcripts.codex import CodexTranscripts, reply_after, usage
from bridge.transport.local import LocalTransport
from tests.e2e.mock_anthropic import multiline_text

SESSION = "01a24428-154a-73e0-9b54-3a93dc32c82d"
ROLLOUT = Path(__file__).parent / "codex-0.169.0" / f"rollout-2026-12-05T03-03-27-{SESSION}.jsonl"
TEXT = ROLLOUT.read_text()
TOOL_INTRO = "I will run a shell command for you."


def test_exact_replies_with_the_model_of_their_turn() -> None:
    assert reply_after(TEXT, "first question delay5") == TranscriptReply(
        "MOCK-REPLY: first question delay5", "gpt-5-codex", True
    )
    prompt = "back again please multiline"  # 32 lines, the screen showed only the last ones
    assert reply_after(TEXT, prompt) == TranscriptReply(multiline_text(prompt), "gpt-6-luna", True)


def test_a_turn_across_a_tool_call_joins_its_texts() -> None:
    expected = f"{TOOL_INTRO}\n\nMOCK-REPLY: tool done: MOCK-TOOL-RAN"
    assert reply_after(TEXT, " please usetool again\n") == TranscriptReply(expected, "gpt-5-codex", True)


def test_a_refused_or_interrupted_turn_has_ended() -> None:
    assert reply_after(TEXT, "please usetool now") == TranscriptReply(TOOL_INTRO, "gpt-5-codex", True)
    assert reply_after(TEXT, "please usetool preamble") == TranscriptReply(TOOL_INTRO, "gpt-6-astra", True)


def test_a_turn_still_running_is_incomplete() -> None:
    lines = TEXT.splitlines()
    cut = next(i for i, line in enumerate(lines) if '"text":"MOCK-REPLY: tool done: MOCK-TOOL' in line)
    partial = "\n".join(lines[:cut]) + '\n{"timestamp": "2026-12-05T03:04:0'  # a half-written line
    assert reply_after(partial, "please usetool again") == TranscriptReply(TOOL_INTRO, "gpt-5-codex", False)


def test_no_reply_for_a_prompt_never_asked_or_not_answered_yet() -> None:
    assert reply_after(TEXT, "never asked") is None
    assert reply_after(TEXT, "<environment_context>") is None  # Codex's own context message
    lines = TEXT.splitlines()
    asked = next(i for i, line in enumerate(lines) if '"input_text","text":"first question delay5"' in line)
    assert reply_after("\n".join(lines[: asked + 1]), "first question delay5") is None
    assert reply_after("", "hello") is None


def test_usage_counts_each_model_call_once() -> None:
    calls = usage(TEXT)
    # One token_count per model call: as many as Codex's own per-response records.
    records = [e for e in json_lines(TEXT) if e.get("type") == "token_usage_record"]
    assert len(calls) == len(records) == 12
    assert [(c.input, c.output) for c in calls] == [
        (r["payload"]["usage"]["input_tokens"], r["payload"]["usage"]["output_tokens"]) for r in records
    ]
    # ... and together they are the session's running total, nothing counted twice.
    counts = [e["payload"] for e in json_lines(TEXT) if e.get("payload", {}).get("type") == "token_count"]
    totals = [c["info"]["total_token_usage"] for c in counts]
    assert sum(c.input + c.cached for c in calls) == totals[-1]["input_tokens"]
    assert sum(c.output for c in calls) == totals[-1]["output_tokens"]
    assert {c.model for c in calls} == {"gpt-5-codex", "gpt-6-luna", "gpt-6-astra"}
    assert calls[0].when == "2026-12-05T03:03:39.087Z"


def test_usage_skips_repeated_totals_and_takes_cached_tokens_out() -> None:
    def count(total: int, last: int, cached: int = 0) -> str:
        figures = {"input_tokens": last, "cached_input_tokens": cached, "output_tokens": 2}
        info = {"total_token_usage": {"input_tokens": total}, "last_token_usage": figures}
        return json.dumps({"type": "event_msg", "payload": {"type": "token_count", "info": info}})

    context = json.dumps({"type": "turn_context", "payload": {"model": "m-1"}})
    no_info = json.dumps({"type": "event_msg", "payload": {"type": "token_count", "info": None}})
    text = "\n".join([context, count(100, 100), count(100, 100), no_info, count(250, 150, cached=120)])
    assert [(c.model, c.input, c.cached, c.output) for c in usage(text)] == [
        ("m-1", 100, 0, 2),
        ("m-1", 30, 120, 2),
    ]


def test_session_of_and_the_registered_reader() -> None:
    reader = reader_for("codex-jsonl")
    assert isinstance(reader, CodexTranscripts) and "codex-jsonl" in READERS
    assert reader.session_of(TEXT) == SESSION
    assert reader.session_of(TEXT.split("\n", 1)[1]) is None  # the first line cut by tail -c
    assert reader.usage(TEXT) == usage(TEXT)


async def test_fetch_finds_this_sessions_rollout_under_codex_home(tmp_path: Path) -> None:
    """The profile's path template finds the rollout in the dated folders, under the agent's own
    $CODEX_HOME (read from its process); its session id names its own file even when another is
    newer."""
    codex_home = tmp_path / "codex-home"
    day = codex_home / "sessions" / "2026" / "12" / "05"
    day.mkdir(parents=True)
    mine = day / ROLLOUT.name
    mine.write_text(TEXT)
    os.utime(mine, (1_000_000, 1_000_000))
    other = day / "rollout-2026-12-05T04-00-00-01a24500-0000-7000-8000-000000000000.jsonl"
    other.write_text('{"type": "session_meta", "payload": {"id": "other"}}\n')
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path / "home"), "CODEX_HOME": str(codex_home)}
    shell = subprocess.Popen(["sh", "-c", "sleep 30 & wait"], env=env, start_new_session=True)
    reader, rules = CodexTranscripts(), load_profile("codex").transcript
    try:
        newest = None
        for _ in range(100):  # until the shell has started its child
            newest = await reader.fetch(LocalTransport(), pane_pid=shell.pid, cwd="/p", rules=rules)
            if newest is not None:
                break
        assert newest is not None and reader.session_of(newest) == "other"
        found = await reader.fetch(
            LocalTransport(), pane_pid=shell.pid, cwd="/p", rules=rules, session_id=SESSION
        )
        assert found == TEXT
    finally:
        os.killpg(shell.pid, signal.SIGKILL)  # the shell and its sleep: the group started here
        shell.wait()
