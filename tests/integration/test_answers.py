"""Never a wrong "ok", never an ambiguous failure (issue 14): what ``ask`` answers when a reply
outgrows the pane, when the agent answers before the first look, when time runs short, when a
lock keeper hangs, and what bytes it refuses. Real tmux, the real demo agent and shell, the CLI
as a user runs it (through the broker unless said otherwise)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers.fixtures import REPO, TmuxServer, agent_toml, local_host_toml, run_cli, wait_for

pytestmark = pytest.mark.integration

CLI = Callable[..., tuple[int, str, str]]


def logged(log: Path) -> list[str]:
    return [json.loads(line)["prompt"] for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture
def fast(tmux_server: TmuxServer, tmp_path: Path) -> Path:
    """A demo agent that answers at once (no busy time to see), in session ``fast``; its log."""
    log = tmp_path / "fast.jsonl"
    pane = tmux_server.new_pane("fast", f"{sys.executable} -m bridge.demo --delay 0 --log {log}")
    wait_for(lambda: "? for shortcuts" in tmux_server.capture(pane), 10)
    return log


@pytest.fixture
def cli(demo: tuple[str, Path], tmux_server: TmuxServer, make_registry: Callable[..., Path]) -> CLI:
    """The CLI on a registry with the demo agent (``demo``), a shell (``sh``) and ``fast`` (see
    :func:`fast`, started only by the tests that use it) on this machine."""
    tmux_server.new_pane("sh")
    registry = make_registry(
        local_host_toml("here", tmux_server.socket),
        agent_toml("demo", "here", "demo:0.0", profile="demo"),
        agent_toml("fast", "here", "fast:0.0", profile="demo"),
        agent_toml("sh", "here", "sh:0.0"),
    )

    def call(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
             ) -> tuple[int, str, str]:  # fmt: skip
        result = run_cli("--config", str(registry), *args, input=stdin, env=env, timeout=120)
        return result.returncode, result.stdout.decode(), result.stderr.decode()

    return call


def test_a_reply_longer_than_the_scrollback_is_an_error_never_an_empty_ok(cli: CLI) -> None:
    """tmux keeps 2,000 lines of scrollback: a reply that fits is read whole; one that does not
    fails with exit 6 (delivered) saying what was lost, never ``"reply": ""`` with exit 0."""
    code, out, err = cli("--json", "ask", "sh", "seq 1 1990")
    assert code == 0, err
    assert json.loads(out)["reply"].split("\n") == [str(n) for n in range(1, 1991)]

    code, out, err = cli("--json", "ask", "sh", "seq 1 2100")
    assert code == 6, (code, out[:300], err)
    data = json.loads(out)
    assert data["error"] == "ReplyLostError" and data["delivered"] is True
    assert "scrollback" in err and "longer than the pane keeps" in err


def test_a_reply_the_agent_itself_shows_only_in_part_is_an_error_never_an_ok(cli: CLI) -> None:
    """The demo cuts a reply over 500 rows ("… +N chars", as Claude Code folds long output): the
    screen holds only part of it and there is no transcript, so exit 6, never a part with 0."""
    prompt = "\n".join(f"item {n}" for n in range(600))
    code, out, err = cli("--json", "ask", "demo", "-", stdin=prompt.encode())
    assert code == 6, (code, out[:300], err)
    data = json.loads(out)
    assert data["error"] == "ReplyLostError" and data["delivered"] is True
    assert "shows only part of its reply" in err



@pytest.mark.parametrize("mode", ["broker", "no-control"])
def test_an_identical_long_prompt_asked_again_and_again_is_never_a_false_not_taken(
    cli: CLI, fast: Path, mode: str
) -> None:
    """The demo answers a 20 KB prompt before the bridge looks again, and every answer ends on the
    very same screen: taking is proven by the text leaving the input box where it was seen, not
    by the screen differing from the one before the paste (which said exit 4: not taken)."""
    prompt = "\n".join(f"{n:03d} " + " ".join(["lorem ipsum dolor sit amet"] * 3) for n in range(240))
    assert len(prompt) > 20_000
    extra = ("--no-broker",) if mode == "no-control" else ()
    env = {"AGENT_BRIDGE_NO_CONTROL": "1"} if mode == "no-control" else None
    for _ in range(30):
        code, out, err = cli(*extra, "--json", "ask", "fast", "-", stdin=prompt.encode(), env=env)
        assert code == 0, err
        assert json.loads(out)["reply"] == f"MOCK-REPLY: {prompt}"
    assert logged(fast) == [prompt] * 30, "each typed exactly once"


def test_a_caller_whose_lock_comes_late_types_nothing_or_says_it_delivered(
    cli: CLI, demo: tuple[str, Path]
) -> None:
    """Two callers, one agent: the second waits for the lock, which comes with under a second of
    its --timeout left. It types nothing (exit 4, delivered false: safe to retry), or it typed and
    says so (exit 6 or an answer): never exit 4 with the prompt in the agent. Within N + 1 s."""
    first: list[tuple[int, str, str]] = []
    asker = threading.Thread(target=lambda: first.append(cli("ask", "demo", "delay2 first")))
    asker.start()
    wait_for(lambda: logged(demo[1]) == ["delay2 first"], 10, 0.02)
    began = time.monotonic()
    code, out, err = cli("--json", "ask", "demo", "delay3 second", "--timeout", "2.5")
    took = time.monotonic() - began
    asker.join(30)
    assert first and first[0][0] == 0, first
    assert took < 2.5 + 1 + 0.5, f"--timeout 2.5 took {took:.2f}s (0.5: the interpreter's start)"
    data = json.loads(out)
    if code == 4:
        assert data["delivered"] is False and ("nothing was typed" in err or "in use" in err), err
        assert logged(demo[1]) == ["delay2 first"], "exit 4 promised nothing was typed"
    else:
        assert code == 6 and data["delivered"] is True, (code, err)
        assert logged(demo[1]) == ["delay2 first", "delay3 second"]


def test_a_kept_lock_gives_way_even_when_its_keeper_is_stopped(cli: CLI, demo: tuple[str, Path]) -> None:
    """A broker keeps the pane's lock after an ask (keep_lock, 60 s) and is then SIGSTOPped: another
    caller still gets the pane at once (the keeper's lock holder lets go by itself). The keeper,
    woken, takes the pane again properly."""
    runtime = Path(tempfile.mkdtemp(prefix="ab-k-"))  # short: a unix socket's path is limited
    env = {"XDG_RUNTIME_DIR": str(runtime)}  # a broker of this test's own
    code, _, err = cli("ask", "demo", "warm up", env=env)
    assert code == 0, err
    pid = int(next(runtime.glob("**/broker-*.sock.pid")).read_text())
    try:
        os.kill(pid, signal.SIGSTOP)
        try:
            began = time.monotonic()
            code, out, err = cli("--no-broker", "ask", "demo", "while it is stopped", "--timeout", "30")
            took = time.monotonic() - began
        finally:
            os.kill(pid, signal.SIGCONT)
        assert code == 0 and out == "MOCK-REPLY: while it is stopped\n", err
        assert took < 2 + 3, f"{took:.1f}s: the stopped keeper held the pane up"  # + the answer, start-up
        code, out, err = cli("ask", "demo", "after waking", env=env)
        assert code == 0 and out == "MOCK-REPLY: after waking\n", err
        assert logged(demo[1]) == ["warm up", "while it is stopped", "after waking"]
    finally:
        os.kill(pid, signal.SIGTERM)
        shutil.rmtree(runtime, ignore_errors=True)


@pytest.mark.parametrize("mode", ["broker", "no-broker"])
def test_bytes_that_are_not_text_are_refused_alike_from_argv_and_stdin(
    cli: CLI, demo: tuple[str, Path], mode: str
) -> None:
    """0xFF 0xFE and a raw 8-bit CSI (0x9B) are not UTF-8: from argv (which Python hands over
    surrogate-escaped) as from stdin, with or without the broker: exit 2, nothing typed. A prompt
    that starts with "-" (a Markdown list) is text, not a usage error."""
    extra = ("--no-broker",) if mode == "no-broker" else ()
    for raw in (b"\xff\xfe hello", b"\x9b31m red", b"ok \xe2\x82"):
        as_arg = raw.decode("utf-8", "surrogateescape")  # run as bytes in argv (os.fsencode)
        for args, stdin in (((as_arg,), None), (("-",), raw)):
            code, out, err = cli(*extra, "--json", "ask", "demo", *args, stdin=stdin)
            assert code == 2, (raw, args, code, err)
            assert "not valid UTF-8" in err and "nothing was typed" in err, err
            assert json.loads(out)["delivered"] is False
            code, _, err = cli(*extra, "send", "demo", *args, stdin=stdin)
            assert code == 2 and "not valid UTF-8" in err, err
    assert logged(demo[1]) == []
    code, out, err = cli(*extra, "ask", "demo", "- first item", "--timeout", "30")
    assert code == 0 and out == "MOCK-REPLY: - first item\n", err
    code, out, err = cli(*extra, "ask", "demo", "--", "-t is a flag")
    assert code == 0 and out == "MOCK-REPLY: -t is a flag\n", err


@pytest.fixture
def runtime() -> Iterator[Path]:
    """A private runtime folder (brokers of this test's own), short: a socket's path is limited."""
    path = Path(tempfile.mkdtemp(prefix="ab-r-"))
    yield path
    for pidfile in path.glob("**/*.pid"):
        with contextlib.suppress(ValueError, ProcessLookupError):
            os.kill(int(pidfile.read_text()), signal.SIGTERM)
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("path", ["fast", "full"])
def test_ctrl_c_on_an_ask_through_the_broker_exits_130_without_a_traceback(
    demo: tuple[str, Path], make_registry: Callable[..., Path], tmux_server: TmuxServer,
    runtime: Path, path: str,
) -> None:  # fmt: skip
    registry = make_registry(
        local_host_toml("here", tmux_server.socket), agent_toml("demo", "here", "demo:0.0", profile="demo")
    )
    extra = ["--strip-controls"] if path == "full" else []  # an option the fast path leaves to typer
    asker = subprocess.Popen(
        [sys.executable, "-m", "bridge", "--config", str(registry), "ask", "demo", "delay5 long", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO,
        env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)},
    )  # fmt: skip
    try:
        wait_for(lambda: logged(demo[1]) == ["delay5 long"], 20, 0.05)
        asker.send_signal(signal.SIGINT)
        _, err = asker.communicate(timeout=20)
    finally:
        if asker.poll() is None:
            asker.kill()
    assert asker.returncode == 130, err
    assert b"Traceback" not in err and b"interrupted" in err, err


def test_a_replaced_broker_leaves_its_successors_files(runtime: Path) -> None:
    """Broker A is stopped; B replaces it on the same socket; A goes on and ends: B's socket and
    pid file remain (A removes only what it made), and B still answers."""
    from bridge import broker

    sock = runtime / "broker-test.sock"
    pidfile = Path(f"{sock}.pid")

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "bridge", "_broker", "--socket", str(sock), "--idle", "60"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO,
        )  # fmt: skip

    first = start()
    second = None
    try:
        wait_for(lambda: pidfile.exists() and pidfile.read_text().strip() == str(first.pid), 20)
        first.send_signal(signal.SIGSTOP)
        second = start()
        wait_for(lambda: pidfile.exists() and pidfile.read_text().strip() == str(second.pid), 20)
        first.send_signal(signal.SIGCONT)
        first.terminate()
        first.wait(20)
        assert sock.exists() and pidfile.read_text().strip() == str(second.pid), "B's files are gone"
        assert broker._alive(sock), "B still answers"
        second.terminate()
        second.wait(20)
        assert not sock.exists() and not pidfile.exists(), "B removes its own"
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.kill()


def test_the_busy_hint_names_the_profiles_interrupt_key(cli: CLI, tmux_server: TmuxServer) -> None:
    tmux_server.tmux("send-keys", "-t", "sh:0.0", "sleep 30", "Enter")
    wait_for(lambda: tmux_server.current_command("sh:0.0") == "sleep", 10)
    code, _, err = cli("ask", "sh", "echo hi")
    assert code == 4 and "agent-bridge keys sh C-c" in err and "Escape" not in err, err


@pytest.mark.parametrize("mode", ["broker", "no-control"])
def test_a_shell_running_the_same_command_again_is_seen_to_take_it(cli: CLI, mode: str) -> None:
    """Paste and Enter go in one go to a shell; the same output, a full screen, ends on the very same
    screen each time: the scrollback that moved shows the command was taken."""
    extra = ("--no-broker",) if mode == "no-control" else ()
    env = {"AGENT_BRIDGE_NO_CONTROL": "1"} if mode == "no-control" else None
    for _ in range(12):
        code, out, err = cli(*extra, "ask", "sh", "seq 1 60", env=env)
        assert code == 0, err
        assert out.split() == [str(n) for n in range(1, 61)]
