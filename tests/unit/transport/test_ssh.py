"""The SSH transport's pure parts: readable reasons, and THE mapping of asyncssh's errors."""

from __future__ import annotations

from pathlib import Path

import asyncssh

from bridge.config.models import HostSpec
from bridge.errors import AuthError, HostError, HostKeyError, HostUnreachableError
from bridge.transport.ssh import SSHTransport, _ChannelsFull, _reason


def test_asyncssh_reasons_are_readable() -> None:
    assert _reason(TimeoutError()) == "timed out"
    assert _reason(ConnectionRefusedError(111, "Connection refused")) == "Connection refused"
    assert _reason(asyncssh.ConnectionLost("gone")) == "gone"


def transport(tmp_path: Path) -> SSHTransport:
    return SSHTransport("vps", HostSpec(address="10.0.0.1", known_hosts=str(tmp_path / "known_hosts")))


async def test_errors_while_connecting(tmp_path: Path) -> None:
    ssh = transport(tmp_path)
    auth = await ssh._mapped(asyncssh.PermissionDenied("no"), connecting=True)
    assert isinstance(auth, AuthError) and "refused our key" in str(auth)
    down = await ssh._mapped(ConnectionRefusedError(111, "Connection refused"), connecting=True)
    assert type(down) is HostUnreachableError and "cannot reach host vps at 10.0.0.1" in str(down)
    # reading the presented key never verifies it: whatever fails there is "cannot reach"
    keyless = await ssh._mapped(asyncssh.PermissionDenied("no"), connecting=True, reading_key=True)
    assert type(keyless) is HostUnreachableError


async def test_errors_once_connected(tmp_path: Path) -> None:
    ssh = transport(tmp_path)
    live = object()
    ssh._conn = live  # type: ignore[assignment]
    full = await ssh._mapped(_ChannelsFull("open failed"))
    assert type(full) is HostError and "refused a new SSH channel: open failed" in str(full)
    assert ssh._conn is live  # a live connection that is full is kept
    lost = await ssh._mapped(asyncssh.ConnectionLost("gone"))
    assert type(lost) is HostUnreachableError and "lost the connection to vps" in str(lost)
    assert ssh._conn is None  # forgotten: the next call reconnects


async def test_a_changed_host_key_carries_both_fingerprints(tmp_path: Path) -> None:
    old = asyncssh.generate_private_key("ssh-ed25519")
    new = asyncssh.generate_private_key("ssh-ed25519")
    ssh = transport(tmp_path)

    async def presented() -> asyncssh.SSHKey:
        return new

    ssh._server_key = presented  # type: ignore[method-assign]
    unknown = await ssh._mapped(asyncssh.HostKeyNotVerifiable("no"), connecting=True)
    assert isinstance(unknown, HostKeyError) and not unknown.changed and unknown.known == []
    assert unknown.presented == new.get_fingerprint() and "is not in" in str(unknown)
    (tmp_path / "known_hosts").write_text(f"10.0.0.1 {old.export_public_key().decode()}")
    changed = await ssh._mapped(asyncssh.HostKeyNotVerifiable("no"), connecting=True)
    assert isinstance(changed, HostKeyError) and changed.changed and "CHANGED" in str(changed)
    assert changed.presented == new.get_fingerprint() and changed.known == [old.get_fingerprint()]
