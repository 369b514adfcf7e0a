"""The hub client's local parts: token files (private or refused), and errors off the wire."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from bridge.errors import NotFoundError, ThreadClosedError, TokenError
from bridge.hub.client import _error, find_token, read_token_file, write_token_file


def test_token_files_are_written_private_and_refused_when_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tokens" / "bob"
    write_token_file(path, "abt_secret")
    assert (path.stat().st_mode & 0o777) == 0o600 and (path.parent.stat().st_mode & 0o777) == 0o700
    assert read_token_file(path) == "abt_secret"
    os.chmod(path, 0o644)
    with pytest.raises(TokenError, match="not private"):
        read_token_file(path)
    with pytest.raises(TokenError, match="cannot read"):
        read_token_file(tmp_path / "missing")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("AGENT_BRIDGE_TOKEN", raising=False)
    write_token_file(tmp_path / "config" / "agent-bridge" / "tokens" / "carol", "abt_carol")
    assert find_token("carol") == "abt_carol" and find_token("dave") is None
    monkeypatch.setenv("AGENT_BRIDGE_TOKEN", "abt_env")
    assert find_token("carol") == "abt_env"  # the environment first


def test_errors_come_back_as_the_same_class() -> None:
    def answer(status: int, body: dict[str, object]) -> httpx.Response:
        return httpx.Response(status, json=body)

    closed = _error(answer(400, {"error": "ThreadClosedError", "message": "thread 3 is closed", "hint": "h",
                                 "exit_code": 2}))  # fmt: skip
    assert (
        isinstance(closed, ThreadClosedError)
        and closed.exit_code == 2
        and str(closed) == "thread 3 is closed (h)"
    )
    assert isinstance(
        _error(answer(404, {"error": "NotFoundError", "message": "no message 9"})), NotFoundError
    )
    refused = _error(answer(401, {"error": "Nope", "message": "bad token", "exit_code": 3}))
    assert isinstance(refused, TokenError) and refused.exit_code == 3
    assert _error(httpx.Response(502, text="bad gateway")).exit_code == 1
