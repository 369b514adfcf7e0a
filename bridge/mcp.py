"""The bridge as an MCP server (stdio), built on the official ``mcp`` SDK, over :mod:`bridge.ops`.

One :class:`~bridge.api.Bridge` (and so one pooled connection per host) serves every tool call
of the process. Tools map one to one onto the CLI commands and run the same operations; a
:class:`~bridge.errors.BridgeError` comes back as a tool error carrying exactly the CLI's one-line
message, and a permission question from ``ask``/``approve`` comes back as a normal result (state
``permission``, question, options, how to answer). Long waits report progress (elapsed seconds)
about once a second.

``agent-bridge mcp`` runs :func:`serve`; ``agent-bridge mcp config --for claude-code|qwen-code``
prints the JSON to add to that client (both in :mod:`bridge.cli.mcp`).

No ``from __future__ import annotations`` here: the SDK reads the tool functions' annotations at
run time (to find the ``Context`` parameter and build the input schemas), and the tool functions
are defined inside :func:`build_server` so that ``import mcp`` happens only when serving.
"""

import asyncio
import copy
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from bridge import __version__, ops
from bridge.api import Bridge
from bridge.errors import BridgeError, ConfigError, PermissionPendingError
from bridge.mcp_texts import DESCRIPTIONS, INSTRUCTIONS, STATE_HINTS, tool_hint

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer
    from mcp.types import CallToolResult

T = TypeVar("T")
# ctx.report_progress(progress, total, message)
Progress = Callable[[float, float | None, str | None], Awaitable[None]]

log = logging.getLogger("bridge.mcp")

SERVER_NAME = "agent-bridge"
PROGRESS_EVERY_S = 1.0

# -- results ----------------------------------------------------------------------------------


def _result(text: str, data: dict[str, Any]) -> "CallToolResult":
    """A tool result: short ``text`` for the model, ``data`` as structured content for programs."""
    from mcp.types import CallToolResult, TextContent

    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


def how_to_answer(agent: str) -> str:
    return (
        f'Nothing was approved. Decide, then call approve(agent="{agent}", answer="yes", "always", "no" '
        "or an option number); approve waits and returns the reply."
    )


def permission_result(agent: str, error: PermissionPendingError) -> "CallToolResult":
    """A pending permission question as a normal (non-error) result the model can act on."""
    options = list(error.options)
    data: dict[str, Any] = {
        "agent": agent,
        "state": "permission",
        "question": error.question,
        "options": options,
        "how_to_answer": how_to_answer(agent),
    }
    listed = "\n".join(f"  {i}. {label}" for i, label in enumerate(options, 1)) or "  (none readable)"
    text = (
        f"PERMISSION NEEDED: {agent} asks: {error.question}\n"
        f"Options:\n{listed}\n{how_to_answer(agent)}"
    )
    return _result(text, data)


def reply_result(reply: ops.AgentReply) -> "CallToolResult":
    return _result(reply.reply, reply.to_json())


# -- the server -------------------------------------------------------------------------------


class Tools:
    """Runs tool jobs over one bridge (or reports the error that kept the registry from loading)."""

    def __init__(self, bridge: Bridge | None, load_error: BridgeError | None = None) -> None:
        if bridge is None and load_error is None:
            raise ValueError("need a bridge or the error that kept it from loading")
        self._bridge = bridge
        self._load_error = load_error
        self.hub = None if bridge is None else bridge.registry.model.hub  # for the message tools

    async def run(self, job: Callable[[Bridge], Awaitable["CallToolResult"]]) -> "CallToolResult":
        """``await job(bridge)``; a BridgeError becomes a tool error (``is_error``) whose text is
        exactly the CLI's one-line message, with the error's data as structured content."""
        try:
            if self._bridge is None:
                assert self._load_error is not None
                raise self._load_error
            return await job(self._bridge)
        except BridgeError as error:
            return error_result(error)


def error_result(error: BridgeError) -> "CallToolResult":
    """A tool error: the one-line message, and ``to_dict()`` (less the long screen) as data; its
    hint names tool calls, not CLI commands (:func:`tool_hint`)."""
    from mcp.types import CallToolResult, TextContent

    hint = error.hint
    if hint is not None:
        error = copy.copy(error)
        error.hint = tool_hint(hint)
    data = {key: value for key, value in error.to_dict().items() if key != "screen"}
    return CallToolResult(
        content=[TextContent(type="text", text=str(error))], structured_content=data, is_error=True
    )


async def waiting(job: Awaitable[T], progress: Progress, limit: float | None, what: str) -> T:
    """Run ``job`` as a task and report the elapsed seconds through ``progress`` while it runs."""
    task = asyncio.ensure_future(job)
    began = time.monotonic()
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=PROGRESS_EVERY_S)
            if done:
                return task.result()
            elapsed = round(time.monotonic() - began, 1)
            message = f"{what}: {elapsed:.0f}s" + (f" of {limit:g}s" if limit else "")
            try:
                await progress(elapsed, limit, message)
            except Exception:  # progress is best effort: never fail the job because of it
                log.debug("progress report failed", exc_info=True)
    finally:
        if not task.done():
            task.cancel()


def build_server(tools: Tools) -> "MCPServer[Any]":
    """The MCP server with the nine agent-bridge tools (and the swarm's three, the hub's six),
    running their jobs through ``tools``."""
    from mcp.server.mcpserver import Context, MCPServer
    from mcp.types import CallToolResult, ToolAnnotations
    from pydantic import Field

    server: MCPServer[Any] = MCPServer(
        SERVER_NAME, instructions=INSTRUCTIONS, version=__version__, log_level="WARNING"
    )
    looks = ToolAnnotations(read_only_hint=True, open_world_hint=True)
    acts = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=True)
    Agent = Annotated[str, Field(description="agent name, from list_agents")]

    @server.tool(description=DESCRIPTIONS["list_agents"], annotations=looks)
    async def list_agents() -> CallToolResult:
        async def job(bridge: Bridge) -> CallToolResult:
            rows = await ops.agents(bridge, ops.AgentsRequest())
            text = "\n".join(f"{r.agent}: {r.profile} on {r.host}" for r in rows)
            return _result(text or "no agents in the registry", {"agents": [r.to_json() for r in rows]})

        return await tools.run(job)

    @server.tool(description=DESCRIPTIONS["agent_state"], annotations=looks)
    async def agent_state(agent: Agent) -> CallToolResult:
        async def job(bridge: Bridge) -> CallToolResult:
            found = await ops.state(bridge, ops.StateRequest(agent=agent, question=True))
            text = f"{agent} is {found.state}: {STATE_HINTS.get(found.state, '')}"
            if found.question is not None:
                options = " / ".join(f"{i}. {o}" for i, o in enumerate(found.options or [], 1))
                text += f"\nquestion: {found.question}\noptions: {options}"
            return _result(text, found.to_json())

        return await tools.run(job)

    @server.tool(description=DESCRIPTIONS["ask"], annotations=acts)
    async def ask(
        agent: Agent,
        prompt: Annotated[str, Field(description="self-contained prompt: the agent sees nothing else")],
        ctx: Context[Any, Any],
        timeout: Annotated[
            float | None, Field(description="seconds to wait (default: the registry's, usually 600)")
        ] = None,
        model: Annotated[str | None, Field(description="first switch to this model, e.g. opus")] = None,
    ) -> CallToolResult:
        async def job(bridge: Bridge) -> CallToolResult:
            limit = bridge.timeout(timeout)
            request = ops.AskRequest(agent=agent, prompt=prompt, timeout=limit, model=model)
            try:
                reply = await waiting(
                    ops.ask(bridge, request), ctx.report_progress, limit, f"waiting for {agent}"
                )
            except PermissionPendingError as error:
                return permission_result(agent, error)
            return reply_result(reply)

        return await tools.run(job)

    @server.tool(description=DESCRIPTIONS["send"], annotations=acts)
    async def send(
        agent: Agent,
        text: Annotated[str, Field(description="the text to type")],
        enter: Annotated[bool, Field(description="press Enter after the text")] = True,
    ) -> CallToolResult:
        async def job(bridge: Bridge) -> CallToolResult:
            sent = await ops.send(bridge, ops.SendRequest(agent=agent, text=text, enter=enter))
            removed = sent.removed_controls
            done = f"typed {sent.sent} characters into {agent}" + (" and pressed Enter" if enter else "")
            if removed:
                done += f" (removed {removed} control characters)"
            return _result(
                done + ". Not waiting: use agent_state or screen to follow it.",
                {"agent": agent, "sent": sent.sent, "enter": enter, "removed_controls": removed},
            )

        return await tools.run(job)

    @server.tool(description=DESCRIPTIONS["keys"], annotations=acts)
    async def keys(
        agent: Agent,
        keys: Annotated[list[str], Field(description="tmux key names in order, e.g. ['Down', 'Enter']")],
    ) -> CallToolResult:
        async def job(bridge: Bridge) -> CallToolResult:
            pressed = await ops.keys(bridge, ops.KeysRequest(agent=agent, keys=keys))
            return _result(f"pressed {' '.join(pressed.keys)} in {agent}", pressed.to_json())

        return await tools.run(job)

    @server.tool(description=DESCRIPTIONS["screen"], annotations=looks)
    async def screen(
        agent: Agent,
        history: Annotated[int, Field(ge=0, description="also this many lines of scrollback")] = 0,
    ) -> CallToolResult:
        async def job(bridge: Bridge) -> CallToolResult:
            shown = await ops.screen(bridge, ops.ScreenRequest(agent=agent, history=history))
            text = shown.screen.rstrip("\n")
            return _result(text or "(the screen is empty)", {"agent": agent, "screen": text})

        return await tools.run(job)

    @server.tool(description=DESCRIPTIONS["switch_model"], annotations=acts)
    async def switch_model(
        agent: Agent,
        model: Annotated[str, Field(description="row number, label or prefix, e.g. opus (as in ask)")],
        ctx: Context[Any, Any],
        timeout: Annotated[float, Field(gt=0, description="seconds to wait")] = 60.0,
        save: Annotated[
            bool, Field(description="also the default for new sessions (else this session only)")
        ] = False,
    ) -> CallToolResult:
        async def job(bridge: Bridge) -> CallToolResult:
            request = ops.ModelRequest(agent=agent, name=model, timeout=timeout, save=save)
            chosen = await waiting(
                ops.model(bridge, request),
                ctx.report_progress, timeout, f"switching {agent} to {model}",
            )
            return _result(f"{agent}: model set to {chosen.model}", chosen.to_json())

        return await tools.run(job)

    @server.tool(description=DESCRIPTIONS["approve"], annotations=acts)
    async def approve(
        agent: Agent,
        ctx: Context[Any, Any],
        answer: Annotated[str, Field(description="yes, always, no, or an option number")] = "yes",
        wait: Annotated[bool, Field(description="then wait for the reply and return it")] = True,
        timeout: Annotated[
            float | None, Field(description="seconds to wait (default: the registry's)")
        ] = None,
    ) -> CallToolResult:
        async def job(bridge: Bridge) -> CallToolResult:
            limit = bridge.timeout(timeout)
            request = ops.ApproveRequest(agent=agent, answer=answer, wait=wait, timeout=limit)
            try:
                result = await waiting(
                    ops.approve(bridge, request), ctx.report_progress, limit, f"waiting for {agent}"
                )
            except PermissionPendingError as error:
                return permission_result(agent, error)
            if isinstance(result, ops.AgentReply):
                return reply_result(result)
            return _result(f"answered {answer}; {agent} is {result.state}", result.to_json())

        return await tools.run(job)

    @server.tool(description=DESCRIPTIONS["restart"], annotations=acts)
    async def restart(
        agent: Agent,
        ctx: Context[Any, Any],
        timeout: Annotated[float, Field(gt=0, description="seconds to wait until it is idle")] = 60.0,
    ) -> CallToolResult:
        async def job(bridge: Bridge) -> CallToolResult:
            done = await waiting(
                ops.restart(bridge, ops.RestartRequest(agent=agent, timeout=timeout)),
                ctx.report_progress, timeout, f"restarting {agent}",
            )
            return _result(f"{agent} is {done.state}", done.to_json())

        return await tools.run(job)

    try:  # the swarm's tools and the hub's message tools, where the hub extra is installed
        import sqlalchemy  # noqa: F401 - the swarm's ledger needs it

        from bridge.mcp_swarm import add_swarm_tools
    except ImportError:
        return server
    add_swarm_tools(server, tools.run, result=_result)
    try:
        from bridge.hub.mcp_tools import add_message_tools
    except ImportError:
        return server
    add_message_tools(server, tools.hub, result=_result, error=error_result)
    return server


async def serve(config: str | None) -> None:
    """Serve MCP on stdin/stdout until the client closes it; one bridge for the whole process."""
    try:
        bridge: Bridge | None = Bridge.from_config(config)
        tools = Tools(bridge)
    except ConfigError as error:
        # Serve anyway: every tool answers with the registry problem, which the model can relay.
        log.warning("agent-bridge: %s", error)
        bridge, tools = None, Tools(None, error)
    server = build_server(tools)
    try:
        await server.run_stdio_async()
    finally:
        if bridge is not None:
            await bridge.close()
