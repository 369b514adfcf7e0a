"""A PLAN.md checklist: its tasks read, and one of them ticked in place (pure but for the file).

* A task is a ``- [ ]`` / ``- [x]`` list item (``*`` and ``+`` bullets too) that is not nested in
  another task; the lines indented under it (nested items, notes) are its *context*. The nearest
  heading above it is its *section*. Items inside fenced code blocks are not tasks.
* A task's identity is its text (its first line, without a trailing ``<!-- ... -->`` note) in its
  section, with a count for the same text repeated in one section: a person may edit the rest of
  the file while a swarm runs, and the task is still found by what it says.
* :func:`tick` rewrites the file atomically (temporary file + rename, mode kept), changing only
  that one item's line: ``[ ]`` becomes ``[x]`` with ``<!-- done by W at TIME -->`` after it (in
  place of an earlier failed note), or it stays unchecked with ``<!-- failed: REASON -->``.
  Every other byte (CRLF included) is kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bridge.errors import ConfigError

__all__ = ["Plan", "Task", "parse_plan", "read_plan", "tick"]

_ITEM = re.compile(r"^(?P<indent>[ \t]*)(?P<bullet>[-*+]|\d+[.)])[ \t]+\[(?P<mark>[ xX])\](?P<rest>.*)$")
_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(?P<title>.*?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})")
_NOTE = re.compile(r"[ \t]*<!--(?P<note>.*?)-->[ \t]*$")
_FAILED_NOTE = re.compile(r"[ \t]*<!--\s*failed:.*?-->[ \t]*$")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def _lines(text: str) -> list[str]:
    """The lines of ``text`` with their endings (only CR, LF and CRLF end a line, unlike
    ``str.splitlines``: a form feed in the text stays where it is)."""
    return _LINE.findall(text)


@dataclass(frozen=True)
class Task:
    """One task of a plan (see the module's docstring for what identifies it)."""

    text: str
    section: str
    done: bool
    line: int  # 0-based index of its line when read
    occurrence: int = 1  # the n-th task with this text in this section
    context: str = ""
    note: str | None = None  # its trailing HTML comment's text, if any

    @property
    def key(self) -> str:
        """A stable short identity: SHA-256 of section, text and occurrence (hex, 64 chars)."""
        raw = f"{self.section}\x1f{self.text}\x1f{self.occurrence}"
        return hashlib.sha256(raw.encode()).hexdigest()

    @property
    def label(self) -> str:
        """How a person names it: ``section › text``."""
        return f"{self.section} › {self.text}" if self.section else self.text


@dataclass(frozen=True)
class Plan:
    """A plan file and its tasks, in file order."""

    path: Path
    tasks: tuple[Task, ...]

    def find(self, key: str) -> Task | None:
        return next((task for task in self.tasks if task.key == key), None)


def _indent(text: str) -> int:
    return len(text.expandtabs(4)) - len(text.expandtabs(4).lstrip(" "))


def _split_note(rest: str) -> tuple[str, str | None]:
    match = _NOTE.search(rest)
    if match is None:
        return rest.strip(), None
    return rest[: match.start()].strip(), match.group("note").strip()


def parse_plan(text: str, path: Path | str = "PLAN.md") -> Plan:
    """The tasks of a plan's text (any line endings)."""
    lines = [line.rstrip("\r\n") for line in _lines(text)]
    tasks: list[Task] = []
    seen: dict[tuple[str, str], int] = {}
    section = ""
    fence: str | None = None
    current: tuple[int, int, list[str]] | None = None  # (task index, its indent, context lines)

    def close() -> None:
        if current is not None:
            index, _, context = current
            while context and not context[-1].strip():
                context.pop()
            tasks[index] = _with_context(tasks[index], context)

    for number, line in enumerate(lines):
        opened = _FENCE.match(line)
        if fence is not None:
            if opened and opened.group("fence")[0] == fence[0] and len(opened.group("fence")) >= len(fence):
                fence = None
            if current is not None:
                current[2].append(line)
            continue
        if opened:
            fence = opened.group("fence")
            if current is not None and _indent(line) > current[1]:
                current[2].append(line)
            continue
        heading = _HEADING.match(line)
        if heading:
            close()
            current = None
            section = heading.group("title")
            continue
        if current is not None and (not line.strip() or _indent(line) > current[1]):
            current[2].append(line)  # nested under the current task: its context
            continue
        close()
        current = None
        item = _ITEM.match(line)
        if item is None:
            continue
        body, note = _split_note(item.group("rest"))
        if not body:
            continue
        occurrence = seen.get((section, body), 0) + 1
        seen[(section, body)] = occurrence
        tasks.append(Task(body, section, item.group("mark") != " ", number, occurrence, "", note))
        current = (len(tasks) - 1, _indent(item.group("indent")), [])
    close()
    return Plan(Path(path), tuple(tasks))


def _with_context(task: Task, lines: list[str]) -> Task:
    if not lines:
        return task
    cut = min(_indent(line) for line in lines if line.strip())
    context = "\n".join(line.expandtabs(4)[cut:] if line.strip() else "" for line in lines)
    return Task(task.text, task.section, task.done, task.line, task.occurrence, context, task.note)


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the plan {path}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"the plan {path} is not UTF-8 text (byte {exc.start})",
                          hint="save it as UTF-8") from None  # fmt: skip


def read_plan(path: Path | str) -> Plan:
    """The plan in the file ``path``; one with no task is a :class:`ConfigError` (exit 2)."""
    path = Path(path)
    plan = parse_plan(_read_text(path), path)
    if not plan.tasks:
        raise ConfigError(f"the plan {path} has no tasks", hint="tasks are list items: - [ ] what to do")
    return plan


def tick(path: Path | str, key: str, note: str, *, failed: bool = False) -> str:
    """Mark the task ``key`` in the file: done (``[x]`` and ``<!-- NOTE -->``) or, with ``failed``,
    left unchecked with ``<!-- failed: NOTE -->`` (replacing an earlier failed note).

    Returns ``"ticked"``, ``"noted"`` (failed), ``"already"`` (it was checked by someone) or
    ``"missing"`` (its text is no longer in the file: nothing was changed).
    """
    path = Path(path)
    text = _read_text(path)
    task = parse_plan(text, path).find(key)
    if task is None:
        return "missing"
    if task.done:
        return "already"
    lines = _lines(text)
    line = lines[task.line]
    body = line.rstrip("\r\n")
    ending = line[len(body) :]
    if failed:
        clean = " ".join(note.replace("--", "- -").split())
        body = _FAILED_NOTE.sub("", body) + f" <!-- failed: {clean} -->"
    else:
        item = _ITEM.match(body)
        assert item is not None  # parse_plan found a task on this line
        mark = item.start("mark")
        body = _FAILED_NOTE.sub("", f"{body[:mark]}x{body[mark + 1 :]}")  # done now: the failure is past
        body += f" <!-- {' '.join(note.replace('--', '- -').split())} -->"
    lines[task.line] = body + ending
    _replace(path, "".join(lines))
    return "noted" if failed else "ticked"


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, keeping its mode."""
    mode = path.stat().st_mode & 0o7777
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
