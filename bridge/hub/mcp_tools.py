"""The hub's messages as MCP tools (added to :mod:`bridge.mcp`'s server): send_message, inbox,
read_message, reply, close_thread, message_status — the same calls as ``agent-bridge msg``.

The MCP server speaks for one agent: ``$AGENT_BRIDGE_AGENT`` and its token (``$AGENT_BRIDGE_TOKEN``
or the token file); the hub is the registry's ``[hub] url`` (or ``$AGENT_BRIDGE_HUB_URL``).

No ``from __future__ import annotations``: the SDK reads the tools' annotations at run time.
"""

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from bridge.errors import BridgeError

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer
    from mcp.types import CallToolResult

    from bridge.config import HubSpec
    from bridge.hub.client import HubClient

T = TypeVar("T")

DESCRIPTIONS = {
    "send_message": (
        "Send a short message to another agent through the hub (it is woken with a one-line nudge "
        "when it is idle; never while it works). Starts a thread unless thread_id is given. Use it "
        "to hand over a result or ask a question without re-sending a whole conversation."
    ),
    "inbox": (
        "List the messages other agents sent you that you have not read yet (all=true: read ones "
        "too), oldest first, with id, sender, subject and body. Call it when you were woken."
    ),
    "read_message": (
        "Read one message by its id (from inbox) and mark it read. Then answer with reply, or "
        "close the thread with close_thread when the work is done."
    ),
    "reply": (
        "Answer a message in its own thread, to the agent on the other side; it is woken when "
        "idle. The thread must still be open."
    ),
    "close_thread": (
        "Close a thread when the work it was about is done: it takes no more messages and wakes "
        "nobody again (this stops two agents from waking each other forever)."
    ),
    "message_status": (
        "Where a message you sent stands: queued, woken or read, with the times; while it is "
        "queued, why it waits (recipient busy, wake budget used up, ...)."
    ),
}


def add_message_tools(
    server: "MCPServer[Any]",
    hub: "HubSpec | None",
    *,
    result: Callable[[str, dict[str, Any]], "CallToolResult"],
    error: Callable[[BridgeError], "CallToolResult"],
) -> None:
    """Register the six message tools on ``server`` (``result``/``error``: how :mod:`bridge.mcp`
    shapes a tool's answer and a tool error)."""
    from mcp.types import CallToolResult, ToolAnnotations
    from pydantic import Field

    from bridge.hub.client import HubClient

    looks = ToolAnnotations(read_only_hint=True, open_world_hint=True)
    acts = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=True)
    MessageId = Annotated[int, Field(description="a message id, from inbox")]

    async def call(job: Callable[["HubClient"], Awaitable[tuple[str, dict[str, Any]]]]) -> CallToolResult:
        try:
            async with HubClient.configured(hub) as client:
                text, data = await job(client)
        except BridgeError as exc:
            return error(exc)
        return result(text, data)

    @server.tool(description=DESCRIPTIONS["send_message"], annotations=acts)
    async def send_message(
        to: Annotated[str, Field(description="the agent to send to")],
        body: Annotated[str, Field(description="the message (up to 1 MB of text)")],
        subject: Annotated[str, Field(description="one line: what it is about")] = "",
        thread_id: Annotated[int | None, Field(description="add to this thread")] = None,
    ) -> CallToolResult:
        async def job(client: "HubClient") -> tuple[str, dict[str, Any]]:
            sent = await client.send(to, subject, body, thread_id=thread_id)
            return f"sent message {sent.id} (thread {sent.thread_id}) to {to}", sent.model_dump(mode="json")

        return await call(job)

    @server.tool(description=DESCRIPTIONS["inbox"], annotations=looks)
    async def inbox(all: Annotated[bool, Field(description="read messages too")] = False) -> CallToolResult:
        async def job(client: "HubClient") -> tuple[str, dict[str, Any]]:
            found = await client.inbox(everything=all)
            lines = [f"#{m.id} from {m.sender}: {m.subject}" for m in found] or ["no messages"]
            return "\n".join(lines), {"messages": [m.model_dump(mode="json") for m in found]}

        return await call(job)

    @server.tool(description=DESCRIPTIONS["read_message"], annotations=acts)
    async def read_message(id: MessageId) -> CallToolResult:
        async def job(client: "HubClient") -> tuple[str, dict[str, Any]]:
            found = await client.read(id)
            return f"#{found.id} from {found.sender}: {found.subject}\n\n{found.body}", found.model_dump(
                mode="json"
            )

        return await call(job)

    @server.tool(description=DESCRIPTIONS["reply"], annotations=acts)
    async def reply(id: MessageId, body: Annotated[str, Field(description="the answer")]) -> CallToolResult:
        async def job(client: "HubClient") -> tuple[str, dict[str, Any]]:
            sent = await client.reply(id, body)
            return f"sent message {sent.id} (thread {sent.thread_id}) to {sent.recipient}", sent.model_dump(
                mode="json"
            )

        return await call(job)

    @server.tool(description=DESCRIPTIONS["close_thread"], annotations=acts)
    async def close_thread(
        thread_id: Annotated[int, Field(description="the thread to close")],
    ) -> CallToolResult:
        async def job(client: "HubClient") -> tuple[str, dict[str, Any]]:
            closed = await client.close_thread(thread_id)
            return f"closed thread {closed.id}", closed.model_dump(mode="json")

        return await call(job)

    @server.tool(description=DESCRIPTIONS["message_status"], annotations=looks)
    async def message_status(id: MessageId) -> CallToolResult:
        async def job(client: "HubClient") -> tuple[str, dict[str, Any]]:
            found = await client.status(id)
            text = f"#{found.id} to {found.recipient}: {found.status}"
            return text + (f" (waiting: {found.waiting})" if found.waiting else ""), found.model_dump(
                mode="json"
            )

        return await call(job)
