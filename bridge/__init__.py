"""agent-bridge: drive terminal AI agents in tmux on other machines, over SSH.

The library is async; :mod:`bridge.cli` is the only place that runs an event loop.
"""

__version__ = "0.1.0"
