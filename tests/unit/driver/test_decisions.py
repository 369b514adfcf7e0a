"""The driver's pure decisions, on recorded screens: was a prompt taken, which option or menu row
an answer names, what a permission question or a busy agent tells the caller."""

from __future__ import annotations

import pytest

from bridge.driver import Driver, Observation, Reply
from bridge.driver.menus import menu_index, option_index
from bridge.driver.reply import permission_pending
from bridge.driver.submit import echoes, taken
from bridge.errors import AgentNotReadyError, ConfigError
from bridge.profiles import PermissionAnswers, load_profile
from bridge.reading import Menu, MenuItem, State, classify, read_menu
from bridge.tmux import PaneFacts, Tmux
from bridge.transport.local import LocalTransport
from tests.unit.recorded import DEMO, load

DEMO_PROFILE = load_profile("demo")


def look(name: str) -> Observation:
    """An observation of the recorded demo screen ``name`` (pane facts as tmux would give them)."""
    snap = load(DEMO, name)
    facts = PaneFacts(
        pane_id="%7", current_command="python3", pid=100, dead=False, width=snap.width,
        height=snap.height, cursor_x=0, cursor_y=0, alternate_on=False, history_size=0,
        in_mode=False, session="agents", window_index=0, pane_index=0, current_path="/srv",
        server_pid=99,
    )  # fmt: skip
    return Observation(facts, snap, classify(snap, DEMO_PROFILE, current_command="python3"))


def driver() -> Driver:
    """A driver of pane %7 (nothing here talks to tmux)."""
    return Driver(Tmux(LocalTransport("box")), "%7", DEMO_PROFILE, agent="demo")


# -- was it taken ---------------------------------------------------------------------------------


def test_a_prompt_is_taken_when_the_agent_is_busy_or_the_box_emptied() -> None:
    typed, busy, done = look("02-typed-not-submitted"), look("03-busy"), look("04-reply-done-short")
    assert (typed.state, busy.state, done.state) == (State.IDLE, State.BUSY, State.IDLE)
    assert taken(busy, DEMO_PROFILE, typed)
    assert taken(done, DEMO_PROFILE, typed)  # idle again, the box empty, the screen another
    assert not taken(typed, DEMO_PROFILE, typed)  # the text still sits in the box
    idle = look("01-idle-at-start")
    assert not taken(idle, DEMO_PROFILE, idle)  # an empty box, but nothing happened
    assert taken(look("09-permission-prompt"), DEMO_PROFILE, typed)
    assert not taken(look("06-model-menu-open"), DEMO_PROFILE, typed)


def test_echoes_count_the_turns_that_show_a_prompt() -> None:
    done = look("04-reply-done-short")
    assert echoes(done, DEMO_PROFILE, "first question delay3") == 1
    assert echoes(done, DEMO_PROFILE, "first question delay3\nand a second line") == 1  # its first line
    assert echoes(done, DEMO_PROFILE, "never typed") == 0
    assert echoes(done, DEMO_PROFILE, "  \n") == 0
    assert echoes(look("01-idle-at-start"), DEMO_PROFILE, "first question delay3") == 0


# -- which option, which row ------------------------------------------------------------------------

LABELS = ["Yes", "Yes, and don't ask again for this command", "No"]


@pytest.mark.parametrize(
    ("answer", "index"), [("yes", 0), ("YES", 0), ("no", 2), (" No ", 2), ("2", 1), ("3", 2), ("yes, and", 1)]
)
def test_option_index(answer: str, index: int) -> None:
    assert option_index(LABELS, answer) == index


def test_always_finds_the_allow_from_now_on_option_by_default() -> None:
    assert option_index(LABELS, "always") == 1  # "don't ask again"
    assert option_index(["Yes", "Yes, and always allow access to foo/", "No"], "Always") == 1


GEMINI = ["Allow once", "Allow for this session", "No, suggest changes"]


@pytest.mark.parametrize(("answer", "index"), [("yes", 0), ("always", 1), ("no", 2), ("NO", 2), ("2", 1)])
def test_a_profile_names_its_own_answer_words(answer: str, index: int) -> None:
    permission = load_profile("gemini-cli").permission
    assert permission is not None
    assert option_index(GEMINI, answer, permission.answers) == index


def test_without_answer_words_gemini_labels_have_no_yes() -> None:
    with pytest.raises(ConfigError, match="no option 'yes'"):
        option_index(GEMINI, "yes")
    # a list left unset keeps the default meaning
    assert option_index(LABELS, "yes", PermissionAnswers(no=["Nope"])) == 0
    with pytest.raises(ConfigError, match="no option 'no'"):
        option_index(LABELS, "no", PermissionAnswers(no=["Nope"]))


@pytest.mark.parametrize("answer", ["4", "0", "maybe"])
def test_an_option_that_is_not_there_lists_the_options(answer: str) -> None:
    with pytest.raises(ConfigError, match=r"options: 1\. Yes, 2\. Yes, and .*, 3\. No"):
        option_index(LABELS, answer)


def test_menu_index_by_number_label_prefix_or_substring() -> None:
    menu = read_menu(load(DEMO, "06-model-menu-open"), DEMO_PROFILE)
    assert menu is not None and menu.labels == ["Default (recommended)", "Opus", "Sonnet", "Haiku"]
    assert menu_index(menu, "3") == 2
    assert menu_index(menu, "opus") == 1
    assert menu_index(menu, "hai") == 3
    assert menu_index(menu, "recommended") == 0
    with pytest.raises(ConfigError, match="no single menu row matches 'gpt'"):
        menu_index(menu, "gpt")


def test_an_ambiguous_menu_name_is_refused() -> None:
    item = MenuItem(1, "Sonnet", "", True, False)
    menu = Menu("Select model", (item, MenuItem(2, "Sonnet 5", "", False, False)), 0)
    assert menu_index(menu, "sonnet") == 0  # the exact label wins
    with pytest.raises(ConfigError, match=r"rows: 1\. Sonnet, 2\. Sonnet 5"):
        menu_index(menu, "son")


# -- what the caller is told ----------------------------------------------------------------------


def test_a_permission_question_goes_back_to_the_caller_with_its_options() -> None:
    error = permission_pending(driver(), look("09-permission-prompt"))
    assert error.options == LABELS
    assert error.question.startswith("Bash command") and error.question.endswith("Do you want to proceed?")
    assert "demo asks: Bash command" in error.message and "[1. Yes / 2. Yes, and" in error.message
    assert (error.host, error.target) == ("box", "%7")
    assert "agent-bridge approve demo yes|always|no|N --wait" in (error.hint or "")


@pytest.mark.parametrize(
    ("name", "state", "hint"),
    [("03-busy", "busy", "agent-bridge keys demo Escape"),
     ("09-permission-prompt", "permission", "agent-bridge approve demo yes|always|no"),
     ("06-model-menu-open", "menu", "close it: agent-bridge keys demo Escape"),
     ("16-after-ctrl-c-twice-shell", "dead", "agent-bridge restart demo")],
)  # fmt: skip
def test_not_ready_says_what_to_do(name: str, state: str, hint: str) -> None:
    error = driver().not_ready(look(name), "ask")
    assert isinstance(error, AgentNotReadyError)
    assert error.message == f"demo is {state}, not idle: cannot ask"
    assert error.state == state and hint in (error.hint or "")
    assert error.screen == look(name).text


def test_starting_from_an_earlier_look() -> None:
    d = Driver(Tmux(LocalTransport()), "%7", DEMO_PROFILE, expect=lambda facts: True)
    seen = look("01-idle-at-start")
    assert not d.can_start_from(seen), "without tmux's events nothing says the pane is unchanged"
    first = d.start_from(seen)
    assert first.reused and not seen.reused and first.snapshot is seen.snapshot
    assert d.last is first and d.expect is None


def test_reply_to_dict() -> None:
    reply = Reply("demo", "4", "idle", "screen", None, 1.23456)
    assert reply.to_dict() == {
        "agent": "demo", "reply": "4", "state": "idle", "source": "screen", "model": None, "elapsed_s": 1.235,
    }  # fmt: skip
