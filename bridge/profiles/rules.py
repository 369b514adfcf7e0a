"""The pieces every profile rule is made of: regexes checked as they load, cell attributes, and a
rule over one row (optionally searched in a region of the screen).

Regexes are Python :mod:`re` syntax, searched in one screen row at a time (row text has trailing
spaces stripped). Where a rule also names cell attributes (``attrs``), they are checked on the first
non-space cell of the match. Colours are ``"default"``, a palette index ``"0"``-``"255"`` or
``"#rrggbb"`` (see :mod:`bridge.screen`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from bridge.screen import Cell

__all__ = ["Attrs", "Marker", "Regex", "RowRule", "Strict", "need_groups"]


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


def need_groups(pattern: re.Pattern[str] | None, *groups: str) -> None:
    if pattern is None:
        return
    missing = [g for g in groups if g not in pattern.groupindex]
    if missing:
        names = ", ".join(f"(?P<{g}>...)" for g in missing)
        raise ValueError(f"regular expression {pattern.pattern!r} needs the named group {names}")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Attrs(Strict):
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


class RowRule(Strict):
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
