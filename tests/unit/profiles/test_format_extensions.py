"""Two profile-format keys: ``[model] before`` (menus on the way to the model list) and
``[permission.answers]`` (the labels approve's yes / always / no choose). Both are optional:
profiles without them load as before."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.errors import ProfileError
from bridge.profiles import PermissionAnswers, Profile, load_profile, load_profile_file
from tests.unit.profiles.test_profiles import MINIMAL

BASE = MINIMAL + """
[permission]
start = '^x'
question = '^Allow\\?'
[permission.options]
item = '^(?P<glyph>>)? ?(?P<number>\\d+)\\. (?P<label>.+)$'
[model]
title = '^Models$'
confirmed = '^set (?P<model>\\S+)'
"""


def _load(tmp_path: Path, extra: str) -> Profile:
    path = tmp_path / "mine.toml"
    path.write_text(BASE + extra, encoding="utf-8")
    return load_profile_file(path)


def test_without_the_new_keys_nothing_changes(tmp_path: Path) -> None:
    (tmp_path / "p.toml").write_text(BASE, encoding="utf-8")
    profile = load_profile_file(tmp_path / "p.toml")
    assert profile.model is not None and profile.model.before == []
    assert profile.permission is not None and profile.permission.answers == PermissionAnswers()
    for name in ("claude-code", "codex"):
        builtin = load_profile(name)
        assert builtin.model is not None and builtin.model.before == []
        assert builtin.permission is not None and builtin.permission.answers == PermissionAnswers()


def test_menu_steps_and_answer_words(tmp_path: Path) -> None:
    profile = _load(tmp_path, """
before = [{ title = '^Mode$', pick = "Manual" }, { title = '^Family$', pick = "2" }]
[permission.answers]
yes = ["Allow once"]
always = ["Allow for this session", "Always"]
""")  # the [model] table continues: before is one of its keys
    assert profile.model is not None and profile.permission is not None
    steps = [(s.title.pattern, s.pick) for s in profile.model.before]
    assert steps == [("^Mode$", "Manual"), ("^Family$", "2")]
    answers = profile.permission.answers
    assert answers.yes == ["Allow once"] and answers.always == ["Allow for this session", "Always"]
    assert answers.no is None


@pytest.mark.parametrize(
    ("extra", "key"),
    [("before = [{ title = '^Mode$' }]", "model.before.0.pick"),
     ("before = [{ title = '(', pick = 'x' }]", "model.before.0.title"),
     ("before = [{ title = '^M$', pick = '' }]", "model.before.0.pick"),
     ("[permission.answers]\nmaybe = ['x']", "permission.answers.maybe")],
)  # fmt: skip
def test_mistakes_name_the_key(tmp_path: Path, extra: str, key: str) -> None:
    with pytest.raises(ProfileError, match=key.replace(".", r"\.")):
        _load(tmp_path, extra)


def test_gemini_cli_uses_both() -> None:
    gemini = load_profile("gemini-cli")
    assert gemini.model is not None and [s.pick for s in gemini.model.before] == ["Manual"]
    assert gemini.permission is not None
    assert gemini.permission.answers == PermissionAnswers(
        yes=["Allow once"], always=["Allow for this session"], no=["No"]
    )
    assert gemini.version == "0.61.0" and gemini.transcript.kind == "gemini-json"
    assert gemini.model.save_keys == ["Tab"] and load_profile("claude-code").model.save_keys == []  # type: ignore[union-attr]
