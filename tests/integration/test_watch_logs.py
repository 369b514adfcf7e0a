"""`agent-bridge watch` and `agent-bridge logs` against the demo agent in a real tmux server.

watch runs as a user would: in a terminal (another pane of the test's tmux server), which the
test reads back with capture-pane.
"""

from __future__ import annotations

import json
import os
import shlex
import stat
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bridge.watch import crop, log_text, render
from tests.helpers.fixtures import TmuxServer, agent_toml, local_host_toml, run_cli, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def demo(tmux_server: TmuxServer) -> str:
    pane = tmux_server.new_pane("demo", f"{sys.executable} -m bridge.demo --delay 0.3")
    wait_for(lambda: "? for shortcuts" in tmux_server.capture(pane), 10)
    return pane


@pytest.fixture
def registry(demo: str, tmux_server: TmuxServer, make_registry: Callable[..., Path]) -> Path:
    return make_registry(
        local_host_toml("here", tmux_server.socket),
        agent_toml("demo", "here", "demo:0.0", profile="demo"),
    )


def pane_fact(server: TmuxServer, pane: str, fmt: str) -> str:
    return server.tmux("display-message", "-p", "-t", pane, fmt).stdout.strip()


# -- watch ------------------------------------------------------------------------------------


def test_watch_shows_the_pane_live_read_only_and_leaves_cleanly(
    tmux_server: TmuxServer, registry: Path, demo: str
) -> None:
    viewer = tmux_server.new_pane("viewer", width=120, height=30)
    tmux_server.tmux("send-keys", "-t", viewer, "-l", "echo BEFORE-WATCH")
    tmux_server.tmux("send-keys", "-t", viewer, "Enter")
    wait_for(lambda: "BEFORE-WATCH\n" in tmux_server.capture(viewer), 5)
    command = shlex.join([sys.executable, "-m", "bridge", "--config", str(registry),
                          "watch", "demo", "--interval", "0.1"])
    tmux_server.tmux("send-keys", "-t", viewer, "-l", command + '; echo "WATCH""-EXIT=$?"')
    tmux_server.tmux("send-keys", "-t", viewer, "Enter")

    # It shows the demo's screen on the alternate screen, with a status line.
    wait_for(lambda: "? for shortcuts" in tmux_server.capture(viewer), 15)
    assert pane_fact(tmux_server, viewer, "#{alternate_on}") == "1"
    shown = tmux_server.capture(viewer)
    assert "watching demo" in shown and "read-only" in shown
    assert "BEFORE-WATCH" not in shown

    # Live: what the agent shows next appears.
    tmux_server.tmux("send-keys", "-t", demo, "-l", "typed into the agent")
    wait_for(lambda: "typed into the agent" in tmux_server.capture(viewer), 10)

    # Read-only: keys typed in the viewer never reach the agent.
    tmux_server.tmux("send-keys", "-t", viewer, "-l", "zzqq")
    tmux_server.tmux("send-keys", "-t", viewer, "Enter")
    wait_for(lambda: "typed into the agent" in tmux_server.capture(viewer), 2)
    assert "zzqq" not in tmux_server.capture(demo)

    # Ctrl-C: back to the normal screen as it was, exit status 0, no traceback.
    tmux_server.tmux("send-keys", "-t", viewer, "C-c")
    wait_for(lambda: "WATCH-EXIT=" in tmux_server.capture(viewer), 10)
    after = tmux_server.capture(viewer)
    assert "WATCH-EXIT=0" in after, after
    assert pane_fact(tmux_server, viewer, "#{alternate_on}") == "0"
    assert "BEFORE-WATCH" in after and "Traceback" not in after and "watching demo" not in after
    assert "zzqq" not in tmux_server.capture(demo)


def test_watch_reports_a_missing_pane_on_the_normal_screen(
    tmux_server: TmuxServer, make_registry: Callable[..., Path]
) -> None:
    registry = make_registry(local_host_toml("here", tmux_server.socket),
                             agent_toml("ghost", "here", "nosuch:0.0", profile="demo"))
    viewer = tmux_server.new_pane("viewer", width=120, height=30)
    command = shlex.join([sys.executable, "-m", "bridge", "--config", str(registry), "watch", "ghost"])
    tmux_server.tmux("send-keys", "-t", viewer, "-l", command + '; echo "WATCH""-EXIT=$?"')
    tmux_server.tmux("send-keys", "-t", viewer, "Enter")
    wait_for(lambda: "WATCH-EXIT=" in tmux_server.capture(viewer), 15)
    after = tmux_server.capture(viewer)
    assert "WATCH-EXIT=4" in after and "agent-bridge: error: tmux target" in after, after
    assert pane_fact(tmux_server, viewer, "#{alternate_on}") == "0"


def test_watch_needs_a_terminal(registry: Path) -> None:
    done = run_cli("--config", str(registry), "watch", "demo", timeout=30)
    assert done.returncode == 2 and "needs a terminal" in done.stderr.decode()


def test_render_and_crop() -> None:
    screen = "\x1b[1mbold\x1b[0m and a long line here\nsecond 日本語 line\n\n\n"
    assert crop("\x1b[31mabcdef\x1b[0m", 3) == "\x1b[31mabc"
    assert crop("日本語", 5) == "日本", "wide characters take two columns"
    frame = render(screen, 10, 4, " status ")
    assert "\x1b[1;1H\x1b[0m\x1b[1mbold\x1b[0m and a\x1b[0m\x1b[K" in frame
    assert "\x1b[2;1H\x1b[0msecond 日\x1b[0m\x1b[K" in frame, "no half of a wide character"
    assert "\x1b[3;1H\x1b[0m\x1b[0m\x1b[K" in frame, "rows past the text are cleared"
    assert frame.endswith("\x1b[4;1H\x1b[0;7m status   \x1b[0m")
    tall = render("\n".join(f"row {i}" for i in range(40)), 20, 5, "s")
    assert "row 36" in tall and "row 39" in tall and "row 35" not in tall, "the bottom is shown"


# -- logs -------------------------------------------------------------------------------------


def test_log_text() -> None:
    raw = (
        "\x1b[?2004h\x1b[1;1H\x1b[2J\x1b]0;title\x07\x1b[31mred\x1b[0m text\r\n"
        "\x1b[3;1Hnext row\x1b[5Cgap\r\rsame\nsame\n\n\n\n\x1bPdcs\x1b\\end\x1b(B\x07"
    )
    assert log_text(raw) == "red text\n\nnext row gap\n\nsame\n\nend"


def test_logs_start_show_tail_stop(registry: Path, tmux_server: TmuxServer, demo: str,
                                   tmp_path: Path) -> None:
    env = {"XDG_STATE_HOME": str(tmp_path / "state")}

    def cli(*args: str) -> tuple[int, str, str]:
        done = run_cli("--config", str(registry), *args, env=env, timeout=60)
        return done.returncode, done.stdout.decode(), done.stderr.decode()

    code, out, err = cli("logs", "demo", "show")
    assert code == 1 and "no log for demo" in err and "logs demo start" in err

    code, out, err = cli("logs", "demo", "start")
    assert code == 0, err
    folder = tmp_path / "state" / "agent-bridge" / "logs"
    (log,) = folder.glob("demo-*.log")
    assert out.strip() == f"logging demo ({demo} on here) to {log}"
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert pane_fact(tmux_server, demo, "#{pane_pipe}") == "1"
    code, out, _ = cli("logs", "demo", "start")
    assert code == 0 and out.strip() == f"demo is already logging (to {log})"

    code, out, err = cli("ask", "demo", "What is 6 x 7?")
    assert code == 0 and out == "42\n", err
    wait_for(lambda: b"42" in log.read_bytes(), 10)
    assert b"\x1b[" in log.read_bytes(), "the raw pane output, escape codes and all"

    code, out, err = cli("logs", "demo", "show")
    assert code == 0, err
    assert "What is 6 x 7?" in out and "42" in out
    assert "\x1b" not in out and "\r" not in out

    code, out, err = cli("logs", "demo", "tail", "-n", "3")
    assert code == 0, err
    assert len(out.rstrip("\n").split("\n")) == 3 and "\x1b" not in out

    code, out, err = cli("--json", "logs", "demo", "tail", "-n", "1")
    assert code == 0, err
    assert f'"path": "{log}"' in out

    code, out, err = cli("logs", "demo", "stop")
    assert code == 0 and out.strip() == "stopped logging demo", err
    assert pane_fact(tmux_server, demo, "#{pane_pipe}") == "0"
    size = log.stat().st_size
    assert cli("ask", "demo", "after stop")[0] == 0
    assert log.stat().st_size == size, "nothing is appended after stop"
    assert cli("logs", "demo", "stop")[1].strip() == "demo was not logging"


def test_logs_paths_are_never_interpolated(tmux_server: TmuxServer, make_registry: Callable[..., Path],
                                            tmp_path: Path) -> None:
    """A state folder with quotes, spaces and $ in its name is used as it is."""
    pane = tmux_server.new_pane("demo", f"{sys.executable} -m bridge.demo --delay 0.1")
    wait_for(lambda: "? for shortcuts" in tmux_server.capture(pane), 10)
    registry = make_registry(local_host_toml("here", tmux_server.socket),
                             agent_toml("demo", "here", "demo:0.0", profile="demo"))
    odd = tmp_path / "it's a $HOME; `x` dir"
    env = {"XDG_STATE_HOME": str(odd)}
    done = run_cli("--config", str(registry), "logs", "demo", "start", env=env, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    tmux_server.tmux("send-keys", "-t", pane, "-l", "marker-text")
    (log,) = (odd / "agent-bridge" / "logs").glob("demo-*.log")
    wait_for(lambda: b"marker-text" in log.read_bytes(), 10)
    assert sorted(os.listdir(tmp_path)) == sorted([odd.name, "registry.toml"]), "nothing else made"
    done = run_cli("--config", str(registry), "logs", "demo", "stop", env=env, timeout=60)
    assert done.returncode == 0, done.stderr.decode()


def test_the_log_goes_to_the_file_of_the_time_each_line_arrived(tmp_path: Path) -> None:
    """What tmux pipes the pane into rotates by itself (here each second instead of each day):
    each line lands in its period's file as it arrives, files 0600, nothing held back."""
    import stat
    import subprocess
    import time

    from bridge.watch import pipe_command

    first = tmp_path / "logs" / "demo-first.log"
    first.parent.mkdir()
    piped = subprocess.Popen(["sh", "-c", pipe_command(str(first), "demo", fmt="%H-%M-%S")],
                             stdin=subprocess.PIPE)  # fmt: skip
    assert piped.stdin is not None
    try:
        piped.stdin.write(b"one\n")
        piped.stdin.flush()
        wait_for(lambda: [p.read_text() for p in first.parent.glob("demo-*.log")] == ["one\n"], 5)
        time.sleep(1.1)
        piped.stdin.write(b"two\n")
        piped.stdin.flush()
        wait_for(lambda: len(list(first.parent.glob("demo-*.log"))) == 2, 5)
    finally:
        piped.stdin.close()
        piped.wait(5)
    files = sorted(first.parent.glob("demo-*.log"))
    assert [p.read_text() for p in files] == ["one\n", "two\n"]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)


def test_logs_show_turns_is_the_conversation_without_redraws(registry: Path, demo: str) -> None:
    for prompt in ("What is 6 x 7?", "please answer multiline"):
        assert run_cli("--config", str(registry), "ask", "demo", prompt, timeout=60).returncode == 0
    done = run_cli("--config", str(registry), "--json", "logs", "demo", "show", "--turns", timeout=60)
    assert done.returncode == 0, done.stderr
    turns = json.loads(done.stdout)["turns"]
    assert [t["prompt"] for t in turns][-2:] == ["What is 6 x 7?", "please answer multiline"]
    assert turns[-2]["reply"] == "42" and turns[-2]["complete"]
    assert turns[-1]["reply"].splitlines()[-1] == "MOCK-END" and turns[-1]["complete"]
    plain = run_cli("--config", str(registry), "logs", "demo", "show", "--turns", timeout=60)
    assert "> What is 6 x 7?\n  42\n" in plain.stdout.decode()
