"""Reading what tmux prints, as 3.3a prints it (raw) and as 3.4+ prints it (vis-encoded).

The recorded lines below are what each version printed for the same ``#{q:…}`` formats (see
``tests/integration/test_tmux_versions.py`` for the same on a live server of either version).
"""

from __future__ import annotations

import pytest

from bridge.control import DEAD, MISSING, failure, refused_if_changed, unescape, words
from bridge.errors import AgentNotReadyError, CommandError, PaneChangedError, TargetNotFoundError
from bridge.screen import parse
from bridge.tmux import FACTS_FORMAT, Tmux
from bridge.transport import Completed
from bridge.transport.local import LocalTransport

# A folder "/tmp/wd/a b\037|<ESC>q<US>zéN<LF>L" printed through #{q:pane_current_path}:
PATH_33A = "/tmp/wd/a\\ b\\\\037\\|\x1bq\x1fz\u00e9N\nL"
PATH_35A = "/tmp/wd/a\\ b\\\\037\\|\\033q\\037z\u00e9N\nL"
PATH = "/tmp/wd/a b\\037|\x1bq\x1fz\u00e9N\nL"


def test_unescape_reads_both_versions_the_same() -> None:
    assert unescape(PATH_33A) == PATH
    assert unescape(PATH_35A) == PATH


@pytest.mark.parametrize(
    ("printed", "value"),
    [
        ("plain", "plain"),
        ("", ""),
        ("a\\ b", "a b"),
        ("\\$HOME\\;\\#", "$HOME;#"),
        ("back\\\\slash", "back\\slash"),
        ("\\\\033", "\\033"),  # a backslash and digits, not an escape
        ("\\033", "\x1b"),  # 3.4+ octal
        ("\\r\\a", "\r\a"),  # 3.4+ C-style
        ("\\303\\251t\\303\\251", "\u00e9t\u00e9"),  # octal bytes that are UTF-8
        ("\\377x", "\udcffx"),  # a byte that is not UTF-8 stays a surrogate escape
    ],
)
def test_unescape(printed: str, value: str) -> None:
    assert unescape(printed) == value


def test_words_split_on_unescaped_spaces_only() -> None:
    assert words("a\\ b c\\\\ d") == ["a\\ b", "c\\\\", "d"]
    assert words("x  y") == ["x", "", "y"]
    assert words("") == [""]


FIXED = "%7 41 0 120 40 3 39 1 2000 0 2 1 99"  # id pid dead w h x y alt history mode window pane server


def record(command: str, session: str, window: str, path: str) -> str:
    return f"{FIXED} {command} {session} {window} {path} $\n"


def test_facts_record_of_either_version() -> None:
    tmux = Tmux(LocalTransport())
    for path in (PATH_33A, PATH_35A):
        facts = tmux._facts(record("claude", "my\\ session", "w\\ \\$\\ 1", path), "%7")
        assert facts.pane_id == "%7" and facts.pid == 41 and not facts.dead
        assert (facts.width, facts.height, facts.cursor_x, facts.cursor_y) == (120, 40, 3, 39)
        assert facts.alternate_on and facts.history_size == 2000 and not facts.in_mode
        assert (facts.window_index, facts.pane_index, facts.server_pid) == (2, 1, 99)
        assert facts.current_command == "claude"
        assert facts.session == "my session"
        assert facts.window_name == "w $ 1"
        assert facts.current_path == PATH


def test_facts_format_ends_with_the_mark_and_quotes_every_name() -> None:
    assert FACTS_FORMAT.endswith(" $")
    for name in ("pane_current_command", "session_name", "window_name", "pane_current_path"):
        assert f"#{{q:{name}}}" in FACTS_FORMAT


@pytest.mark.parametrize("printed", ["\n", "", "%7 1 0\n", "garbage $\n", "x" * 50])
def test_facts_of_a_missing_pane(printed: str) -> None:
    with pytest.raises(TargetNotFoundError):
        Tmux(LocalTransport())._facts(printed, "%7")


def failed(stderr: str, status: int = 1) -> Completed:
    return Completed(("tmux", "paste-buffer"), status, "", stderr)


def test_one_failure_mapper() -> None:
    assert isinstance(failure("h", failed("can't find pane: %9\n"), "%9"), TargetNotFoundError)
    assert isinstance(failure("h", failed("no server running on /tmp/x\n"), "%9"), TargetNotFoundError)
    dead = failure("h", failed("target pane has exited\n"), "%9")
    assert isinstance(dead, AgentNotReadyError) and dead.state == "dead" and "restart" in str(dead)
    missing = failure("h", failed("bash: tmux: command not found\n", 127), None)
    assert isinstance(missing, CommandError) and missing.hint == "install tmux on h"
    other = failure("h", failed("bad thing\n"), None)
    assert type(other) is CommandError and "bad thing" in str(other)


def test_a_refused_paste_says_why() -> None:
    with pytest.raises(AgentNotReadyError):
        refused_if_changed(Completed(("tmux",), 0, f"{DEAD}\n", ""), host="h", pane="%1")
    with pytest.raises(PaneChangedError):
        refused_if_changed(Completed(("tmux",), 0, "agent-bridge-pane-changed\n", ""), host="h", pane="%1")
    with pytest.raises(TargetNotFoundError):
        refused_if_changed(Completed(("tmux",), 0, f"{MISSING}\n", ""), host="h", pane="%1")
    refused_if_changed(Completed(("tmux",), 0, "", ""), host="h", pane="%1")  # typed: no error


def test_literal_tabs_in_a_capture_land_on_tab_stops() -> None:
    # tmux 3.6 keeps literal tabs in capture-pane; they must lay out as the pane showed them
    snap = parse("a\tb\n12345678\tc\n", 40)
    assert snap.lines[0].rstrip() == "a       b"
    assert snap.lines[1].rstrip() == "12345678        c"
