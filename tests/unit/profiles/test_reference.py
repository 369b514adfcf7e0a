"""bridge/profiles/README.md, the profile reference: its example loads, and it names every key."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from bridge.profiles import BUILTIN_DIR, Profile, load_profile_file

README = BUILTIN_DIR / "README.md"


def test_the_annotated_example_is_a_valid_profile(tmp_path: Path) -> None:
    text = README.read_text()
    example = text.split("## An annotated example", 1)[1].split("```toml", 1)[1].split("```", 1)[0]
    path = tmp_path / "mycli.toml"
    path.write_text(example)
    profile = load_profile_file(path)
    assert profile.agent == "MyCLI" and profile.resume == "mycli --resume {session_id}"
    assert profile.model is not None and profile.permission is not None


def _keys(model: type[BaseModel]) -> set[str]:
    found = set(model.model_fields)
    for field in model.model_fields.values():
        for kind in re.findall(r"[A-Z]\w+", str(field.annotation)):
            sub = getattr(__import__("bridge.profiles.model", fromlist=[kind]), kind, None)
            if isinstance(sub, type) and issubclass(sub, BaseModel) and sub is not model:
                found |= _keys(sub)
    return found


def test_every_key_of_the_format_is_documented() -> None:
    text = README.read_text()
    forms = ("`{}`", "[{}", ".{}]", "{} =", "{} ")
    missing = sorted(k for k in _keys(Profile) if k != "name" and not any(f.format(k) in text for f in forms))
    assert missing == []
