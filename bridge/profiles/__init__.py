"""Agent profiles: what an agent's screen looks like, as data.

A profile is one TOML file per agent and CLI version. Built-in profiles live next to this module
(package data); user profiles are ``*.toml`` files in a directory the caller passes (the CLI uses
``<config dir>/profiles/``) and override built-ins of the same name. The name of a profile is its
file name without ``.toml``.

Regexes are Python :mod:`re` syntax, searched in one screen row at a time (row text has trailing
spaces stripped). Where a rule also names cell attributes (``attrs``), they are checked on the first
non-space cell of the match. Colours are ``"default"``, a palette index ``"0"``-``"255"`` or
``"#rrggbb"`` (see :mod:`bridge.screen`).

Every mistake is one :class:`~bridge.errors.ProfileError` line naming the file, the key and why.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from bridge.errors import ProfileError
from bridge.screen import Cell

__all__ = [
    "BUILTIN_DIR",
    "Attrs",
    "InputRules",
    "Marker",
    "MenuRules",
    "ModelRules",
    "PermissionRules",
    "ProcessRules",
    "Profile",
    "ProfileInfo",
    "ReplyRules",
    "RowRule",
    "Selector",
    "StateRule",
    "States",
    "SubmitRules",
    "TranscriptRules",
    "TurnRules",
    "list_profiles",
    "load_profile",
    "load_profile_file",
]

BUILTIN_DIR = Path(__file__).resolve().parent
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

    ``kind`` names the reader (``none``: screen only). ``path`` is a glob with placeholders
    ``{config}`` (``$<config_env>`` if the agent's environment sets it, else ``~/<config_dir>``),
    ``{cwd_slug}`` (the working directory with every non-alphanumeric character replaced by ``-``)
    and ``{session_id}`` (``*`` when unknown). ``wait_s``: how long to wait for the file to catch up.
    """

    kind: Literal["none", "claude-jsonl", "codex-jsonl"] = "none"
    path: str | None = None
    config_dir: str | None = None
    config_env: str | None = None
    wait_s: Annotated[float, Field(ge=0)] = 2.0


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
    are given). ``current`` (searched in the label and removed) marks the current choice."""

    item: Regex
    highlight: Attrs | None = None
    use_glyph: bool = True
    current: Regex | None = None

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


class PermissionRules(_Strict):
    """A permission question: the block from the last ``start`` row (``start_inclusive``) above
    the ``question`` row, the ``options`` below it; ``command`` (group ``command``) picks the
    command out of the block."""

    start: Regex
    start_inclusive: bool = True
    question: Regex
    command: Regex | None = None
    options: Selector
    rows: Annotated[int, Field(ge=1)] = 40

    @model_validator(mode="after")
    def _groups(self) -> PermissionRules:
        _need_groups(self.command, "command")
        return self


class ModelRules(_Strict):
    """Switching models: type ``command``; a menu whose :attr:`Menu.title` matches ``title``
    opens (then menus matching ``next_titles``, in order, e.g. Codex's reasoning level); a menu
    matching ``confirm_title`` may ask first; a screen row matching ``confirmed`` (group
    ``model``) confirms the switch."""

    command: str = "/model"
    title: Regex
    next_titles: list[Regex] = []
    confirm_title: Regex | None = None
    confirmed: Regex

    @model_validator(mode="after")
    def _groups(self) -> ModelRules:
        _need_groups(self.confirmed, "model")
        return self


class Profile(_Strict):
    """Everything the reader and the driver need to know about one agent CLI version.

    ``start`` starts the agent in a shell, ``resume`` restarts it on its last session;
    ``resume_id`` (group ``id``) finds the session id an exiting agent prints.
    """

    name: str
    agent: str
    version: str
    description: str = ""
    start: str | None = None
    resume: str | None = None
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
        return self


# -- loading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileInfo:
    """One available profile. ``error`` is set (and agent/version empty) if the file is invalid."""

    name: str
    agent: str
    version: str
    source: Path
    builtin: bool
    error: str | None = None


def _describe(error: ValidationError) -> tuple[str, str]:
    """The first problem of a pydantic error as (dotted key, why)."""
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "(top level)"
    if first["type"] == "extra_forbidden":
        why = "unknown key"
    elif first["type"] == "missing":
        why = "required key is missing"
    else:
        why = first["msg"].removeprefix("Value error, ")
    more = error.error_count() - 1
    return key, why + (f" (and {more} more problem{'s' * (more > 1)})" if more else "")


_LOADED: dict[Path, tuple[tuple[int, int], Profile]] = {}  # path -> (its mtime and size, profile)


def load_profile_file(path: Path) -> Profile:
    """Read and validate one profile file; its name is the file name without ``.toml``.

    A file read before and unchanged since (same modification time and size) is not read again.
    """
    try:
        stat = path.stat()
    except OSError as exc:
        raise ProfileError(f"profile {path}: cannot read: {exc.strerror or exc}") from None
    seen = _LOADED.get(path)
    if seen is not None and seen[0] == (stat.st_mtime_ns, stat.st_size):
        return seen[1]
    profile = _read_profile(path)
    _LOADED[path] = ((stat.st_mtime_ns, stat.st_size), profile)
    return profile


def _read_profile(path: Path) -> Profile:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(f"profile {path}: cannot read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"profile {path}: invalid TOML: {exc}") from None
    name = path.stem
    if data.get("name", name) != name:
        raise ProfileError(f"profile {path}: key 'name': {data['name']!r} must match the file name {name!r}")
    try:
        return Profile.model_validate({**data, "name": name})
    except ValidationError as exc:
        key, why = _describe(exc)
        raise ProfileError(f"profile {path}: key '{key}': {why}") from None


def _sources(user_dir: Path | None) -> dict[str, tuple[Path, bool]]:
    found = {p.stem: (p, True) for p in sorted(BUILTIN_DIR.glob("*.toml"))}
    if user_dir is not None and user_dir.is_dir():
        found.update({p.stem: (p, False) for p in sorted(user_dir.glob("*.toml"))})
    return found


def load_profile(name: str, user_dir: Path | None = None) -> Profile:
    """The profile ``name``: from ``user_dir`` if it has ``<name>.toml``, else the built-in one."""
    if name and not name.startswith(".") and "/" not in name and "\0" not in name:
        for folder in (user_dir, BUILTIN_DIR):  # what _sources() finds, without listing folders
            if folder is not None and (path := folder / f"{name}.toml").is_file():
                return load_profile_file(path)
    known = ", ".join(sorted(_sources(user_dir))) or "none"
    raise ProfileError(f"no profile named {name!r}", hint=f"known profiles: {known}")


def list_profiles(user_dir: Path | None = None) -> list[ProfileInfo]:
    """Every available profile by name (user profiles shadow built-ins); invalid ones carry
    ``error`` instead of failing the listing."""
    infos = []
    for name, (path, builtin) in sorted(_sources(user_dir).items()):
        try:
            profile = load_profile_file(path)
        except ProfileError as exc:
            infos.append(ProfileInfo(name, "", "", path, builtin, error=str(exc)))
        else:
            infos.append(ProfileInfo(name, profile.agent, profile.version, path, builtin))
    return infos
