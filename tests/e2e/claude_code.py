"""Install and launch the real Claude Code CLI, offline, against :mod:`tests.e2e.mock_anthropic`.

- :func:`install_claude_code` runs ``npm install --prefix <cache> @anthropic-ai/claude-code@VERSION``
  once (cache reused between runs; a file lock plus an atomic rename make parallel calls safe) and
  returns the native executable. It raises :class:`ClaudeCodeUnavailable` with a one-line reason.
- :func:`launch_claude_code` makes a throwaway ``HOME`` (onboarding done, fake key approved,
  project trusted), a project folder, and a private tmux server (200x50) whose pane runs
  ``bash --norc`` with a clean environment; ``claude`` is typed into that shell, so after Claude
  exits or dies the pane shows the shell again, as in the recorded screens.

Everything here talks only to 127.0.0.1 and stops only what it started (its own tmux socket,
PIDs it launched).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.e2e.mock_anthropic import MockAnthropic
from tests.e2e.npm_cli import CliUnavailable, install_npm_cli, is_elf, tmux_client_env, wait_until
from tests.helpers.tmux_under_test import tested_path

CLAUDE_CODE_VERSION = "2.1.197"
# Any ``sk-ant-…`` string works against the mock; Claude remembers approval by its last 20 chars.
FAKE_API_KEY = "sk-ant-api03-agentbridge-mock-key-not-real-0000000000000-AAAAAA"
WIDTH, HEIGHT = 200, 50

# Screen markers (Claude Code 2.1.197; see shared/screens/README.md).
PROMPT = "❯\u00a0"  # the live input prompt: ❯ + NO-BREAK SPACE
BUSY = "esc to interrupt"
STD_PATH = tested_path()  # the standard PATH, with the tmux under test first


class ClaudeCodeUnavailable(CliUnavailable):
    """Claude Code cannot be installed or run here; ``str(exc)`` is the skip reason."""


# --------------------------------------------------------------------------------------------
# install
# --------------------------------------------------------------------------------------------
def default_cache_dir() -> Path:
    env = os.environ.get("AGENT_BRIDGE_TEST_CACHE")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "agent-bridge-tests" / f"claude-code-{CLAUDE_CODE_VERSION}"


def find_executable(prefix: Path) -> Path | None:
    """The native ``claude`` binary inside an npm prefix, or None.

    ``node_modules/.bin/claude`` -> ``@anthropic-ai/claude-code/bin/claude.exe``, which the
    package's postinstall replaces (hard link) with the native binary from the optional
    ``@anthropic-ai/claude-code-<platform>`` package. If postinstall did not run, the placeholder is
    a small stub, so fall back to the platform package's binary.
    """
    modules = prefix / "node_modules"
    link = modules / ".bin" / "claude"
    candidates: list[Path] = []
    if link.exists():
        candidates.append(link.resolve())
    candidates.append(modules / "@anthropic-ai" / "claude-code" / "bin" / "claude.exe")
    candidates += sorted((modules / "@anthropic-ai").glob("claude-code-linux-*/claude"))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK) and is_elf(candidate):
            return candidate
    return None


def install_claude_code(prefix: Path | None = None, *, timeout: float = 900) -> Path:
    """Install Claude Code into ``prefix`` (once, see :func:`install_npm_cli`) and return its
    native executable; :class:`ClaudeCodeUnavailable` with the reason if that cannot be done."""
    env = {"DISABLE_AUTOUPDATER": "1", "DISABLE_TELEMETRY": "1",
           "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}  # fmt: skip
    try:
        return install_npm_cli(
            "@anthropic-ai/claude-code", CLAUDE_CODE_VERSION, find=find_executable,
            prefix=prefix or default_cache_dir(), version_env=env, timeout=timeout,
        )  # fmt: skip
    except CliUnavailable as exc:
        raise ClaudeCodeUnavailable(str(exc)) from None


# --------------------------------------------------------------------------------------------
# HOME, env
# --------------------------------------------------------------------------------------------
def project_key(cwd: str | os.PathLike[str]) -> str:
    """The folder name Claude uses under ``~/.claude/projects`` for ``cwd``.

    Claude replaces every character that is not ``[A-Za-z0-9]`` by ``-`` (so ``/`` and ``_`` and
    ``.`` all become ``-``).
    """
    return re.sub(r"[^A-Za-z0-9]", "-", str(cwd))


def write_claude_config(home: Path, cwd: Path, api_key: str = FAKE_API_KEY, **extra: Any) -> Path:
    """``$HOME/.claude.json`` that skips onboarding, the API-key question and the trust dialog."""
    config: dict[str, Any] = {
        "hasCompletedOnboarding": True,
        "customApiKeyResponses": {"approved": [api_key[-20:]], "rejected": []},
        "lastReleaseNotesSeen": CLAUDE_CODE_VERSION,
        "projects": {
            str(cwd): {
                "hasTrustDialogAccepted": True,
                "allowedTools": [],
                # Without these two the header is the big "Welcome back!" box with "Tips for getting
                # started"; with them it is the compact 3-line logo of the recorded screens.
                "hasCompletedProjectOnboarding": True,
                "projectOnboardingSeenCount": 4,
            }
        },
        **extra,
    }
    path = home / ".claude.json"
    path.write_text(json.dumps(config, indent=2))
    return path


def claude_env(home: Path, base_url: str, bin_dir: Path, api_key: str = FAKE_API_KEY) -> dict[str, str]:
    """The complete environment of the pane's shell (nothing is inherited from the test run)."""
    return {
        "PATH": f"{bin_dir}:{STD_PATH}",
        "HOME": str(home),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "SHELL": "/bin/bash",
        "USER": os.environ.get("USER", "root"),
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": api_key,
        "DISABLE_TELEMETRY": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_ERROR_REPORTING": "1",
        # Not in the README's list, but needed to stay off the network (seen with strace):
        # the official plugin marketplace is otherwise git-cloned from GitHub (and
        # `ssh git@github.com` probed) at start-up, and downloads.claude.ai is looked up.
        "CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL": "1",
        "DISABLE_UPDATES": "1",
        "DISABLE_INSTALLATION_CHECKS": "1",
    }


# --------------------------------------------------------------------------------------------
# the running instance
# --------------------------------------------------------------------------------------------
@dataclass
class ClaudeCode:
    """One Claude Code in a pane of a private tmux server, talking to ``mock``."""

    socket: Path  # tmux -S <socket>
    pane: str  # "%0"
    home: Path  # the throwaway $HOME
    cwd: Path  # the project folder Claude runs in
    mock: MockAnthropic
    env: dict[str, str]  # the pane shell's whole environment
    executable: Path  # the native binary (``claude`` on the pane's PATH links to it)
    command: str = "claude"
    restart_command: str = "claude --continue"
    started_pids: list[int] = field(default_factory=list)

    # -- tmux ---------------------------------------------------------------------------------
    def tmux(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", "-S", str(self.socket), *args], input=input, capture_output=True,
                              text=True, check=check, timeout=30, env=tmux_client_env())

    def capture(self, *, ansi: bool = False, history: int = 0) -> str:
        args = ["capture-pane", "-p", "-t", self.pane]
        if ansi:
            args.append("-e")
        if history:
            args += ["-S", str(-history)]
        return self.tmux(*args).stdout

    def current_command(self) -> str:
        return self.tmux("display-message", "-p", "-t", self.pane, "#{pane_current_command}").stdout.strip()

    def pane_pid(self) -> int:
        return int(self.tmux("display-message", "-p", "-t", self.pane, "#{pane_pid}").stdout.strip())

    def paste(self, text: str) -> None:
        """Bracketed paste (``load-buffer`` from stdin + ``paste-buffer -p -r -d``)."""
        name = f"ab-{uuid.uuid4().hex[:8]}"
        self.tmux("load-buffer", "-b", name, "-", input=text)
        self.tmux("paste-buffer", "-p", "-r", "-d", "-b", name, "-t", self.pane)

    def send_keys(self, *keys: str, literal: bool = False) -> None:
        self.tmux("send-keys", "-t", self.pane, *(["-l", "--"] if literal else []), *keys)

    # -- processes ----------------------------------------------------------------------------
    def claude_pid(self) -> int | None:
        """PID of the pane's foreground job when it is not the shell (i.e. Claude), else None."""
        shell = self.pane_pid()
        try:
            stat = Path(f"/proc/{shell}/stat").read_text()
        except OSError:
            return None
        fields = stat.rsplit(")", 1)[1].split()
        tpgid = int(fields[5])  # field 8 of stat: foreground process group of the terminal
        return tpgid if tpgid > 0 and tpgid != shell else None

    # -- waiting ------------------------------------------------------------------------------
    def wait_for(self, pattern: str | re.Pattern[str] | Callable[[str], Any], timeout: float = 30,
                 *, history: int = 0) -> str:
        """Wait until the screen matches (regex or callable); returns the screen text."""
        if callable(pattern) and not isinstance(pattern, re.Pattern):
            check = pattern
        else:
            regex = re.compile(pattern) if isinstance(pattern, str) else pattern

            def check(screen: str) -> Any:
                return regex.search(screen)

        def poll() -> str | None:
            screen = self.capture(history=history)
            return screen if check(screen) else None

        return wait_until(poll, timeout, f"screen matching {pattern!r}", self.capture)

    def is_idle(self, screen: str | None = None) -> bool:
        screen = self.capture() if screen is None else screen
        lines = [line for line in screen.splitlines() if line.strip()]  # inline UI: blank rows below
        prompt = any(line.startswith(PROMPT) for line in lines)
        footer = "\n".join(lines[-3:])
        return prompt and BUSY not in footer and "Do you want to proceed?" not in screen

    def wait_idle(self, timeout: float = 30) -> str:
        return self.wait_for(self.is_idle, timeout)

    def wait_shell(self, timeout: float = 15) -> None:
        wait_until(lambda: self.current_command() == "bash", timeout, "the shell in the foreground",
                   self.capture)

    def start(self, command: str | None = None, timeout: float = 45) -> str:
        """Type ``command`` (default ``claude``) into the pane's shell and wait for the idle prompt."""
        command = command or self.command
        self.send_keys(command, literal=True)
        self.send_keys("Enter")
        pid = wait_until(self.claude_pid, timeout, "claude to start", self.capture)
        self.started_pids.append(pid)

        def fresh_idle(screen: str) -> bool:
            # Only look below the typed command: an earlier Claude's prompt may still be on screen.
            lines = screen.splitlines()
            for i in range(len(lines) - 1, -1, -1):
                if lines[i].rstrip().endswith(f" {command}"):
                    screen = "\n".join(lines[i + 1 :])
                    break
            return self.is_idle(screen)

        return self.wait_for(fresh_idle, timeout)

    def live_input(self, screen: str | None = None) -> str | None:
        """Text in the live input box (the line ``❯`` + NO-BREAK SPACE), or None if no box is shown."""
        screen = self.capture() if screen is None else screen
        found = None
        for line in screen.splitlines():
            if line.startswith(PROMPT):
                found = line[len(PROMPT) :].rstrip()
        return found

    def ask(self, text: str, *, settle: float = 0.2, timeout: float = 10) -> None:
        """Paste ``text``, see it land in the input box, wait ``settle``, Enter, see it taken.

        Taken = the input box is empty again (or gone); one more Enter if it was not.
        """
        first = text.splitlines()[0].strip()[:40] if text.strip() else ""
        self.paste(text)

        def landed(screen: str) -> bool:
            box = self.live_input(screen) or ""
            return first in box or "[Pasted text" in box

        self.wait_for(landed, timeout)
        time.sleep(settle)
        self.send_keys("Enter")
        for attempt in range(2):
            try:
                self.wait_for(lambda s: not self.live_input(s), 3 if attempt == 0 else timeout)
                return
            except TimeoutError:
                if attempt:
                    raise
                self.send_keys("Enter")

    # -- transcript ---------------------------------------------------------------------------
    @property
    def projects_dir(self) -> Path:
        """``$HOME/.claude/projects/<cwd with non-alphanumerics replaced by ->``."""
        return self.home / ".claude" / "projects" / project_key(self.cwd)

    def transcripts(self) -> list[Path]:
        """Session transcripts (``<session-id>.jsonl``), oldest first."""
        if not self.projects_dir.is_dir():
            return []
        return sorted(self.projects_dir.glob("*.jsonl"), key=lambda p: p.stat().st_mtime)

    def transcript_entries(self, path: Path | None = None) -> list[dict[str, Any]]:
        path = path or (self.transcripts() or [None])[-1]
        if path is None:
            return []
        entries = []
        for line in path.read_text().splitlines():
            with contextlib.suppress(ValueError):
                entries.append(json.loads(line))
        return entries

    def assistant_texts(self, path: Path | None = None) -> list[str]:
        """Text of every assistant message in the transcript, in time order.

        An assistant entry is ``{"type": "assistant", "message": {"id", "model", "role",
        "content": [{"type": "text", "text": …}, …]}, "uuid", "parentUuid", "timestamp", …}``;
        one entry per content block, blocks of one API message share ``message.id``.
        """
        entries = [e for e in self.transcript_entries(path) if e.get("type") == "assistant"]
        entries.sort(key=lambda e: e.get("timestamp", ""))
        by_id: dict[str, list[str]] = {}
        for entry in entries:
            message = entry.get("message") or {}
            texts = [b.get("text", "") for b in message.get("content") or [] if b.get("type") == "text"]
            if texts:
                by_id.setdefault(message.get("id") or entry.get("uuid", ""), []).extend(texts)
        return ["".join(parts) for parts in by_id.values()]

    def session_file(self, pid: int | None = None) -> Path | None:
        """``$HOME/.claude/sessions/<pid>.json`` (sessionId, cwd, status idle/busy) of a Claude."""
        pid = pid or self.claude_pid() or (self.started_pids[-1] if self.started_pids else None)
        if pid is None:
            return None
        path = self.home / ".claude" / "sessions" / f"{pid}.json"
        return path if path.exists() else None

    # -- teardown -----------------------------------------------------------------------------
    def close(self) -> None:
        """Kill our tmux server, then any Claude we started that outlived it (by PID)."""
        subprocess.run(["tmux", "-S", str(self.socket), "kill-server"], capture_output=True, timeout=10,
                       env=tmux_client_env())
        for pid in self.started_pids:
            _kill_if_ours(pid, self.executable)
        if self.socket.parent.name.startswith("ab-cc-"):
            shutil.rmtree(self.socket.parent, ignore_errors=True)


def _kill_if_ours(pid: int, exe: Path, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            target = os.readlink(f"/proc/{pid}/exe")
        except OSError:
            return  # gone
        if Path(target.removesuffix(" (deleted)")).resolve() != exe.resolve():
            return  # PID reused by someone else
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


def launch_claude_code(
    workdir: Path,
    mock: MockAnthropic,
    executable: Path,
    *,
    start: bool = True,
    project: str = "proj",
    width: int = WIDTH,
    height: int = HEIGHT,
    config_extra: dict[str, Any] | None = None,
    timeout: float = 45,
) -> ClaudeCode:
    """Set up HOME + project + tmux under ``workdir`` and (by default) start Claude and wait for idle.

    The tmux socket lives in a short ``/tmp/ab-cc-*`` folder (``sun_path`` is limited to 108 bytes).
    Call :meth:`ClaudeCode.close` when done.
    """
    if not shutil.which("tmux"):
        raise ClaudeCodeUnavailable("tmux is not installed")
    workdir = Path(workdir).resolve()
    home = workdir / "home"
    cwd = workdir / project
    bin_dir = workdir / "bin"
    for path in (home, cwd, bin_dir):
        path.mkdir(parents=True, exist_ok=True)
    link = bin_dir / "claude"  # so argv[0] (and #{pane_current_command}) is "claude"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(executable)
    write_claude_config(home, cwd, **(config_extra or {}))
    env = claude_env(home, mock.base_url, bin_dir)

    sockdir = Path(f"/tmp/ab-cc-{uuid.uuid4().hex[:8]}")
    sockdir.mkdir(mode=0o700)
    socket = sockdir / "sock"
    shell = shlex.join(["env", "-i", *(f"{k}={v}" for k, v in env.items()), "bash", "--norc", "--noprofile"])
    subprocess.run(
        ["tmux", "-S", str(socket), "-f", "/dev/null", "new-session", "-d", "-s", "claude",
         "-x", str(width), "-y", str(height), "-c", str(cwd), "-P", "-F", "#{pane_id}", shell],
        capture_output=True, text=True, check=True, timeout=30, env=tmux_client_env(),
    )
    pane = subprocess.run(["tmux", "-S", str(socket), "list-panes", "-t", "claude", "-F", "#{pane_id}"],
                          capture_output=True, text=True, check=True, timeout=30,
                          env=tmux_client_env()).stdout.split()[0]
    cc = ClaudeCode(socket=socket, pane=pane, home=home, cwd=cwd, mock=mock, env=env, executable=executable)
    try:
        cc.wait_for(re.compile(r"^\S*[$#]\s*$", re.M), 10)  # bash's prompt: "bash-5.2# " / "… $ "
        if start:
            cc.start(timeout=timeout)
    except BaseException:
        cc.close()
        raise
    return cc
