"""``agent-bridge msg``: messages between agents through the hub (send, inbox, read, reply,
thread, close, status), and ``agent-bridge top``: the hub's dashboard in a terminal.

Identity: ``--as AGENT`` or ``$AGENT_BRIDGE_AGENT``; the token: ``$AGENT_BRIDGE_TOKEN``, the
registry's ``[hub] token_file``, or ``~/.config/agent-bridge/tokens/AGENT`` (0600). The hub:
``--hub URL``, ``$AGENT_BRIDGE_HUB_URL``, the registry's ``[hub] url``, or the hub on this machine.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from bridge.cli.app import OPTS, app, command_group, emit, run_async
from bridge.cli.params import JsonOpt

if TYPE_CHECKING:
    from bridge.hub.client import HubClient
    from bridge.hub.models import Message

T = TypeVar("T")

msg_app = command_group(
    "Messages between agents, through the hub: a message to an idle agent wakes it with a "
    "one-line nudge; it reads its inbox, replies, and closes the thread when done.",
    no_args_is_help=True,
)
app.add_typer(msg_app, name="msg")

AsOpt = Annotated[
    str | None,
    typer.Option(
        "--as", help="Who you are (an agent's name); default $AGENT_BRIDGE_AGENT.", show_default=False
    ),
]
HubOpt = Annotated[
    str | None,
    typer.Option(
        "--hub", help="The hub's URL; default $AGENT_BRIDGE_HUB_URL, then [hub] url.", show_default=False
    ),
]
AGES_S = 5.0  # top redraws at least this often
IdArg = Annotated[int, typer.Argument(help="A message id (see `msg inbox`).", show_default=False)]


def hub_client(as_agent: str | None, hub: str | None) -> HubClient:
    from bridge.config.registry import Registry
    from bridge.errors import ConfigError  # lazy: `agent-bridge --help` stays fast
    from bridge.hub.client import HubClient

    try:
        spec = Registry.from_cli(OPTS.config).model.hub
    except ConfigError:
        spec = None  # an agent's machine may have no registry: env and --hub are enough
    return HubClient.configured(spec, url=hub, agent=as_agent)


def with_hub(
    as_agent: str | None, hub: str | None, job: Callable[[HubClient], Awaitable[T]], as_json: bool
) -> T:
    async def main() -> T:
        async with hub_client(as_agent, hub) as client:
            return await job(client)

    return run_async(main, as_json=as_json)


def _body(text: str) -> str:
    if text != "-":
        return text
    from bridge.errors import ConfigError

    try:
        return sys.stdin.buffer.read().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"standard input is not UTF-8 text (byte {exc.start})") from None


def _when(epoch: float | None) -> str:
    return "—" if not epoch else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def _line(m: Message) -> str:
    when = _when(m.created_at)
    return f"#{m.id}  thread {m.thread_id}  {m.sender} -> {m.recipient}  {m.subject}  ({when}, {m.status})"


def _full(m: Message) -> str:
    return f"{_line(m)}\n\n{m.body}" + ("" if m.body.endswith("\n") else "\n")


def _dump(value: Any) -> Any:
    return (
        [v.model_dump(mode="json") for v in value]
        if isinstance(value, list)
        else value.model_dump(mode="json")
    )


@msg_app.command("send")
def send(
    to: Annotated[str, typer.Argument(help="The agent to send to.", show_default=False)],
    text: Annotated[
        str, typer.Argument(help="The message; - reads it from standard input.", show_default=False)
    ],
    subject: Annotated[str, typer.Option("--subject", "-s", help="One line: what it is about.")] = "",
    thread: Annotated[
        int | None, typer.Option("--thread", help="Add to this thread.", show_default=False)
    ] = None,
    as_agent: AsOpt = None,
    hub: HubOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send a message to an agent (a new thread unless --thread); prints its id and thread id."""
    body = _body(text)
    sent = with_hub(as_agent, hub, lambda c: c.send(to, subject, body, thread_id=thread), as_json)
    emit(_dump(sent), f"sent message {sent.id} (thread {sent.thread_id}) to {sent.recipient}", as_json)


@msg_app.command("inbox")
def inbox(
    everything: Annotated[bool, typer.Option("--all", help="Read messages too, not only unread.")] = False,
    as_agent: AsOpt = None,
    hub: HubOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List your unread messages (oldest first); read one with `msg read ID`."""
    found = with_hub(as_agent, hub, lambda c: c.inbox(everything=everything), as_json)
    emit(_dump(found), "\n".join(_line(m) for m in found) or "no messages", as_json)


@msg_app.command("read")
def read(message: IdArg, as_agent: AsOpt = None, hub: HubOpt = None, as_json: JsonOpt = False) -> None:
    """Print a message and mark it read."""
    found = with_hub(as_agent, hub, lambda c: c.read(message), as_json)
    emit(_dump(found), _full(found), as_json)


@msg_app.command("reply")
def reply(
    message: IdArg,
    text: Annotated[
        str, typer.Argument(help="The answer; - reads it from standard input.", show_default=False)
    ],
    as_agent: AsOpt = None,
    hub: HubOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Answer a message, in its thread, to the other side."""
    body = _body(text)
    sent = with_hub(as_agent, hub, lambda c: c.reply(message, body), as_json)
    emit(_dump(sent), f"sent message {sent.id} (thread {sent.thread_id}) to {sent.recipient}", as_json)


@msg_app.command("thread")
def thread(
    thread_id: Annotated[int, typer.Argument(help="A thread id.", show_default=False)],
    as_agent: AsOpt = None,
    hub: HubOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print a whole thread."""
    found = with_hub(as_agent, hub, lambda c: c.thread(thread_id), as_json)
    state = f"closed by {found.closed_by}" if found.closed_at else "open"
    head = f"thread {found.id}: {found.subject} ({', '.join(found.participants)}; {state})"
    emit(_dump(found), "\n\n".join([head, *(_full(m) for m in found.messages)]), as_json)


@msg_app.command("close")
def close(
    thread_id: Annotated[int, typer.Argument(help="A thread id.", show_default=False)],
    as_agent: AsOpt = None,
    hub: HubOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Close a thread: it takes no more messages and wakes nobody."""
    found = with_hub(as_agent, hub, lambda c: c.close_thread(thread_id), as_json)
    emit(_dump(found), f"closed thread {found.id}", as_json)


@msg_app.command("status")
def status(message: IdArg, as_agent: AsOpt = None, hub: HubOpt = None, as_json: JsonOpt = False) -> None:
    """Where a message stands: queued -> woken -> read, with times (and why it waits)."""
    found = with_hub(as_agent, hub, lambda c: c.status(message), as_json)
    steps = [f"queued {_when(found.created_at)}"]
    if found.woken_at:
        steps.append(f"woken {_when(found.woken_at)}")
    if found.read_at:
        steps.append(f"read {_when(found.read_at)}")
    text = f"#{found.id} to {found.recipient}: {found.status}: " + " -> ".join(steps)
    if found.waiting:
        text += f" (waiting: {found.waiting})"
    emit(_dump(found), text, as_json)


@app.command("top")
def top(
    once: Annotated[bool, typer.Option("--once", help="Print one snapshot and exit.")] = False,
    hub: HubOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The hub's agents and events in a live terminal table (Ctrl-C leaves); needs an admin token."""

    async def snapshot(client: HubClient) -> tuple[list[dict[str, Any]], list[Any]]:
        return await client.agents(), await client.events(tail=15)

    if once or as_json or OPTS.json:
        agents, events = with_hub(None, hub, snapshot, as_json)
        if as_json or OPTS.json:
            emit({"agents": agents, "events": [e.model_dump(mode="json") for e in events]}, None, True)
            return
        from rich.console import Console

        from bridge.hub.top import render

        Console().print(render(agents, events))
        return

    async def live(client: HubClient) -> None:
        import asyncio

        from rich.live import Live

        from bridge.errors import HubUnreachableError
        from bridge.hub.top import render

        agents, events = await snapshot(client)
        arrived: asyncio.Queue[Any] = asyncio.Queue()

        async def follow() -> None:  # the hub's event stream says when something happened
            async for event in client.stream(events[-1].id if events else None):
                arrived.put_nowait(event)
            raise HubUnreachableError(f"the hub at {client.url} closed its event stream")

        reader = asyncio.create_task(follow())
        try:
            with Live(render(agents, events), auto_refresh=False, screen=False) as view:
                while True:
                    # redraw on each event, and every AGES_S anyway ("last activity" keeps counting)
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(AGES_S):
                            events.append(await arrived.get())
                    while not arrived.empty():
                        events.append(arrived.get_nowait())
                    if reader.done():
                        reader.result()  # the stream ended: say why
                    events = events[-15:]
                    agents = await client.agents()
                    view.update(render(agents, events), refresh=True)
        finally:
            reader.cancel()

    with contextlib.suppress(KeyboardInterrupt):
        with_hub(None, hub, live, False)
