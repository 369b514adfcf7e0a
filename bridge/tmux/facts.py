"""What one look at a pane reads (:data:`FACTS_FORMAT` -> :class:`PaneFacts`), and what it means.

Facts verified on tmux 3.3a and 3.5a (see ``tests/integration/test_tmux_versions.py``):

* As from the command line, ``display-message -t %MISSING`` succeeds with an empty line, and
  ``-t session:MISSING-WINDOW`` falls back to the current window; tmux also resolves "sess" or
  "sess:win" to the active pane and matches names by prefix: check what came back
  (:func:`parse_facts`, :func:`mismatch`).
* Names a person or a pane's program controls are read through ``#{q:…}`` (tmux 3.4+ vis-encodes
  command output, see :mod:`.quoting`).
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.config.models import Target
from bridge.errors import TargetNotFoundError
from bridge.tmux.quoting import unescape, words

# What a look reads, in two parts. Numbers and flags first, one space between (they never hold
# one). Then the names a person or a pane's program controls, each through tmux's ``q`` modifier,
# which backslash-escapes the shell's specials, space, ``$`` and the backslash itself; so no value
# holds an unescaped space, and `` $`` ends the record unambiguously (a pane's path may even hold a
# newline). :func:`bridge.tmux.quoting.unescape` reads the values as tmux 3.3a and 3.4+ print them.
_FIXED = (
    "pane_id",
    "pane_pid",
    "pane_dead",
    "pane_width",
    "pane_height",
    "cursor_x",
    "cursor_y",
    "alternate_on",
    "history_size",
    "pane_in_mode",
    "window_index",
    "pane_index",
    "pid",
)
# ``@agent_bridge_session``: the agent session id the bridge started (or found) in this pane.
SESSION_OPTION = "@agent_bridge_session"
_FREE = ("pane_current_command", "session_name", "window_name", "pane_current_path", SESSION_OPTION)
END = " $"  # the record's end mark
FACTS_FORMAT = " ".join(
    [*(f"#{{{name}}}" for name in _FIXED), *(f"#{{q:{name}}}" for name in _FREE)]
) + END


@dataclass(frozen=True)
class PaneFacts:
    """What tmux knows about a pane, read in one call."""

    pane_id: str
    current_command: str
    pid: int
    dead: bool
    width: int
    height: int
    cursor_x: int
    cursor_y: int
    alternate_on: bool
    history_size: int
    in_mode: bool
    session: str
    window_index: int
    pane_index: int
    current_path: str
    server_pid: int
    window_name: str = ""
    session_id: str = ""  # the pane's :data:`SESSION_OPTION`, empty when unknown

    @property
    def target(self) -> str:
        return f"{self.session}:{self.window_index}.{self.pane_index}"


def parse_facts(record: str, target: str, host: str) -> PaneFacts:
    """Parse one :data:`FACTS_FORMAT` record (with or without its end mark) that tmux printed on
    ``host`` for ``target``; no pane there (an empty or short record) is :class:`TargetNotFoundError`."""
    head = record.split(END + "\n", 1)[0].rstrip("\n").removesuffix(END)
    fixed = head.split(" ", len(_FIXED))
    free = words(fixed.pop()) if len(fixed) == len(_FIXED) + 1 else []
    if len(free) != len(_FREE) or not fixed[0].startswith("%"):
        raise TargetNotFoundError(
            f"tmux target {target} not found on {host}",
            hint="check the agent's target in the registry, or run: agent-bridge start AGENT",
            host=host,
            target=target,
        )
    v = dict(zip(_FIXED, fixed, strict=True))
    n = dict(zip(_FREE, (unescape(word) for word in free), strict=True))
    return PaneFacts(
        pane_id=v["pane_id"],
        current_command=n["pane_current_command"],
        pid=_int(v["pane_pid"]),
        dead=v["pane_dead"] == "1",
        width=_int(v["pane_width"]),
        height=_int(v["pane_height"]),
        cursor_x=_int(v["cursor_x"]),
        cursor_y=_int(v["cursor_y"]),
        alternate_on=v["alternate_on"] == "1",
        history_size=_int(v["history_size"]),
        in_mode=v["pane_in_mode"] == "1",
        session=n["session_name"],
        window_index=_int(v["window_index"]),
        pane_index=_int(v["pane_index"]),
        current_path=n["pane_current_path"],
        server_pid=_int(v["pid"]),
        window_name=n["window_name"],
        session_id=n[SESSION_OPTION],
    )


def same_as(facts: PaneFacts) -> str:
    """A tmux format that is true (``1``) while the pane still shows what ``facts`` describe:
    alive, not in a mode, in the same place, same size, cursor, scrollback, screen and command."""

    def literal(value: str) -> str:  # a literal inside a format: #, comma and } escaped
        return value.replace("#", "##").replace(",", "#,").replace("}", "#}")

    checks = [
        ("pane_dead", "0"), ("pane_in_mode", "0"), ("pane_width", str(facts.width)),
        ("pane_height", str(facts.height)), ("cursor_x", str(facts.cursor_x)),
        ("cursor_y", str(facts.cursor_y)), ("history_size", str(facts.history_size)),
        ("alternate_on", "1" if facts.alternate_on else "0"),
        ("pane_current_command", literal(facts.current_command)),
        ("session_name", literal(facts.session)), ("window_index", str(facts.window_index)),
        ("pane_index", str(facts.pane_index)),
    ]  # fmt: skip
    condition = f"#{{==:#{{{checks[0][0]}}},{checks[0][1]}}}"
    for name, value in checks[1:]:
        condition = f"#{{&&:{condition},#{{==:#{{{name}}},{value}}}}}"
    return condition


def mismatch(target: str, facts: PaneFacts) -> str | None:
    """Why the pane ``facts`` describe is not what ``target`` names, or ``None`` if it is.

    tmux resolves "sess" or "sess:win" to the active pane, matches names by prefix, and a window
    that does not exist falls back to the current one: what it found must be what the target
    names, exactly.
    """
    if target.startswith("%"):
        return None if facts.pane_id == target else f"pane {facts.pane_id} is not {target}"
    parsed = Target.parse(target)
    if facts.session != parsed.session:
        return f"no session {parsed.session} (tmux matched {facts.session})"
    if parsed.window is not None and parsed.window not in (facts.window_name, str(facts.window_index)):
        return f"no window {parsed.window} in session {parsed.session}"
    if parsed.pane is not None and facts.pane_index != parsed.pane:
        return f"no pane {parsed.pane}"
    return None


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0
