"""The gemini-cli profile on every recorded Gemini CLI 0.61.0 screen: states, the input box, both
levels of /model, the permission question (box borders left out), replies and the model shown.

Most captures ran in /tmp/ab-gemini/proj/gemini; 00, 06a, 11, 12, 12b and 16 come from the shared
recordings (project /home/dev/proj/gemini). See tests/unit/screens/README.md for the names.
"""

from __future__ import annotations

import re

import pytest

from bridge.profiles import load_profile
from bridge.reading import State, classify, find_reply, input_text, read_menu, read_permission
from tests.e2e.mock_anthropic import TOOL_COMMAND
from tests.unit.recorded import load, names

GEMINI = "gemini-cli-0.61.0"
PROFILE = load_profile("gemini-cli")
I_, B, P, M, D, X = State.IDLE, State.BUSY, State.PERMISSION, State.MENU, State.DIALOG, State.DEAD
MODELS = [
    "gemini-3.1-pro-preview", "gemini-3-flash-preview", "gemini-2.5-pro", "gemini-3.5-flash-lite",
    "gemini-3.8-flash", "gemma-4-31b-it", "gemma-4-26b-a4b-it",
]  # fmt: skip

STATES: dict[str, State] = {
    "00-trust-folder-dialog": D,  # first start in an untrusted folder
    "01-idle-at-start": I_,
    "02-typed-not-submitted": I_,
    "03-busy": B,
    "03b-busy-later": B,
    "04-reply-done-short": I_,
    "05-reply-done-multiline": I_,
    "05-reply-done-multiline.hist": I_,
    "06-model-menu-open": M,  # level 1: Auto / Manual
    "06a-slash-autocomplete": I_,
    "07-model-menu-down1": M,
    "07b-model-manual-list": M,  # level 2: the models, titled the same
    "07c-model-manual-down2": M,
    "07d-model-manual-escape": M,  # Escape in level 2: back to level 1
    "07e-model-menu-closed": I_,  # Escape in level 1: closed
    "08-model-selected": I_,
    "09-permission-prompt": P,
    "09b-permission-down1": P,
    "10-after-permission-yes": I_,
    "10b-after-permission-always": I_,
    "10c-after-permission-no": I_,
    "10d-usetool-after-always": I_,  # allowed for the session: not asked again
    "11-pasted-multiline-before-enter": I_,
    "12-pasted-multiline-after-enter": I_,
    "12b-paste3-then-immediate-enter": I_,  # the Enter became a newline: text still in the box
    "14-interrupted-escape": I_,
    "15a-ctrl-c-once-with-text": I_,
    "15b-ctrl-c-second-empty": I_,  # "Press Ctrl+C again to exit."
    "16-after-ctrl-c-twice-shell": X,
    "17-resumed-session": I_,  # gemini --resume <id>: the history drawn again
    "18-exit-quit": X,
    "19-crashed-kill9-shell": X,
    "20-dialog-potential-loop": D,  # a repetitive reply stopped by loop detection
    "20b-after-loop-dialog-escape": I_,
    # tmux 3.5a answers Gemini's colour queries: after `gemini --resume` the box row has no
    # background 240 (the placeholder is on 235); the cursor still tells the live box
    "35-resumed-no-box-background-tmux35": I_,
}


def test_table_covers_every_capture() -> None:
    assert sorted(STATES) == names(GEMINI)


@pytest.mark.parametrize(("name", "state"), STATES.items(), ids=list(STATES))
def test_classify(name: str, state: State) -> None:
    assert classify(load(GEMINI, name), PROFILE) is state


@pytest.mark.parametrize(
    ("name", "text"),
    [("01-idle-at-start", ""), ("04-reply-done-short", ""), ("02-typed-not-submitted", "hello there"),
     ("11-pasted-multiline-before-enter", "[Pasted Text: 41 lines]"),
     ("12b-paste3-then-immediate-enter", "short paste line A\nshort paste line B\nshort paste line C\n"),
     ("06-model-menu-open", None), ("09-permission-prompt", None), ("18-exit-quit", None)],
)  # fmt: skip
def test_the_live_input_box_not_a_past_turn(name: str, text: str | None) -> None:
    """Past turns (" > text") have the box's background too: only the cursor tells them apart."""
    assert input_text(load(GEMINI, name), PROFILE) == text


@pytest.mark.parametrize(("name", "highlighted"), [("06-model-menu-open", 0), ("07-model-menu-down1", 1)])
def test_model_menu_level_one_rows_have_descriptions_under_them(name: str, highlighted: int) -> None:
    menu = read_menu(load(GEMINI, name), PROFILE)
    assert menu is not None and menu.title == "Select Model"
    assert menu.labels == ["Auto", "Manual"]  # "│      Let Gemini CLI decide …" is not the end
    assert menu.highlighted == highlighted
    assert menu.items[0].description.startswith("Let Gemini CLI decide the best model for the task")
    assert menu.items[1].description == "Manually select a model"


@pytest.mark.parametrize(
    ("name", "highlighted"), [("07b-model-manual-list", 0), ("07c-model-manual-down2", 2)]
)
def test_model_menu_level_two_lists_the_models(name: str, highlighted: int) -> None:
    menu = read_menu(load(GEMINI, name), PROFILE)
    assert menu is not None and menu.title == "Select Model"
    assert menu.labels == MODELS and menu.highlighted == highlighted
    assert [item.number for item in menu.items] == list(range(1, 8))


def test_the_model_rules_walk_manual_then_the_list() -> None:
    spec = PROFILE.model
    assert spec is not None and spec.command == "/model"
    assert [(step.title.pattern, step.pick) for step in spec.before] == [("^Select Model$", "Manual")]
    assert spec.title.search("Select Model") and spec.confirm_title is None


@pytest.mark.parametrize(
    ("name", "model"), [("08-model-selected", "gemini-2.5-pro"), ("01-idle-at-start", "Auto")]
)
def test_the_status_row_shows_the_model(name: str, model: str) -> None:
    assert PROFILE.model is not None
    found = [m["model"] for line in load(GEMINI, name).lines if (m := PROFILE.model.confirmed.search(line))]
    assert found == [model]


def test_dialogs_are_menus_with_their_options() -> None:
    menu = read_menu(load(GEMINI, "00-trust-folder-dialog"), PROFILE)
    assert menu is not None and menu.title == "Do you trust the files in this folder?"
    assert menu.labels == ["Trust folder (gemini)", "Trust parent folder (proj)", "Don't trust"]
    loop = read_menu(load(GEMINI, "20-dialog-potential-loop"), PROFILE)
    assert loop is not None and loop.title == "A potential loop was detected"
    assert loop.labels == ["Keep loop detection enabled (esc)", "Disable loop detection for this session"]


@pytest.mark.parametrize(("name", "highlighted"), [("09-permission-prompt", 0), ("09b-permission-down1", 1)])
def test_permission_question_without_box_borders(name: str, highlighted: int) -> None:
    question = read_permission(load(GEMINI, name), PROFILE)
    assert question is not None
    assert question.labels == ["Allow once", "Allow for this session", "No, suggest changes"]
    assert [o.key for o in question.options] == [None, None, "esc"]
    assert question.highlighted == highlighted
    assert question.command == TOOL_COMMAND
    assert question.question == f"? Shell  {TOOL_COMMAND}\n  {TOOL_COMMAND}\nAllow execution of [Shell]?"
    assert not re.search("[│╭╮╰╯─]", question.question)


@pytest.mark.parametrize(
    ("name", "prompt", "reply"),
    [("04-reply-done-short", "second question delay6", "MOCK-REPLY: second question delay6"),
     ("10-after-permission-yes", "please usetool now",
      "I will run a shell command for you.\n\nMOCK-REPLY: tool done: MOCK-TOOL-RAN"),
     ("10c-after-permission-no", "please usetool to deny", "I will run a shell command for you.")],
)  # fmt: skip
def test_reply_on_the_screen_skips_the_tool_box(name: str, prompt: str, reply: str) -> None:
    found = find_reply(load(GEMINI, name), PROFILE, prompt)
    assert found is not None and found.text == reply


def test_a_numbered_list_on_the_screen_is_indented_unlike_the_model_text() -> None:
    """Why the transcript is read: the screen shows " 01. mock line 1 …" for "01. mock line 1 …"."""
    found = find_reply(load(GEMINI, "05-reply-done-multiline.hist"), PROFILE, "please answer multiline")
    assert found is not None
    assert found.text.splitlines()[1].startswith(" 01. mock line 1 of 30")


def test_resume_id_and_exit() -> None:
    screen = "\n".join(load(GEMINI, "18-exit-quit").lines)
    assert PROFILE.resume_id is not None
    match = PROFILE.resume_id.search(screen)
    assert match is not None and match.group("id") == "e77a2a7e-0a02-44fe-87f2-8eedbaa6b177"
    assert PROFILE.exit_command == "/quit" and PROFILE.submit.min_gap_ms >= 50
