"""The error tree: exit codes, one-line messages, and the data errors carry (``--json``)."""

from __future__ import annotations

from bridge.errors import (
    AgentTimeoutError,
    AuthError,
    BridgeError,
    ConfigError,
    HostKeyError,
    HostUnreachableError,
    PermissionPendingError,
)


def test_exit_codes_and_json_shapes() -> None:
    assert ConfigError("x").exit_code == 2
    assert HostUnreachableError("x").exit_code == 3
    assert AuthError("x").exit_code == 3 and HostKeyError("x").exit_code == 3
    timeout = AgentTimeoutError("slow", state="busy", screen="S", hint="wait")
    assert timeout.exit_code == 4
    assert timeout.to_dict() == {
        "error": "AgentTimeoutError", "message": "slow (wait)", "delivered": False, "screen": "S",
        "state": "busy",
    }
    perm = PermissionPendingError("asks", question="Run it?", options=["Yes", "No"])
    assert perm.exit_code == 5
    assert perm.to_dict()["state"] == "permission" and perm.to_dict()["options"] == ["Yes", "No"]
    assert str(BridgeError("two\n lines  here")) == "two lines here", "always one line"


def test_a_host_key_error_carries_both_fingerprints() -> None:
    changed = HostKeyError("host key has CHANGED", changed=True, presented="SHA256:new", known=["SHA256:old"])
    assert changed.changed and changed.presented == "SHA256:new" and changed.known == ["SHA256:old"]
    data = changed.to_dict()
    assert data["changed"] is True and data["presented"] == "SHA256:new" and data["known"] == ["SHA256:old"]
    unknown = HostKeyError("not in known_hosts", presented="SHA256:new")
    assert not unknown.changed and unknown.known == []
    assert unknown.to_dict()["error"] == "HostKeyError" and unknown.to_dict()["changed"] is False


def test_after_delivery_never_exit_4_and_always_says_delivered() -> None:
    from bridge.errors import AnswerError, AnswerTimeoutError, ReplyLostError, after_delivery

    timeout = after_delivery(AgentTimeoutError("slow", state="busy", screen="S", hint="wait"))
    assert isinstance(timeout, AnswerTimeoutError) and isinstance(timeout, AgentTimeoutError)
    assert timeout.exit_code == 6 and timeout.to_dict()["delivered"] is True
    assert timeout.state == "busy" and timeout.screen == "S" and "was delivered" in str(timeout)
    assert ReplyLostError("x").exit_code == 6 and isinstance(ReplyLostError("x"), AnswerError)
    unreachable = HostUnreachableError("gone")
    assert after_delivery(unreachable) is unreachable and unreachable.exit_code == 3
    assert unreachable.to_dict()["delivered"] is True
    assert ConfigError("x").to_dict()["delivered"] is False
