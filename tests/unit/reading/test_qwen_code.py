"""The built-in ``qwen-code`` profile on every recorded Qwen Code 0.15.10 screen: state, input box,
menus (rows with description lines under them), the permission question and replies.

The capture's name says the state (see tests/unit/screens/README.md); where it does not, the
table says why.
"""

from __future__ import annotations

import re

import pytest

from bridge.profiles import Selector, load_profile
from bridge.reading import State, classify, find_reply, input_text, read_menu, read_permission
from bridge.screen import parse
from tests.e2e.mock_anthropic import TOOL_COMMAND
from tests.unit.recorded import load, names

QWEN = "qwen-code-0.15.10"
PROFILE = load_profile("qwen-code")
I_, B, P, M, D, X = State.IDLE, State.BUSY, State.PERMISSION, State.MENU, State.DIALOG, State.DEAD

STATES: dict[str, State] = {
    "01-idle-at-start": I_,
    "01b-idle-fresh-start": I_,
    "02-typed-not-submitted": I_,
    "03-busy": B,
    "03b-busy": B,
    "03e-busy-acceptance": B,
    "04-reply-done-short": I_,
    "04b-reply-after-delay": I_,
    "05-reply-done-multiline": I_,
    "05-reply-done-multiline.hist": I_,
    "06-model-menu-open": M,
    "06a-slash-autocomplete": I_,  # "/model" typed, completion list under the box
    "07-model-menu-down1": M,
    "08-model-selected": I_,
    "08b-model-discontinued-error": M,  # Enter on the discontinued row: an error, the menu stays
    "08c-model-menu-escaped": I_,  # Esc closes the menu, nothing chosen
    "09-permission-prompt": P,
    "09b-permission-down1": P,
    "09c-permission-down3": P,
    "10-after-permission-yes": I_,
    "10b-after-permission-no": I_,
    "11-pasted-multiline-before-enter": I_,
    "12-pasted-multiline-after-enter": I_,
    "13-typed-with-newline": I_,
    "14-interrupted": I_,  # Esc while busy: "● Request cancelled."
    "15a-ctrl-c-once-with-text": I_,  # "Press Ctrl+C again to exit.", box emptied
    "15b-ctrl-c-twice": X,
    "16-after-ctrl-c-twice-shell": X,
    "16b-shell-after-extra-ctrl-c": X,
    "17-resumed": I_,  # `qwen --resume <id>`: the old conversation, then the idle box
    "18-after-quit-shell": X,
    "18a-quit-typed": I_,
    "19-crashed-kill9-shell": X,  # the stale input box stays; the shell prompt holds the cursor
    "20-dialog-auth": D,  # first start without settings: "Select Authentication Method"
}


def test_every_capture_is_in_the_table() -> None:
    assert sorted(STATES) == names(QWEN)


@pytest.mark.parametrize("name", sorted(STATES))
def test_state(name: str) -> None:
    assert classify(load(QWEN, name), PROFILE) is STATES[name]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("01-idle-at-start", ""),  # the placeholder is not text
        ("02-typed-not-submitted", "hello there"),  # the cursor cell and its U+200B are not text
        ("13-typed-with-newline", "typed line one\ntyped line two"),
        ("11-pasted-multiline-before-enter", "[Pasted Content 3764 chars]"),
        ("18a-quit-typed", "/quit"),
        ("09-permission-prompt", None),
        ("06-model-menu-open", None),
    ],
)
def test_input_box(name: str, text: str | None) -> None:
    assert input_text(load(QWEN, name), PROFILE) == text


@pytest.mark.parametrize(
    ("name", "highlighted"),
    [("06-model-menu-open", 1), ("07-model-menu-down1", 2), ("08b-model-discontinued-error", 0)],
)
def test_model_menu_rows_keep_their_description_lines(name: str, highlighted: int) -> None:
    menu = read_menu(load(QWEN, name), PROFILE)
    assert menu is not None and menu.title == "Select Model"
    assert menu.labels == ["coder-model (Discontinued)", "Qwen Mock Coder", "Qwen Mock Max"]
    assert [item.description for item in menu.items] == [
        "Discontinued — switch to Coding Plan or API Key",
        "The mock's coder model",
        "The mock's bigger model",
    ]
    assert menu.highlighted == highlighted


def test_without_description_rows_the_first_description_ends_the_list() -> None:
    """Why ``description_row`` exists: the reader stops at the first row that is not an item."""
    rules = PROFILE.menu
    assert rules is not None and rules.items.description_row is not None
    items = rules.items.model_copy(update={"description_row": None})
    plain = PROFILE.model_copy(update={"menu": rules.model_copy(update={"items": items})})
    menu = read_menu(load(QWEN, "06-model-menu-open"), plain)
    assert menu is not None and menu.labels == ["coder-model (Discontinued)"]


def test_a_description_row_without_a_group_is_the_whole_row_and_joins_an_inline_description() -> None:
    screen = "\r\n".join(["  Pick one", "> 1. alpha  inline", "     more about alpha", "  2. beta",
                           "     about beta", "  Esc to close"])  # fmt: skip
    selector = Selector(
        item=re.compile(r"^(?P<glyph>>)?\s*(?P<number>\d+)\. (?P<label>\S+)(?:  (?P<description>.+))?$"),
        description_row=re.compile(r"^ {5}\S.*$"),
    )
    assert PROFILE.menu is not None
    profile = PROFILE.model_copy(update={"menu": PROFILE.menu.model_copy(
        update={"titles": [re.compile(r"^  (?P<title>Pick one)$")], "items": selector})})  # fmt: skip
    menu = read_menu(parse(screen), profile)
    assert menu is not None and menu.labels == ["alpha", "beta"] and menu.highlighted == 0
    assert [item.description for item in menu.items] == ["inline more about alpha", "about beta"]
    assert Selector(item=selector.item).description_row is None  # optional: older profiles unchanged


def test_model_switch_is_confirmed_by_the_using_model_line() -> None:
    spec = PROFILE.model
    assert spec is not None
    lines = load(QWEN, "08-model-selected").lines
    assert [m.group("model") for line in lines if (m := spec.confirmed.search(line))] == ["qwen-mock-max"]


@pytest.mark.parametrize(("name", "highlighted"), [("09-permission-prompt", 0), ("09b-permission-down1", 1),
                                                   ("09c-permission-down3", 3)])  # fmt: skip
def test_permission_question(name: str, highlighted: int) -> None:
    question = read_permission(load(QWEN, name), PROFILE)
    assert question is not None
    assert question.command == TOOL_COMMAND
    assert question.question == (  # the box's side borders are not part of it
        f"?  Shell {TOOL_COMMAND} (Mock tool call: print a marker) ←\n\n  {TOOL_COMMAND}\n\n"
        "Allow execution of: 'touch'?"
    )
    assert question.labels == [
        "Yes, allow once",
        "Always allow run 'touch *' commands in this project",
        "Always allow run 'touch *' commands for this user",
        "No, suggest changes",
    ]
    assert question.options[-1].key == "esc"
    assert question.highlighted == highlighted


@pytest.mark.parametrize(
    ("name", "prompt", "text"),
    [
        ("04-reply-done-short", "hello there", "MOCK-REPLY: hello there"),
        ("04b-reply-after-delay", "take your time delay6", "MOCK-REPLY: take your time delay6"),
        ("10b-after-permission-no", "please usetool again", "I will run a shell command for you."),
        ("18a-quit-typed", "back again", "MOCK-REPLY: back again"),
    ],
)
def test_screen_reply(name: str, prompt: str, text: str) -> None:
    reply = find_reply(load(QWEN, name), PROFILE, prompt)
    assert reply is not None and reply.complete
    assert reply.text == text


def test_screen_reply_around_a_tool_call_drops_the_tool_box() -> None:
    reply = find_reply(load(QWEN, "10-after-permission-yes"), PROFILE, "please usetool now")
    assert reply is not None and reply.complete
    assert reply.blocks[0] == "I will run a shell command for you."
    assert reply.blocks[1].startswith("MOCK-REPLY: tool done: Command: touch mock_tool_ran.txt")
    assert "╭" not in reply.text and "│" not in reply.text


def test_the_screen_indents_a_numbered_list_the_transcript_does_not() -> None:
    reply = find_reply(load(QWEN, "05-reply-done-multiline.hist"), PROFILE, "please answer multiline")
    assert reply is not None and reply.complete
    lines = reply.text.splitlines()
    assert lines[0] == "MOCK-REPLY: please answer multiline" and lines[-1] == "MOCK-END"
    assert lines[1] == " 01. mock line 1 of 30 - the quick brown fox jumps over the lazy dog"


def test_busy_reply_is_not_complete_and_resume_id_is_read() -> None:
    reply = find_reply(load(QWEN, "03-busy"), PROFILE, "take your time delay6")
    assert reply is not None and reply.text == ""
    assert PROFILE.resume_id is not None
    screen = "\n".join(load(QWEN, "15b-ctrl-c-twice").lines)
    found = PROFILE.resume_id.search(screen)
    assert found is not None and found.group("id") == "c5466058-7ebf-4bcb-a486-bc2652adaf51"
