"""What one look at a pane reads: the facts record, as 3.3a prints it (raw) and as 3.4+ prints
it (vis-encoded), and whether the pane found is the one a target names."""

from __future__ import annotations

import pytest

from bridge.errors import TargetNotFoundError
from bridge.tmux.facts import FACTS_FORMAT, PaneFacts, mismatch, parse_facts, same_as
from tests.unit.tmux.printed import PATH, PATH_33A, PATH_35A

FIXED = "%7 41 0 120 40 3 39 1 2000 0 2 1 99"  # id pid dead w h x y alt history mode window pane server


def record(command: str, session: str, window: str, path: str, session_id: str = "") -> str:
    return f"{FIXED} {command} {session} {window} {path} {session_id} $\n"


def test_facts_record_of_either_version() -> None:
    for path in (PATH_33A, PATH_35A):
        facts = parse_facts(record("claude", "my\\ session", "w\\ \\$\\ 1", path), "%7", "here")
        assert facts.pane_id == "%7" and facts.pid == 41 and not facts.dead
        assert (facts.width, facts.height, facts.cursor_x, facts.cursor_y) == (120, 40, 3, 39)
        assert facts.alternate_on and facts.history_size == 2000 and not facts.in_mode
        assert (facts.window_index, facts.pane_index, facts.server_pid) == (2, 1, 99)
        assert facts.current_command == "claude"
        assert facts.session == "my session"
        assert facts.window_name == "w $ 1"
        assert facts.current_path == PATH
        assert facts.session_id == ""
    tagged = parse_facts(record("claude", "s", "w", PATH_35A, "0b1e-77"), "%7", "here")
    assert tagged.session_id == "0b1e-77"


def test_facts_format_ends_with_the_mark_and_quotes_every_name() -> None:
    assert FACTS_FORMAT.endswith(" $")
    for name in ("pane_current_command", "session_name", "window_name", "pane_current_path"):
        assert f"#{{q:{name}}}" in FACTS_FORMAT


@pytest.mark.parametrize("printed", ["\n", "", "%7 1 0\n", "garbage $\n", "x" * 50])
def test_facts_of_a_missing_pane(printed: str) -> None:
    with pytest.raises(TargetNotFoundError):
        parse_facts(printed, "%7", "here")


def facts_of(pane: str = "%7", session: str = "agents", window: str = "claude", index: int = 0) -> PaneFacts:
    return PaneFacts(pane, "claude", 41, False, 120, 40, 3, 39, False, 0, False, session, index, 1,
                     "/srv", 99, window)  # fmt: skip


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("%7", None),
        ("%8", "pane %7 is not %8"),
        ("agents", None),
        ("agents:claude", None),
        ("agents:0", None),
        ("agents:claude.1", None),
        ("agent", "no session agent (tmux matched agents)"),  # tmux matches a prefix
        ("agents:codex", "no window codex in session agents"),  # tmux falls back to the current
        ("agents:claude.2", "no pane 2"),
    ],
)
def test_mismatch_says_why_the_pane_found_is_not_the_one_named(target: str, why: str | None) -> None:
    assert mismatch(target, facts_of()) == why


def test_same_as_checks_every_fact_and_escapes_names() -> None:
    condition = same_as(facts_of(session="a,b}#c"))
    assert condition.count("#{&&:") == 11 and condition.startswith("#{&&:#{&&:")
    assert "#{==:#{pane_dead},0}" in condition and "#{==:#{cursor_x},3}" in condition
    assert "#{==:#{session_name},a#,b#}##c}" in condition
