"""Pure pieces of the foundation: tmux literal quoting, prompt hygiene, and error mapping."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import asyncssh
import pytest

from bridge.config import HostSpec
from bridge.errors import (
    AgentTimeoutError,
    AuthError,
    BridgeError,
    CommandError,
    ConfigError,
    HostKeyError,
    HostUnreachableError,
    PermissionPendingError,
    TargetNotFoundError,
)
from bridge.text import check, clean, decode_prompt
from bridge.tmux import Tmux, escape_literal
from bridge.transport import Completed
from bridge.transport.ssh import _reason


@pytest.mark.parametrize(
    ("text", "argument"),
    [
        ("plain", "plain"),
        ("ends;", "ends\\;"),
        ("ends\\;", "ends\\\\;"),
        (";", "\\;"),
        ("a;b", "a;b"),  # only a final ; is special to tmux
        ("-leading", "-leading"),  # send-keys gets "--" before it
    ],
)
def test_escape_literal(text: str, argument: str) -> None:
    assert escape_literal(text) == argument


def test_clean_keeps_text_and_removes_keys() -> None:
    assert clean("tab\tnew\nline ünï 🙂") == ("tab\tnew\nline ünï 🙂", 0)
    assert clean("crlf\r\nand cr\rend") == ("crlf\nand crend", 1)
    safe, removed = clean("a\x1b[201~b\x00c\x03d\x7fe\x9bf\x04")
    assert safe == "a[201~bcdef" and removed == 6


def test_check_refuses_key_like_controls_naming_them() -> None:
    assert check("ok\r\nfine\tand ünï 🙂") == "ok\nfine\tand ünï 🙂"
    for text, name, where in [("a\x03", "Ctrl-C", 1), ("\rx", "CR (Enter)", 0), ("x\x00", "NUL", 1),
                              ("\x9b31m", "control character U+009B", 0), ("ab\x7f", "DEL", 2)]:
        with pytest.raises(ConfigError) as info:
            check(text)
        assert f"contains {name}" in str(info.value) and f"at character {where}" in str(info.value)


def test_decode_prompt_refuses_invalid_utf8() -> None:
    assert decode_prompt("ok ✓".encode()) == "ok ✓"
    with pytest.raises(ConfigError, match=r"not valid UTF-8 \(byte 3"):
        decode_prompt(b"ok \xc3(")


class FakeTransport:
    """A transport that answers every command with one canned result (unit tests only)."""

    host = "box"

    def __init__(self, status: int, stderr: str) -> None:
        self.status, self.stderr = status, stderr
        self.calls: list[tuple[str, ...]] = []

    async def run(
        self, argv: Sequence[str], stdin: bytes | str | None = None, *, timeout: float | None = None
    ) -> Completed:
        self.calls.append(tuple(argv))
        return Completed(tuple(argv), self.status, "", self.stderr)

    async def close(self) -> None:
        return None


@pytest.mark.parametrize(
    "stderr",
    [
        "can't find session: nosuch",
        "can't find pane: 7",
        "no server running on /tmp/x",
        "error connecting to /tmp/x (No such file or directory)",
    ],
)
def test_tmux_missing_target_maps_to_exit_4(stderr: str) -> None:
    tmux = Tmux(FakeTransport(1, stderr + "\n"), "/tmp/sock")
    with pytest.raises(TargetNotFoundError) as info:
        asyncio.run(tmux.capture("%1"))
    assert info.value.exit_code == 4 and info.value.target == "%1" and stderr in str(info.value)


def test_tmux_other_failure_is_command_error_with_data() -> None:
    transport = FakeTransport(127, "sh: 1: tmux: not found\n")
    with pytest.raises(CommandError) as info:
        asyncio.run(Tmux(transport).version())
    err = info.value
    assert err.exit_code == 1 and err.exit_status == 127 and err.argv == ["tmux", "-u", "-V"]
    assert "install tmux on box" in str(err)
    assert transport.calls == [("tmux", "-u", "-V")]


def test_exit_codes_and_json_shapes() -> None:
    assert ConfigError("x").exit_code == 2
    assert HostUnreachableError("x").exit_code == 3
    assert AuthError("x").exit_code == 3 and HostKeyError("x").exit_code == 3
    timeout = AgentTimeoutError("slow", state="busy", screen="S", hint="wait")
    assert timeout.exit_code == 4
    assert timeout.to_dict() == {
        "error": "AgentTimeoutError", "message": "slow (wait)", "screen": "S", "state": "busy"
    }
    perm = PermissionPendingError("asks", question="Run it?", options=["Yes", "No"])
    assert perm.exit_code == 5
    assert perm.to_dict()["state"] == "permission" and perm.to_dict()["options"] == ["Yes", "No"]
    assert str(BridgeError("two\n lines  here")) == "two lines here", "always one line"


def test_asyncssh_reasons_are_readable() -> None:
    assert _reason(TimeoutError()) == "timed out"
    assert _reason(ConnectionRefusedError(111, "Connection refused")) == "Connection refused"
    assert _reason(asyncssh.ConnectionLost("gone")) == "gone"


def test_host_spec_defaults_are_safe() -> None:
    spec = HostSpec(address="10.0.0.1")
    assert spec.host_key_policy == "strict" and spec.connect_timeout == 10
