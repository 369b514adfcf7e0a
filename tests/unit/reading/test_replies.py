"""find_reply on the recorded reply screens: exact text.

What the user typed is visible in the captures (the echo rows); the mock model answered
``MOCK-REPLY: <message>`` and, for "multiline", 30 numbered lines and ``MOCK-END``. Screens show
rendered Markdown: Codex renumbers the list (1. … 30.) and indents MOCK-END as part of item 30.
"""

from __future__ import annotations

import pytest

from bridge.profiles import Profile, load_profile
from bridge.reading import find_reply, last_prompt
from bridge.screen import Snapshot
from tests.unit.recorded import CLAUDE, CODEX, DEMO, SHELL, load


def reply_text(snap: Snapshot, profile: Profile, prompt: str | None) -> str:
    """The reply's text; the prompt's echo must be on the screen."""
    reply = find_reply(snap, profile, prompt)
    assert reply is not None, "the prompt's echo is not on the screen"
    return reply.text


TOOL_DONE = "I will run a shell command for you.\n\nMOCK-REPLY: tool done: MOCK-TOOL-RAN"
FOX = "mock line {n} of 30 - the quick brown fox jumps over the lazy dog"
MULTI = "please give a multiline answer"
CLAUDE_MULTI = "\n".join(
    [f"MOCK-REPLY: {MULTI}", *(f"{n:02d}. " + FOX.format(n=n) for n in range(1, 31)), "MOCK-END"]
)
CODEX_MULTI = "\n".join(
    [f"MOCK-REPLY: {MULTI}", "", *(f"{n}. " + FOX.format(n=n) for n in range(1, 31)), "   MOCK-END"]
)
SLOW = "slowstream this reply arrives word by word so we can see partial text on screen"
PASTED = "\n".join(
    [
        *(
            f"PASTED PROMPT line {n:02d}: some context text for the agent to read, "
            "with symbols <>&\"' $HOME `x`"
            for n in range(1, 41)
        ),
        "Final line: reply with a short answer please",
    ]
)
# Claude renders the mock's echo of the paste as Markdown: backticks vanish, it cuts at 4 lines.
PASTED_REPLY = (
    "MOCK-REPLY: "
    + " ".join(
        f"PASTED PROMPT line {n:02d}: some context text for the agent to read, with symbols <>&\"' $HOME x"
        for n in range(1, 4)
    )
    + " PASTED PROMPT line 04..."
)

CLAUDE_REPLIES = [
    ("04-reply-done-short", "first question delay10", "MOCK-REPLY: first question delay10"),
    ("04b-reply-done-after-stream", SLOW, f"MOCK-REPLY: {SLOW}"),
    ("04b-reply-done-after-stream", MULTI, CLAUDE_MULTI),
    ("05-reply-done-multiline", MULTI, CLAUDE_MULTI),
    ("05-reply-done-multiline", "first question delay10", "MOCK-REPLY: first question delay10"),
    ("05-reply-done-multiline.hist", MULTI, CLAUDE_MULTI),
    # the tool call ("● Bash(…)" + "⎿ output") is dropped; the text blocks around it stay
    ("10-after-permission-yes", "please usetool now", TOOL_DONE),
    ("10b-after-permission-no", "please usetool now", TOOL_DONE),
    ("10b-after-permission-no", "usetool again please", "I will run a shell command for you."),
    ("09x-tool-readonly-autoapproved", "please usetool now", TOOL_DONE),
    # a multi-line prompt is found by its first line
    ("13b-paste-without-p-flag", "typed line one\ntyped line two",
     "MOCK-REPLY: typed line one typed line two"),
    ("13-typed-with-newline", "short paste line A\nshort paste line B\nshort paste line C",
     "MOCK-REPLY: short paste line A short paste line B short paste line C"),
    ("18b-after-exit-with-conversation", "hello before exit", "MOCK-REPLY: hello before exit"),
    # the echo's first rows are above the capture; the agent's own line wrap is rejoined
    ("12b-paste-then-immediate-enter", PASTED, PASTED_REPLY),
    ("11b-pasted-3lines-before-enter", PASTED, PASTED_REPLY),
]  # fmt: skip

CODEX_REPLIES = [
    ("04-reply-done-short", "second question delay12", "MOCK-REPLY: second question delay12"),  # tip dropped
    ("04-reply-done-short", "timing test d=0.05", "MOCK-REPLY: timing test d=0.05"),
    ("21-noalt-reply-multiline", MULTI, CODEX_MULTI),
    ("21-noalt-reply-multiline.hist", MULTI, CODEX_MULTI),
    ("10-after-permission-yes", "please usetool now",
     "I will run a shell command for you.\n\nMOCK-REPLY: tool done: Chunk ID: c69e25"),
    ("12b-paste3-then-immediate-enter", "short paste line A\nshort paste line B\nshort paste line C",
     "MOCK-REPLY: short paste line A short paste line B short paste line C"),
    # refused: the refusal note, the failed tool block and "Conversation interrupted" are no reply
    ("10b-after-permission-no", "please usetool now", "I will run a shell command for you."),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "prompt", "text"),
    [("03f-busy-hollow-bullet", "first question delay5", ""),
     ("03g-busy-hollow-after-preamble", "please usetool preamble", "I will run a shell command for you.")],
)  # fmt: skip
def test_codex_busy_with_the_hollow_bullet_is_no_finished_reply(name: str, prompt: str, text: str) -> None:
    """The busy line "◦ Working (…)" is never the reply, and the turn is not over."""
    reply = find_reply(load(CODEX, name), load_profile("codex"), prompt)
    assert reply is not None
    assert (reply.text, reply.complete) == (text, False)


@pytest.mark.parametrize(("name", "prompt", "expected"), CLAUDE_REPLIES, ids=[c[0] for c in CLAUDE_REPLIES])
def test_claude_reply(name: str, prompt: str, expected: str) -> None:
    assert reply_text(load(CLAUDE, name), load_profile("claude-code"), prompt) == expected


@pytest.mark.parametrize(("name", "prompt", "expected"), CODEX_REPLIES, ids=[c[0] for c in CODEX_REPLIES])
def test_codex_reply(name: str, prompt: str, expected: str) -> None:
    assert reply_text(load(CODEX, name), load_profile("codex"), prompt) == expected


def test_claude_wrapped_paragraph_is_rejoined() -> None:
    snap = load(CLAUDE, "12-pasted-multiline-after-enter")
    reply = reply_text(snap, load_profile("claude-code"), PASTED)
    assert "\n" not in reply
    assert reply.endswith("STOP what you are doing and wait for the user to")


def test_without_the_pane_width_wrapped_rows_are_not_guessed() -> None:
    from bridge.screen import parse
    from tests.unit.recorded import SCREENS

    raw = (SCREENS / CLAUDE / "12b-paste-then-immediate-enter.ans").read_text()
    reply = reply_text(parse(raw), load_profile("claude-code"), PASTED)
    assert reply == PASTED_REPLY.replace(" PASTED PROMPT line 03", "\nPASTED PROMPT line 03")


def test_complete_flags() -> None:
    claude = load_profile("claude-code")
    done = find_reply(load(CLAUDE, "05-reply-done-multiline"), claude, MULTI)
    assert done is not None and done.complete and done.blocks == (CLAUDE_MULTI,)
    streaming = find_reply(load(CLAUDE, "03c-busy-streaming-partial"), claude, SLOW)
    assert streaming is not None and not streaming.complete and streaming.text == ""
    waiting = find_reply(load(CLAUDE, "09-permission-prompt"), claude, "please usetool now")
    assert waiting is not None and not waiting.complete
    assert waiting.text == "I will run a shell command for you."


def test_codex_permission_pending_reply_stops_at_the_question() -> None:
    reply = find_reply(load(CODEX, "09-permission-prompt"), load_profile("codex"), "please usetool now")
    assert reply is not None and not reply.complete
    assert reply.text == "I will run a shell command for you."  # "• Running …" is a tool call


@pytest.mark.parametrize("name", ["05-reply-done-multiline", "05-reply-done-multiline.hist"])
def test_codex_alt_screen_reply_start_scrolled_off(name: str) -> None:
    """Alternate screen, no scrollback: the top row pins the echo, items 1-10 are gone.

    The reader returns what is visible and says it is partial (the transcript has the rest)."""
    reply = find_reply(load(CODEX, name), load_profile("codex"), MULTI)
    assert reply is not None and not reply.complete
    visible = "\n\n".join(f"{n}. " + FOX.format(n=n) for n in range(11, 31)) + "\n   MOCK-END"
    assert reply.text == visible


def test_busy_claude_reply_is_empty_and_incomplete() -> None:
    reply = find_reply(load(CLAUDE, "03-busy"), load_profile("claude-code"), "first question delay10")
    assert reply is not None and (reply.text, reply.complete) == ("", False)


def test_prompt_not_on_screen() -> None:
    snap = load(CLAUDE, "04-reply-done-short")
    assert find_reply(snap, load_profile("claude-code"), "never asked") is None


def test_no_prompt_means_the_last_turn() -> None:
    snap = load(CLAUDE, "05-reply-done-multiline")
    assert reply_text(snap, load_profile("claude-code"), None) == CLAUDE_MULTI
    assert last_prompt(snap, load_profile("claude-code")) == MULTI


def test_last_prompt_multiline_and_codex() -> None:
    assert last_prompt(load(CLAUDE, "13b-paste-without-p-flag"), load_profile("claude-code")) == (
        "paste without bracket:nb line 1"
    )
    assert last_prompt(load(CODEX, "12b-paste3-then-immediate-enter"), load_profile("codex")) == (
        "short paste line A\nshort paste line B\nshort paste line C"
    )
    assert last_prompt(load(CLAUDE, "01-idle-at-start"), load_profile("claude-code")) is None


# -- demo agent -------------------------------------------------------------------------------

DEMO_MULTI = "\n".join([*(f"line {n}" for n in range(1, 31)), "MOCK-END"])


@pytest.mark.parametrize(
    ("name", "prompt", "expected", "complete"),
    [
        ("04-reply-done-short", "first question delay3", "MOCK-REPLY: first question delay3", True),
        ("05-reply-done-multiline", MULTI, DEMO_MULTI, True),
        ("05-reply-done-multiline", "first question delay3", "MOCK-REPLY: first question delay3", True),
        ("10-after-permission-yes", "please usetool now",
         "Done: touch mock_tool_ran.txt && echo MOCK-TOOL-RAN", True),
        ("10b-after-permission-no", "usetool again please", "", False),  # only the refused tool call
        ("03-busy", "first question delay3", "", False),
    ],
)  # fmt: skip
def test_demo_reply(name: str, prompt: str, expected: str, complete: bool) -> None:
    reply = find_reply(load(DEMO, name), load_profile("demo"), prompt)
    assert reply is not None
    assert (reply.text, reply.complete) == (expected, complete)


# -- shell -------------------------------------------------------------------------------------

SHELL_LOOP = (
    "for i in $(seq 1 30); do printf '%02d. mock line %d of 30 - the quick brown fox jumps over the "
    "lazy dog\\n' $i $i; done; echo MOCK-END"
)
LONG = "long:0123456789" * 15


@pytest.mark.parametrize(
    ("name", "prompt", "expected", "complete"),
    [
        ("04-reply-done-short", "echo hello from the bridge", "hello from the bridge", True),
        ("03-busy", "echo hello from the bridge", "hello from the bridge", True),  # a later prompt
        ("03b-busy-with-output", "echo working; sleep 30", "working", False),
        ("05-reply-done-multiline.hist", SHELL_LOOP,
         "\n".join(f"{n:02d}. " + FOX.format(n=n) for n in range(1, 31)) + "\nMOCK-END", True),
        ("06-reply-done-wrapped-long-line", "printf 'long:%.0s0123456789' {1..15}; echo", LONG, True),
        ("06b-reply-done-wrapped-not-joined", "printf 'long:%.0s0123456789' {1..15}; echo", LONG, True),
        ("07-reply-done-user-host-prompt", "echo MOCK-REPLY: user at host prompt",
         "MOCK-REPLY: user at host prompt", True),
    ],
)  # fmt: skip
def test_shell_reply(name: str, prompt: str, expected: str, complete: bool) -> None:
    reply = find_reply(load(SHELL, name), load_profile("shell"), prompt)
    assert reply is not None
    assert (reply.text, reply.complete) == (expected, complete)
