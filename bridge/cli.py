"""The ``agent-bridge`` command line (typer).

This is the only module that runs an event loop, renders output and turns errors into exit codes:
0 ok, 1 other failure, 2 usage/config, 3 host unreachable/auth/host key, 4 pane missing or agent
not ready, 5 the agent asks for permission. Errors print one line on stderr (and, with ``--json``,
a JSON object on stdout). Heavy imports happen inside commands so ``--help`` stays fast.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from bridge.fastpath import print_error, print_result

if TYPE_CHECKING:
    from bridge.api import Bridge
    from bridge.errors import BridgeError

T = TypeVar("T")

app = typer.Typer(
    name="agent-bridge",
    help="Drive terminal AI agents (Claude Code, Codex, ...) in tmux panes, here or on other "
    "machines over SSH. Start with `agent-bridge demo`; configure agents in a registry file "
    "(see hosts/*.toml).",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

def _complete_agents(incomplete: str) -> list[str]:
    """Shell completion: agent names from the registry (parsed as plain TOML, quickly)."""
    import tomllib

    from bridge.paths import find_registry

    try:
        with open(find_registry(OPTS.config), "rb") as handle:
            agents = tomllib.load(handle).get("agents", {})
    except Exception:  # completion must never fail loudly
        return []
    return sorted(name for name in agents if name.startswith(incomplete))


AgentArg = Annotated[
    str,
    typer.Argument(help="Agent name from the registry.", show_default=False, autocompletion=_complete_agents),
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


@dataclass
class Options:
    """Global options, set by the callback and read by every command."""

    config: str | None = None
    json: bool = False
    verbose: int = 0
    broker: bool = True


OPTS = Options()


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


# -- plumbing ---------------------------------------------------------------------------------


def _fail(error: BridgeError, as_json: bool) -> NoReturn:
    print_error(error, as_json)
    raise typer.Exit(error.exit_code)


def run_interruptible(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run(main())``, where Ctrl-C cancels the job and is remembered.

    On Python 3.11 a cancellation can be lost in ``asyncio.wait_for`` (one landing just as an
    answer does); the job then ends by itself, and this still raises KeyboardInterrupt (exit 130)
    after the job's own cleanup. A process started with SIGINT ignored keeps ignoring it.
    """
    import asyncio
    import signal

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

    try:
        result = asyncio.run(guarded())
    except asyncio.CancelledError:
        if interrupted:
            raise KeyboardInterrupt from None
        raise
    if interrupted:
        raise KeyboardInterrupt
    return result


def run(job: Callable[[Bridge], Awaitable[T]], *, as_json: bool = False) -> T:
    """Load the registry, run ``job`` with a :class:`Bridge`, close it, map errors to exits."""
    from bridge.api import Bridge
    from bridge.errors import BridgeError

    async def main() -> T:
        async with Bridge.from_config(OPTS.config) as bridge:
            return await job(bridge)

    try:
        return run_interruptible(main)
    except BridgeError as error:
        _fail(error, as_json or OPTS.json)


def invoke(op: str, args: dict[str, Any], *, as_json: bool = False) -> Any:
    """Run a :mod:`bridge.ops` operation: through the broker, or in this process.

    ``-v`` runs in-process so that the log shows here. Errors become one line and an exit code.
    """
    from bridge.errors import BridgeError

    try:
        from bridge.paths import find_registry

        config = str(find_registry(OPTS.config).resolve())
        if OPTS.broker:
            from bridge import broker

            try:
                with _progress(op, args, config):
                    return broker.call(op, args, config=config)
            except broker.RetryInProcess:
                pass

        async def main() -> Any:
            from bridge import ops
            from bridge.api import Bridge

            async with Bridge.from_config(config) as bridge:
                return await ops.call(bridge, op, args)

        return run_interruptible(main)
    except BridgeError as error:
        _fail(error, as_json or OPTS.json)


_SLOW_OPS = frozenset({"ask", "approve", "model", "restart"})


@contextlib.contextmanager
def _progress(op: str, args: dict[str, Any], config: str) -> Iterator[None]:
    """On a terminal, show a spinner with the agent's state and the elapsed time on stderr.

    Only when both stdout and stderr are terminals: piped output gets nothing but the result.
    The state comes from a cheap ``state`` call through the broker once a second.
    """
    if op not in _SLOW_OPS or not (sys.stdout.isatty() and sys.stderr.isatty()):
        yield
        return
    import threading
    import time

    from bridge import broker

    stop = threading.Event()
    agent = str(args.get("agent", ""))

    def spin() -> None:
        began, state, frame = time.monotonic(), "working", 0
        next_probe = began + 1.0
        while not stop.wait(0.1):
            now = time.monotonic()
            if now >= next_probe:
                next_probe = now + 1.0
                with contextlib.suppress(Exception):
                    state = broker.call("state", {"agent": agent}, config=config, timeout=5)["state"]
            glyph = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"[frame % 10]
            frame += 1
            sys.stderr.write(f"\r{glyph} {agent}: {state} · {now - began:.0f}s ")
            sys.stderr.flush()
        sys.stderr.write("\r\x1b[K")
        sys.stderr.flush()

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(1)


def emit(data: Any, text: str | None, as_json: bool) -> None:
    """Print ``data`` as JSON when asked, else ``text`` (if any)."""
    print_result(data, text, as_json or OPTS.json)


def read_text(text: str) -> str:
    """The TEXT argument, or standard input (as exact UTF-8) when it is ``-``."""
    if text != "-":
        return text
    from bridge.text import decode_prompt

    return decode_prompt(sys.stdin.buffer.read())


# -- commands ---------------------------------------------------------------------------------


@app.command()
def hosts(
    check: Annotated[
        bool, typer.Option("--check", help="Connect to each host and report tmux and round trip.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """List the hosts of the registry (with --check: reachability, RTT and tmux version)."""
    rows = invoke("hosts", {"check": check}, as_json=as_json)
    lines = []
    for row in rows:
        where = "local" if row["local"] else row["address"]
        line = f"{row['host']:<16} {where}"
        if check:
            line += (
                f"  ok  {row['tmux']}  rtt {row['rtt_ms']} ms"
                if row.get("reachable")
                else f"  UNREACHABLE  {row['error']}"
            )
        lines.append(line)
    emit(rows, "\n".join(lines) or "(no hosts)", as_json)


@app.command()
def agents(
    check: Annotated[
        bool, typer.Option("--check", help="Look at each agent's pane and report its state.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """List the agents of the registry (with --check: pane and state)."""
    rows = invoke("agents", {"check": check}, as_json=as_json)
    lines = []
    for row in rows:
        line = f"{row['agent']:<16} {row['host']:<12} {row['target']:<20} {row['profile']}"
        if check:
            line += f"  {row['state']}" + (f"  ({row['error']})" if "error" in row else "")
        lines.append(line)
    emit(rows, "\n".join(lines) or "(no agents)", as_json)


@app.command()
def screen(
    agent: AgentArg,
    ansi: Annotated[bool, typer.Option("--ansi", help="Keep colours and attributes (SGR).")] = False,
    history: Annotated[
        int, typer.Option("--history", "-H", min=0, help="Also print N lines of scrollback.")
    ] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Print the agent's pane as text, as it looks now."""
    result = invoke("screen", {"agent": agent, "ansi": ansi, "history": history}, as_json=as_json)
    emit(result, result["screen"].rstrip("\n"), as_json)


@app.command()
def send(
    agent: AgentArg,
    text: Annotated[str, typer.Argument(help="Text to type; '-' reads standard input.")],
    no_enter: Annotated[
        bool, typer.Option("--no-enter", help="Type the text but do not press Enter.")
    ] = False,
    strip_controls: StripOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Type TEXT into the agent's pane (bracketed paste) and press Enter. Does not wait."""
    body = _read_or_fail(text, as_json)
    args = {"agent": agent, "text": body, "enter": not no_enter, "strip_controls": strip_controls}
    result = invoke("send", args, as_json=as_json)
    if result["removed_controls"]:
        print(f"agent-bridge: removed {result['removed_controls']} control character(s) from the text",
              file=sys.stderr)
    emit(result, None, as_json)


@app.command()
def keys(
    agent: AgentArg,
    names: Annotated[
        list[str], typer.Argument(help="tmux key names, pressed in order: Down Enter Escape C-c …")
    ],
) -> None:
    """Press keys in the agent's pane by tmux key name (e.g. `keys claude Down Enter`)."""
    invoke("keys", {"agent": agent, "keys": names})


@app.command()
def start(agent: AgentArg, as_json: JsonOpt = False) -> None:
    """Create the agent's tmux session/window/pane if missing and run its `start` command."""
    result = invoke("start", {"agent": agent}, as_json=as_json)
    if result["already_running"]:
        text = f"{agent} is already running in {result['pane']}"
    elif result["started"]:
        text = f"started {agent} in {result['pane']}"
    else:
        text = f"created pane {result['pane']} for {agent}"
    emit(result, text, as_json)


@app.command()
def attach(
    agent: AgentArg,
    read_only: Annotated[
        bool, typer.Option("--read-only", "-r", help="Watch only: your keys do not reach the agent.")
    ] = False,
    print_only: Annotated[
        bool, typer.Option("--print", help="Print the command instead of running it.")
    ] = False,
) -> None:
    """Attach this terminal to the agent's tmux session (over ssh -t for remote hosts).

    Detach with the tmux prefix then d (usually Ctrl-b d).
    """
    from bridge.api import Bridge
    from bridge.errors import BridgeError

    try:
        argv = Bridge.from_config(OPTS.config).attach_argv(agent, read_only=read_only)
    except BridgeError as error:
        _fail(error, False)
    if print_only:
        import shlex

        print(shlex.join(argv))
        return
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        print(f"agent-bridge: error: cannot run {argv[0]}: {exc.strerror}", file=sys.stderr)
        raise typer.Exit(1) from None


TimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--timeout", "-t", min=0.1, show_default=False,
        help="Seconds to wait (default: $AGENT_BRIDGE_TIMEOUT, else the registry's settings.timeout, 600).",
    ),
]


@app.command()
def ask(
    agent: AgentArg,
    prompt: Annotated[str, typer.Argument(help="The question; '-' reads it from standard input.")],
    timeout: TimeoutOpt = None,
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="First switch the agent to this model via its /model menu."),
    ] = None,
    strip_controls: StripOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Ask an idle agent something and print its reply (alone, so $(agent-bridge ask ...) works).

    Exit 4 if the agent is not idle or time runs out (with --json, the last screen); exit 5 if it
    asks for permission (answer with `agent-bridge approve AGENT yes|no --wait`).
    """
    text = _read_or_fail(prompt, as_json)
    args = {"agent": agent, "prompt": text, "timeout": timeout, "model": model,
            "strip_controls": strip_controls}
    reply = invoke("ask", args, as_json=as_json)
    emit(reply, reply["reply"], as_json)


@app.command()
def state(agent: AgentArg, as_json: JsonOpt = False) -> None:
    """Print the agent's state: idle, busy, permission, menu, dialog, dead or unknown."""
    data = invoke("state", {"agent": agent}, as_json=as_json)
    emit(data, data["state"], as_json)


@app.command()
def model(
    agent: AgentArg,
    name: Annotated[str, typer.Argument(help="Row number, label, or a prefix of it (e.g. sonnet).")],
    timeout: Annotated[float, typer.Option("--timeout", "-t", min=1, help="Seconds to wait.")] = 60.0,
    as_json: JsonOpt = False,
) -> None:
    """Switch the agent's model through its own /model menu, one checked key press at a time."""
    result = invoke("model", {"agent": agent, "name": name, "timeout": timeout}, as_json=as_json)
    emit(result, f"model set to {result['model']}", as_json)


@app.command()
def approve(
    agent: AgentArg,
    answer: Annotated[
        str, typer.Argument(help="yes (the first Yes option), no, or an option number.")
    ] = "yes",
    wait: Annotated[bool, typer.Option("--wait", "-w", help="Then wait and print the reply.")] = False,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Answer the agent's pending permission question (nothing is ever approved by default)."""
    args = {"agent": agent, "answer": answer, "wait": wait, "timeout": timeout}
    result = invoke("approve", args, as_json=as_json)
    if "reply" in result:
        emit(result, result["reply"], as_json)
    else:
        emit(result, f"answered {answer}; {agent} is {result['state']}", as_json)


@app.command()
def restart(
    agent: AgentArg,
    timeout: Annotated[float, typer.Option("--timeout", "-t", min=1, help="Seconds to wait.")] = 60.0,
    as_json: JsonOpt = False,
) -> None:
    """Run the profile's resume command (e.g. `claude --continue`) in a dead agent's pane."""
    result = invoke("restart", {"agent": agent, "timeout": timeout}, as_json=as_json)
    emit(result, f"{agent} is {result['state']}", as_json)


@app.command()
def profiles(as_json: JsonOpt = False) -> None:
    """List agent profiles: built-in ones and yours (~/.config/agent-bridge/profiles/*.toml)."""
    from bridge.errors import BridgeError
    from bridge.paths import config_dir
    from bridge.profiles import list_profiles

    try:
        infos = list_profiles(config_dir() / "profiles")
    except BridgeError as error:
        _fail(error, as_json)
    rows = [
        {"name": i.name, "agent": i.agent, "version": i.version, "source": str(i.source)} for i in infos
    ]
    text = "\n".join(f"{r['name']:<14} {r['agent']:<14} {r['version']:<10} {r['source']}" for r in rows)
    emit(rows, text, as_json)


@app.command()
def demo(
    prompt: Annotated[str, typer.Option("--prompt", "-p", help="What to ask the demo agent.")] = (
        "What is 6 x 7?"
    ),
    as_json: JsonOpt = False,
) -> None:
    """Start the bundled demo agent in a private local tmux server, ask it something, show the reply.

    No SSH and no registry needed; only tmux. The agent keeps running so you can watch it.
    """
    import asyncio

    from bridge.demo.session import run_demo
    from bridge.errors import BridgeError

    try:
        result = asyncio.run(run_demo(prompt))
    except BridgeError as error:
        _fail(error, as_json)
    if as_json or OPTS.json:
        print(json.dumps({**result.reply.to_dict(), "socket": result.socket}, ensure_ascii=False))
        return
    print(f"asked the demo agent: {prompt}")
    print(f"it replied ({result.reply.source}, {result.reply.elapsed_s:.2f}s): {result.reply.reply}")
    print()
    print(f"watch it live (read-only): tmux -S {result.socket} attach -t demo -r")
    print(f"stop it:                   tmux -S {result.socket} kill-server")


def _mount_subcommands() -> None:
    """Commands that live in their own modules (each keeps its heavy imports lazy)."""
    from bridge.bench import register as register_bench
    from bridge.cli_wg import app as wg_app
    from bridge.doctor import register as register_doctor
    from bridge.mcp import register as register_mcp
    from bridge.skills import register as register_skills
    from bridge.watch import register as register_watch

    app.add_typer(wg_app, name="wg")
    register_bench(app)
    register_doctor(app)  # runs in-process on purpose: it checks this machine's own tunnel and route
    register_mcp(app)
    register_skills(app)
    register_watch(app)


_mount_subcommands()


def _read_or_fail(text: str, as_json: bool) -> str:
    from bridge.errors import BridgeError

    try:
        return read_text(text)
    except BridgeError as error:
        _fail(error, as_json)


def main() -> None:
    """Console-script entry point."""
    from bridge.errors import BridgeError

    try:
        app()
    except BridgeError as error:  # from sub-apps (wg) that do not go through run()
        print(f"agent-bridge: error: {error}", file=sys.stderr)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        print("agent-bridge: interrupted", file=sys.stderr)
        sys.exit(130)
