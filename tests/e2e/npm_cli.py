"""Real agent CLIs from npm, for end-to-end tests: install once (cached), run in a private tmux.

- :func:`install_npm_cli` runs ``npm install --prefix <cache> PACKAGE@VERSION`` once per version
  (cache ``$AGENT_BRIDGE_TEST_CACHE_DIR`` or ``~/.cache/agent-bridge-tests``, one folder per CLI and
  version, reused between runs). A file lock and a staging folder renamed into place make parallel
  callers safe. Failures are :class:`CliUnavailable` with a one-line reason (the fixture skips).
- :class:`PrivatePane` is one pane (200x50) of a private tmux server on its own socket, running
  ``bash --norc`` with a complete, clean environment (nothing inherited from the test run). A CLI
  is typed into that shell, so after it exits or dies the pane shows the shell again.

Everything here talks only to 127.0.0.1 and stops only what it started (its own tmux socket, the
PIDs it saw start).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.helpers.tmux_under_test import tested_path

__all__ = [
    "CliUnavailable",
    "PrivatePane",
    "base_env",
    "cache_root",
    "file_lock",
    "first_error_line",
    "install_npm_cli",
    "is_elf",
    "save_capture",
    "tmux_client_env",
    "wait_until",
]

STD_PATH = tested_path()  # the standard PATH, with the tmux under test first
INSTALL_MARKER = ".agent-bridge-installed"
WIDTH, HEIGHT = 200, 50


class CliUnavailable(RuntimeError):
    """The CLI cannot be installed or run here; ``str(exc)`` is the skip reason."""


# --------------------------------------------------------------------------------------------
# install
# --------------------------------------------------------------------------------------------
def cache_root() -> Path:
    env = os.environ.get("AGENT_BRIDGE_TEST_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "agent-bridge-tests"


def first_error_line(text: str, returncode: int | None = None) -> str:
    """The line of npm's (or a CLI's) output that says what went wrong."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if line.lower().startswith(("npm error", "npm err!")):
            return line
    for line in lines:
        if not line.lower().startswith("npm warn"):
            return line
    return lines[0] if lines else f"exit code {returncode}"


@contextlib.contextmanager
def file_lock(path: Path, timeout: float) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (created), waited for at most ``timeout`` seconds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() > deadline:
                    raise CliUnavailable(f"timed out waiting for the install lock {path}") from exc
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def check_version(exe: Path, version: str, env: dict[str, str] | None = None, timeout: float = 60) -> None:
    """``exe --version`` must succeed and name ``version`` (run with a throwaway HOME)."""
    with tempfile.TemporaryDirectory(prefix="ab-npm-version-") as home:
        run_env = {"PATH": f"{exe.parent}:{STD_PATH}", "HOME": home, "LANG": "C.UTF-8", **(env or {})}
        try:
            out = subprocess.run(
                [str(exe), "--version"],
                capture_output=True,
                text=True,
                env=run_env,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CliUnavailable(f"{exe.name} --version failed: {exc}") from exc
        if out.returncode != 0 or version not in out.stdout:
            raise CliUnavailable(
                f"{exe.name} --version failed: {first_error_line(out.stderr or out.stdout, out.returncode)}"
            )


def install_npm_cli(
    package: str,
    version: str,
    *,
    find: Callable[[Path], Path | None],
    prefix: Path | None = None,
    version_env: dict[str, str] | None = None,
    timeout: float = 900,
) -> Path:
    """Install ``package@version`` into ``prefix`` (default ``<cache_root>/<name>-<version>``)
    once and return the executable ``find(prefix)`` picks (checked with ``--version``).

    Idempotent and safe from parallel processes: the first caller installs into a staging sibling
    under an exclusive lock and renames it into place; the others wait and find it installed.
    """
    spec = f"{package}@{version}"
    prefix = prefix or cache_root() / f"{package.rsplit('/', 1)[-1]}-{version}"

    def ready() -> Path | None:
        marker = prefix / INSTALL_MARKER
        return find(prefix) if marker.is_file() and marker.read_text().strip() == version else None

    if exe := ready():
        return exe
    with file_lock(prefix.with_name(prefix.name + ".lock"), timeout + 60):
        if exe := ready():
            return exe
        npm = shutil.which("npm")
        if npm is None:
            raise CliUnavailable(f"npm could not install {spec}: npm is not on PATH")
        staging = prefix.with_name(f".{prefix.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:6]}")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            try:
                out = subprocess.run(
                    [
                        npm,
                        "install",
                        "--prefix",
                        str(staging),
                        "--no-audit",
                        "--no-fund",
                        "--loglevel=error",
                        spec,
                    ],
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                    stdin=subprocess.DEVNULL,
                    cwd=staging,
                )
            except subprocess.TimeoutExpired as exc:
                raise CliUnavailable(f"npm could not install {spec}: timed out after {timeout:.0f}s") from exc
            if out.returncode != 0:
                why = first_error_line(out.stderr or out.stdout, out.returncode)
                raise CliUnavailable(f"npm could not install {spec}: {why}")
            exe = find(staging)
            if exe is None:
                raise CliUnavailable(f"npm could not install {spec}: no executable for this platform")
            check_version(exe, version, version_env)
            (staging / INSTALL_MARKER).write_text(version + "\n")
            if prefix.exists():  # a broken earlier attempt; we hold the lock
                shutil.rmtree(prefix)
            os.rename(staging, prefix)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    if (exe := ready()) is None:
        raise CliUnavailable(f"npm could not install {spec}: installed, but no executable found")
    return exe


def is_elf(path: Path) -> bool:
    """A native executable (an npm package's platform binary), not a script or a stub."""
    try:
        with path.open("rb") as fh:
            return fh.read(4) == b"\x7fELF"
    except OSError:
        return False


def npm_bin(name: str) -> Callable[[Path], Path | None]:
    """A ``find`` for :func:`install_npm_cli`: ``node_modules/.bin/<name>`` of the prefix."""

    def find(prefix: Path) -> Path | None:
        path = prefix / "node_modules" / ".bin" / name
        return path if path.exists() and os.access(path, os.X_OK) else None

    return find


# --------------------------------------------------------------------------------------------
# the pane
# --------------------------------------------------------------------------------------------
def tmux_client_env() -> dict[str, str]:
    """The environment tmux clients (and so a new tmux server) get: nothing from the test run
    (API keys, ``CLAUDECODE=1`` when the tests run under Claude Code, …) leaks into the panes."""
    return {
        "PATH": STD_PATH,
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "HOME": os.environ.get("HOME", "/root"),
    }


def base_env(home: Path, *bin_dirs: Path) -> dict[str, str]:
    """The basics of a pane shell's complete environment; a CLI's fixture adds its own keys."""
    return {
        "PATH": ":".join([*(str(d) for d in bin_dirs), STD_PATH]),
        "HOME": str(home),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "SHELL": "/bin/bash",
        "USER": os.environ.get("USER", "root"),
    }


def wait_until(
    predicate: Callable[[], Any],
    timeout: float,
    what: str,
    describe: Callable[[], str] | None = None,
    interval: float = 0.05,
) -> Any:
    """Poll ``predicate`` until truthy; raise TimeoutError (with ``describe()``) after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = f"\n--- last screen ---\n{describe()}" if describe else ""
            raise TimeoutError(f"{what}: not within {timeout}s{detail}")
        time.sleep(interval)


SHELL_PROMPT = re.compile(r"^\S*[$#]\s*$", re.M)  # bash's prompt: "bash-5.2# " / "… $ "


@dataclass
class PrivatePane:
    """One pane of a private tmux server (``tmux -S socket``), its shell's environment ``env``."""

    socket: Path
    pane: str
    cwd: Path
    env: dict[str, str]
    session: str = "agent"
    started_pids: list[int] = field(default_factory=list)

    @classmethod
    def launch(
        cls,
        env: dict[str, str],
        *,
        cwd: Path,
        session: str = "agent",
        width: int = WIDTH,
        height: int = HEIGHT,
    ) -> PrivatePane:
        """A new private server whose one pane runs ``env -i <env> bash --norc`` in ``cwd``.

        The socket lives in a short ``/tmp/ab-npm-*`` folder (``sun_path`` holds 108 bytes).
        """
        if not shutil.which("tmux"):
            raise CliUnavailable("tmux is not installed")
        sockdir = Path(tempfile.mkdtemp(prefix="ab-npm-", dir="/tmp"))
        socket = sockdir / "sock"
        shell = shlex.join(
            ["env", "-i", *(f"{k}={v}" for k, v in env.items()), "bash", "--norc", "--noprofile"]
        )
        pane = subprocess.run(
            [
                "tmux",
                "-S",
                str(socket),
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                session,
                "-x",
                str(width),
                "-y",
                str(height),
                "-c",
                str(cwd),
                "-P",
                "-F",
                "#{pane_id}",
                shell,
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
            env=tmux_client_env(),
        ).stdout.strip()
        made = cls(socket=socket, pane=pane, cwd=cwd, env=env, session=session)
        try:
            made.wait_for(SHELL_PROMPT, 10)
        except BaseException:
            made.close()
            raise
        return made

    def tmux(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-S", str(self.socket), *args],
            input=input,
            capture_output=True,
            text=True,
            check=check,
            timeout=30,
            env=tmux_client_env(),
        )

    def capture(self, *, ansi: bool = False, history: int = 0) -> str:
        args = ["capture-pane", "-p", "-t", self.pane, *(["-e"] if ansi else [])]
        return self.tmux(*args, *(["-S", str(-history)] if history else [])).stdout

    def display(self, fmt: str) -> str:
        return self.tmux("display-message", "-p", "-t", self.pane, fmt).stdout.rstrip("\n")

    def current_command(self) -> str:
        return self.display("#{pane_current_command}")

    def pane_pid(self) -> int:
        return int(self.display("#{pane_pid}"))

    def foreground_pid(self) -> int | None:
        """The pane's foreground process group when it is not the shell (the CLI), else None."""
        shell = self.pane_pid()
        try:
            fields = Path(f"/proc/{shell}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        tpgid = int(fields[5])  # field 8 of stat: the terminal's foreground process group
        return tpgid if tpgid > 0 and tpgid != shell else None

    def paste(self, text: str) -> None:
        """Bracketed paste (``load-buffer`` from stdin + ``paste-buffer -p -r -d``)."""
        name = f"ab-{uuid.uuid4().hex[:8]}"
        self.tmux("load-buffer", "-b", name, "-", input=text)
        self.tmux("paste-buffer", "-p", "-r", "-d", "-b", name, "-t", self.pane)

    def send_keys(self, *keys: str, literal: bool = False) -> None:
        self.tmux("send-keys", "-t", self.pane, *(["-l", "--"] if literal else []), *keys)

    def wait_for(
        self, pattern: str | re.Pattern[str] | Callable[[str], Any], timeout: float = 30, *, history: int = 0
    ) -> str:
        """Wait until the screen matches (regex or callable); returns the screen text."""
        if callable(pattern) and not isinstance(pattern, re.Pattern):
            check = pattern
        else:
            regex = re.compile(pattern) if isinstance(pattern, str) else pattern
            check = regex.search

        def poll() -> str | None:
            screen = self.capture(history=history)
            return screen if check(screen) else None

        return wait_until(poll, timeout, f"screen matching {pattern!r}", self.capture)  # type: ignore[no-any-return]

    def type_command(self, command: str, timeout: float = 30) -> int:
        """Type a shell command and Enter; return (and remember) the PID of the job it started."""
        self.send_keys(command, literal=True)
        self.send_keys("Enter")
        pid: int = wait_until(self.foreground_pid, timeout, f"{command!r} to start", self.capture)
        self.started_pids.append(pid)
        return pid

    def wait_shell(self, timeout: float = 15) -> None:
        wait_until(
            lambda: self.foreground_pid() is None, timeout, "the shell in the foreground", self.capture
        )

    def close(self) -> None:
        """Kill our tmux server, then every process group we saw start that outlived it."""
        subprocess.run(
            ["tmux", "-S", str(self.socket), "kill-server"],
            capture_output=True,
            timeout=10,
            env=tmux_client_env(),
        )
        for pid in self.started_pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)  # the job's group: the CLI and anything it spawned
        if self.socket.parent.name.startswith("ab-npm-"):
            shutil.rmtree(self.socket.parent, ignore_errors=True)


def save_capture(pane: Any, folder: Path, name: str, *, history: int = 0) -> None:
    """Write ``NAME.ans`` (with SGR), ``NAME.txt`` and ``NAME.meta`` as the recorded screens are,
    from a :class:`PrivatePane` or any fixture with its ``tmux()``, ``capture()`` and ``pane``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.ans").write_text(pane.capture(ansi=True, history=history))
    (folder / f"{name}.txt").write_text(pane.capture(history=history))
    meta = pane.tmux("display-message", "-p", "-t", pane.pane,
                     "#{pane_width}x#{pane_height} cursor=#{cursor_x},#{cursor_y} alt=#{alternate_on} "
                     "hist=#{history_size}").stdout  # fmt: skip
    (folder / f"{name}.meta").write_text(meta)
