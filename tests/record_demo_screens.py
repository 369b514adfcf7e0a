"""Record the demo agent's screens into ``tests/unit/screens/demo/`` (like the real Claude captures).

Run from anywhere: ``python tests/record_demo_screens.py``. It starts a private tmux server
(``tmux -S <tmpdir>/sock -f /dev/null``, 200x50), a plain shell in ``/`` with ``PS1='$ '``, types
``python -m bridge.demo`` and walks through the same states, with the same file names, as the
captures in ``tests/unit/screens/claude-code-2.1.197/``:

``NAME.ans`` = ``capture-pane -p -e``, ``NAME.txt`` = ``capture-pane -p``,
``NAME.meta`` = ``WxH cursor=X,Y alt=0|1 hist=N``.

The server is killed at the end (by its socket, never by process name).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "tests" / "unit" / "screens" / "demo"
WIDTH, HEIGHT = 200, 50
META_FORMAT = (
    "#{pane_width}x#{pane_height} cursor=#{cursor_x},#{cursor_y} alt=#{alternate_on} hist=#{history_size}"
)


class Recorder:
    def __init__(self, workdir: Path) -> None:
        self.socket = str(workdir / "sock")
        self.pane = ""

    def tmux(self, *args: str, stdin: bytes | None = None) -> str:
        done = subprocess.run(
            ["tmux", "-S", self.socket, *args], input=stdin, capture_output=True, check=True, timeout=30
        )
        return done.stdout.decode("utf-8", "replace")

    def start(self, bindir: Path) -> None:
        env = {
            "PATH": f"{bindir}:/usr/local/bin:/usr/bin:/bin",
            "PYTHONPATH": str(REPO),
            "HOME": "/",
            "TERM": "xterm-256color",
            "PS1": "$ ",
            "HISTFILE": "/dev/null",
            "LANG": "C.UTF-8",
        }
        shell = "cd / && exec env -i " + " ".join(f"{k}='{v}'" for k, v in env.items())
        shell += " bash --norc --noprofile"
        self.pane = self.tmux(
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            str(WIDTH),
            "-y",
            str(HEIGHT),
            "-P",
            "-F",
            "#{pane_id}",
            shell,
        ).strip()
        self.wait(lambda s: s.rstrip().endswith("$"), "shell prompt")

    def capture(self, ansi: bool = False) -> str:
        return self.tmux("capture-pane", "-p", *(["-e"] if ansi else []), "-t", self.pane)

    def wait(self, ready: Callable[[str], bool], what: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.capture()
            if ready(screen):
                return screen
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out waiting for {what}; screen:\n{screen}")
            time.sleep(0.03)

    def wait_for(self, text: str, timeout: float = 10.0) -> str:
        return self.wait(lambda s: text in s, repr(text), timeout)

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.pane, *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.pane, "-l", "--", text)

    def save(self, name: str) -> None:
        time.sleep(0.15)  # let the last frame settle (the screen is already what we waited for)
        (OUT / f"{name}.ans").write_text(self.capture(ansi=True), encoding="utf-8")
        (OUT / f"{name}.txt").write_text(self.capture(), encoding="utf-8")
        meta = self.tmux("display-message", "-p", "-t", self.pane, META_FORMAT)
        (OUT / f"{name}.meta").write_text(meta, encoding="utf-8")
        print(f"recorded {name}")


def record(rec: Recorder) -> None:
    rec.type("clear; python -m bridge.demo")
    rec.keys("Enter")
    rec.wait_for("? for shortcuts")
    rec.save("01-idle-at-start")

    rec.type("hello from the bridge, typed not submitted")
    rec.wait_for("typed not submitted")
    rec.save("02-typed-not-submitted")

    rec.keys("C-u")
    rec.type("first question delay3")
    rec.keys("Enter")
    rec.wait_for("esc to interrupt")
    rec.save("03-busy")

    rec.wait_for("Worked for", timeout=15)
    rec.save("04-reply-done-short")

    rec.type("please give a multiline answer")
    rec.keys("Enter")
    rec.wait(lambda s: "MOCK-END" in s and "? for shortcuts" in s, "multiline reply")
    rec.save("05-reply-done-multiline")

    rec.type("/model")
    rec.keys("Enter")
    rec.wait_for("Select model")
    rec.save("06-model-menu-open")

    rec.keys("Down")
    rec.wait_for("❯ 2. Opus")
    rec.save("07-model-menu-down1")

    rec.keys("Enter")
    rec.wait_for("Switch model?")
    rec.save("08a-model-switch-confirm")

    rec.keys("Enter")
    rec.wait_for("Set model to Opus")
    rec.save("08-model-selected")

    rec.type("please usetool now")
    rec.keys("Enter")
    rec.wait_for("Do you want to proceed?")
    rec.save("09-permission-prompt")

    rec.keys("Enter")
    rec.wait(lambda s: "Done: touch" in s and "? for shortcuts" in s, "reply after permission")
    rec.save("10-after-permission-yes")

    rec.type("usetool again please")
    rec.keys("Enter")
    rec.wait_for("Do you want to proceed?")
    rec.keys("Down")
    rec.keys("Down")
    rec.wait_for("❯ 3. No")
    rec.keys("Enter")
    rec.wait(lambda s: "Interrupted ·" in s and "? for shortcuts" in s, "permission refused")
    rec.save("10b-after-permission-no")

    rec.type("some text to throw away")
    rec.wait_for("some text to throw away")
    rec.keys("C-c")
    rec.wait_for("Press Ctrl-C again to exit")
    rec.save("15a-ctrl-c-once-with-text")

    rec.keys("C-c")
    rec.wait(lambda s: "Resume this session with:" in s and s.rstrip().endswith("$"), "shell after exit")
    rec.save("16-after-ctrl-c-twice-shell")


def main() -> int:
    if not shutil.which("tmux"):
        print("tmux is not installed", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="ab-rec-", dir="/tmp"))
    rec = Recorder(workdir)
    try:
        bindir = workdir / "bin"
        bindir.mkdir()
        os.symlink(sys.executable, bindir / "python")
        rec.start(bindir)
        record(rec)
    finally:
        subprocess.run(["tmux", "-S", rec.socket, "kill-server"], capture_output=True, timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
