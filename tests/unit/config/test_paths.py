"""Where things live, and the one rule for what is private."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bridge.config.paths import not_private, runtime_dir
from bridge.errors import BridgeError


@pytest.mark.parametrize(("mode", "private"), [(0o600, True), (0o700, True), (0o400, True),
                                               (0o640, False), (0o604, False), (0o660, False),
                                               (0o701, False), (0o000, True)])  # fmt: skip
def test_private_means_no_bit_for_group_or_others(tmp_path: Path, mode: int, private: bool) -> None:
    path = tmp_path / "secret"
    path.write_text("x")
    path.chmod(mode)
    assert not_private(path.stat()) is not private
    assert not_private(path.stat(), owner=True) is not private  # it is ours


def test_owner_counts_only_when_asked() -> None:
    info = os.stat_result((0o100600, 0, 0, 1, os.getuid() + 1, 0, 0, 0, 0, 0))
    assert not not_private(info) and not_private(info, owner=True)


def test_runtime_dir_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    path = runtime_dir()
    assert path == tmp_path / "agent-bridge" and not not_private(path.stat(), owner=True)
    path.chmod(0o750)
    with pytest.raises(BridgeError, match="not private to you"):
        runtime_dir()
