"""The demo agent's "model": deterministic replies, no network (pure functions).

Mirrors the mock API used for the real Claude Code captures in ``tests/unit/screens/claude-code-2.1.197/``:

* ``delayN`` anywhere in a prompt keeps the agent busy for N seconds;
* ``run <command>`` or ``usetool`` asks for permission to run a (never executed) command;
* ``multiline`` answers ``line 1`` ... ``line 30`` and ``MOCK-END``;
* simple arithmetic (``What is 6 x 7?``, ``6*7``) answers the result (``42``);
* anything else answers ``MOCK-REPLY: <the prompt>``.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable

USETOOL_COMMAND = "touch mock_tool_ran.txt && echo MOCK-TOOL-RAN"
MULTILINE_LINES = 30

_DELAY = re.compile(r"delay(\d+(?:\.\d+)?)")
_RUN = re.compile(r"(?:^|\W)run (.+)")
_QUESTION = re.compile(
    r"^\s*(?:(?:what\s+is|what's|whats|compute|calculate|evaluate)\s+)?(?P<expr>[-+*/x×÷().\d\s]+?)\s*[?=.!]*\s*$",
    re.IGNORECASE,
)
_BINOPS: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def delay_for(prompt: str, default: float) -> float:
    """Seconds to stay busy: ``delayN`` in the prompt, else ``default``."""
    match = _DELAY.search(prompt)
    return float(match.group(1)) if match else default


def tool_command(prompt: str) -> str | None:
    """The command a prompt asks to run (needs permission), or None."""
    match = _RUN.search(prompt)
    if match:
        command = match.group(1).strip().rstrip(".!?").strip()
        if command:
            return command
    if "usetool" in prompt or match:
        return USETOOL_COMMAND
    return None


def reply_for(prompt: str) -> str:
    """The reply text (may contain newlines) to a prompt that does not run a tool."""
    if "multiline" in prompt:
        return "\n".join([*(f"line {n}" for n in range(1, MULTILINE_LINES + 1)), "MOCK-END"])
    answer = arithmetic(prompt)
    if answer is not None:
        return answer
    return f"MOCK-REPLY: {prompt}"


def arithmetic(prompt: str) -> str | None:
    """``"What is 6 x 7?"`` -> ``"42"``; None unless the prompt is one small arithmetic question."""
    if len(prompt) > 200 or "\n" in prompt.strip():
        return None
    match = _QUESTION.match(prompt)
    if not match or not re.search(r"\d\s*[-+*/x×÷]\s*[-+(\d.]", match.group("expr")):
        return None
    expr = match.group("expr").replace("x", "*").replace("X", "*").replace("×", "*").replace("÷", "/")
    try:
        value = _evaluate(ast.parse(expr, mode="eval").body)
    except ZeroDivisionError:
        return "Division by zero is undefined."
    except (SyntaxError, ValueError, OverflowError):
        return None
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.10g}"


def _evaluate(node: ast.expr) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _evaluate(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return _BINOPS[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    raise ValueError("not simple arithmetic")
