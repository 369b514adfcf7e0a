"""The typer app of ``agent-bridge``: its global options, its event loop, and its exit codes.

This module holds only the app; each command module (:mod:`bridge.cli.agents`, ``doctor``, ``mcp``,
...) imports :data:`app` and adds its commands to it, and :mod:`bridge.cli.main` imports them all.

It is the one place that runs an event loop (:func:`run_async`) and that turns errors into exit
codes: 0 ok, 1 other failure, 2 usage/config, 3 host unreachable/auth/host key, 4 pane missing or
agent not ready (nothing typed), 5 the agent asks for permission, 6 the prompt was delivered but
no whole reply came back (each :class:`~bridge.errors.BridgeError` class
carries its code). An error prints one line on stderr (and, with ``--json``, a JSON object on
stdout). Heavy imports happen inside commands so that ``--help`` stays fast.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from bridge.cli.output import print_error, print_result
from bridge.errors import BridgeError

if TYPE_CHECKING:
    from bridge.api import Bridge

T = TypeVar("T")

def command_group(help: str, **settings: Any) -> typer.Typer:
    """A typer app (the CLI or one of its command groups) with the CLI's help settings: -h, and
    plain help text (click's: paragraphs wrapped whole, no ``<bool>`` after a flag) rather than
    rich panels."""
    return typer.Typer(
        help=help,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
        **settings,
    )


app = command_group(
    "Drive terminal AI agents (Claude Code, Codex, ...) in tmux panes, here or on other "
    "machines over SSH. Start with `agent-bridge demo`; then `agent-bridge init` writes a "
    "registry file to list your agents in.",
    name="agent-bridge",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)


@dataclass
class Options:
    """Global options, set by the callback and read by every command."""

    config: str | None = None
    json: bool = False
    verbose: int = 0
    broker: bool = True


OPTS = Options()


def _print_version(value: bool) -> None:
    if value:
        from bridge import __version__

        print(f"agent-bridge {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    config: Annotated[
        str | None,
        typer.Option(
            "--config",
            "-c",
            help="Registry file. Default: $AGENT_BRIDGE_CONFIG, then "
            "~/.config/agent-bridge/registry.toml.",
            show_default=False,
        ),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Machine-readable JSON on stdout, for every command.")
    ] = False,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="Log what happens (-vv: every command).")
    ] = 0,
    no_broker: Annotated[
        bool,
        typer.Option(
            "--no-broker",
            help="Run in this process instead of through the background broker that keeps SSH "
            "connections warm between calls (also: AGENT_BRIDGE_NO_BROKER=1).",
        ),
    ] = False,
    _version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    OPTS.config, OPTS.json, OPTS.verbose = config, json_out, verbose
    OPTS.broker = not (no_broker or os.environ.get("AGENT_BRIDGE_NO_BROKER") == "1" or verbose > 0)
    if verbose:
        logging.basicConfig(
            level=logging.DEBUG if verbose > 1 else logging.INFO,
            format="agent-bridge: %(name)s: %(message)s",
            stream=sys.stderr,
        )
        logging.getLogger("asyncssh").setLevel(logging.WARNING)


def emit(data: Any, text: str | None, as_json: bool) -> None:
    """Print a command's result: ``data`` as JSON with ``--json`` (the command's or the global
    one), else ``text`` (if any)."""
    print_result(data, text, as_json or OPTS.json)


# -- errors and exit codes ----------------------------------------------------------------------


def fail(error: BridgeError, as_json: bool = False) -> NoReturn:
    """End the command with ``error``: its one line (and JSON with ``--json``), its exit code."""
    print_error(error, as_json or OPTS.json)
    raise typer.Exit(error.exit_code)


@contextlib.contextmanager
def reported(as_json: bool = False) -> Iterator[None]:
    """A :class:`BridgeError` raised inside ends the command through :func:`fail`; Ctrl-C ends it
    with exit 130 (here, not click's "Aborted!" with exit 1)."""
    try:
        yield
    except BridgeError as error:
        fail(error, as_json)
    except KeyboardInterrupt:
        print("agent-bridge: interrupted", file=sys.stderr)
        raise typer.Exit(130) from None


def leave(code: int) -> None:
    """End the command with exit ``code`` when it is not 0 (what failed was already printed)."""
    if code:
        raise typer.Exit(code)


def execute() -> None:
    """Run the app (with every command module imported: see :mod:`bridge.cli.main`).

    An error that no command reported (from a sub-app such as ``wg``, or a command's own check)
    prints its one line and exits with its code; Ctrl-C exits 130.
    """
    try:
        app()
    except BridgeError as error:
        print_error(error)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        print("agent-bridge: interrupted", file=sys.stderr)
        sys.exit(130)


# -- the event loop -----------------------------------------------------------------------------


def run_async(main: Callable[[], Coroutine[Any, Any, T]], *, as_json: bool = False) -> T:
    """``asyncio.run(main())``, where Ctrl-C cancels the job and is remembered; errors reported.

    On Python 3.11 a cancellation can be lost in ``asyncio.wait_for`` (one landing just as an
    answer does); the job then ends by itself, and this still raises KeyboardInterrupt (exit 130)
    after the job's own cleanup. A process started with SIGINT ignored keeps ignoring it.
    """
    import asyncio  # lazy, as every heavy import here: `agent-bridge --help` stays fast
    import signal

    from bridge.evidence import HOOKS

    if record_to_hub not in HOOKS:  # every Bridge this process makes: its records to the hub
        HOOKS.append(record_to_hub)
    interrupted: list[bool] = []

    async def guarded() -> T:
        task, loop = asyncio.current_task(), asyncio.get_running_loop()

        def interrupt() -> None:
            interrupted.append(True)
            if task is not None:
                task.cancel()

        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signal.SIGINT, interrupt)
        return await main()

    with reported(as_json):
        try:
            result = asyncio.run(guarded())
        except asyncio.CancelledError:
            if interrupted:
                raise KeyboardInterrupt from None
            raise
    if interrupted:
        raise KeyboardInterrupt
    return result


def record_to_hub(bridge: Bridge) -> None:
    """A Bridge of this process sends its records to the hub its registry names (if any)."""
    spec = bridge.registry.model.hub
    if spec.url or spec.store or spec.listen or os.environ.get("AGENT_BRIDGE_HUB_URL"):
        from bridge.hub.evidence import connect  # lazy: only for a registry with a [hub]

        connect(bridge)


def run(job: Callable[[Bridge], Awaitable[T]], *, as_json: bool = False) -> T:
    """Load the registry, run ``job`` with a :class:`~bridge.api.Bridge`, close it; errors
    reported."""
    from bridge.api import Bridge  # lazy: see run_async

    async def main() -> T:
        async with Bridge.from_config(OPTS.config) as bridge:
            return await job(bridge)

    return run_async(main, as_json=as_json)
