"""What `agent-bridge profiles check` prints: everything a profile reads on one recorded screen."""

from __future__ import annotations

from bridge.profiles import load_profile
from bridge.reading.inspect import inspect_screen
from tests.unit.recorded import CLAUDE, CODEX, load


def test_a_menu_screen() -> None:
    seen = inspect_screen(load(CLAUDE, "06-model-menu-open"), load_profile("claude-code"))
    assert seen["state"] == "menu" and seen["input"] is None and seen["permission"] is None
    menu = seen["menu"]
    assert menu["title"] == "Select model"
    assert [i["label"] for i in menu["items"]][:3] == ["Default (recommended)", "Opus", "Sonnet"]
    assert menu["items"][0]["highlighted"] and menu["items"][0]["current"]


def test_a_permission_screen_and_the_reply_before_it() -> None:
    seen = inspect_screen(load(CODEX, "09-permission-prompt"), load_profile("codex"))
    assert seen["state"] == "permission"
    question = seen["permission"]
    assert question["command"] == "touch mock_tool_ran.txt && echo MOCK-TOOL-RAN"
    assert question["options"][0]["label"] == "Yes, proceed"
    assert seen["reply"]["text"] == "I will run a shell command for you."
    assert seen["turns"][-1]["text"] == "please usetool now"


def test_an_idle_screen_with_a_reply_and_the_model_shown() -> None:
    seen = inspect_screen(load(CLAUDE, "04-reply-done-short"), load_profile("claude-code"))
    assert seen["state"] == "idle" and seen["input"]["text"] == ""
    assert seen["reply"]["complete"] and seen["reply"]["text"].startswith("MOCK-REPLY: ")
    assert seen["model"] == "Opus 4.8 (1M context)"
    assert inspect_screen(load(CLAUDE, "19-crashed-kill9-shell"), load_profile("claude-code"),
                          current_command="bash")["state"] == "dead"  # fmt: skip
