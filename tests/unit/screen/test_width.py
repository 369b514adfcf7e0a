"""The one cell-width rule (bridge.screen.width), and that everything measuring text uses it:
the screen model, ``agent-bridge watch``'s cropping and the demo agent's wrapping."""

from __future__ import annotations

import pytest

from bridge.demo.render import cut, to_ansi, wrap_line
from bridge.screen import char_width, parse, split_ansi, strip_ansi, text_width
from bridge.watch import crop, render
from tests.unit.recorded import SCREENS, load

EDGE = "tmux-3.3a-edge"
MAN, WOMAN = "\U0001f468\u200d", "\U0001f469"
FAMILY = MAN + WOMAN  # man ZWJ woman: one wide cell
WARNING = "\u26a0\ufe0f"  # warning sign + emoji variation selector: one cell in tmux 3.3a

WIDTHS = [
    ("plain ascii", 11),
    ("日本語", 6),  # wide CJK
    ("\U0001f600", 2),  # emoji
    (FAMILY, 2),
    (FAMILY + "\u200d\U0001f467", 2),  # a longer ZWJ sequence is still one cell
    ("e\u0301", 1),  # combining acute accent
    (WARNING, 1),
    ("a\u200bb", 2),  # zero-width space
    ("a\x07b", 2),  # a control character takes no cell
    ("", 0),
]


@pytest.mark.parametrize(("text", "cells"), WIDTHS)
def test_text_width(text: str, cells: int) -> None:
    assert text_width(text) == cells


@pytest.mark.parametrize(("text", "cells"), [w for w in WIDTHS if "\x07" not in w[0]])
def test_the_rule_is_the_one_the_screen_draws_with(text: str, cells: int) -> None:
    snap = parse(f"{text}|x\n")
    assert snap.cells[0][cells].char == "|", snap.cells[0][: cells + 1]
    assert snap.column_of(0, len(text)) == cells


def test_without_wcwidth_its_table_is_approximated_alike() -> None:
    """The demo agent may run under a python3 without wcwidth (standard library only)."""
    from wcwidth import wcwidth

    from bridge.demo import render
    from bridge.screen.width import _unicodedata_width

    glyphs = [getattr(render, name) for name in dir(render) if name.isupper()]
    chars = {ch for glyph in glyphs if isinstance(glyph, str) for ch in glyph}
    for first, last in [(0x00, 0x250), (0x300, 0x370), (0x2500, 0x2600), (0x4E00, 0x5000),
                        (0xAC00, 0xAD00), (0x1F300, 0x1F650), (0x200B, 0x2010)]:  # fmt: skip
        chars.update(map(chr, range(first, last)))
    assert [ch for ch in sorted(chars) if _unicodedata_width(ch) != wcwidth(ch)] == []


def test_char_width_after_a_joiner() -> None:
    assert char_width("\U0001f469") == 2
    assert char_width("\U0001f469", "\u200d") == 0
    assert char_width("x", "\u200d") == 0
    assert char_width("\u0301", "e") == 0


def test_strip_ansi_and_split_ansi() -> None:
    assert strip_ansi("\x1b[1;2mA\x1b[0m\x1b]0;title\x07B\x1b(B\x1bPdcs\x1b\\C\x1b") == "ABC"
    assert strip_ansi("a\x1b[2;1Hb\x1b[3Cc", moves=True) == "a\nb c"
    assert split_ansi("\x1b[31mred\x1b[0m") == ["", "\x1b[31m", "red", "\x1b[0m", ""]


# -- watch crops by the same rule ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "width", "cropped"),
    [
        (f"a{FAMILY}|z", 4, f"a{FAMILY}|"),  # was cut inside the sequence: "a👨\u200d"
        (f"{WARNING} warn", 3, f"{WARNING} w"),  # the selector took a column
        ("a\u200bbc", 2, "a\u200bb"),  # so did the zero-width space
        (f"\x1b[31m{MAN}\x1b[1m{WOMAN}\x1b[0mxy", 3, f"\x1b[31m{MAN}\x1b[1m{WOMAN}\x1b[0mx"),
        ("ae\u0301x", 2, "ae\u0301"),  # a combining mark stays with its letter
        ("日本語", 5, "日本"),  # no half of a wide character
        ("\x1b[31mabcdef\x1b[0m", 3, "\x1b[31mabc"),
    ],
)
def test_crop(line: str, width: int, cropped: str) -> None:
    assert crop(line, width) == cropped


def test_crop_agrees_with_tmux_on_the_recorded_edge_cases() -> None:
    """Each row of the capture has markers ``|`` at columns tmux placed them (edge.sh): cropped
    just before a marker it must be gone, cropped just after it must be there."""
    snap = load(EDGE, "01-sgr-and-widths")
    rows = (SCREENS / EDGE / "01-sgr-and-widths.ans").read_text().split("\n")
    checked = 0
    for row in range(7):
        columns = [col for col, cell in enumerate(snap.cells[row]) if cell.char == "|"]
        assert columns, snap.lines[row]
        for n, col in enumerate(columns, 1):
            assert strip_ansi(crop(rows[row], col)).count("|") == n - 1, (row, col)
            assert strip_ansi(crop(rows[row], col + 1)).count("|") == n, (row, col)
            checked += 1
    assert checked == 9


def test_render_pads_the_status_bar_by_cells() -> None:
    frame = render("", 6, 2, f"ok {FAMILY}")
    assert frame.endswith(f"\x1b[2;1H\x1b[0;7mok {FAMILY} \x1b[0m")


# -- the demo agent wraps by the same rule ---------------------------------------------------------


def test_demo_cut_and_wrap_keep_joined_cells_whole() -> None:
    assert cut(f"{FAMILY}{FAMILY}x", 4) == (f"{FAMILY}{FAMILY}", "x")
    assert cut(f"{FAMILY}{FAMILY}x", 3) == (FAMILY, f"{FAMILY}x")
    rows = list(wrap_line(f"{FAMILY * 6} {WARNING * 3}", 8))
    assert rows == [FAMILY * 4, f"{FAMILY * 2} {WARNING * 3}"]
    assert all(text_width(row) <= 8 for row in rows)
    assert to_ansi(((f"ab{FAMILY}cd", "1"),), 5) == f"\x1b[1mab{FAMILY}c\x1b[0m"


def test_the_demo_agent_runs_on_the_standard_library_alone() -> None:
    """Its resume command is a bare ``python3 -m bridge.demo``: neither pyte nor wcwidth."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['pyte'] = sys.modules['wcwidth'] = None\n"
        "import bridge.demo.agent, bridge.demo.render as r\n"
        "assert 'bridge.screen.snapshot' not in sys.modules\n"
        "print(r.text_width('日本\\U0001f468\\u200d\\U0001f469e\\u0301'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "7\n"
