"""The error tree of agent-bridge.

Every failure the library raises is a :class:`BridgeError`; the CLI maps each branch to one exit
code and prints ``str(error)`` as a single line (what failed, and what to do)::

    BridgeError                     exit 1  anything else
    ├── ConfigError                 exit 2  usage, registry or profile problems
    │   ├── UnknownAgentError               no such agent in the registry
    │   ├── UnknownHostError                no such host in the registry
    │   ├── ProfileError                    a profile file is missing or invalid
    │   ├── SkillError (bridge.skills)      a SKILL.md without the front matter agents need
    │   ├── NotFoundError                   no such message or thread for you (hub)
    │   └── ThreadClosedError               the thread is closed (hub)
    ├── HostError                   exit 3  the host cannot be used
    │   ├── HostUnreachableError            connect refused / timed out / link lost
    │   ├── HubUnreachableError             (a HostUnreachableError) the hub did not answer
    │   ├── AuthError                       the host refused our key
    │   │   └── TokenError                  the hub refused our token
    │   │       └── NotAdminError           ... an agent's token where an admin's is needed
    │   └── HostKeyError                    unknown or changed host key (both fingerprints)
    ├── AgentError                  exit 4  the pane or the agent in it is not usable
    │   ├── TargetNotFoundError             the tmux session/window/pane does not exist
    │   ├── AgentNotReadyError              the agent is not idle (busy, dead, in a menu, ...)
    │   ├── AgentTimeoutError               the agent did not finish in time
    │   ├── UnrecognisedScreenError         the screen matches nothing we know: we do not press blind
    │   └── AnswerError             exit 6  the prompt WAS delivered, but no whole reply came back
    │       ├── AnswerTimeoutError          (an AgentTimeoutError) timed out after delivery
    │       └── ReplyLostError              the reply is longer than the pane could keep
    ├── PermissionPendingError      exit 5  the agent asks for permission; the caller decides
    └── CommandError                exit 1  a command on the host failed unexpectedly

Errors carry data (host, target, last screen) so that callers (CLI ``--json``, MCP) can show it,
and ``delivered``: whether the prompt had been typed when it failed. Exit 4 always means nothing
was typed (retrying is safe); a failure after delivery is exit 6 (or 3 or 5) with ``delivered``
true: the agent has the prompt, so sending it again would ask twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class BridgeError(Exception):
    """Root of every error agent-bridge raises.

    ``hint`` is the "what to do" half of the one-line message; ``screen`` is the last pane text
    seen, when there is one.
    """

    exit_code: int = 1
    delivered: bool = False  # the prompt was (or may have been) typed before this failure

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        host: str | None = None,
        target: str | None = None,
        screen: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.host = host
        self.target = target
        self.screen = screen

    def __str__(self) -> str:
        text = " ".join(self.message.split())
        return f"{text} ({self.hint})" if self.hint else text

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description, as printed by ``--json``."""
        data: dict[str, Any] = {"error": type(self).__name__, "message": str(self)}
        data["delivered"] = self.delivered
        for key in ("host", "target", "screen"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data


class ConfigError(BridgeError):
    """The registry, a profile or the command line is wrong."""

    exit_code = 2


class UnknownAgentError(ConfigError):
    """No agent of that name in the registry."""


class UnknownHostError(ConfigError):
    """No host of that name in the registry."""


class ProfileError(ConfigError):
    """A profile is missing or invalid."""


class HostError(BridgeError):
    """The host cannot be reached or used."""

    exit_code = 3


class HostUnreachableError(HostError):
    """Connecting failed or the connection was lost."""


class AuthError(HostError):
    """The host refused authentication."""


class HostKeyError(HostError):
    """The host key is unknown (under ``strict``) or has changed.

    ``changed``: known_hosts holds other keys for the host (else it holds none); ``presented``:
    the fingerprint of the key the host showed (``None`` if it could not be read); ``known``: the
    fingerprints known_hosts holds for it.
    """

    def __init__(
        self,
        message: str,
        *,
        changed: bool = False,
        presented: str | None = None,
        known: Sequence[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.changed = changed
        self.presented = presented
        self.known = list(known)

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data.update(changed=self.changed, presented=self.presented, known=self.known)
        return data


class AgentError(BridgeError):
    """The tmux pane or the agent in it is not usable right now."""

    exit_code = 4

    def __init__(self, message: str, *, state: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.state = state

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        if self.state is not None:
            data["state"] = self.state
        return data


class TargetNotFoundError(AgentError):
    """The tmux session, window or pane does not exist."""


class AgentNotReadyError(AgentError):
    """The agent is not in a state that allows the operation (e.g. not idle)."""


class AgentTimeoutError(AgentError):
    """The agent did not reach the wanted state in time."""


class PaneChangedError(AgentError):
    """A guarded paste found the pane changed since it was last seen, and typed nothing.

    The driver catches it and looks again; it reaches a caller only through the low-level API.
    """


class UnrecognisedScreenError(AgentError):
    """The screen matches nothing the profile knows; nothing was pressed."""


class AnswerError(AgentError):
    """The prompt was delivered (typed and, as far as could be seen, taken), but no whole reply
    came back: the call timed out, the agent died, or the reply could not be read whole.

    Not exit 4: the agent has the prompt, so asking again would ask twice.
    """

    exit_code = 6
    delivered = True


class AnswerTimeoutError(AnswerError, AgentTimeoutError):
    """The timeout ran out after the prompt was delivered."""


class ReplyLostError(AnswerError):
    """The reply is longer than the pane's scrollback: its start was lost before it was read."""


def after_delivery(error: BridgeError) -> BridgeError:
    """``error`` as it reads once the prompt was (or may have been) typed: marked ``delivered``,
    and an agent error (exit 4, which promises that nothing was typed) made an
    :class:`AnswerError` (exit 6) with the same message and data."""
    if isinstance(error, AnswerError) or not isinstance(error, AgentError):
        error.delivered = True
        return error
    kind = AnswerTimeoutError if isinstance(error, AgentTimeoutError) else AnswerError
    answer = kind(
        f"{error.message} (the prompt was delivered: do not send it again blindly)",
        hint=error.hint, state=error.state, host=error.host, target=error.target, screen=error.screen,
    )  # fmt: skip
    answer.__cause__ = error
    return answer


class PermissionPendingError(BridgeError):
    """The agent is asking for permission to run something."""

    exit_code = 5

    def __init__(
        self, message: str, *, question: str, options: list[str], **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.question = question
        self.options = options

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data.update(state="permission", question=self.question, options=self.options)
        return data


class CommandError(BridgeError):
    """A command on the host exited non-zero where success was expected."""

    def __init__(
        self, message: str, *, argv: list[str], exit_status: int, stderr: str, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.argv = argv
        self.exit_status = exit_status
        self.stderr = stderr


# -- the hub ----------------------------------------------------------------------------------


class NotFoundError(ConfigError):
    """No such message or thread for the caller (it does not exist, or it is not theirs)."""


class ThreadClosedError(ConfigError):
    """The thread is closed: it takes no more messages and wakes nobody."""


class TokenError(AuthError):
    """The hub refused the caller's token (missing, unknown or revoked)."""


class NotAdminError(TokenError):
    """The token is an agent's, and this needs an admin's (HTTP 403, not 401)."""


class HubUnreachableError(HostUnreachableError):
    """The hub's HTTP API did not answer."""
