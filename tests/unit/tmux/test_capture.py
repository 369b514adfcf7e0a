"""What ``capture-pane`` prints, as the screen model lays it out."""

from __future__ import annotations

from bridge.screen import parse


def test_literal_tabs_in_a_capture_land_on_tab_stops() -> None:
    # tmux 3.6 keeps literal tabs in capture-pane; they must lay out as the pane showed them
    snap = parse("a\tb\n12345678\tc\n", 40)
    assert snap.lines[0].rstrip() == "a       b"
    assert snap.lines[1].rstrip() == "12345678        c"
