"""Prompt text hygiene (:mod:`bridge.text`): what may be typed into a pane as data."""

from __future__ import annotations

import pytest

from bridge.errors import ConfigError
from bridge.text import check, clean, decode_prompt


def test_clean_keeps_text_and_removes_keys() -> None:
    assert clean("tab\tnew\nline ünï 🙂") == ("tab\tnew\nline ünï 🙂", 0)
    assert clean("crlf\r\nand cr\rend") == ("crlf\nand crend", 1)
    safe, removed = clean("a\x1b[201~b\x00c\x03d\x7fe\x9bf\x04")
    assert safe == "a[201~bcdef" and removed == 6


def test_check_refuses_key_like_controls_naming_them() -> None:
    assert check("ok\r\nfine\tand ünï 🙂") == "ok\nfine\tand ünï 🙂"
    for text, name, where in [("a\x03", "Ctrl-C", 1), ("\rx", "CR (Enter)", 0), ("x\x00", "NUL", 1),
                              ("\x9b31m", "control character U+009B", 0), ("ab\x7f", "DEL", 2)]:
        with pytest.raises(ConfigError) as info:
            check(text)
        assert f"contains {name}" in str(info.value) and f"at character {where}" in str(info.value)


def test_decode_prompt_refuses_invalid_utf8() -> None:
    assert decode_prompt("ok ✓".encode()) == "ok ✓"
    with pytest.raises(ConfigError, match=r"not valid UTF-8 \(byte 3"):
        decode_prompt(b"ok \xc3(")
