"""Install and launch the real Gemini CLI 0.61.0, offline, against :mod:`tests.e2e.mock_gemini`.

- :func:`install_gemini_cli`: ``npm install @google/gemini-cli@0.61.0`` once into the test cache
  (:func:`tests.e2e.npm_cli.install_npm_cli`: lock + staging folder renamed into place).
- :func:`launch_gemini_cli`: a throwaway ``HOME`` (API-key auth, auto-update and telemetry off,
  the project trusted), a project folder, a private tmux pane (200x50, clean environment) with
  ``gemini`` typed into its shell, waited for at its idle prompt.

Gemini reads ``GOOGLE_GEMINI_BASE_URL`` for the API and ``GEMINI_CLI_NO_RELAUNCH=1`` keeps it in
one node process (no child relaunch), so the pane's foreground job is Gemini itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.mock_gemini import MockGemini
from tests.e2e.npm_cli import PrivatePane, base_env, install_npm_cli, npm_bin

__all__ = ["GEMINI_VERSION", "Gemini", "install_gemini_cli", "launch_gemini_cli", "write_gemini_home"]

GEMINI_VERSION = "0.61.0"
PACKAGE = "@google/gemini-cli"
IDLE_PROMPT = " >   Type your message"  # 01: the empty input box's placeholder row
FAKE_API_KEY = "mock-gemini-key-not-real"


def install_gemini_cli() -> Path:
    """The ``gemini`` executable of the cached install (installed on first use)."""
    return install_npm_cli(PACKAGE, GEMINI_VERSION, find=npm_bin("gemini"))


def write_gemini_home(home: Path, cwd: Path) -> None:
    """``~/.gemini/settings.json`` (API-key auth, no auto-update, no telemetry) and the project
    in ``trustedFolders.json`` (no trust dialog)."""
    config = home / ".gemini"
    config.mkdir(parents=True, exist_ok=True)
    settings = {
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "general": {"disableAutoUpdate": True, "disableUpdateNag": True},
        "telemetry": {"enabled": False},
        "privacy": {"usageStatisticsEnabled": False},
    }
    (config / "settings.json").write_text(json.dumps(settings, indent=2))
    (config / "trustedFolders.json").write_text(json.dumps({str(cwd): "TRUST_FOLDER"}))


@dataclass
class Gemini:
    """One Gemini CLI in a private pane, talking to ``mock``."""

    pane: PrivatePane
    home: Path
    cwd: Path
    mock: MockGemini

    @property
    def chats(self) -> list[Path]:
        """Gemini's chat files (``~/.gemini/tmp/<project>/chats/session-*``), oldest first."""
        found = (self.home / ".gemini" / "tmp").glob("*/chats/session-*")
        return sorted(found, key=lambda p: p.stat().st_mtime)

    def is_idle(self, screen: str) -> bool:
        """The empty input box shows and nothing says busy."""
        return IDLE_PROMPT in screen and "esc to cancel" not in screen

    def start(self, command: str = "gemini", timeout: float = 60) -> None:
        """Type ``command`` into the pane's shell and wait for Gemini's idle prompt below it."""
        self.pane.type_command(command)

        def fresh_idle(screen: str) -> bool:
            # Only below the typed command: an earlier Gemini's prompt may still be on screen.
            lines = screen.splitlines()
            ends = ("$ " + command, "# " + command)
            typed = [i for i, line in enumerate(lines) if line.rstrip().endswith(ends)]
            return self.is_idle("\n".join(lines[typed[-1] + 1 :] if typed else lines))

        self.pane.wait_for(fresh_idle, timeout)

    def close(self) -> None:
        self.pane.close()


def launch_gemini_cli(workdir: Path, mock: MockGemini, executable: Path, *, start: bool = True) -> Gemini:
    """HOME + project + private pane under ``workdir``; by default Gemini started and idle."""
    workdir = workdir.resolve()
    home, cwd, bin_dir = workdir / "home", workdir / "proj" / "gemini", workdir / "bin"
    for path in (home, cwd, bin_dir):
        path.mkdir(parents=True, exist_ok=True)
    link = bin_dir / "gemini"
    if not link.exists():
        link.symlink_to(executable)
    write_gemini_home(home, cwd)
    env = {
        **base_env(home, bin_dir),
        "GEMINI_API_KEY": FAKE_API_KEY,
        "GOOGLE_GEMINI_BASE_URL": mock.base_url,
        "GEMINI_CLI_NO_RELAUNCH": "1",
    }
    gemini = Gemini(PrivatePane.launch(env, cwd=cwd, session="gemini"), home, cwd, mock)
    try:
        if start:
            gemini.start()
    except BaseException:
        gemini.close()
        raise
    return gemini
