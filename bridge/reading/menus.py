"""Menus, dialogs and permission questions: numbered choices and the highlighted one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from bridge.profiles import Profile, Selector
from bridge.reading.match import tail
from bridge.screen import Snapshot

__all__ = ["Menu", "MenuItem", "PermissionQuestion", "read_menu", "read_permission", "unboxed"]


@dataclass(frozen=True)
class MenuItem:
    """One numbered choice; ``current`` if it is marked as the current choice."""

    number: int
    label: str
    description: str
    highlighted: bool
    current: bool
    key: str | None = None
    row: int = -1


@dataclass(frozen=True)
class Menu:
    """A menu or dialog: its title, its items, and the index (into ``items``) highlighted."""

    title: str
    items: tuple[MenuItem, ...]
    highlighted: int | None

    @property
    def labels(self) -> list[str]:
        """The item labels, in order."""
        return [item.label for item in self.items]


# Box-drawing characters a dialog is framed with (Gemini CLI draws its menus in a "│" box).
_BORDER = "│┃║╭╮╰╯┌┐└┘─━═╔╗╚╝"


def unboxed(line: str) -> str:
    """``line`` without the box borders on either side (nested boxes too): the border cells on
    the left become spaces, so indentation inside the box stays; a row of border only is ``""``."""
    lead = len(line) - len(line.lstrip(_BORDER + " "))
    return (" " * lead + line[lead:]).rstrip(_BORDER + " ")


def _read_items(snap: Snapshot, selector: Selector, rows: Iterable[int]) -> list[MenuItem]:
    items: list[MenuItem] = []
    for row in rows:
        match = selector.item.search(snap.lines[row])
        if match is None:
            if items and (more := _description(selector, snap.lines[row])):
                last = items[-1]
                items[-1] = replace(last, description=f"{last.description} {more}".strip())
                continue
            if items and snap.lines[row].strip() and not snap.lines[row].startswith(" " * 4):
                break  # the list ended (an indented row may be a wrapped description)
            continue
        groups = match.groupdict()
        glyph = bool(groups.get("glyph"))
        lit = True
        if selector.highlight is not None:
            start = match.start("glyph") if glyph else match.start()
            text = snap.lines[row][start:]
            cell = snap.cell_at(row, start + len(text) - len(text.lstrip()))
            lit = selector.highlight.matches(cell)
        highlighted = (glyph or not selector.use_glyph) and lit
        label = (groups.get("label") or "").strip()  # an optional label group may match nothing
        current = False
        if selector.current is not None:
            mark = selector.current.search(label)
            if mark:
                current, label = True, (label[: mark.start()] + label[mark.end() :]).strip()
        items.append(
            MenuItem(
                number=int(groups["number"]),
                label=label,
                description=(groups.get("description") or "").strip(),
                highlighted=highlighted,
                current=current,
                key=groups.get("key"),
                row=row,
            )
        )
    return items


def _description(selector: Selector, line: str) -> str:
    """The description text ``line`` holds if it is a description row, else ``""``."""
    found = selector.description_row.search(line) if selector.description_row is not None else None
    if found is None:
        return ""
    return (found.groupdict().get("description") or found.group(0)).strip()


def _highlighted(items: list[MenuItem]) -> int | None:
    return next((i for i, item in enumerate(items) if item.highlighted), None)


def read_menu(snap: Snapshot, profile: Profile) -> Menu | None:
    """The menu (or dialog) at the bottom of the screen, or ``None`` if there is none."""
    rules = profile.menu
    if rules is None:
        return None
    region = tail(snap, rules.rows)
    titles = [
        (row, m) for row in region for pattern in rules.titles if (m := pattern.search(snap.lines[row]))
    ]
    if not titles:
        return None
    row, match = max(titles, key=lambda hit: hit[0])
    title = (match.groupdict().get("title") or match.group(0)).strip()
    items = _read_items(snap, rules.items, range(row + 1, region.stop))
    if not items:
        return None
    return Menu(title, tuple(items), _highlighted(items))


@dataclass(frozen=True)
class PermissionQuestion:
    """A permission question: the whole question block, the command (if one is shown), the
    numbered options and the index highlighted."""

    question: str
    command: str | None
    options: tuple[MenuItem, ...]
    highlighted: int | None

    @property
    def labels(self) -> list[str]:
        """The option labels, in order."""
        return [item.label for item in self.options]


def _unframe(lines: list[str]) -> list[str]:
    """The rows of a box drawn with side borders (``│ text │``, Qwen Code's permission box)
    without the borders; other rows as they are."""
    body = [line.strip() for line in lines if line.strip()]
    if not body or not all(len(line) > 1 and line[0] == line[-1] == "│" for line in body):
        return lines
    return [line.strip()[1:-1].rstrip() if line.strip() else "" for line in lines]


def _dedent(lines: list[str]) -> str:
    lines = _unframe(lines)
    lines = [unboxed(line) for line in lines if not line.strip() or unboxed(line).strip()]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    margin = min((len(line) - len(line.lstrip()) for line in lines if line.strip()), default=0)
    return "\n".join(line[margin:] for line in lines)


def read_permission(snap: Snapshot, profile: Profile) -> PermissionQuestion | None:
    """The permission question at the bottom of the screen, or ``None`` if there is none."""
    rules = profile.permission
    if rules is None:
        return None
    region = tail(snap, rules.rows)
    questions = [row for row in region if rules.question.search(snap.lines[row])]
    if not questions:
        return None
    q_row = questions[-1]
    starts = [row for row in range(region.start, q_row + 1) if rules.start.search(snap.lines[row])]
    if not starts:
        return None
    first = starts[-1] if rules.start_inclusive else starts[-1] + 1
    options = _read_items(snap, rules.options, range(q_row + 1, region.stop))
    if not options:
        return None
    block = [snap.lines[row] for row in range(first, options[0].row)]
    command = None
    if rules.command is not None:
        command = next((m.group("command") for line in block if (m := rules.command.search(line))), None)
    return PermissionQuestion(_dedent(block), command, tuple(options), _highlighted(options))
