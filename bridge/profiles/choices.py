"""Numbered choices on an agent's screen: menus and dialogs, permission questions and the words
that answer them, and how ``/model`` is driven through them."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from bridge.profiles.rules import Attrs, Marker, Regex, Strict, need_groups

__all__ = ["MenuRules", "MenuStep", "ModelRules", "PermissionAnswers", "PermissionRules", "Selector"]


class Selector(Strict):
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
        need_groups(self.item, "number", "label")
        if not self.use_glyph and self.highlight is None:
            raise ValueError("a selector needs use_glyph or highlight to see the highlighted row")
        return self


class MenuRules(Strict):
    """Menus and dialogs: the last ``titles`` match (group ``title`` if present) within the last
    ``rows`` rows, then the item rows below it. ``keys``: tmux key names to move and choose."""

    titles: list[Regex]
    items: Selector
    rows: Annotated[int, Field(ge=1)] = 40
    up: str = "Up"
    down: str = "Down"
    select: str = "Enter"
    cancel: str = "Escape"


class PermissionAnswers(Strict):
    """The option labels ``approve AGENT yes|always|no`` choose: each a list of label prefixes
    (case-insensitive; the first option starting with any of them is chosen). Unset lists keep
    the defaults: ``yes`` the first label starting "yes", ``no`` the label starting "no",
    ``always`` a label containing "always" or "don't ask again". Example (Gemini CLI):
    ``yes = ["Allow once"]``, ``always = ["Allow for this session"]``, ``no = ["No"]``."""

    yes: list[str] | None = None
    always: list[str] | None = None
    no: list[str] | None = None


class PermissionRules(Strict):
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
        need_groups(self.command, "command")
        return self


class MenuStep(Strict):
    """One menu on the way to the model list: a menu whose title matches ``title``, and the row
    to choose in it (``pick``: a label, a unique prefix of one, or a row number)."""

    title: Regex
    pick: str = Field(min_length=1)


class ModelRules(Strict):
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
        need_groups(self.confirmed, "model")
        need_groups(self.current.regex if self.current else None, "model")
        return self
