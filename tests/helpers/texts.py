"""Hostile multi-line text for the typing tests (shell, tmux and quoting specials)."""

from __future__ import annotations

from collections.abc import Sequence

NASTY_LINES = [
    "plain ascii line",
    "single 'quotes' and \"double\" quotes",
    "dollar $HOME and ${PATH} and $(whoami)",
    "backticks `id` here",
    "ends with a semicolon;",
    "ends with escaped semicolon \\;",
    "-leading dash -n -e",
    "\ttab\tseparated\tvalues",
    "unicode: héllo wörld — 日本語 — 🙂 — עברית",
    "tmux formats #{pane_id} #S #[fg=red]",
    "glob * ? [a-z] and ~ tilde",
    "backslash \\n \\t \\\\ end",
]


def nasty_text(lines: int, pool: Sequence[str] = NASTY_LINES) -> str:
    """``lines`` numbered lines, cycling through ``pool``."""
    return "\n".join(f"{i:03d} {pool[i % len(pool)]}" for i in range(lines))
