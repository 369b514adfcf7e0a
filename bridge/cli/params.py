"""Arguments and options that several commands share (with shell completion of agent names)."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from bridge.cli.app import OPTS


def complete_agents(incomplete: str) -> list[str]:
    """Shell completion: agent names from the registry (parsed as plain TOML, quickly)."""
    import tomllib  # lazy: only completion needs it

    from bridge.config.paths import find_registry

    try:
        with open(find_registry(OPTS.config), "rb") as handle:
            agents = tomllib.load(handle).get("agents", {})
    except Exception:  # completion must never fail loudly
        return []
    return sorted(name for name in agents if name.startswith(incomplete))


AgentArg = Annotated[
    str,
    typer.Argument(help="Agent name from the registry.", metavar="AGENT", show_default=False,
                   autocompletion=complete_agents),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
StripOpt = Annotated[
    bool,
    typer.Option(
        "--strip-controls",
        help="Drop control characters that a terminal would take as keys (ESC, Ctrl-C, CR, ...) "
        "instead of refusing the text. Newline and tab are always kept.",
    ),
]
TimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--timeout", "-t", min=0.1, show_default=False,
        help="Seconds to wait (default: $AGENT_BRIDGE_TIMEOUT, else the registry's settings.timeout, 600).",
    ),
]


class TextArgs(TyperCommand):
    """A command whose last argument is free text: an argument that starts with ``-`` but not as
    an option does (``"- first item"``, a Markdown list; ``"-5 degrees"``) is that text, not a
    usage error. It is moved behind ``--`` (so options after it still count); ``--`` itself
    works as usual, for text such as ``"-t is a flag"``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # Any: typer's vendored Context
        if "--" not in args:
            text = [a for a in args if a.startswith("-") and len(a) > 1 and not _OPTION_LIKE.match(a)]
            if text:
                args = [a for a in args if a not in text] + ["--", *text]
        return super().parse_args(ctx, args)


_OPTION_LIKE = re.compile(r"--?[A-Za-z]")  # -t, --json, --timeout=5: what click takes as an option
