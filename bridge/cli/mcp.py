"""``agent-bridge mcp``: serve the bridge to an MCP client (:mod:`bridge.mcp`), or print the JSON
that makes a client (Claude Code, Qwen Code) start it."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from bridge.cli.app import OPTS, app, command_group, emit, run_async
from bridge.errors import ConfigError

DEFAULT_NAME = "agent-bridge"  # the server's entry in a client's mcpServers

Client = Literal["claude-code", "qwen-code"]
CLIENTS: tuple[Client, ...] = ("claude-code", "qwen-code")


def server_command() -> tuple[str, list[str]]:
    """How a client should start this server: the ``agent-bridge`` script next to this Python
    (a venv's bin/), else the one on PATH, else ``python -m bridge``; plus ``mcp``."""
    here = Path(sys.executable).parent / "agent-bridge"
    if here.is_file() and os.access(here, os.X_OK):
        return str(here), ["mcp"]
    found = shutil.which("agent-bridge")
    if found:
        return str(Path(found).resolve()), ["mcp"]
    return sys.executable, ["-m", "bridge", "mcp"]


def registry_path(config: str | None) -> str | None:
    """The registry the server should use, as an absolute path (``None``: the default place)."""
    chosen = config or os.environ.get("AGENT_BRIDGE_CONFIG")
    return str(Path(chosen).expanduser().resolve()) if chosen else None


def client_config(
    client: Client,
    *,
    name: str = DEFAULT_NAME,
    config: str | None = None,
    command: tuple[str, list[str]] | None = None,
    ask_timeout: float = 600.0,
) -> dict[str, Any]:
    """The ``mcpServers`` JSON object that starts this server from ``client``.

    Claude Code reads it from ``.mcp.json`` (project) or ``~/.claude.json``; Qwen Code from
    ``~/.qwen/settings.json`` (user) or ``.qwen/settings.json`` (project). Qwen Code's ``timeout``
    is the per-tool-call limit in milliseconds: set above the longest ``ask``.
    """
    program, args = command or server_command()
    entry: dict[str, Any] = {}
    if client == "claude-code":
        entry["type"] = "stdio"
    entry.update(command=program, args=args)
    path = registry_path(config)
    if path:
        entry["env"] = {"AGENT_BRIDGE_CONFIG": path}
    if client == "qwen-code":
        entry["timeout"] = int((ask_timeout + 60) * 1000)
    return {"mcpServers": {name: entry}}


def add_command(client: Client, snippet: dict[str, Any]) -> str:
    """The client's own one-line command that adds the same server (user scope)."""
    name, entry = next(iter(snippet["mcpServers"].items()))
    env = [f"{key}={value}" for key, value in entry.get("env", {}).items()]
    if client == "claude-code":
        argv = ["claude", "mcp", "add", "--scope", "user", "--transport", "stdio"]
        for item in env:
            argv += ["--env", item]
        argv += [name, "--", entry["command"], *entry["args"]]
    else:
        argv = ["qwen", "mcp", "add", "--scope", "user"]
        for item in env:
            argv += ["-e", item]
        argv += ["--timeout", str(entry["timeout"]), name, entry["command"], "--", *entry["args"]]
    return shlex.join(argv)


WHERE = {
    "claude-code": "Put this in .mcp.json at your project's root (or merge its mcpServers into it); "
    "for all projects run instead:",
    "qwen-code": "Merge this into ~/.qwen/settings.json (all projects) or .qwen/settings.json "
    "(this project); or run instead:",
}


# -- command line -----------------------------------------------------------------------------

mcp_app = command_group(
    "Serve agent-bridge to an MCP client (Claude Code, Qwen Code, ...) over stdio. "
    "`agent-bridge mcp` serves; `agent-bridge mcp config --for CLIENT` prints the client's JSON.",
)
app.add_typer(mcp_app, name="mcp")


@mcp_app.callback(invoke_without_command=True)
def _mcp(ctx: typer.Context) -> None:
    if ctx.invoked_subcommand is None:
        _serve()


@mcp_app.command("serve")
def serve_command(
    as_json: Annotated[
        bool, typer.Option("--json", help="Accepted: MCP already speaks JSON on stdout.")
    ] = False,
) -> None:
    """Serve MCP on stdin/stdout (what `agent-bridge mcp` alone does); registry: --config or env."""
    _serve()


def _serve() -> None:
    try:
        import mcp.server.mcpserver  # noqa: F401
    except ImportError:
        raise ConfigError(
            "the MCP server needs the mcp package",
            hint="pipx inject agent-bridge 'mcp>=2.3,<3', or pip install 'mcp>=2.3,<3' where agent-bridge is",
        ) from None
    from bridge.mcp import serve  # lazy: the server loads the SDK, pydantic and the bridge

    if sys.stdin.isatty():
        typer.echo(
            "agent-bridge: serving MCP on stdin/stdout; an MCP client starts this "
            "(see: agent-bridge mcp config --for claude-code). Ctrl-C stops it.",
            err=True,
        )
    with contextlib.suppress(KeyboardInterrupt):
        run_async(lambda: serve(OPTS.config))


@mcp_app.command("config")
def config_command(
    client: Annotated[
        str,
        typer.Option(
            "--for", help="The MCP client: claude-code or qwen-code.", show_default=False,
            case_sensitive=False,
        ),
    ],
    name: Annotated[str, typer.Option("--name", help="The server's name in the client.")] = DEFAULT_NAME,
    as_json: Annotated[
        bool, typer.Option("--json", help="The JSON on one line, without the note on stderr.")
    ] = False,
) -> None:
    """Print the JSON that makes CLIENT start this server (and, on stderr, where it goes)."""
    chosen = client.lower()
    if chosen not in CLIENTS:
        raise ConfigError(f"unknown client {client!r} (use --for claude-code or --for qwen-code)")
    kind: Client = "claude-code" if chosen == "claude-code" else "qwen-code"
    snippet = client_config(kind, name=name, config=OPTS.config, ask_timeout=_ask_timeout(OPTS.config))
    if as_json or OPTS.json:
        emit(snippet, None, True)
        return
    print(json.dumps(snippet, indent=2))
    typer.echo(f"{WHERE[kind]}\n  {add_command(kind, snippet)}", err=True)


def _ask_timeout(config: str | None) -> float:
    """The default ask timeout of the registry (600 when it cannot be read)."""
    from bridge.api import Bridge  # lazy: see _serve
    from bridge.errors import BridgeError

    try:
        return Bridge.from_config(config).timeout(None)
    except BridgeError:
        return 600.0
