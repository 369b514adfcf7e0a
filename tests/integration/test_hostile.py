"""Hostile prompts: each one reaches the program in the pane byte for byte, or is refused.

Text is data, never keys. The receiver in the pane records every bracketed paste it gets; after
each prompt we check it got exactly that text (one record: no stray Enter, no lost byte), or that
the prompt was refused with a clear error and nothing at all was typed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bridge.api import Bridge
from bridge.config.registry import Registry
from bridge.errors import ConfigError
from tests.helpers.fixtures import Sshd, TmuxServer, agent_toml, recorded

pytestmark = pytest.mark.integration

DELIVERED = [
    "\x1b[201~ is refused, but its text part is fine: [201~",
    "[200~ nested start marker text [201~",
    "trailing semicolon;",
    "trailing escaped semicolon\\;",
    ";",
    "\\;",
    "-leading dash",
    "--",
    "-t %0 send-keys Enter",
    "Enter",
    "C-c",
    "Escape",
    "C-d C-d C-d",
    "$HOME ${PATH} $(id) $((1+1))",
    "`id` and `uname -a`",
    "#{pane_id} #{session_name} #S #[fg=red] ##",
    "'single' \"double\" `back` quotes",
    "\\ backslash at end \\",
    "a\tb\tc tabs",
    "line one\nline two\n\nafter a blank line",
    "\n\nleading newlines",
    "trailing newline\n",
    "   leading and trailing spaces   ",
    "שלום עולם (RTL) and العربية",
    "zero\u200bwidth\u200d joiner\ufeff bom",
    "emoji 🙂👍🏽 flags 🇩🇪 family 👨‍👩‍👧",
    "combining é (e + U+0301) and ñ",
    "CJK 日本語の文章と한국어",
    "\u202e right-to-left override",
    "null-ish \\0 \\x00 written as text",
    "%begin %end %error %output lines of control mode",
    "~ tilde ~/path and ~user",
    "* ? [a-z] glob characters",
    "| & < > ( ) { } shell metacharacters",
    "!! !$ history expansion",
    "x" * 5000,
    "very long line " * 400,
    "\n".join(f"{i:04d};\\;$x`y`#{{z}}" for i in range(300)),
]
REFUSED = [
    ("\x1b[201~then keys", "ESC"),
    ("\x03 Ctrl-C", "Ctrl-C"),
    ("\x04", "Ctrl-D"),
    ("lone CR\rsubmits", "CR (Enter)"),
    ("NUL\x00inside", "NUL"),
    ("bell\x07", "control character U+0007"),
    ("backspace\x08", "control character U+0008"),
    ("DEL\x7f", "DEL"),
    ("C1 CSI \x9b31m", "control character U+009B"),
    ("OSC 52 \x1b]52;c;aGk=\x07", "ESC"),
    ("Ctrl-Z\x1a", "Ctrl-Z"),
]
assert len(DELIVERED) + len(REFUSED) >= 40


@pytest.fixture
def receiver(receiver_pane: tuple[str, Path]) -> Path:
    return receiver_pane[1]


@pytest.fixture
async def bridge(
    sshd: Sshd, tmux_server: TmuxServer, make_registry: Callable[..., Path]
) -> AsyncIterator[Bridge]:
    registry = make_registry(
        sshd.host_toml("vps", tmux_socket=tmux_server.socket), agent_toml("recv", "vps", "recv")
    )
    async with Bridge(Registry.load(registry)) as b:
        yield b


async def _wait_records(out: Path, count: int) -> list[str]:
    for _ in range(1500):  # at most ~30 s
        records = recorded(out)
        if len(records) >= count:
            return records
        await asyncio.sleep(0.02)
    return recorded(out)


async def test_hostile_texts_arrive_byte_exact(bridge: Bridge, receiver: Path) -> None:
    expected: list[str] = []
    for text in DELIVERED:
        if "\x1b" in text:
            text = text.replace("\x1b", "")
        await bridge.send("recv", text)
        expected.append(text)
        records = await _wait_records(receiver, len(expected))
        assert records == expected, f"prompt {len(expected)} ({text[:40]!r}) did not arrive exactly"
    await asyncio.sleep(0.3)
    assert recorded(receiver) == expected, "no stray Enter: one record per prompt"


async def test_key_like_controls_are_refused_and_nothing_is_typed(
    bridge: Bridge, receiver: Path, tmux_server: TmuxServer
) -> None:
    before = tmux_server.capture("recv:0.0")
    for text, name in REFUSED:
        with pytest.raises(ConfigError) as info:
            await bridge.send("recv", text)
        message = str(info.value)
        assert f"contains {name}" in message and "nothing was typed" in message, message
    await bridge.send("recv", "after the refusals")
    assert await _wait_records(receiver, 1) == ["after the refusals"]
    assert tmux_server.capture("recv:0.0").count("GOT") == before.count("GOT") + 1


async def test_strip_controls_delivers_the_rest(bridge: Bridge, receiver: Path) -> None:
    removed = await bridge.send("recv", "a\x1b[201~b\x03c\r\nd", strip_controls=True)
    assert removed == 2
    assert await _wait_records(receiver, 1) == ["a[201~bc\nd"]


async def test_sixteen_kb_and_one_mb_byte_exact(bridge: Bridge, receiver: Path) -> None:
    lines16 = "\n".join(f"{i:05d} {'é$`;#{x}' * 7}" for i in range(300))
    assert len(lines16.encode()) > 16 * 1024
    big = "".join(f"{i:07d} the quick brown fox ünïcode 🙂 $HOME `x`;\n" for i in range(20000))
    assert len(big.encode()) > 1_000_000
    await bridge.send("recv", lines16)
    await bridge.send("recv", big)
    records = await _wait_records(receiver, 2)
    assert records[0] == lines16
    assert len(records) == 2 and records[1] == big
