"""read_menu / read_permission / input_text on the recorded screens."""

from __future__ import annotations

import re

import pytest

from bridge.profiles import load_profile
from bridge.reading import find_input_box, input_text, read_menu, read_permission
from bridge.reading.match import last_hit
from tests.unit.recorded import CLAUDE, CODEX, DEMO, SHELL, load

CLAUDE_MODELS = ["Default (recommended)", "Opus", "Sonnet", "Sonnet 5 (1M context)", "Haiku"]
CODEX_MODELS = [
    "GPT-6.1-Sol", "GPT-6-Astra", "GPT-6-Sol", "GPT-6-Luna",
    "GPT-5.6-Sol", "GPT-6.1 Terra", "GPT-5.6-Terra", "GPT-5.6-Luna",
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "highlighted"),
    [("06-model-menu-open", 0), ("07-model-menu-down1", 1), ("07b-model-menu-down2", 2)],
)
def test_claude_model_menu(name: str, highlighted: int) -> None:
    menu = read_menu(load(CLAUDE, name), load_profile("claude-code"))
    assert menu is not None
    assert menu.title == "Select model"
    assert [item.label for item in menu.items] == CLAUDE_MODELS
    assert [item.number for item in menu.items] == [1, 2, 3, 4, 5]
    assert menu.highlighted == highlighted
    assert [item.highlighted for item in menu.items] == [i == highlighted for i in range(5)]
    assert [item.current for item in menu.items] == [i == 0 for i in range(5)]  # "✔", removed
    assert menu.items[2].description == "Sonnet 5 · Efficient for routine tasks · $3/$15 per Mtok"
    assert re.search(load_profile("claude-code").model.title, menu.title)  # type: ignore[union-attr]


def test_claude_switch_model_confirmation() -> None:
    profile = load_profile("claude-code")
    menu = read_menu(load(CLAUDE, "08a-model-switch-confirm"), profile)
    assert menu is not None
    assert menu.title == "Switch model?"
    assert [(i.number, i.label) for i in menu.items] == [(1, "Yes, switch to Sonnet 5"), (2, "No, go back")]
    assert menu.highlighted == 0
    assert profile.model is not None and profile.model.confirm_title is not None
    assert profile.model.confirm_title.search(menu.title)


def test_claude_model_confirmed_line() -> None:
    profile = load_profile("claude-code")
    assert profile.model is not None
    snap = load(CLAUDE, "08-model-selected")
    found = [m for line in snap.lines if (m := profile.model.confirmed.search(line))]
    assert [m.group("model") for m in found] == ["Sonnet 5"]
    # After "s" (this session only) the line says so; the model name stays clean.
    session = load(CLAUDE, "08c-model-set-session-only")
    found = [m for line in session.lines if (m := profile.model.confirmed.search(line))]
    assert [m.group("model") for m in found] == ["Sonnet 5"]


def test_claude_shows_its_model_in_the_header() -> None:
    """Where the profile says the model in use shows: a switch to exactly it is skipped."""
    from bridge.reading.match import last_hit

    current = load_profile("claude-code").model.current  # type: ignore[union-attr]
    assert current is not None
    shown = {"01-idle-at-start": "Opus 4.8 (1M context)", "08c-model-set-session-only": "Sonnet 5"}
    for name, model in shown.items():
        hit = last_hit(load(CLAUDE, name), current)
        assert hit is not None and hit.group("model") == model
    assert last_hit(load(CLAUDE, "09-permission-prompt"), current) is None  # scrolled away


@pytest.mark.parametrize(("name", "highlighted"), [("06-model-menu-open", 0), ("07-model-menu-down1", 1)])
def test_codex_model_menu(name: str, highlighted: int) -> None:
    menu = read_menu(load(CODEX, name), load_profile("codex"))
    assert menu is not None
    assert menu.title == "Select Model and Effort"
    assert [item.label for item in menu.items] == CODEX_MODELS
    assert menu.highlighted == highlighted
    assert sum(item.highlighted for item in menu.items) == 1
    assert menu.items[0].description == "Latest workhorse model for coding and everyday work."


def test_codex_model_menu_marks_the_current_model() -> None:
    """06c: "› 4. GPT-6-Luna (current)": the label is the model's name, the row the current one."""
    menu = read_menu(load(CODEX, "06c-model-menu-current-luna"), load_profile("codex"))
    assert menu is not None
    assert [item.label for item in menu.items] == CODEX_MODELS
    assert [item.current for item in menu.items] == [i == 3 for i in range(len(CODEX_MODELS))]
    assert menu.highlighted == 3


@pytest.mark.parametrize(
    ("name", "model"),
    [("01-idle-at-start", "gpt-5-codex"), ("08-model-selected", "GPT-6-Astra"),
     ("17b-resume-by-id-idle", "GPT-6-Luna"), ("09-permission-prompt", None)],
)  # fmt: skip
def test_codex_status_row_names_the_current_model(name: str, model: str | None) -> None:
    profile = load_profile("codex")
    assert profile.model is not None and profile.model.current is not None
    found = last_hit(load(CODEX, name), profile.model.current)
    assert (found.group("model") if found else None) == model


def test_codex_effort_menu_opens_on_the_models_default() -> None:
    menu = read_menu(load(CODEX, "08b-model-effort-menu-luna"), load_profile("codex"))
    assert menu is not None
    assert menu.title == "Select Reasoning Level for GPT-6-Luna"
    assert [i.label for i in menu.items][:2] == ["Low", "Medium (default)"]
    assert menu.highlighted == 1


def test_codex_effort_menu_and_confirmation() -> None:
    profile = load_profile("codex")
    assert profile.model is not None
    menu = read_menu(load(CODEX, "08a-model-effort-menu"), profile)
    assert menu is not None
    assert menu.title == "Select Reasoning Level for GPT-6-Astra"
    assert profile.model.next_titles[0].search(menu.title)
    labels = [i.label for i in menu.items]
    assert labels == ["Low (default)", "Medium", "High", "Extra high", "More reasoning…"]
    assert menu.highlighted == 0
    rows = load(CODEX, "08-model-selected").lines
    done = [m for line in rows if (m := profile.model.confirmed.search(line))]
    assert [(m.group("model"), m.group("effort")) for m in done] == [("gpt-6-astra", "low")]
    rows = load(CODEX, "08c-model-selected-session-only").lines  # after "s": "… for this session only"
    done = [m for line in rows if (m := profile.model.confirmed.search(line))]
    assert [(m.group("model"), m.group("effort")) for m in done] == [("gpt-6-astra", "low")]


@pytest.mark.parametrize(("name", "highlighted"), [("06-model-menu-open", 0), ("07-model-menu-down1", 1)])
def test_demo_model_menu(name: str, highlighted: int) -> None:
    menu = read_menu(load(DEMO, name), load_profile("demo"))
    assert menu is not None
    assert menu.title == "Select model"
    assert [item.label for item in menu.items] == ["Default (recommended)", "Opus", "Sonnet", "Haiku"]
    assert menu.highlighted == highlighted
    assert [item.current for item in menu.items] == [True, False, False, False]


def test_demo_switch_confirmation_and_confirmed_line() -> None:
    profile = load_profile("demo")
    menu = read_menu(load(DEMO, "08a-model-switch-confirm"), profile)
    assert menu is not None and menu.title == "Switch model?"
    assert [i.label for i in menu.items] == ["Yes, switch to Opus", "No, go back"]
    assert menu.highlighted == 0
    assert profile.model is not None
    found = [
        m for line in load(DEMO, "08-model-selected").lines if (m := profile.model.confirmed.search(line))
    ]
    assert [m.group("model") for m in found] == ["Opus"]


def test_demo_permission() -> None:
    question = read_permission(load(DEMO, "09-permission-prompt"), load_profile("demo"))
    assert question is not None
    assert question.question == (
        "Bash command\n\n  touch mock_tool_ran.txt && echo MOCK-TOOL-RAN\n"
        "  Demo tool call: nothing is executed\n\nDo you want to proceed?"
    )
    assert question.command == "touch mock_tool_ran.txt && echo MOCK-TOOL-RAN"
    assert question.labels == ["Yes", "Yes, and don't ask again for this command", "No"]
    assert question.highlighted == 0


@pytest.mark.parametrize(
    ("profile", "folder", "name", "title", "labels", "highlighted"),
    [
        ("claude-code", CLAUDE, "20-dialog-first-screen-unapproved-key-untrusted", "Accessing workspace:",
         ["Yes, I trust this folder", "No, exit"], 0),
        ("claude-code", CLAUDE, "21-dialog-custom-api-key", "Detected a custom API key in your environment",
         ["Yes", "No (recommended)"], 1),
    ],
)  # fmt: skip
def test_dialogs_read_as_menus(
    profile: str, folder: str, name: str, title: str, labels: list[str], highlighted: int
) -> None:
    menu = read_menu(load(folder, name), load_profile(profile))
    assert menu is not None
    assert (menu.title, [i.label for i in menu.items], menu.highlighted) == (title, labels, highlighted)


@pytest.mark.parametrize(
    ("profile", "folder", "name"),
    [
        ("claude-code", CLAUDE, "05-reply-done-multiline"),  # numbered reply lines are no menu
        ("claude-code", CLAUDE, "04-reply-done-short"),
        ("claude-code", CLAUDE, "09-permission-prompt"),
        ("codex", CODEX, "21-noalt-reply-multiline"),
        ("codex", CODEX, "01-idle-at-start"),
        ("codex", CODEX, "09-permission-prompt"),
    ],
)
def test_no_menu(profile: str, folder: str, name: str) -> None:
    assert read_menu(load(folder, name), load_profile(profile)) is None


CLAUDE_QUESTION = (
    "Bash command\n\n"
    "  touch mock_tool_ran.txt && echo MOCK-TOOL-RAN\n"
    "  Mock tool call: print a marker\n\n"
    "Do you want to proceed?"
)
CODEX_QUESTION = (
    "Would you like to run the following command?\n\n"
    "Environment: local\n\n"
    "Reason: Mock tool call: allow running the marker command?\n\n"
    "$ touch mock_tool_ran.txt && echo MOCK-TOOL-RAN"
)


@pytest.mark.parametrize(
    ("name", "highlighted"), [("09-permission-prompt", 0), ("09b-permission-prompt-No-highlighted", 2)]
)
def test_claude_permission(name: str, highlighted: int) -> None:
    question = read_permission(load(CLAUDE, name), load_profile("claude-code"))
    assert question is not None
    assert question.question == CLAUDE_QUESTION
    assert question.command == "touch mock_tool_ran.txt && echo MOCK-TOOL-RAN"
    assert question.labels == ["Yes", "Yes, and always allow access to claude/ from this project", "No"]
    assert question.highlighted == highlighted


@pytest.mark.parametrize(("name", "highlighted"), [("09-permission-prompt", 0), ("09b-permission-down1", 1)])
def test_codex_permission(name: str, highlighted: int) -> None:
    question = read_permission(load(CODEX, name), load_profile("codex"))
    assert question is not None
    assert question.question == CODEX_QUESTION
    assert question.command == "touch mock_tool_ran.txt && echo MOCK-TOOL-RAN"
    assert question.labels == [
        "Yes, proceed",
        "Yes, and don't ask again for commands that start with `touch mock_tool_ran.txt`",
        "No, and tell Codex what to do differently",
    ]
    assert [o.key for o in question.options] == ["y", "p", "esc"]
    assert question.highlighted == highlighted


@pytest.mark.parametrize(
    ("profile", "folder", "name"),
    [
        ("claude-code", CLAUDE, "10-after-permission-yes"),
        ("claude-code", CLAUDE, "06-model-menu-open"),
        ("codex", CODEX, "10-after-permission-yes"),
        ("shell", SHELL, "04-reply-done-short"),
    ],
)
def test_no_permission(profile: str, folder: str, name: str) -> None:
    assert read_permission(load(folder, name), load_profile(profile)) is None


# -- the input box -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "folder", "name", "text"),
    [
        ("claude-code", CLAUDE, "01-idle-at-start", ""),
        ("claude-code", CLAUDE, "02-typed-not-submitted", "hello from the bridge, typed not submitted"),
        ("claude-code", CLAUDE, "02b-long-typed-line-before-enter", "[Pasted text #1]"),
        ("claude-code", CLAUDE, "11-pasted-multiline-before-enter", "[Pasted text #1 +40 lines]"),
        ("claude-code", CLAUDE, "11b-pasted-3lines-before-enter",
         "short paste line A\nshort paste line B\nshort paste line C"),
        ("claude-code", CLAUDE, "13-typed-with-newline", "typed line one\ntyped line two"),
        ("claude-code", CLAUDE, "14-interrupted-by-esc", "long task delay15"),
        ("claude-code", CLAUDE, "03-busy", ""),  # the box stays while busy
        ("claude-code", CLAUDE, "06a-slash-autocomplete", "/model"),
        ("claude-code", CLAUDE, "06-model-menu-open", None),
        ("claude-code", CLAUDE, "09-permission-prompt", None),
        ("claude-code", CLAUDE, "19-crashed-kill9-shell", None),  # the box lost its bottom rule
        ("codex", CODEX, "01-idle-at-start", ""),  # the dim placeholder is no text
        ("codex", CODEX, "02-typed-not-submitted", "hello codex typed not submitted"),
        ("codex", CODEX, "02b-long-typed-line-before-enter", "[Pasted Content 1024 chars]"),
        ("codex", CODEX, "11-pasted-multiline-before-enter", "[Pasted Content 3764 chars]"),
        ("codex", CODEX, "13-typed-then-immediate-enter-not-submitted", "zero delay test\n"),
        ("codex", CODEX, "06a-slash-autocomplete", "/model"),  # not the reverse popup row
        ("codex", CODEX, "03-busy", ""),
        ("codex", CODEX, "06-model-menu-open", None),
        ("codex", CODEX, "09-permission-prompt", None),
        ("demo", DEMO, "01-idle-at-start", ""),
        ("demo", DEMO, "02-typed-not-submitted", "hello from the bridge, typed not submitted"),
        ("demo", DEMO, "06-model-menu-open", None),
        ("shell", SHELL, "01-idle-at-start", ""),
        ("shell", SHELL, "02-typed-not-submitted", "echo hello from the bridge"),
        ("shell", SHELL, "03-busy", None),
    ],
)  # fmt: skip
def test_input_text(profile: str, folder: str, name: str, text: str | None) -> None:
    assert input_text(load(folder, name), load_profile(profile)) == text


def test_codex_placeholder_is_flagged() -> None:
    box = find_input_box(load(CODEX, "01-idle-at-start"), load_profile("codex"))
    assert box is not None and box.placeholder and box.text == ""


def test_collapsed_pastes_are_recognised() -> None:
    """What a big paste shows instead of its text matches the profile's ``input.collapsed``."""
    for profile, folder in (("claude-code", CLAUDE), ("codex", CODEX)):
        rules = load_profile(profile).input
        assert rules is not None
        for name in ("02b-long-typed-line-before-enter", "11-pasted-multiline-before-enter"):
            typed = input_text(load(folder, name), load_profile(profile))
            assert typed and any(p.search(typed) for p in rules.collapsed), (profile, name)
        typed = input_text(load(folder, "02-typed-not-submitted"), load_profile(profile))
        assert typed and not any(p.search(typed) for p in rules.collapsed)
