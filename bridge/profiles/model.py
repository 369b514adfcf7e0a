"""The profile data model: what an agent's screen looks like, as validated pydantic models.

Regexes are Python :mod:`re` syntax, searched in one screen row at a time (row text has trailing
spaces stripped). Where a rule also names cell attributes (``attrs``), they are checked on the first
non-space cell of the match. Colours are ``"default"``, a palette index ``"0"``-``"255"`` or
``"#rrggbb"`` (see :mod:`bridge.screen`).
"""

from __future__ import annotations

import re
import string
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from bridge.screen import Cell

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


def _compile(value: Any) -> Any:
    if isinstance(value, re.Pattern):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a regular expression string")
    try:
        return re.compile(value)
    except re.error as exc:
        raise ValueError(f"bad regular expression {value!r}: {exc}") from None


Regex = Annotated[re.Pattern[str], BeforeValidator(_compile)]


def _need_groups(pattern: re.Pattern[str] | None, *groups: str) -> None:
    if pattern is None:
        return
    missing = [g for g in groups if g not in pattern.groupindex]
    if missing:
        names = ", ".join(f"(?P<{g}>...)" for g in missing)
        raise ValueError(f"regular expression {pattern.pattern!r} needs the named group {names}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Attrs(_Strict):
    """Cell attributes a match must have; fields left unset are not checked."""

    fg: str | None = None
    bg: str | None = None
    bold: bool | None = None
    dim: bool | None = None
    reverse: bool | None = None
    italics: bool | None = None
    underline: bool | None = None

    def matches(self, cell: Cell) -> bool:
        """True if ``cell`` has every attribute this rule sets."""
        return all(getattr(cell, key) == want for key, want in self if want is not None)


class RowRule(_Strict):
    """A regex over one row, optionally with attributes of its first non-space matched cell."""

    regex: Regex
    attrs: Attrs | None = None


class Marker(RowRule):
    """A :class:`RowRule` searched in a region of the screen.

    ``where``: ``screen`` (all rows), ``tail`` (the last ``rows`` rows up to the last non-blank
    one), ``last_row`` (the last non-blank row), ``cursor_row``, ``before_cursor`` (the cursor's
    row left of the cursor). Cursor regions never match when the cursor is unknown.
    """

    where: Literal["screen", "tail", "last_row", "cursor_row", "before_cursor"] = "tail"
    rows: Annotated[int, Field(ge=1)] = 12


class StateRule(_Strict):
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


class States(_Strict):
    """State rules, checked in ``order``; the first that holds is the state, none is ``unknown``."""

    order: list[StateName] = ["dead", "permission", "dialog", "menu", "busy", "idle"]
    dead: StateRule | None = None
    permission: StateRule | None = None
    dialog: StateRule | None = None
    menu: StateRule | None = None
    busy: StateRule | None = None
    idle: StateRule | None = None


class ProcessRules(_Strict):
    """``#{pane_current_command}`` values: the agent running, or a shell it died back to."""

    names: list[str]
    shells: list[str] = DEFAULT_SHELLS


class InputRules(_Strict):
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
        _need_groups(self.first.regex, "text")
        _need_groups(self.continuation, "text")
        return self


class SubmitRules(_Strict):
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


class TranscriptRules(_Strict):
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


class TurnRules(_Strict):
    """A past user turn (the echo of a submitted prompt): ``first`` with group ``text``, then
    rows matching ``continuation`` (group ``text``)."""

    first: RowRule
    continuation: RowRule | None = None

    @model_validator(mode="after")
    def _groups(self) -> TurnRules:
        _need_groups(self.first.regex, "text")
        _need_groups(self.continuation.regex if self.continuation else None, "text")
        return self


class ReplyRules(_Strict):
    """How the agent's answer follows the echo.

    The reply region runs from the row after the echo to the first ``end`` row (the turn is done),
    ``stop`` row, next user turn or the input box. ``chrome`` rows are dropped. A row matching
    ``prefix`` starts a block (the prefix is removed); following rows lose ``indent``. A block with
    a row matching one of ``tool_rows`` (the header included) is a tool call and is dropped.
    ``wrap``: how to rejoin wrapped rows (only when the snapshot knows the pane width): ``words``
    (the agent wrapped at spaces), ``cells`` (the terminal wrapped), ``none``.
    """

    prefix: Regex | None = None
    indent: str = ""
    end: list[RowRule] = []
    stop: list[RowRule] = []
    chrome: list[RowRule] = []
    tool_rows: list[Regex] = []
    wrap: Literal["words", "cells", "none"] = "none"


class Selector(_Strict):
    """Numbered choices. ``item`` needs groups ``number`` and ``label`` and may have ``glyph``
    (the highlight cursor), ``description`` and ``key``. A row is highlighted when its ``glyph``
    group matched and/or its first non-space cell has the ``highlight`` attributes (both, if both
    are given). ``current`` (searched in the label and removed) marks the current choice.
    ``description_row``: rows matching it below an item (and not an item themselves) are that
    item's description (its group ``description`` if present, else the whole row), so they do
    not end the list (e.g. Qwen Code's ``/model``, a description line under each model)."""

    item: Regex
    highlight: Attrs | None = None
    use_glyph: bool = True
    current: Regex | None = None
    description_row: Regex | None = None

    @model_validator(mode="after")
    def _groups(self) -> Selector:
        _need_groups(self.item, "number", "label")
        if not self.use_glyph and self.highlight is None:
            raise ValueError("a selector needs use_glyph or highlight to see the highlighted row")
        return self


class MenuRules(_Strict):
    """Menus and dialogs: the last ``titles`` match (group ``title`` if present) within the last
    ``rows`` rows, then the item rows below it. ``keys``: tmux key names to move and choose."""

    titles: list[Regex]
    items: Selector
    rows: Annotated[int, Field(ge=1)] = 40
    up: str = "Up"
    down: str = "Down"
    select: str = "Enter"
    cancel: str = "Escape"


class PermissionAnswers(_Strict):
    """The option labels ``approve AGENT yes|always|no`` choose: each a list of label prefixes
    (case-insensitive; the first option starting with any of them is chosen). Unset lists keep
    the defaults: ``yes`` the first label starting "yes", ``no`` the label starting "no",
    ``always`` a label containing "always" or "don't ask again". Example (Gemini CLI):
    ``yes = ["Allow once"]``, ``always = ["Allow for this session"]``, ``no = ["No"]``."""

    yes: list[str] | None = None
    always: list[str] | None = None
    no: list[str] | None = None


class PermissionRules(_Strict):
    """A permission question: the block from the last ``start`` row (``start_inclusive``) above
    the ``question`` row, the ``options`` below it; ``command`` (group ``command``) picks the
    command out of the block. Box borders (``│``, ``╭``, ``╰`` …) are left out of the question
    text. ``answers``: which options ``yes``, ``always`` and ``no`` mean."""

    start: Regex
    start_inclusive: bool = True
    question: Regex
    command: Regex | None = None
    options: Selector
    rows: Annotated[int, Field(ge=1)] = 40
    answers: PermissionAnswers = PermissionAnswers()

    @model_validator(mode="after")
    def _groups(self) -> PermissionRules:
        _need_groups(self.command, "command")
        return self


class MenuStep(_Strict):
    """One menu on the way to the model list: a menu whose title matches ``title``, and the row
    to choose in it (``pick``: a label, a unique prefix of one, or a row number)."""

    title: Regex
    pick: str = Field(min_length=1)


class ModelRules(_Strict):
    """Switching models: type ``command``; the menus in ``before`` open first, in order (each
    answered with its ``pick``, e.g. Gemini's Auto/Manual menu), then a menu whose
    :attr:`Menu.title` matches ``title`` lists the models (then menus matching ``next_titles``,
    in order, e.g. Codex's reasoning level); a menu matching ``confirm_title`` may ask first; a
    screen row matching ``confirmed`` (group ``model``) confirms the switch. Each next menu must
    differ from the one before (its title or its rows), so levels with the same title are told
    apart. On any failure the driver presses the menu's cancel key once per level it went in.

    ``session_key``: the key that applies the choice to this session only, where the CLI offers
    one (Claude Code's ``s``), pressed in the menu that makes the choice final: the last of
    ``next_titles`` when there are some (Codex's reasoning level), else the model menu; the
    select key (which may save it as the user's default) is pressed instead only with
    ``model --save``, after ``save_keys`` where the CLI needs them to keep the choice (Gemini
    CLI's Tab). ``current`` (group ``model``): where the idle screen shows the model in use; a
    switch to exactly that model is skipped without opening the menu (and a menu row marked
    current is never chosen again either).
    """

    command: str = "/model"
    before: list[MenuStep] = []
    title: Regex
    next_titles: list[Regex] = []
    confirm_title: Regex | None = None
    confirmed: Regex
    session_key: str | None = None
    save_keys: list[str] = []
    current: Marker | None = None

    @model_validator(mode="after")
    def _groups(self) -> ModelRules:
        _need_groups(self.confirmed, "model")
        _need_groups(self.current.regex if self.current else None, "model")
        return self


class Profile(_Strict):
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
        _need_groups(self.resume_id, "id")
        if self.resume_last and "{session_id}" in self.resume_last:
            raise ValueError("resume_last runs when no session id is known: it cannot hold {session_id}")
        return self
