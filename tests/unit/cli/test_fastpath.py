"""The CLI's fast path takes exactly the plain ask/state forms; everything else goes to typer."""

from __future__ import annotations

import pytest

from bridge.cli.fastpath import _parse

ASK = {"model": None, "strip_controls": False}


def ask(agent: str, prompt: str, timeout: float | None = None) -> dict[str, object]:
    return {"agent": agent, "prompt": prompt, "timeout": timeout, **ASK}


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["state", "claude"], ("state", {"agent": "claude"}, None, False)),
        (["--json", "state", "claude"], ("state", {"agent": "claude"}, None, True)),
        (["state", "claude", "--json"], ("state", {"agent": "claude"}, None, True)),
        (["-c", "r.toml", "state", "claude"], ("state", {"agent": "claude"}, "r.toml", False)),
        (["--config=r.toml", "state", "x"], ("state", {"agent": "x"}, "r.toml", False)),
        (["ask", "claude", "hi there"], ("ask", ask("claude", "hi there"), None, False)),
        (["ask", "claude", "-"], ("ask", ask("claude", "-"), None, False)),
        (["--config", "r.toml", "--json", "ask", "c", "q", "--timeout", "30"],
         ("ask", ask("c", "q", 30.0), "r.toml", True)),
        (["ask", "c", "-t", "2.5", "q"], ("ask", ask("c", "q", 2.5), None, False)),
        (["ask", "c", "q", "--timeout=9"], ("ask", ask("c", "q", 9.0), None, False)),
        # an agent or a prompt that is a command word still parses by position
        (["ask", "state", "ask"], ("ask", ask("state", "ask"), None, False)),
    ],
)  # fmt: skip
def test_plain_forms_are_taken(argv: list[str], expected: tuple[object, ...]) -> None:
    assert _parse(argv) == expected


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--help"],
        ["-v", "state", "claude"],
        ["--no-broker", "state", "claude"],
        ["state"],
        ["state", "a", "b"],
        ["state", "claude", "--help"],
        ["ask", "claude"],
        ["ask", "claude", "q", "extra"],
        ["ask", "claude", "q", "--model", "opus"],
        ["ask", "claude", "q", "--strip-controls"],
        ["ask", "claude", "-5 degrees?"],  # typer would call that an option: let it say so
        ["ask", "claude", "--", "q"],
        ["ask", "claude", "q", "--timeout"],
        ["ask", "claude", "q", "--timeout", "soon"],
        ["ask", "claude", "q", "--timeout", "0"],
        ["ask", "claude", "q", "--timeout", "nan"],
        ["state", "claude", "--timeout", "3"],
        ["ask", "claude", "q", "--config", "r.toml"],  # a global option after the command
        ["-cr.toml", "state", "claude"],
        ["screen", "claude"],
        ["hosts"],
    ],
)
def test_everything_else_goes_to_typer(argv: list[str]) -> None:
    assert _parse(argv) is None
