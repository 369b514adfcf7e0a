"""The demo agent (``python -m bridge.demo``) in a real tmux pane, driven the way the bridge drives agents.

Each test gets its own tmux server (``tmux_server`` fixture: private socket, killed after). Text goes
in by ``load-buffer`` (stdin) + ``paste-buffer -p -r`` (bracketed paste) and keys by ``send-keys``;
``--log`` proves what the agent received, byte for byte. Waits poll the screen up to a deadline.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from bridge.demo.keys import Key, KeyDecoder, Paste, Text
from bridge.demo.render import plain, reply_block, text_width
from bridge.demo.replies import arithmetic, reply_for, tool_command
from tests.helpers.fixtures import TmuxServer, wait_for

integration = pytest.mark.integration

NBSP = "\u00a0"
IDLE = "? for shortcuts"
BUSY = "esc to interrupt"
NASTY = [
    "-leading dash -n -e --help",
    "single 'quotes' and \"double\" quotes and a lone ' quote",
    "dollar $HOME ${PATH} $(whoami) $$ $1",
    "backticks `id` and ``double``",
    "ends with a semicolon;",
    "ends with an escaped semicolon \\;",
    "\ttab\tseparated\tvalues\t",
    "unicode: héllo wörld — 日本語 — 🙂 — עברית — ñ",
    "tmux formats #{pane_id} #S #[fg=red] ##",
    "glob * ? [a-z] ~ tilde & ampersand | pipe > redirect < in",
    "backslashes \\n \\t \\\\ end\\",
    "   indented by three spaces, trailing spaces   ",
]


def nasty_text(lines: int) -> str:
    """``lines`` lines full of shell and tmux specials; the first one starts with ``-``."""
    return "\n".join(NASTY[0] if i == 0 else f"{i:03d} {NASTY[i % len(NASTY)]}" for i in range(lines))


@dataclass
class Demo:
    """One running demo agent in a tmux pane."""

    server: TmuxServer
    pane: str
    log: Path

    def screen(self) -> str:
        return self.server.capture(self.pane)

    def wait(self, *texts: str, timeout: float = 10.0, absent: tuple[str, ...] = ()) -> str:
        def ready() -> str | None:
            screen = self.screen()
            ok = all(t in screen for t in texts) and not any(t in screen for t in absent)
            return screen if ok else None

        try:
            result: str = wait_for(ready, timeout)
        except AssertionError:
            shown = self.screen()
            raise AssertionError(f"screen never showed {texts} (without {absent}):\n{shown}") from None
        return result

    def keys(self, *keys: str) -> None:
        self.server.tmux("send-keys", "-t", self.pane, *keys)

    def type(self, text: str) -> None:
        self.server.tmux("send-keys", "-t", self.pane, "-l", "--", text)

    def paste(self, text: str) -> None:
        name = f"ab-{uuid.uuid4().hex[:8]}"
        self.server.tmux("load-buffer", "-b", name, "-", input=text.encode())
        self.server.tmux("paste-buffer", "-p", "-r", "-d", "-b", name, "-t", self.pane)

    def ask(self, text: str) -> None:
        self.type(text)
        self.wait(text)
        self.keys("Enter")

    def logged(self, count: int, timeout: float = 10.0) -> list[dict[str, str]]:
        def lines() -> list[str] | None:
            if not self.log.exists():
                return None
            written = self.log.read_text(encoding="utf-8")
            found = written[: written.rfind("\n") + 1].splitlines()  # a line being written is not one
            return found if len(found) >= count else None

        return [json.loads(line) for line in wait_for(lines, timeout)]


@pytest.fixture
def demo(tmux_server: TmuxServer, tmp_path: Path) -> Demo:
    log = tmp_path / "prompts.jsonl"
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    pane = tmux_server.new_pane("demo", cwd=workdir, env={"PYTHONPATH": str(Path(__file__).parents[2])})
    tmux_server.tmux("send-keys", "-t", pane, "-l", "--", f"{sys.executable} -m bridge.demo --log {log}")
    tmux_server.tmux("send-keys", "-t", pane, "Enter")
    running = Demo(tmux_server, pane, log)
    running.wait(IDLE, f"❯{NBSP}")
    return running


# -- in tmux ------------------------------------------------------------------------------------------


@integration
def test_idle_screen(demo: Demo) -> None:
    screen = demo.wait("agent-bridge demo agent", "Default", IDLE)
    lines = screen.splitlines()
    prompt = next(i for i, line in enumerate(lines) if line.startswith(f"❯{NBSP}"))
    assert set(lines[prompt - 1]) == {"─"} and set(lines[prompt + 1]) == {"─"}
    assert lines[prompt + 2].strip() == IDLE
    assert demo.server.tmux("display-message", "-p", "-t", demo.pane, "#{alternate_on}").stdout.strip() == "0"


@integration
def test_typed_text_and_short_reply(demo: Demo) -> None:
    demo.type("What is 6 x 7?")
    demo.wait(f"❯{NBSP}What is 6 x 7?")
    demo.keys("Enter")
    screen = demo.wait("● 42", "✻ Worked for", IDLE)
    assert "❯ What is 6 x 7?" in screen  # the past turn: ❯ + a normal space
    assert demo.logged(1) == [{"prompt": "What is 6 x 7?", "model": "Default"}]


@integration
def test_paste_200_nasty_lines_is_logged_byte_exact(demo: Demo) -> None:
    text = nasty_text(200)
    demo.paste(text)
    demo.wait("[Pasted text #1 +199 lines]")
    demo.keys("Enter")
    assert demo.logged(1)[0]["prompt"] == text
    demo.wait("199 " + NASTY[199 % len(NASTY)].strip(), "✻ Worked for", IDLE)


@integration
def test_short_paste_is_shown_inline_and_does_not_submit(demo: Demo) -> None:
    demo.paste("short paste line A\nshort paste line B;")
    screen = demo.wait(f"❯{NBSP}short paste line A", "  short paste line B;")
    assert BUSY not in screen and demo.log.read_text() == ""
    demo.keys("Enter")
    assert demo.logged(1)[0]["prompt"] == "short paste line A\nshort paste line B;"


@integration
def test_multiline_reply(demo: Demo) -> None:
    demo.ask("please give a multiline answer")
    screen = demo.wait("  MOCK-END", "✻ Worked for", IDLE)
    lines = screen.splitlines()
    assert "  line 30" in lines and "  line 29" in lines


@integration
def test_busy_then_escape_puts_the_text_back(demo: Demo) -> None:
    demo.ask("a long task delay30")
    screen = demo.wait("Thinking…", BUSY)
    assert "❯ a long task delay30" in screen
    demo.keys("Escape")
    screen = demo.wait(f"❯{NBSP}a long task delay30", IDLE)
    assert "❯ a long task delay30" not in screen and "Worked for" not in screen


@integration
def test_model_menu_moves_and_selects(demo: Demo) -> None:
    demo.ask("/model")
    screen = demo.wait("Select model", "❯ 1. Default (recommended) ✔", "Esc to cancel")
    assert IDLE not in screen  # the input box is replaced by the menu
    demo.keys("Down")
    demo.wait("❯ 2. Opus")
    demo.type("4")
    demo.wait("❯ 4. Haiku")
    demo.keys("Up")
    demo.wait("❯ 3. Sonnet")
    demo.keys("Enter")
    demo.wait("⎿  Set model to Sonnet", IDLE)
    demo.ask("hello")
    demo.wait("MOCK-REPLY: hello", IDLE)
    assert demo.logged(1) == [{"prompt": "hello", "model": "Sonnet"}]
    # With a conversation, Enter first asks to confirm.
    demo.ask("/model")
    demo.wait("❯ 3. Sonnet ✔")
    demo.keys("Down")
    demo.wait("❯ 4. Haiku")
    demo.keys("Enter")
    demo.wait("Switch model?", "❯ 1. Yes, switch to Haiku", "2. No, go back")
    demo.keys("Enter")
    demo.wait("⎿  Set model to Haiku", IDLE)
    demo.ask("/model opus")
    demo.wait("⎿  Set model to Opus", IDLE)


@integration
def test_permission_yes_runs_nothing_for_real(demo: Demo, tmp_path: Path) -> None:
    demo.ask("please run touch x")
    screen = demo.wait("Bash command", "touch x", "Do you want to proceed?", "❯ 1. Yes", "3. No")
    assert IDLE not in screen and f"❯{NBSP}" not in screen  # input box hidden
    demo.keys("Enter")
    demo.wait(f"⎿ {NBSP}ran: touch x", "● Done: touch x", "✻ Worked for", IDLE)
    assert not (tmp_path / "cwd" / "x").exists()


@integration
def test_permission_no_and_escape(demo: Demo) -> None:
    demo.ask("usetool please")
    demo.wait("Do you want to proceed?")
    demo.type("3")
    demo.wait("❯ 3. No")
    demo.keys("Enter")
    interrupted = "⎿ \u00a0Interrupted · What should the demo agent do instead?"
    demo.wait(interrupted, IDLE, absent=("Do you want to proceed?",))
    demo.ask("usetool once more")
    demo.wait("Do you want to proceed?")
    demo.keys("Escape")
    screen = demo.wait(IDLE, absent=("Do you want to proceed?",))
    assert screen.count(interrupted) == 2


@integration
def test_ctrl_c_twice_exits_to_the_shell(demo: Demo) -> None:
    demo.type("some text")
    demo.wait("some text")
    demo.keys("C-c")
    demo.wait("Press Ctrl-C again to exit", absent=("some text",))
    demo.keys("C-c")
    demo.wait("Resume this session with:", "python -m bridge.demo")
    wait_for(lambda: demo.screen().rstrip().endswith("$"), 5)  # the shell prompt is back
    wait_for(lambda: demo.server.current_command(demo.pane) == "bash", 5)
    demo.type("echo still-$((6*7))")  # the terminal works again: echo, cooked mode
    demo.keys("Enter")
    demo.wait("still-42")


@integration
def test_exit_command(demo: Demo) -> None:
    demo.ask("/exit")
    demo.wait("Resume this session with:")
    wait_for(lambda: demo.server.current_command(demo.pane) == "bash", 5)


@integration
def test_one_megabyte_paste_arrives_whole_and_fast(demo: Demo) -> None:
    line = "0123456789 $HOME `x` 'q' \"dq\" ü 日本 🙂;\t-end"
    text = "\n".join(f"{i:06d} {line}" for i in range(20000))
    assert len(text.encode()) >= 1 << 20
    started = time.monotonic()
    demo.paste(text)
    demo.wait("[Pasted text #1 +", timeout=3)
    demo.keys("Enter")
    got = demo.logged(1, timeout=3)[0]["prompt"]
    elapsed = time.monotonic() - started
    assert got == text
    assert elapsed < 3, f"1 MB paste took {elapsed:.2f}s"
    demo.wait("✻ Worked for", IDLE)


# -- pure parts (no tmux) -----------------------------------------------------------------------------


def test_decoder_paste_split_across_reads() -> None:
    decoder = KeyDecoder()
    data = "ab\x1b[200~line 1\r\nline 2\rline 3 ü\x1b[201~\r".encode()
    events = [event for i in range(len(data)) for event in decoder.feed(data[i : i + 1])]
    assert events == [Text("a"), Text("b"), Paste("line 1\nline 2\nline 3 ü"), Key("enter")]
    whole = KeyDecoder().feed(data)
    assert whole == [Text("ab"), Paste("line 1\nline 2\nline 3 ü"), Key("enter")]


def test_decoder_lone_escape_needs_a_flush() -> None:
    decoder = KeyDecoder()
    assert decoder.feed(b"\x1b") == [] and decoder.pending()
    assert decoder.flush() == [Key("escape")]
    assert decoder.feed(b"\x1b[A\x1b[B\x03\x7f") == [Key("up"), Key("down"), Key("ctrl-c"), Key("backspace")]


def test_replies() -> None:
    assert arithmetic("What is 6 x 7?") == "42" and arithmetic("6*7") == "42"
    assert arithmetic("hello there") is None
    assert reply_for("a\nb") == "MOCK-REPLY: a\nb"
    assert reply_for("multiline please").splitlines()[-1] == "MOCK-END"
    assert tool_command("please run touch x") == "touch x"
    assert tool_command("usetool") == "touch mock_tool_ran.txt && echo MOCK-TOOL-RAN"
    assert tool_command("what is 6 x 7") is None


def test_reply_wraps_words_at_the_width_and_indents_by_two() -> None:
    text = "word " * 40 + "x" * 70 + " 日本語" * 10
    rows = [plain(line) for line in reply_block(text.strip() + "\nsecond line", 60)]
    assert rows[0].startswith("● word word")
    assert all(row.startswith("  ") for row in rows[1:])
    assert all(text_width(row) <= 60 for row in rows)
    assert rows[-1] == "  second line"
    assert "".join(row[2:] for row in rows).replace(" ", "").startswith("word" * 40)
