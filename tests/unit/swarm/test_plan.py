"""PLAN.md read and ticked: tricky Markdown (nested items, code blocks, duplicate texts in two
sections, CRLF), and a tick that changes one line and nothing else."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bridge.errors import ConfigError
from bridge.swarm.plan import parse_plan, read_plan, tick

PLAN = """# Docs plan

Intro text with - [ ] not an item at line start.

## Guides
- [ ] Write the install guide
  - [ ] mention pip
  - [x] mention uv
  notes: keep it short
- [x] Write the FAQ <!-- done by w1 at 2026-01-01 -->
* [ ] Write the changelog

```markdown
- [ ] an example inside a code block
```

## API
- [ ] Write the install guide
1. [ ] Numbered task
- [] not a task
- [ ] Write the install guide
"""


def test_tasks_sections_context_and_identity() -> None:
    plan = parse_plan(PLAN)
    assert [(t.section, t.text, t.done, t.occurrence) for t in plan.tasks] == [
        ("Guides", "Write the install guide", False, 1),
        ("Guides", "Write the FAQ", True, 1),
        ("Guides", "Write the changelog", False, 1),
        ("API", "Write the install guide", False, 1),
        ("API", "Numbered task", False, 1),
        ("API", "Write the install guide", False, 2),
    ]
    first = plan.tasks[0]
    assert first.context == "- [ ] mention pip\n- [x] mention uv\nnotes: keep it short"
    assert plan.tasks[1].note == "done by w1 at 2026-01-01"
    assert len({t.key for t in plan.tasks}) == 6  # same text, other section or occurrence: other key
    assert first.label == "Guides › Write the install guide"


def test_a_tick_changes_that_line_only_and_keeps_crlf_and_mode(tmp_path: Path) -> None:
    path = tmp_path / "PLAN.md"
    original = PLAN.replace("\n", "\r\n").encode()
    path.write_bytes(original)
    os.chmod(path, 0o640)
    api = next(t for t in read_plan(path).tasks if t.section == "API")
    assert tick(path, api.key, "done by w2 at 10:00") == "ticked"
    after = path.read_bytes()
    assert os.stat(path).st_mode & 0o777 == 0o640
    changed = [(a, b) for a, b in zip(original.split(b"\r\n"), after.split(b"\r\n"), strict=True) if a != b]
    ticked = b"- [x] Write the install guide <!-- done by w2 at 10:00 -->"
    assert changed == [(b"- [ ] Write the install guide", ticked)]
    assert after.count(b"\r\n") == original.count(b"\r\n")
    guides = read_plan(path).tasks[0]
    assert (guides.section, guides.done) == ("Guides", False)  # the same text in Guides untouched
    assert tick(path, api.key, "again") == "already"


def test_failed_notes_replace_each_other_and_keep_the_identity(tmp_path: Path) -> None:
    path = tmp_path / "PLAN.md"
    path.write_text("- [ ] Only task\n")
    key = read_plan(path).tasks[0].key
    assert tick(path, key, "timeout after 3 attempts", failed=True) == "noted"
    assert tick(path, key, "worker died -- twice", failed=True) == "noted"
    assert path.read_text() == "- [ ] Only task <!-- failed: worker died - - twice -->\n"
    assert read_plan(path).tasks[0].key == key  # the note is not part of the identity
    assert tick(path, key, "done by w") == "ticked"
    assert path.read_text() == "- [x] Only task <!-- done by w -->\n"


def test_a_task_whose_text_changed_is_not_ticked(tmp_path: Path) -> None:
    path = tmp_path / "PLAN.md"
    path.write_text("- [ ] Alpha\n- [ ] Beta\n")
    key = read_plan(path).tasks[0].key
    path.write_text("- [ ] Alpha, reworded\n- [ ] Beta\n")
    assert tick(path, key, "done") == "missing"
    assert path.read_text() == "- [ ] Alpha, reworded\n- [ ] Beta\n"


def test_a_form_feed_is_not_a_line_break(tmp_path: Path) -> None:
    path = tmp_path / "PLAN.md"
    path.write_bytes(b"page\x0cbreak\n- [ ] T\n")
    assert tick(path, read_plan(path).tasks[0].key, "done") == "ticked"
    assert path.read_bytes() == b"page\x0cbreak\n- [x] T <!-- done -->\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"# Just a heading\n\n```\n- [ ] in code\n```\n", "has no tasks"),
        (b"- [ ] caf\xe9\n", "is not UTF-8"),
    ],
)
def test_a_malformed_plan_is_one_config_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "PLAN.md"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        read_plan(path)
    with pytest.raises(ConfigError, match="cannot read the plan"):
        read_plan(tmp_path / "missing.md")
