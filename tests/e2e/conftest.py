"""Fixtures for end-to-end tests against the real Claude Code CLI (offline, mock API on 127.0.0.1).

- ``claude_code_executable`` (session): installs ``@anthropic-ai/claude-code@2.1.197`` once into
  ``$AGENT_BRIDGE_TEST_CACHE`` or ``~/.cache/agent-bridge-tests/claude-code-2.1.197`` and returns
  the native binary; skips the test if npm cannot install it.
- ``mock_anthropic``: a started :class:`MockAnthropic` (stopped after the test).
- ``claude_code``: a :class:`ClaudeCode` at its idle prompt in a private tmux server; the tmux
  server (and any Claude it ran) is killed after the test. On failure the last screen is printed.
- ``claude_code_factory``: the same, but you choose when and with what options to launch.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.claude_code import (
    ClaudeCode,
    ClaudeCodeUnavailable,
    install_claude_code,
    launch_claude_code,
)
from tests.e2e.mock_anthropic import MockAnthropic


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def claude_code_executable() -> Path:
    if not shutil.which("tmux"):
        pytest.skip(reason="tmux is not installed (apt-get install tmux)")
    try:
        return install_claude_code()
    except ClaudeCodeUnavailable as exc:
        pytest.skip(reason=str(exc))


@pytest.fixture
def mock_anthropic() -> Iterator[MockAnthropic]:
    mock = MockAnthropic().start()
    try:
        yield mock
    finally:
        mock.stop()


@pytest.fixture
def claude_code_factory(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    mock_anthropic: MockAnthropic,
    claude_code_executable: Path,
) -> Iterator[Callable[..., ClaudeCode]]:
    """``factory(start=True, **launch_claude_code kwargs) -> ClaudeCode``; all closed after the test."""
    launched: list[ClaudeCode] = []

    def factory(**kwargs: Any) -> ClaudeCode:
        workdir = tmp_path / f"cc{len(launched)}"
        cc = launch_claude_code(workdir, mock_anthropic, claude_code_executable, **kwargs)
        launched.append(cc)
        return cc

    try:
        yield factory
    finally:
        failed = any(
            getattr(getattr(request.node, f"rep_{when}", None), "failed", False) for when in ("setup", "call")
        )
        for cc in launched:
            if failed:
                try:
                    print(f"--- last screen of {cc.pane} ({cc.current_command()}) ---")
                    print(cc.capture(history=60))
                    print("--- mock requests ---")
                    for r in cc.mock.requests():
                        print(r.seq, r.method, r.path, r.model, f"tools={len(r.tools)}",
                              repr(r.last_user_text))
                except Exception as exc:
                    print(f"(could not capture the last screen: {exc})")
            cc.close()


@pytest.fixture
def claude_code(claude_code_factory: Callable[..., ClaudeCode]) -> ClaudeCode:
    """Claude Code 2.1.197 at its idle prompt (pane 200x50), talking to ``mock_anthropic``."""
    return claude_code_factory()
