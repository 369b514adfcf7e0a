"""The screen model: attributes, pyte 0.8.2 pitfalls, wide characters, cursor and column maps."""

from __future__ import annotations

import dataclasses

import pytest

from bridge.screen import Cell, parse, strip_ansi, text_width
from tests.unit.recorded import CLAUDE, CODEX, load

EDGE = "tmux-3.3a-edge"


def _cells(text: str, row: int = 0) -> list[Cell]:
    snap = parse(text)
    return [c for c in snap.cells[row] if c.char.strip()]


# -- attributes --------------------------------------------------------------------------------


def test_dim_is_kept_and_22_clears_bold_and_dim() -> None:
    snap = parse("\x1b[2mdim\x1b[22m \x1b[1;2mbd\x1b[22mx\n")
    assert snap.text == "dim bdx"
    assert [c.dim for c in snap.cells[0][:3]] == [True] * 3
    assert snap.cells[0][4] == Cell("b", bold=True, dim=True)
    assert snap.cells[0][6] == Cell("x")


def test_colours_are_palette_indexes_or_hex() -> None:
    cells = _cells("\x1b[31ma\x1b[92mb\x1b[38;5;153mc\x1b[38;2;255;0;16md\x1b[48;5;237me\x1b[0mf\n")
    assert [(c.fg, c.bg) for c in cells] == [
        ("1", "default"),
        ("10", "default"),
        ("153", "default"),
        ("#ff0010", "default"),
        ("#ff0010", "237"),
        ("default", "default"),
    ]


def test_reverse_italics_underline() -> None:
    cells = _cells("\x1b[7mr\x1b[27m\x1b[3mi\x1b[23m\x1b[4mu\x1b[24mn\n")
    assert [(c.reverse, c.italics, c.underline) for c in cells] == [
        (True, False, False),
        (False, True, False),
        (False, False, True),
        (False, False, False),
    ]


def test_attributes_carry_over_line_ends_like_tmux_emits_them() -> None:
    # capture-pane -e does not reset at the end of a line (codex 09: "ESC[1;7m› 1. Yes\n ESC[0m")
    snap = parse("\x1b[1;7mone\ntwo\x1b[0m three\n")
    assert snap.cells[1][0].reverse and snap.cells[1][0].bold
    assert not snap.cells[1][4].reverse


# -- pyte pitfalls -----------------------------------------------------------------------------


def test_lines_start_at_column_zero() -> None:
    # pyte treats a bare LF as "down only": without help row 1 would start at column 5
    assert parse("hello\nworld\n").lines == ("hello", "world")


@pytest.mark.parametrize(
    ("sgr", "underline"),
    [("4:3", True), ("4:0", False), ("4:1", True)],
)
def test_colon_underline_styles_print_no_stray_text(sgr: str, underline: bool) -> None:
    snap = parse(f"a\x1b[{sgr}mb\x1b[24mc\n")
    assert snap.text == "abc"
    assert snap.cells[0][1].underline is underline


def test_colon_colours() -> None:
    cells = _cells("\x1b[38:2::1:2:3mx\x1b[38:5:42my\x1b[48:2:4:5:6mz\n")
    assert snap_text(cells) == "xyz"
    assert (cells[0].fg, cells[1].fg, cells[2].bg) == ("#010203", "42", "#040506")


def snap_text(cells: list[Cell]) -> str:
    return "".join(c.char for c in cells)


@pytest.mark.parametrize("ul", ["58;5;196", "58;2;255;0;0", "58:5:196", "58:2::255:0:0"])
def test_underline_colour_is_ignored(ul: str) -> None:
    # pyte would read "58;5;196" as 5 (blink) and 196 (nothing); 2;255;0;0 as dim...
    snap = parse(f"\x1b[{ul}mx\x1b[59my\n")
    assert snap.text == "xy"
    assert snap.cells[0][0] == Cell("x")


@pytest.mark.parametrize("zw", ["\u200b", "\ufe0f", "\u0301"])
def test_zero_width_characters_keep_the_rest_of_the_run(zw: str) -> None:
    snap = parse(f"ab{zw}cd|\n")
    assert snap.lines[0] == f"ab{zw}cd|"  # not NFC-normalised: tmux prints what it got
    assert snap.cells[0][1].char == f"b{zw}"
    assert snap.cells[0][4].char == "|"  # zero width: the columns do not move


def test_zero_width_joiner_joins_the_next_character_into_its_cell() -> None:
    snap = parse("a\U0001f468\u200d\U0001f469|z\n")
    assert snap.lines[0] == "a\U0001f468\u200d\U0001f469|z"
    assert snap.cells[0][1].char == "\U0001f468\u200d\U0001f469"
    assert snap.cells[0][3].char == "|"


def test_wide_characters_keep_columns() -> None:
    snap = parse("日本語|x\n")
    assert snap.lines[0] == "日本語|x"
    assert [c.char for c in snap.cells[0][:8]] == ["日", "", "本", "", "語", "", "|", "x"]
    assert snap.column_of(0, 3) == 6  # "|" is the 4th character, in column 6
    assert snap.offset_of(0, 6) == 3
    assert snap.cell_at(0, 1).char == "本"
    assert text_width("日本語|x") == 8


def test_real_tmux_capture_of_the_pitfalls() -> None:
    """tests/unit/screens/tmux-3.3a-edge/edge.sh, captured from tmux 3.3a: markers at fixed columns."""
    snap = load(EDGE, "01-sgr-and-widths")
    for row, marker_col in [(0, 29), (1, 29), (2, 29), (3, 29), (4, 44), (5, 44), (6, 44)]:
        assert snap.cells[row][marker_col].char == "|", snap.lines[row]
    assert snap.cells[1][44].char == "|"  # after "⚠️": one cell, like tmux
    assert snap.cells[2][49].char == "|"  # after the zero-width space
    # the ZWJ sequence shares one wide cell, as tmux 3.3a draws it
    assert snap.cells[2][5].char == "\U0001f468\u200d\U0001f469"
    curly, ulcol, dim, bold_dim, rgb = (
        snap.cells[4][0],
        snap.cells[4][12],
        snap.cells[5][0],
        snap.cells[5][25],
        snap.cells[5][9],
    )
    assert curly.underline and curly.char == "c"
    assert ulcol == Cell("u")  # 58;5;196 changed nothing visible
    assert dim.dim and not dim.bold
    assert bold_dim.bold and bold_dim.dim
    assert rgb.fg == "#ff0000"


def test_joined_capture_is_wider_than_the_pane() -> None:
    snap = load(EDGE, "02-sgr-and-widths-joined")
    assert snap.pane_width == 80
    assert snap.width > 80
    assert snap.lines[7].endswith("8日|r")


# -- snapshot API ------------------------------------------------------------------------------


def test_text_strips_like_capture_pane() -> None:
    snap = parse("a  \n\n b\x1b[7m \x1b[0m\n\n\n")
    assert snap.lines == ("a", "", " b", "", "")
    assert snap.text == "a\n\n b"
    assert snap.height == 5
    assert snap.last_nonblank() == 2


def test_width_defaults_to_widest_line_at_least_80() -> None:
    assert parse("x\n").width == 80
    assert parse("y" * 100 + "\n").width == 100
    snap = parse("x\n", 200)
    assert (snap.width, snap.pane_width) == (200, 200)


def test_snapshot_is_immutable() -> None:
    snap = parse("x\n")
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.width = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.cells[0][0].char = "y"  # type: ignore[misc]


def test_cursor_with_history_is_shifted_by_the_extra_lines() -> None:
    # 05 hist: 3 history lines above a 50-row pane, tmux cursor (2, 46)
    snap = load(CLAUDE, "05-reply-done-multiline.hist")
    assert snap.height == 53
    assert snap.cursor == (2, 49)
    assert snap.row(49) == "❯\u00a0"
    assert snap.before_cursor() == "❯\u00a0"


def test_before_cursor_keeps_spaces() -> None:
    snap = load(CODEX, "19-crashed-kill9-shell")
    assert snap.row(47) == "bash-5.2#"
    assert snap.before_cursor() == "bash-5.2# "


def test_row_and_find() -> None:
    snap = load(CLAUDE, "04-reply-done-short")
    assert snap.row(-1) == "" and snap.row(999) == ""
    hits = [row for row, _ in snap.find(__import__("re").compile("MOCK-REPLY"))]
    assert hits == [7]


def test_highlighted_rows() -> None:
    codex = load(CODEX, "09-permission-prompt")
    assert codex.highlighted_rows() == (45,)  # bold + reverse option
    claude = load(CLAUDE, "07-model-menu-down1")
    assert 28 in claude.highlighted_rows(fg="153", reverse=False)
    assert 27 not in claude.highlighted_rows(fg="153", reverse=False)


def test_strip_ansi() -> None:
    assert strip_ansi("\x1b[1;2mA\x1b[0m\x1b]0;title\x07B") == "AB"
