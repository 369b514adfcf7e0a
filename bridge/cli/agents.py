"""The commands that drive agents: hosts, agents, screen, send, keys, start, attach, ask, reply,
state, model, approve, restart and profiles.

Each one builds its :mod:`bridge.ops` request and runs it through :func:`bridge.cli.calls.invoke`
(the broker, or this process). Heavy imports happen inside the commands: ``--help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from bridge.cli.app import OPTS, app, emit, leave, reported
from bridge.cli.calls import invoke
from bridge.cli.output import agent_lines, first_failure, host_lines, note
from bridge.cli.params import AgentArg, JsonOpt, StripOpt, TextArgs, TimeoutOpt
from bridge.cli.requests import ask_request, state_request
from bridge.errors import BridgeError


def read_text(text: str, as_json: bool) -> str:
    """The TEXT argument, or standard input when it is ``-``: exact UTF-8 either way (bytes that
    are not are refused the same way from both, before anything is sent anywhere)."""
    from bridge.text import argv_text, decode_prompt  # lazy: see the module's docstring

    with reported(as_json):
        return decode_prompt(sys.stdin.buffer.read()) if text == "-" else argv_text(text)


@app.command()
def hosts(
    check: Annotated[
        bool, typer.Option("--check", help="Connect to each host and report tmux and round trip.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """List the hosts of the registry (with --check: reachability, RTT and tmux version; a host
    that cannot be used makes the exit code 3)."""
    rows = invoke("hosts", {"check": check}, as_json=as_json)
    emit(rows, host_lines(rows, check), as_json)
    leave(first_failure(rows))


@app.command()
def agents(
    check: Annotated[
        bool, typer.Option("--check", help="Look at each agent's pane and report its state.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """List the agents of the registry (with --check: pane and state; a pane that cannot be looked
    at makes the exit code 4, or 3 for its host)."""
    rows = invoke("agents", {"check": check}, as_json=as_json)
    emit(rows, agent_lines(rows, check), as_json)
    leave(first_failure(rows))


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


@app.command(cls=TextArgs)
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
    body = read_text(text, as_json)
    args = {"agent": agent, "text": body, "enter": not no_enter, "strip_controls": strip_controls}
    result = invoke("send", args, as_json=as_json)
    if result["removed_controls"]:
        note(f"removed {result['removed_controls']} control character(s) from the text")
    emit(result, None, as_json)


@app.command()
def keys(
    agent: AgentArg,
    names: Annotated[
        list[str], typer.Argument(help="tmux key names, pressed in order: Down Enter Escape C-c …")
    ],
    as_json: JsonOpt = False,
) -> None:
    """Press keys in the agent's pane by tmux key name (e.g. `keys claude Down Enter`)."""
    result = invoke("keys", {"agent": agent, "keys": names}, as_json=as_json)
    emit(result, None, as_json)


@app.command()
def start(agent: AgentArg, as_json: JsonOpt = False) -> None:
    """Create the agent's tmux session/window/pane if missing and run its `start` command."""
    result = invoke("start", {"agent": agent}, as_json=as_json)
    if result["already_running"]:
        text = f"{agent} is already running in {result['pane']}"
    elif result["started"]:
        text = f"started {agent} in {result['pane']}: {result['state']}"
        if result.get("session_id"):
            text += f" (session {result['session_id']})"
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
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the command as JSON (argv) instead of running it.")
    ] = False,
) -> None:
    """Attach this terminal to the agent's tmux session (over ssh -t for remote hosts).

    Detach with the tmux prefix then d (usually Ctrl-b d).
    """
    import shlex  # lazy: see the module's docstring

    from bridge.api import Bridge

    with reported(as_json):
        argv = Bridge.from_config(OPTS.config).attach_argv(agent, read_only=read_only)
    if print_only or as_json or OPTS.json:
        emit({"agent": agent, "argv": argv, "command": shlex.join(argv)}, shlex.join(argv), as_json)
        return
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        raise BridgeError(f"cannot run {argv[0]}: {exc.strerror}") from None


@app.command(cls=TextArgs)
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

    Exit 4 if nothing was typed (the agent is not idle or in use, or time ran out before typing:
    safe to retry); exit 6 if the prompt was delivered but no whole reply came back (time ran
    out, the agent died, or the reply outgrew the pane's scrollback: do not resend blindly);
    exit 5 if it asks for permission (answer with `agent-bridge approve AGENT yes|always|no --wait`).
    With --json, an error says "delivered": true|false, and has the last screen. --timeout
    bounds the whole call.
    """
    text = read_text(prompt, as_json)
    request = ask_request(agent, text, timeout=timeout, model=model, strip_controls=strip_controls)
    reply = invoke("ask", request, as_json=as_json)
    if reply.get("removed_controls"):
        note(f"removed {reply['removed_controls']} control character(s) from the prompt")
    emit(reply, reply["reply"], as_json)


@app.command()
def reply(agent: AgentArg, as_json: JsonOpt = False) -> None:
    """Print the agent's last completed reply again (e.g. after `ask` timed out): from its
    transcript where it keeps one, else from the screen. Types nothing."""
    result = invoke("reply", {"agent": agent}, as_json=as_json)
    emit(result, result["reply"], as_json)


@app.command()
def state(agent: AgentArg, as_json: JsonOpt = False) -> None:
    """Print the agent's state: idle, busy, permission, menu, dialog, dead or unknown."""
    data = invoke("state", state_request(agent), as_json=as_json)
    emit(data, data["state"], as_json)


@app.command()
def model(
    agent: AgentArg,
    name: Annotated[str, typer.Argument(help="Row number, label, or a prefix of it (e.g. sonnet).")],
    timeout: Annotated[float, typer.Option("--timeout", "-t", min=1, help="Seconds to wait.")] = 60.0,
    save: Annotated[
        bool, typer.Option("--save", help="Also the default for new sessions (else: this session only)."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Switch the agent's model through its own /model menu, one checked key press at a time.

    The switch is for this session only where the agent offers that (Claude Code does); an
    agent already on that model is left as it is.
    """
    args = {"agent": agent, "name": name, "timeout": timeout, "save": save}
    result = invoke("model", args, as_json=as_json)
    emit(result, f"model set to {result['model']}", as_json)


@app.command()
def approve(
    agent: AgentArg,
    answer: Annotated[
        str,
        typer.Argument(help="yes (allow once), always (allow from now on, where offered), no, or a number."),
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
    """Bring a dead agent back into its own session (its resume command with its session id, e.g.
    `claude --resume ID`) and wait until it is idle."""
    result = invoke("restart", {"agent": agent, "timeout": timeout}, as_json=as_json)
    session = f" (session {result['session_id']})" if result.get("session_id") else ""
    emit(result, f"{agent} is {result['state']}{session}", as_json)


