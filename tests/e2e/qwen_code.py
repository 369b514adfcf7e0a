"""Install and launch the real Qwen Code CLI, offline, against :mod:`tests.e2e.mock_openai_chat`.

- :func:`install_qwen_code` installs ``@qwen-code/qwen-code@0.15.10`` once (see
  :func:`~tests.e2e.npm_cli.install_npm_cli`) and returns its ``qwen`` script (a node program).
- :func:`launch_qwen_code` makes a throwaway ``HOME`` whose ``.qwen/settings.json`` selects the
  OpenAI auth type with two mock models (so ``/model`` has a choice), a project folder, and a
  :class:`~tests.e2e.npm_cli.PrivatePane` whose clean shell runs ``qwen`` and waits for its prompt.

Everything here talks only to 127.0.0.1 and stops only what it started.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.mock_openai_chat import MODELS, MockOpenAIChat
from tests.e2e.npm_cli import PrivatePane, base_env, install_npm_cli, npm_bin

__all__ = ["QWEN_CODE_VERSION", "QwenCode", "install_qwen_code", "launch_qwen_code"]

QWEN_CODE_VERSION = "0.15.10"
PACKAGE = "@qwen-code/qwen-code"
FAKE_API_KEY = "sk-agentbridge-mock-key-not-real"
# The model names /model shows (labels), by model id.
MODEL_NAMES = {MODELS[0]: "Qwen Mock Coder", MODELS[1]: "Qwen Mock Max"}
PROMPT_PLACEHOLDER = "Type your message or @path/to/file"


def install_qwen_code() -> Path:
    """The ``qwen`` executable of Qwen Code 0.15.10, installed into the test cache once."""
    return install_npm_cli(PACKAGE, QWEN_CODE_VERSION, find=npm_bin("qwen"))


def write_settings(home: Path, base_url: str) -> Path:
    """``$HOME/.qwen/settings.json``: OpenAI auth against the mock, two models, no background
    memory extraction (one model call per turn), and nothing that leaves the machine: without
    ``general.enableAutoUpdate = false`` Qwen asks registry.npmjs.org for updates (the shared
    README's ``disableAutoUpdate`` is an old name it migrates), without
    ``privacy.usageStatisticsEnabled = false`` it sends usage statistics to an Alibaba Cloud RUM
    endpoint (``telemetry.enabled = false`` does not stop that)."""
    providers = [
        {"id": model, "name": name, "baseUrl": base_url, "envKey": "OPENAI_API_KEY",
         "description": f"The mock's {'coder' if model == MODELS[0] else 'bigger'} model"}
        for model, name in MODEL_NAMES.items()
    ]  # fmt: skip
    settings = {
        "security": {"auth": {"selectedType": "openai"}},
        "general": {"enableAutoUpdate": False},
        "privacy": {"usageStatisticsEnabled": False},
        "telemetry": {"enabled": False},
        "memory": {"enableManagedAutoMemory": False},
        "model": {"name": MODELS[0]},
        "modelProviders": {"openai": providers},
    }
    path = home / ".qwen" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=2))
    return path


@dataclass
class QwenCode:
    """One Qwen Code in a private pane, talking to ``mock``."""

    pane: PrivatePane
    home: Path
    cwd: Path
    mock: MockOpenAIChat
    session_id: str | None = None  # when the bridge started it (``qwen --session-id <id>``)

    def is_idle(self, screen: str) -> bool:
        lines = [line for line in screen.splitlines() if line.strip()]
        return any(line.startswith("> ") for line in lines) and "esc to cancel)" not in "\n".join(lines[-6:])

    def start(self, command: str = "qwen", timeout: float = 60) -> None:
        """Type ``command`` into the pane's shell and wait for Qwen's empty input box."""
        self.pane.send_keys("clear", "Enter")
        self.pane.type_command(command, timeout)
        self.pane.wait_for(lambda s: PROMPT_PLACEHOLDER in s and self.is_idle(s), timeout)

    def chats(self) -> list[Path]:
        """This project's session transcripts."""
        slug = "".join(c if c.isalnum() else "-" for c in str(self.cwd))
        return sorted((self.home / ".qwen" / "projects" / slug / "chats").glob("*.jsonl"))

    def close(self) -> None:
        self.pane.close()


def launch_qwen_code(
    workdir: Path, mock: MockOpenAIChat, executable: Path, *, start: bool = True
) -> QwenCode:
    """HOME + project + private pane under ``workdir``; by default Qwen started and idle."""
    home, cwd, bin_dir = workdir / "home", workdir / "proj", workdir / "bin"
    for path in (home, cwd, bin_dir):
        path.mkdir(parents=True, exist_ok=True)
    link = bin_dir / "qwen"
    if not link.is_symlink():
        link.symlink_to(executable)
    write_settings(home, mock.base_url)
    env = {
        **base_env(home, bin_dir),
        "OPENAI_API_KEY": FAKE_API_KEY,
        "OPENAI_BASE_URL": mock.base_url,
        "OPENAI_MODEL": MODELS[0],
    }
    pane = PrivatePane.launch(env, cwd=cwd, session="qwen")
    qwen = QwenCode(pane, home, cwd, mock)
    if start:
        try:
            qwen.start()
        except BaseException:
            qwen.close()
            raise
    return qwen
