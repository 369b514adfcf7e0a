"""The doctor's findings: one :class:`Check` per step, rendered as lines or JSON, and the exit code.

Each check is ``ok``, ``warn``, ``fail`` or ``skip`` with a one-line detail; every failure (and
most warnings) carries a ``fix``. A failure carries the exit code of its class (the error tree's:
3 host, 4 pane or agent, 2 configuration); :func:`exit_code` is that of the first failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bridge.errors import AgentError, BridgeError, ConfigError, HostError

HOST_EXIT = HostError.exit_code  # 3
AGENT_EXIT = AgentError.exit_code  # 4
CONFIG_EXIT = ConfigError.exit_code  # 2


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


SYMBOLS = {Status.OK: "✓", Status.WARN: "!", Status.FAIL: "✗", Status.SKIP: "-"}


@dataclass(frozen=True)
class Check:
    """The outcome of one check of one host or agent."""

    check: str
    target: str
    status: Status
    detail: str
    fix: str | None = None
    exit_code: int = 0  # for a failure: the exit code of its class

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "target": self.target,
            "status": self.status.value,
            "detail": self.detail,
            "fix": self.fix,
        }


def ok(check: str, target: str, detail: str) -> Check:
    return Check(check, target, Status.OK, detail)


def warn(check: str, target: str, detail: str, fix: str | None = None) -> Check:
    return Check(check, target, Status.WARN, detail, fix)


def fail(check: str, target: str, detail: str, fix: str, code: int) -> Check:
    return Check(check, target, Status.FAIL, detail, fix, code)


def skip(check: str, target: str, detail: str) -> Check:
    return Check(check, target, Status.SKIP, detail)


def from_error(check: str, target: str, error: BridgeError, fix: str | None = None) -> Check:
    """A failure carrying a :class:`BridgeError`'s own one-line message and its hint as the fix."""
    hint = error.hint
    if hint and "agent-bridge doctor" in hint:  # do not send the user back here
        hint = None
    detail = " ".join(error.message.split())
    return fail(check, target, detail, fix or hint or "see the detail above", error.exit_code)

def one_line(text: str) -> str:
    """The last non-empty line of ``text`` (what a tool's error output is about), whitespace-joined."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " ".join(lines[-1].split()) if lines else ""

def exit_code(checks: Sequence[Check]) -> int:
    """0 if nothing failed, else the exit code of the first failure's class."""
    for check in checks:
        if check.status is Status.FAIL:
            return check.exit_code or 1
    return 0


def render(checks: Sequence[Check]) -> str:
    """Plain output: ``✓ name (target): detail`` per check, then ``  fix: ...`` where there is one."""
    lines = []
    for check in checks:
        lines.append(f"{SYMBOLS[check.status]} {check.check} ({check.target}): {check.detail}")
        if check.fix and check.status in (Status.FAIL, Status.WARN):
            lines.append(f"  fix: {check.fix}")
    return "\n".join(lines) if lines else "(nothing to check: the registry has no hosts or agents)"
