"""One attempt of one task on one worker: dispatch it (or, on a rerun, find it where a killed swarm
left it), wait for the reply, check the done file, and say how it ended.

Everything goes through :func:`bridge.ops.call`, as for any caller (so each ask, approval and
restart is in the hub's event log). An attempt never types a prompt twice: a failure after
delivery ends the attempt (counted); one before delivery (exit 4: nothing typed) does not count.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bridge import ops
from bridge.errors import (
    AgentError,
    AgentTimeoutError,
    BridgeError,
    HostError,
    PermissionPendingError,
)
from bridge.reading import input_text, last_prompt

if TYPE_CHECKING:
    from collections.abc import Callable

    from bridge.api import Bridge

__all__ = ["Outcome", "Worker", "dispatch", "recover"]

POLL_S = 0.5
DONE_FILE_GRACE_S = 3.0  # a done file written just as the reply ends may take a moment to show


@dataclass(frozen=True)
class Outcome:
    """How an attempt ended. ``counted``: the prompt reached the worker (the attempt counts);
    ``usable``: the worker can take another task."""

    ok: bool
    reason: str = ""
    counted: bool = True
    usable: bool = True
    reply: str | None = None  # the worker's reply, when one came


@dataclass
class Worker:
    """What an attempt needs to know: the bridge, the worker, the options that matter."""

    bridge: Bridge
    name: str
    timeout: float
    deny: bool  # answer permission questions No (else wait for a person to answer)
    show: Callable[[str, str], None]  # (worker, what it is doing now): for the progress display

    def _restart_auto(self) -> bool:
        return self.bridge.registry.agent(self.name).spec.restart == "auto"

    async def call(self, operation: str, **args: Any) -> Any:
        return await ops.call(self.bridge, operation, {"agent": self.name, **args})


async def dispatch(worker: Worker, prompt: str, done_file: str | None) -> Outcome:
    """Ask ``prompt`` on the worker and wait for its reply (and done file)."""
    try:
        answer = await worker.call("ask", prompt=prompt, timeout=worker.timeout)
    except PermissionPendingError as asked:
        return await _permission(worker, asked.question, done_file)
    except BridgeError as error:
        return await _failed(worker, error)
    return await _finished(worker, done_file, answer["reply"])


async def recover(worker: Worker, prompt: str, lease_until: float | None, done_file: str | None) -> Outcome:
    """A task a killed swarm left leased to this worker: wait for the worker to be idle, then take
    its reply if the prompt is the last one on its screen. Nothing is typed, ever."""
    deadline = max(lease_until or 0.0, time.time() + POLL_S)
    while True:
        try:
            seen = await worker.call("state", question=True)
        except BridgeError as error:
            return await _failed(worker, error)
        state = seen["state"]
        if state == "permission":
            return await _permission(worker, seen.get("question") or "?", done_file)
        if state == "dead":
            return await _died(worker, "the worker died while the swarm was away")
        if state == "idle":
            break
        if time.time() > deadline:
            return await _timed_out(worker, "its lease ran out while the swarm was away")
        await asyncio.sleep(POLL_S)
    driver = await worker.bridge.driver(worker.name)
    seen_obs = await driver.observe()
    typed = input_text(seen_obs.snapshot, driver.profile)
    if typed and _same(typed, prompt):  # killed between the paste and Enter: take it back out
        await driver.handle.keys(["C-c"])
        return Outcome(False, "the prompt had been typed but not sent; it was cleared", counted=False)
    last = last_prompt(seen_obs.snapshot, driver.profile)
    if last is None or not _same(last, prompt):
        return Outcome(False, "the prompt had not reached the worker", counted=False)
    return await _read_reply(worker, done_file)


async def _read_reply(worker: Worker, done_file: str | None) -> Outcome:
    """The idle worker's last reply (the ``reply`` operation: transcript first, else screen)."""
    try:
        answer = await worker.call("reply")
    except BridgeError as error:
        return Outcome(False, f"its reply could not be read: {error}")
    return await _finished(worker, done_file, answer["reply"])


def _same(seen: str, prompt: str) -> bool:
    """Whether the prompt on screen is ``prompt`` (whitespace aside: the screen wraps it)."""
    return "".join(seen.split()) == "".join(prompt.split())


async def _finished(worker: Worker, done_file: str | None, reply: str) -> Outcome:
    """The reply arrived; with a done file, it must exist on the worker's host."""
    if done_file is None:
        return Outcome(True, reply=reply)
    deadline = time.monotonic() + DONE_FILE_GRACE_S
    while not await done_file_exists(worker, done_file):
        if time.monotonic() > deadline:
            return Outcome(False, f"replied, but no done file {done_file}", reply=reply)
        await asyncio.sleep(0.25)
    return Outcome(True, reply=reply)


async def done_file_exists(worker: Worker, path: str) -> bool:
    """Whether ``path`` (relative: to the worker's ``cwd``) exists on the worker's host, seen over
    the worker's own transport."""
    agent = worker.bridge.registry.agent(worker.name)
    transport = worker.bridge.pool.get(agent.host_name, agent.host)
    script = 'cd -- "$1" 2>/dev/null; test -e "$2"'
    ran = await transport.run(["sh", "-c", script, "sh", agent.spec.cwd or ".", path])
    return ran.exit_status == 0


async def _permission(worker: Worker, question: str, done_file: str | None) -> Outcome:
    """The worker asks for permission: answered No (``deny``), or shown and waited for."""
    if worker.deny:
        worker.show(worker.name, f"permission question answered No: {question}")
        try:
            await worker.call("approve", answer="no", wait=True, timeout=worker.timeout)
        except BridgeError as error:
            return Outcome(False, f"permission denied ({question}); then: {error}", usable=False)
        return Outcome(False, f"permission denied: {question}")
    worker.show(worker.name, f"WAITING for a person to answer: {question}")
    deadline = time.monotonic() + worker.timeout
    while time.monotonic() < deadline:
        await asyncio.sleep(POLL_S)
        try:
            state = (await worker.call("state"))["state"]
        except BridgeError as error:
            return await _failed(worker, error)
        if state == "idle":
            return await _read_reply(worker, done_file)
        if state == "dead":
            return await _died(worker, "the worker died at a permission question")
    return Outcome(False, f"permission question not answered in {worker.timeout:g} s: {question}",
                   usable=False)  # fmt: skip


async def _failed(worker: Worker, error: BridgeError) -> Outcome:
    """What a failed call means for the task and the worker."""
    state = getattr(error, "state", None)
    if state == "restarted":  # the bridge found it dead and restarted it (restart = "auto")
        return Outcome(False, "the worker died (restarted)", counted=error.delivered)
    if state == "dead":
        return await _died(worker, "the worker died")
    if isinstance(error, AgentTimeoutError) and error.delivered:
        return await _timed_out(worker, f"timeout after {worker.timeout:g} s")
    if isinstance(error, HostError):
        return Outcome(False, f"worker unreachable: {error}", counted=error.delivered, usable=False)
    if isinstance(error, AgentError) and not error.delivered:  # busy, in a menu, ...: nothing typed
        return Outcome(False, str(error), counted=False, usable=state not in ("menu", "dialog", "unknown"))
    return Outcome(False, str(error), counted=error.delivered)


async def _died(worker: Worker, reason: str) -> Outcome:
    """The worker is dead: restarted where its registry says ``restart = "auto"``."""
    if not worker._restart_auto():
        return Outcome(False, reason, usable=False)
    worker.show(worker.name, "restarting")
    try:
        await worker.call("restart", timeout=60.0)
    except BridgeError as error:
        return Outcome(False, f"{reason}; the restart failed: {error}", usable=False)
    return Outcome(False, f"{reason} (restarted)")


async def _timed_out(worker: Worker, reason: str) -> Outcome:
    """The worker is still on the task: interrupt it (the profile's key) so it can take another.
    An agent that puts the interrupted prompt back in its input box (Claude Code, the demo) has
    it cleared with Ctrl-C, so the next prompt is not typed after it."""
    with contextlib.suppress(BridgeError):
        driver = await worker.bridge.driver(worker.name)
        await driver.handle.keys([driver.profile.interrupt_key])
        obs = await driver.wait_for(lambda o: o.state.value in ("idle", "dead"), 10.0, what="idle")
        if obs.state.value == "idle" and input_text(obs.snapshot, driver.profile):
            await driver.handle.keys(["C-c"])
            obs = await driver.wait_for(
                lambda o: o.state.value != "idle" or not input_text(o.snapshot, driver.profile),
                5.0, what="an empty input box",
            )  # fmt: skip
        if obs.state.value == "idle":
            return Outcome(False, reason)
    return Outcome(False, f"{reason}; it did not stop when interrupted", usable=False)
