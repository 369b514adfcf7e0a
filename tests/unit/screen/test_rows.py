"""parse() remembers rows it rendered and draws plain rows itself: both must change nothing."""

from __future__ import annotations

from bridge.screen import parse, snapshot
from tests.unit.recorded import SCREENS


def test_remembered_rows_render_exactly_as_fresh_ones() -> None:
    """parse() reuses rows it rendered before: over every recorded screen, in two orders and at
    two widths, the result must equal a parse with nothing remembered."""
    captures = sorted(SCREENS.rglob("*.ans"))
    assert len(captures) > 50
    texts = [path.read_text(encoding="utf-8", errors="surrogateescape") for path in captures]
    for width in (200, 120):
        fresh = []
        for text in texts:
            snapshot._ROWS.clear()
            fresh.append(parse(text, width, (0, 0)))
        snapshot._ROWS.clear()
        for order in (range(len(texts)), reversed(range(len(texts)))):
            for i in order:
                assert parse(texts[i], width, (0, 0)) == fresh[i], captures[i].name
        assert snapshot._ROWS, "rows were remembered"


def test_plain_rows_render_exactly_as_pyte_renders_them() -> None:
    """parse() draws rows of SGR and one-cell characters itself (most rows); over every recorded
    screen and a set of awkward lines, at two widths, it must equal what pyte renders."""
    texts = [p.read_text(encoding="utf-8", errors="surrogateescape") for p in sorted(SCREENS.rglob("*.ans"))]
    texts.append("\n".join([
        "plain ascii   ", "\x1b[1;31mred bold\x1b[0m then \x1b[2mdim\x1b[m", "\x1b[44m  bg spaces  ",
        "carried bg", "\x1b[38;5;208m256\x1b[38;2;1;2;3mrgb\x1b[4:3mcurly\x1b[58:2::9:9:9mx\x1b[39;49m",
        "box ╭─╮ │ ⏺ · ✻ ✓ — …", "wide 日本語 🙂 mixed", "zwj 👨\u200d👩 and e\u0301", "tab\there",
        "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "lone \x1b esc", "x" * 300, "\x1b[7m" + "y" * 250,
        "\x1b[1m", "", "   ", "nbsp\u00a0here", "\x1b[;1;;4mempty params\x1b[22;24m",
    ]))
    for width in (200, 120):
        for text in texts:
            snapshot._ROWS.clear()
            fast = parse(text, width, (0, 0))
            snapshot._ROWS.clear()
            snapshot._FAST = False
            try:
                slow = parse(text, width, (0, 0))
            finally:
                snapshot._FAST = True
            assert fast == slow
            assert fast._starts == slow._starts
