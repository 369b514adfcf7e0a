"""Profile loading: built-ins, user overrides, and one-line errors naming file, key and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.errors import ProfileError
from bridge.profiles import BUILTIN_DIR, list_profiles, load_profile, load_profile_file

MINIMAL = """
agent = "My Agent"
version = "1.0"
[process]
names = ["myagent"]
[states.idle]
always = true
"""


def _write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _error(path: Path) -> str:
    with pytest.raises(ProfileError) as info:
        load_profile_file(path)
    message = str(info.value)
    assert "\n" not in message, "errors are one line"
    assert str(path) in message, "errors name the file"
    return message


@pytest.mark.parametrize("name", ["claude-code", "codex", "shell", "demo"])
def test_builtin_profiles_load(name: str) -> None:
    profile = load_profile(name)
    assert profile.name == name
    assert profile.agent and profile.version
    assert profile.states.idle is not None


def test_builtin_fields_the_driver_needs() -> None:
    claude, codex = load_profile("claude-code"), load_profile("codex")
    assert (claude.version, codex.version) == ("2.1.197", "0.169.0")
    assert codex.submit.min_gap_ms == 50 and codex.submit.gap_ms >= 50
    assert (claude.resume, claude.resume_last) == ("claude --resume {session_id}", "claude --continue")
    # --no-daemon on both: without it an app-server daemon outlives the pane
    assert (codex.resume, codex.resume_last) == (
        "codex resume --no-daemon {session_id}",
        "codex resume --last --no-daemon",
    )
    assert claude.transcript.kind == "claude-jsonl" and claude.transcript.config_dir == ".claude"
    assert codex.transcript.kind == "codex-jsonl"
    assert load_profile("shell").transcript.kind == "none"
    assert claude.model is not None and claude.model.command == "/model"
    assert claude.resume_id is not None
    match = claude.resume_id.search("claude --resume fe3e7271-1256-41d4-aef3-f857b71a1e55")
    assert match is not None and match.group("id") == "fe3e7271-1256-41d4-aef3-f857b71a1e55"
    assert "claude" in claude.process.names and "bash" in claude.process.shells
    assert load_profile("shell").process.shells == []


def test_list_builtins() -> None:
    infos = {info.name: info for info in list_profiles(None)}
    assert {"claude-code", "codex", "shell", "demo"} <= set(infos)
    assert infos["codex"].agent == "Codex CLI" and infos["codex"].version == "0.169.0"
    assert infos["codex"].builtin and infos["codex"].source == BUILTIN_DIR / "codex.toml"
    assert all(info.error is None for info in infos.values())


def test_user_profile_overrides_builtin_by_name(tmp_path: Path) -> None:
    path = _write(tmp_path, "shell", MINIMAL)
    profile = load_profile("shell", tmp_path)
    assert (profile.name, profile.agent) == ("shell", "My Agent")
    info = {i.name: i for i in list_profiles(tmp_path)}["shell"]
    assert (info.source, info.builtin, info.agent) == (path, False, "My Agent")
    assert load_profile("shell", None).agent == "Shell"  # the built-in is still there


def test_user_profile_adds_an_agent(tmp_path: Path) -> None:
    _write(tmp_path, "myagent", MINIMAL)
    assert load_profile("myagent", tmp_path).process.names == ["myagent"]
    assert "myagent" in {i.name for i in list_profiles(tmp_path)}


def test_missing_user_dir_is_fine(tmp_path: Path) -> None:
    assert load_profile("codex", tmp_path / "nope").name == "codex"


def test_unknown_profile(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as info:
        load_profile("nope", tmp_path)
    assert "nope" in str(info.value) and "claude-code" in str(info.value)


@pytest.mark.parametrize("name", ["", ".hidden", "../profiles/claude-code", "sub/claude-code", "shell\0"])
def test_a_profile_name_is_a_file_name_in_the_profile_folders(tmp_path: Path, name: str) -> None:
    (tmp_path / ".hidden.toml").write_text((BUILTIN_DIR / "shell.toml").read_text())
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "claude-code.toml").write_text((BUILTIN_DIR / "shell.toml").read_text())
    with pytest.raises(ProfileError, match="no profile named"):
        load_profile(name, tmp_path)


def test_toml_syntax_error(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "bad", 'agent = "x"\nversion = \n'))
    assert "invalid TOML" in message and "line 2" in message


def test_unknown_key(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "bad", MINIMAL + "[reply]\nprefixx = '^● '\n"))
    assert "key 'reply.prefixx'" in message and "unknown key" in message


def test_unknown_key_deep(tmp_path: Path) -> None:
    text = MINIMAL + "[[states.busy.any]]\nregex = 'x'\nwhere = 'tail'\nrow = 3\n"
    message = _error(_write(tmp_path, "bad", text))
    assert "key 'states.busy.any.0.row'" in message and "unknown key" in message


def test_bad_regex(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "bad", MINIMAL + "[reply]\nprefix = '^(● '\n"))
    assert "key 'reply.prefix'" in message
    assert "bad regular expression '^(● '" in message and "missing )" in message


def test_regex_without_its_named_group(tmp_path: Path) -> None:
    text = MINIMAL + "[input]\nfirst = { regex = '^> ' }\ncontinuation = '^  (?P<text>.*)$'\n"
    message = _error(_write(tmp_path, "bad", text))
    assert "key 'input'" in message and "(?P<text>...)" in message


def test_missing_required_key(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "bad", 'agent = "x"\nversion = "1"\n[states.idle]\nalways = true\n'))
    assert "key 'process'" in message and "missing" in message


def test_wrong_type(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "bad", MINIMAL + "[submit]\ngap_ms = 'soon'\n"))
    assert "key 'submit.gap_ms'" in message


def test_gap_below_minimum(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "bad", MINIMAL + "[submit]\ngap_ms = 10\nmin_gap_ms = 50\n"))
    assert "gap_ms 10 is below min_gap_ms 50" in message


def test_empty_state_rule(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "bad", MINIMAL + "[states.busy]\n"))
    assert "key 'states.busy'" in message and "needs a condition" in message


def test_name_must_match_file(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, "mine", 'name = "other"\n' + MINIMAL))
    assert "key 'name'" in message


def test_invalid_user_profile_is_listed_with_its_error(tmp_path: Path) -> None:
    _write(tmp_path, "broken", "agent = \n")
    info = {i.name: i for i in list_profiles(tmp_path)}["broken"]
    assert info.error is not None and "invalid TOML" in info.error
    with pytest.raises(ProfileError):
        load_profile("broken", tmp_path)


def test_a_profile_is_read_once_until_its_file_changes(tmp_path: Path) -> None:
    import os

    path = _write(tmp_path, "mine", MINIMAL)
    first = load_profile_file(path)
    assert load_profile_file(path) is first, "unchanged: not read again"
    path.write_text(MINIMAL.replace('"1.0"', '"2.0"'), encoding="utf-8")
    os.utime(path, ns=(1, 1))  # a different modification time, whatever the clock's resolution
    assert load_profile_file(path).version == "2.0"
    path.write_text("not = [toml", encoding="utf-8")
    assert "invalid TOML" in _error(path), "a broken edit is an error, not the old profile"
