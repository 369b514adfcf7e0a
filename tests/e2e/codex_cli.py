"""Install and launch the real Codex CLI 0.169.0, offline, against :mod:`tests.e2e.mock_openai_responses`.

- :func:`install_codex` installs ``@openai/codex@0.169.0`` once (:func:`install_npm_cli`: cached in
  ``~/.cache/agent-bridge-tests/codex-0.169.0``, lock + staging rename) and returns the native
  binary inside the platform package (so the pane's command is ``codex``, not ``node``).
- :func:`launch_codex` makes a throwaway ``HOME`` and ``CODEX_HOME`` (the mock as the model
  provider, ``approval_policy = "on-request"``, the project trusted) and a private tmux pane
  (:class:`PrivatePane`) whose shell gets ``codex --no-daemon`` typed in.
- :meth:`Codex.strays` lists every process still running with this instance's ``CODEX_HOME``
  (Codex, or an app-server daemon it left behind): after :meth:`Codex.close` there must be none.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.mock_openai_responses import MockResponses
from tests.e2e.npm_cli import CliUnavailable, PrivatePane, base_env, install_npm_cli, is_elf

__all__ = ["CODEX_VERSION", "CliUnavailable", "Codex", "install_codex", "launch_codex"]

CODEX_VERSION = "0.169.0"
PACKAGE = "@openai/codex"
FAKE_API_KEY = "sk-mock-codex-key-not-real"
MODEL = "gpt-5-codex"  # the mock offers it Codex's exec tool (other models get no tool list)
IDLE = "Ask Codex to do anything"  # the empty composer's placeholder
# The status row under the composer ("  gpt-5-codex default · /path"): drawn ~0.4 s after the
# composer at start-up; the profile reads the composer only with it (screen 01c).
STATUS_ROW = re.compile(r"^  \S.* · [~/]", re.M)
START = "codex --no-daemon"


def find_executable(prefix: Path) -> Path | None:
    """The native ``codex`` of the platform package (``@openai/codex-linux-*``), or None."""
    found = sorted((prefix / "node_modules" / "@openai").glob("codex-*/vendor/*/bin/codex"))
    return next((p for p in found if os.access(p, os.X_OK) and is_elf(p)), None)


def install_codex() -> Path:
    """Codex 0.169.0's native binary, installed once (raises :class:`CliUnavailable`)."""
    return install_npm_cli(PACKAGE, CODEX_VERSION, find=find_executable)


def write_config(codex_home: Path, cwd: Path, base_url: str, model: str = MODEL) -> Path:
    """``$CODEX_HOME/config.toml``: the mock as provider, asking before commands, project trusted,
    nothing checked online, first-run notices already seen."""
    codex_home.mkdir(parents=True, exist_ok=True)
    path = codex_home / "config.toml"
    path.write_text(
        "\n".join([
            f'model = "{model}"',
            'model_provider = "mock"',
            'approval_policy = "on-request"',
            "check_for_update_on_startup = false",
            "",
            "[model_providers.mock]",
            'name = "mock"',
            f'base_url = "{base_url}"',
            'env_key = "OPENAI_API_KEY"',
            'wire_api = "responses"',
            "",
            f'[projects."{cwd}"]',
            'trust_level = "trusted"',
            "",
            "[analytics]",
            "enabled = false",
            "",
            "[features]",  # off: each looked up github.com, api.github.com or chatgpt.com at start
            "plugins = false",
            "remote_plugin = false",
            "plugin_sharing = false",
            "apps = false",
            "api_key_model_discovery = false",
            "in_app_updates = false",
            "tool_suggest = false",
            "",
            "[tui]",
            "screen_reader_detection_done = true",
            "",
            "[tui.model_availability_nux]",
            '"gpt-6.1-sol" = 1',
            "",
        ])
    )  # fmt: skip
    return path


@dataclass
class Codex:
    """One Codex in a private tmux pane, talking to ``mock``."""

    pane: PrivatePane
    home: Path
    codex_home: Path
    mock: MockResponses

    @property
    def cwd(self) -> Path:
        return self.pane.cwd

    def screen(self) -> str:
        return self.pane.capture()

    def is_idle(self, screen: str | None = None) -> bool:
        screen = self.screen() if screen is None else screen
        return IDLE in screen and bool(STATUS_ROW.search(screen)) and "esc to interrupt" not in screen

    def start(self, command: str = START, timeout: float = 45) -> None:
        """Type ``command`` into the pane's shell and wait for the idle composer."""
        self.pane.type_command(command)
        self.pane.wait_for(self.is_idle, timeout)

    def ask(self, text: str, timeout: float = 30) -> None:
        """Type ``text``, Enter after a pause (at once it would be a newline), wait for the mock's
        answer to it and the idle composer again."""
        self.pane.send_keys(text, literal=True)
        time.sleep(0.2)
        self.pane.send_keys("Enter")
        self.pane.wait_for(lambda screen: f"MOCK-REPLY: {text}" in screen and self.is_idle(screen), timeout)

    def quit(self) -> None:
        """Ctrl-C on the empty composer: Codex exits at once; wait for the shell. A Ctrl-C that
        lands while Codex still finishes a turn's redraw is not taken (seen under load): once more."""
        for attempt in range(3):
            self.pane.send_keys("C-c")
            try:
                self.pane.wait_shell(timeout=5)
                return
            except TimeoutError:
                if attempt == 2:
                    raise

    def codex_pid(self) -> int | None:
        return self.pane.foreground_pid()

    def rollouts(self) -> list[Path]:
        """This instance's rollout files, oldest first."""
        return sorted(
            (self.codex_home / "sessions").glob("*/*/*/rollout-*.jsonl"), key=lambda p: p.stat().st_mtime
        )

    def strays(self) -> list[int]:
        """PIDs of processes running with this instance's ``CODEX_HOME`` (only ours have it)."""
        marker = f"CODEX_HOME={self.codex_home}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            with contextlib.suppress(OSError):
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
        return found

    def close(self) -> list[int]:
        """Stop the pane (its tmux server) and return the PIDs of any of our processes that
        outlived it (each then killed, by PID)."""
        self.pane.close()
        deadline = time.monotonic() + 5
        while (left := self.strays()) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        return left


def launch_codex(workdir: Path, mock: MockResponses, executable: Path, *, start: bool = True) -> Codex:
    """A HOME, CODEX_HOME and project under ``workdir`` and a private pane in the project;
    Codex started there and idle (unless ``start=False``). Call :meth:`Codex.close` after."""
    workdir = workdir.resolve()
    home, cwd, bin_dir = workdir / "home", workdir / "proj", workdir / "bin"
    codex_home = home / ".codex"
    for path in (home, cwd, bin_dir):
        path.mkdir(parents=True, exist_ok=True)
    (bin_dir / "codex").symlink_to(executable)  # so the pane's command is "codex"
    write_config(codex_home, cwd, mock.base_url)
    env = base_env(home, bin_dir) | {"CODEX_HOME": str(codex_home), "OPENAI_API_KEY": FAKE_API_KEY}
    pane = PrivatePane.launch(env, cwd=cwd, session="codex")
    codex = Codex(pane=pane, home=home, codex_home=codex_home, mock=mock)
    try:
        if start:
            codex.start()
    except BaseException:
        codex.close()
        raise
    return codex
