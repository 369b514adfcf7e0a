"""The bundled demo agent: a small terminal agent that looks and behaves like Claude Code 2.1.197.

Run it with ``python -m bridge.demo [--delay SECONDS] [--log PATH] [--model NAME]``; it is what
``agent-bridge demo`` starts, and what the fast tests and benchmarks drive. Standard library only
(so a bare ``python3`` runs it; for cell widths it shares :mod:`bridge.screen.width`, which uses
wcwidth where installed).

* :mod:`.agent`: the state machine; :mod:`.buffer`: the input box's contents;
* :mod:`.render`: what it draws; :mod:`.terminal`: drawing it inline; :mod:`.keys`: key input;
* :mod:`.replies`: the mock replies; :mod:`.app`: the event loop and ``main``;
* :mod:`.session`: ``agent-bridge demo`` (the bridge side: start it, ask it).
"""

from bridge.demo.agent import DemoAgent
from bridge.demo.app import main

__all__ = ["DemoAgent", "main"]
