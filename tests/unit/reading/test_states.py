"""classify() on every recorded screen: the capture's name says the state (see screens/README.md).

Screens are parsed as the driver parses them (pane width, tmux cursor from NAME.meta). Where the
name is not one of the README's states the table says why.
"""

from __future__ import annotations

import pytest

from bridge.profiles import load_profile
from bridge.reading import State, classify
from tests.unit.recorded import CLAUDE, CODEX, DEMO, SHELL, load, names

# table shorthands
I_, B, P, M, D, X = State.IDLE, State.BUSY, State.PERMISSION, State.MENU, State.DIALOG, State.DEAD

CLAUDE_STATES: dict[str, State] = {
    "00-noconfig-connect-fail": X,  # exited at start; no .meta: the bare prompt is the last row
    "01-idle-at-start": I_,
    "02-typed-not-submitted": I_,  # idle with text in the box (see input_text)
    "02b-long-typed-line-before-enter": I_,
    "03-busy": B,
    "03b-busy-later": B,
    "03c-busy-streaming-partial": B,
    "03d-busy-before-esc": B,
    "03e-busy-acceptance": B,
    "04-reply-done-short": I_,
    "04b-reply-done-after-stream": I_,
    "05-reply-done-multiline": I_,
    "05-reply-done-multiline.hist": I_,
    "06-model-menu-open": M,
    "06a-slash-autocomplete": I_,  # "/model" typed, completion list under the box
    "07-model-menu-down1": M,
    "07b-model-menu-down2": M,
    "08-model-selected": I_,
    "08a-model-switch-confirm": M,  # "Switch model?" Yes/No
    "08c-model-set-session-only": I_,
    "09-permission-prompt": P,
    "09b-permission-prompt-No-highlighted": P,
    "09x-tool-readonly-autoapproved": I_,
    "10-after-permission-yes": I_,
    "10b-after-permission-no": I_,
    "11-pasted-multiline-before-enter": I_,
    "11b-pasted-3lines-before-enter": I_,
    "12-pasted-multiline-after-enter": I_,
    "12b-paste-then-immediate-enter": I_,
    "13-typed-with-newline": I_,
    "13b-paste-without-p-flag": I_,
    "14-interrupted-by-esc": I_,  # the turn's text went back into the box
    "15a-ctrl-c-once-with-text": I_,  # "Press Ctrl-C again to exit", box emptied
    "16-after-ctrl-c-twice-shell": X,
    "16b-shell-after-extra-ctrl-c": X,
    "17-restart-idle": I_,
    "18-after-exit-shell": X,
    "18a-exit-typed": I_,  # "/exit" typed, not yet submitted
    "18b-after-exit-with-conversation": X,
    "19-crashed-kill9-shell": X,  # stale "esc to interrupt" footer: the shell prompt wins
    "20-dialog-first-screen-unapproved-key-untrusted": D,
    "21-dialog-custom-api-key": D,
    "22-after-dialogs-idle": I_,
}

CODEX_STATES: dict[str, State] = {
    "01-idle-at-start": I_,
    "01b-warning-f2": D,  # the startup warnings panel covers the composer
    # the first ~0.4 s: the composer is drawn, the status row under it ("<model> · <cwd>") not yet
    "01c-starting-before-status-row": State.UNKNOWN,
    "02-typed-not-submitted": I_,
    "02b-long-typed-line-before-enter": I_,
    "03-busy": B,
    "03e-busy-acceptance": B,
    "03f-busy-hollow-bullet": B,  # the busy bullet blinks: "◦ Working (0s • esc to interrupt)"
    "03g-busy-hollow-after-preamble": B,  # "usetool": the preamble shown, the question not yet
    "04-reply-done-short": I_,
    "05-reply-done-multiline": I_,
    "05-reply-done-multiline.hist": I_,
    "06-model-menu-open": M,
    "06a-slash-autocomplete": I_,
    "06c-model-menu-current-luna": M,  # "› 4. GPT-6-Luna (current)"
    "07-model-menu-down1": M,
    "08-model-selected": I_,
    "08a-model-effort-menu": M,
    "08b-model-effort-menu-luna": M,  # the default effort (row 2) highlighted
    "08c-model-selected-session-only": I_,  # "s" in the effort menu: "… for this session only"
    "09-permission-prompt": P,
    "09b-permission-down1": P,
    "10-after-permission-yes": I_,
    "10b-after-permission-no": I_,
    "11-pasted-multiline-before-enter": I_,
    "12-pasted-multiline-after-enter": I_,
    "12b-paste3-then-immediate-enter": I_,
    "13-typed-then-immediate-enter-not-submitted": I_,  # the Enter became a newline in the box
    "14-esc-at-idle-backtrack-hint": I_,
    "15a-ctrl-c-once-no-daemon": X,
    "15a-ctrl-c-once": X,
    "17-restart-no-daemon-idle": I_,
    "17b-resume-by-id-idle": I_,  # codex resume --no-daemon <id>: the old turns shown again
    "18-after-exit-shell": X,
    "18a-exit-typed": I_,
    "19-crashed-kill9-shell": X,
    "19b-crashed-kill9-after-turns": X,
    "20-noalt-idle": I_,
    "21-noalt-reply-multiline": I_,
    "21-noalt-reply-multiline.hist": I_,
    "22-noalt-after-exit": X,
    # tmux 3.5a answers Codex's colour query: after `codex resume` the composer is shaded (bg 234)
    "23-resumed-shaded-composer-tmux35": I_,
}

SHELL_STATES: dict[str, State] = {
    "01-idle-at-start": I_,
    "02-typed-not-submitted": I_,
    "03-busy": B,
    "03b-busy-with-output": B,
    "04-reply-done-short": I_,
    "05-reply-done-multiline": I_,
    "05-reply-done-multiline.hist": I_,
    "06-reply-done-wrapped-long-line": I_,
    "06b-reply-done-wrapped-not-joined": I_,
    "07-reply-done-user-host-prompt": I_,
}

DEMO_STATES: dict[str, State] = {
    "01-idle-at-start": I_,
    "02-typed-not-submitted": I_,
    "03-busy": B,
    "04-reply-done-short": I_,
    "05-reply-done-multiline": I_,
    "06-model-menu-open": M,
    "07-model-menu-down1": M,
    "08-model-selected": I_,
    "08a-model-switch-confirm": M,
    "09-permission-prompt": P,
    "10-after-permission-yes": I_,
    "10b-after-permission-no": I_,
    "15a-ctrl-c-once-with-text": I_,
    "16-after-ctrl-c-twice-shell": X,
}

TABLES = [
    ("claude-code", CLAUDE, CLAUDE_STATES),
    ("codex", CODEX, CODEX_STATES),
    ("shell", SHELL, SHELL_STATES),
    ("demo", DEMO, DEMO_STATES),
]


@pytest.mark.parametrize(("profile", "folder", "table"), TABLES, ids=[t[0] for t in TABLES])
def test_table_covers_every_capture(profile: str, folder: str, table: dict[str, State]) -> None:
    assert sorted(table) == names(folder)


CASES = [(p, f, n, s) for p, f, t in TABLES for n, s in t.items()]


@pytest.mark.parametrize(("profile", "folder", "name", "state"), CASES, ids=[f"{c[0]}/{c[2]}" for c in CASES])
def test_classify_recorded_screen(profile: str, folder: str, name: str, state: State) -> None:
    assert classify(load(folder, name), load_profile(profile)) is state


@pytest.mark.parametrize("command", ["bash", "-bash", "/bin/zsh", "sh"])
def test_a_shell_as_current_command_means_dead(command: str) -> None:
    idle = load(CLAUDE, "04-reply-done-short")
    assert classify(idle, load_profile("claude-code"), current_command=command) is X
    assert classify(idle, load_profile("claude-code"), current_command="claude") is I_


def test_a_dead_pane_is_dead_whatever_it_shows() -> None:
    menu = load(CODEX, "06-model-menu-open")
    assert classify(menu, load_profile("codex"), current_command="codex", pane_dead=True) is X


def test_the_shell_profile_is_not_dead_in_its_own_shell() -> None:
    assert classify(load(SHELL, "01-idle-at-start"), load_profile("shell"), current_command="bash") is I_
    assert classify(load(SHELL, "03-busy"), load_profile("shell"), current_command="sleep") is B


def test_unrecognised_screens_are_unknown() -> None:
    from bridge.screen import parse

    blank = parse("\n" * 10, 80)
    noise = parse("some program's full-screen output\nwith nothing we know\n", 80, (0, 1))
    for profile in ("claude-code", "codex"):
        assert classify(blank, load_profile(profile)) is State.UNKNOWN
        assert classify(noise, load_profile(profile)) is State.UNKNOWN


def test_agent_screens_read_with_the_shell_profile() -> None:
    # After the agent exited, the same pane is an idle shell.
    shell = load_profile("shell")
    assert classify(load(CLAUDE, "16-after-ctrl-c-twice-shell"), shell) is I_
    assert classify(load(CODEX, "22-noalt-after-exit"), shell) is I_
