"""Arguments and options that several commands share (with shell completion of agent names)."""

from __future__ import annotations

from typing import Annotated

import typer

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
