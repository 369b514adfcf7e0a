"""The profile data model: what an agent's screen looks like, as validated pydantic models.

Regexes are Python :mod:`re` syntax, searched in one screen row at a time (row text has trailing
spaces stripped). Where a rule also names cell attributes (``attrs``), they are checked on the first
non-space cell of the match. Colours are ``"default"``, a palette index ``"0"``-``"255"`` or
``"#rrggbb"`` (see :mod:`bridge.screen`).
"""

from __future__ import annotations

import string
from typing import Annotated, Literal

from pydantic import Field, model_validator

from bridge.profiles.choices import (
    MenuRules,
    MenuStep,
    ModelRules,
    PermissionAnswers,
    PermissionRules,
    Selector,
)
from bridge.profiles.rules import Attrs, Marker, Regex, RowRule, Strict, need_groups

__all__ = [
    "Attrs",
    "InputRules",
    "Marker",
    "MenuRules",
    "MenuStep",
    "ModelRules",
    "PermissionAnswers",
    "PermissionRules",
    "ProcessRules",
    "Profile",
    "ReplyRules",
    "RowRule",
    "Selector",
    "StateRule",
    "States",
    "SubmitRules",
    "TranscriptRules",
    "TurnRules",
]

StateName = Literal["dead", "permission", "dialog", "menu", "busy", "idle"]
DEFAULT_SHELLS = ["bash", "zsh", "sh", "dash", "fish", "ksh", "tcsh", "csh", "ash", "busybox"]


class StateRule(Strict):
    """When a state holds: every ``all`` marker, at least one ``any`` marker (if given), no
    ``none`` marker, and the input box visible (or not) as ``input_box`` says. ``always`` holds
    unconditionally (a catch-all such as the shell's busy)."""

    all: list[Marker] = []
    any: list[Marker] = []
    none: list[Marker] = []
    input_box: bool | None = None
    always: bool = False

    @model_validator(mode="after")
    def _not_empty(self) -> StateRule:
        if not (self.always or self.all or self.any or self.none or self.input_box is not None):
            raise ValueError("a state rule needs a condition (all, any, none, input_box or always)")
        return self


class States(Strict):
    """State rules, checked in ``order``; the first that holds is the state, none is ``unknown``."""

    order: list[StateName] = ["dead", "permission", "dialog", "menu", "busy", "idle"]
    dead: StateRule | None = None
    permission: StateRule | None = None
    dialog: StateRule | None = None
    menu: StateRule | None = None
    busy: StateRule | None = None
    idle: StateRule | None = None


class ProcessRules(Strict):
    """``#{pane_current_command}`` values: the agent running, or a shell it died back to."""

    names: list[str]
    shells: list[str] = DEFAULT_SHELLS


class InputRules(Strict):
    """The live input box. ``first`` (with group ``text``) is its first row, searched from the
    bottom within ``search_rows``; then rows until ``end`` (exclusive), or while ``continuation``
    (group ``text``) matches when there is no ``end``. Text whose non-space cells all have the
    ``placeholder`` attributes counts as empty. ``collapsed`` regexes recognise what a big paste
    shows instead of its text. ``require_cursor``: the box must hold the cursor row."""

    first: RowRule
    continuation: Regex
    end: Regex | None = None
    placeholder: Attrs | None = None
    collapsed: list[Regex] = []
    search_rows: Annotated[int, Field(ge=1)] = 60
    require_cursor: bool = False

    @model_validator(mode="after")
    def _groups(self) -> InputRules:
        need_groups(self.first.regex, "text")
        need_groups(self.continuation, "text")
        return self


class SubmitRules(Strict):
    """How to submit typed text: wait ``gap_ms`` after the paste is visible (never less than
    ``min_gap_ms``), press ``enter_key``; if the agent has not taken it within ``confirm_s``, press
    it again (``retries``). ``stable_ms``: how long a screen must stay unchanged to count as done."""

    gap_ms: Annotated[int, Field(ge=0)] = 200
    min_gap_ms: Annotated[int, Field(ge=0)] = 0
    enter_key: str = "Enter"
    confirm_s: Annotated[float, Field(gt=0)] = 1.5
    retries: Annotated[int, Field(ge=0)] = 1
    stable_ms: Annotated[int, Field(ge=0)] = 300

    @model_validator(mode="after")
    def _gap(self) -> SubmitRules:
        if self.gap_ms < self.min_gap_ms:
            raise ValueError(f"gap_ms {self.gap_ms} is below min_gap_ms {self.min_gap_ms}")
        return self


class TranscriptRules(Strict):
    """Where the agent keeps its session transcript (on the agent's host), for the exact reply.

    ``kind`` names the reader (``none``: screen only). ``path`` is a glob that starts with
    ``{config}/`` (``$<config_env>`` if the agent's environment sets it, else ``~/<config_dir>``)
    or ``{home}/``, with placeholders ``{cwd_slug}`` (the working directory with every
    non-alphanumeric character replaced by ``-``), ``{cwd_sha256}`` (its hex SHA-256) and
    ``{session_id}`` (``*`` when unknown); the newest match is read. ``wait_s``: how long to wait
    for the file to catch up.
    """

    kind: Literal["none", "claude-jsonl", "codex-jsonl", "qwen-jsonl", "gemini-json"] = "none"
    path: str | None = None
    config_dir: str | None = None
    config_env: str | None = None
    wait_s: Annotated[float, Field(ge=0)] = 2.0

    @model_validator(mode="after")
    def _path(self) -> TranscriptRules:
        if self.path is None:
            if self.kind != "none":
                raise ValueError(f"transcript kind {self.kind!r} needs a path")
            return self
        if not self.path.startswith(("{config}/", "{home}/")):
            raise ValueError(f"path {self.path!r} must start with {{config}}/ or {{home}}/")
        names = {name for _, name, _, _ in string.Formatter().parse(self.path.split("}/", 1)[1]) if name}
        unknown = names - {"cwd_slug", "cwd_sha256", "session_id"}
        if unknown:
            raise ValueError(f"path {self.path!r}: unknown placeholder {{{sorted(unknown)[0]}}}")
        return self


class TurnRules(Strict):
    """A past user turn (the echo of a submitted prompt): ``first`` with group ``text``, then
    rows matching ``continuation`` (group ``text``)."""

    first: RowRule
    continuation: RowRule | None = None

    @model_validator(mode="after")
    def _groups(self) -> TurnRules:
        need_groups(self.first.regex, "text")
        need_groups(self.continuation.regex if self.continuation else None, "text")
        return self


class ReplyRules(Strict):
    """How the agent's answer follows the echo.

    The reply region runs from the row after the echo to the first ``end`` row (the turn is done),
    ``stop`` row, next user turn or the input box. ``chrome`` rows are dropped. A row matching
    ``prefix`` starts a block (the prefix is removed); following rows lose ``indent``. A block with
    a row matching one of ``tool_rows`` (the header included) is a tool call and is dropped.
    ``wrap``: how to rejoin wrapped rows (only when the snapshot knows the pane width): ``words``
    (the agent wrapped at spaces), ``cells`` (the terminal wrapped), ``none``. A ``cut`` row says
    the agent shows only part of its reply (``… +1234 chars``): such a reply is never returned
    from the screen as if it were whole.
    """

    prefix: Regex | None = None
    indent: str = ""
    end: list[RowRule] = []
    stop: list[RowRule] = []
    chrome: list[RowRule] = []
    tool_rows: list[Regex] = []
    wrap: Literal["words", "cells", "none"] = "none"
    cut: list[RowRule] = []


class Profile(Strict):
    """Everything the reader and the driver need to know about one agent CLI version.

    ``start`` starts the agent in a shell; ``resume`` restarts a dead one into its own session
    (both may hold ``{session_id}``, see :mod:`bridge.sessions`); ``resume_last`` resumes the
    newest session when the agent's id is not known; ``resume_id`` (group ``id``) finds the session
    id an exiting agent prints.
    """

    name: str
    agent: str
    version: str
    description: str = ""
    start: str | None = None
    resume: str | None = None
    resume_last: str | None = None
    resume_id: Regex | None = None
    transcript: TranscriptRules = TranscriptRules()
    exit_command: str | None = None
    interrupt_key: str = "Escape"
    process: ProcessRules
    states: States
    input: InputRules | None = None
    submit: SubmitRules = SubmitRules()
    turn: TurnRules | None = None
    reply: ReplyRules = ReplyRules()
    menu: MenuRules | None = None
    permission: PermissionRules | None = None
    model: ModelRules | None = None

    @model_validator(mode="after")
    def _groups(self) -> Profile:
        need_groups(self.resume_id, "id")
        if self.resume_last and "{session_id}" in self.resume_last:
            raise ValueError("resume_last runs when no session id is known: it cannot hold {session_id}")
        return self
