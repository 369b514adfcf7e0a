"""The MCP server words the library's hints as tool calls (bridge/mcp_texts.py: tool_hint)."""

from __future__ import annotations

import pytest

from bridge.mcp_texts import tool_hint


@pytest.mark.parametrize(
    ("cli", "tools"),
    [
        ("answer with: agent-bridge approve demo yes|always|no|N --wait",
         'answer with: call approve(agent="demo", answer="yes", "always", "no" or an option number)'),
        ("answer it: agent-bridge approve demo yes|always|no",
         'answer it: call approve(agent="demo", answer="yes", "always", "no" or an option number)'),
        ("answer with: agent-bridge approve demo yes|no|N --wait",
         'answer with: call approve(agent="demo", answer="yes", "always", "no" or an option number)'),
        ("agent-bridge restart demo", 'call restart(agent="demo")'),
        ("close it: agent-bridge keys demo Escape", 'close it: call keys(agent="demo", keys=["Escape"])'),
        ("raise --timeout, or look with: agent-bridge screen demo",
         'pass a larger timeout, or look with: call screen(agent="demo")'),
        ("make one: agent-bridge init", "make one: agent-bridge init"),  # for the person: kept
    ],
)  # fmt: skip
def test_tool_hint(cli: str, tools: str) -> None:
    assert tool_hint(cli) == tools
