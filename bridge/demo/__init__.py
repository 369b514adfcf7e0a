"""The bundled demo agent: a small terminal agent that looks and behaves like Claude Code 2.1.197.

Run it with ``python -m bridge.demo [--delay SECONDS] [--log PATH] [--model NAME]``; it is what
``agent-bridge demo`` starts, and what the fast tests and benchmarks drive. Standard library only,
but for the bridge's one cell-width rule (:mod:`bridge.screen.width`).
"""

from bridge.demo.agent import DemoAgent, main

__all__ = ["DemoAgent", "main"]
