"""Every command takes ``--json``, before or after its arguments (#16 item 6): the whole typer
app is walked, so a command added without ``--json`` fails here."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from bridge.cli.main import app
from bridge.cli.wg import wg_app
from tests.helpers.wg import ENDPOINT

HIDDEN = {"_broker"}  # the broker's own entry point, started by the CLI, never by a person
SAMPLES = {"action": "show"}  # arguments with a fixed set of values (`logs AGENT show`)


def leaves() -> Iterator[tuple[str, Any]]:
    """Every runnable command of the app, as ``("wg add-peer", command)``."""
    root = typer.main.get_command(app)
    ctx = root.make_context("agent-bridge", ["hosts"], resilient_parsing=True)

    def walk(command: Any, path: list[str]) -> Iterator[tuple[str, Any]]:
        if hasattr(command, "list_commands"):
            for name in command.list_commands(ctx):
                yield from walk(command.get_command(ctx, name), [*path, name])
        elif path[-1] not in HIDDEN:
            yield " ".join(path), command

    yield from walk(root, [])


def required(command: Any) -> list[str]:
    """Sample values for the command's required arguments and options."""
    argv: list[str] = []
    for param in command.params:
        if not param.required:
            continue
        if param.param_type_name == "argument":
            argv.append(SAMPLES.get(param.name, "1"))
        else:
            argv += [param.opts[0], "claude-code"]
    return argv


COMMANDS = dict(leaves())


def test_the_walk_finds_the_commands() -> None:
    assert {"ask", "keys", "wg show", "wg render", "wg add-peer", "msg send", "skill show"} <= set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_takes_json_before_and_after_its_arguments(name: str) -> None:
    command = COMMANDS[name]
    flags = [p for p in command.params if "--json" in p.opts]
    assert flags, f"`agent-bridge {name}` has no --json"
    args = required(command)
    for argv in (["--json", *args], [*args, "--json"]):
        ctx = command.make_context(name.split()[-1], list(argv))
        assert ctx.params[flags[0].name] is True, argv


def test_wg_commands_print_json(tmp_path: Path) -> None:
    runner = CliRunner()
    where = ["--state-dir", str(tmp_path)]

    def call(*args: str) -> Any:
        result = runner.invoke(wg_app, [*args, *where])
        assert result.exit_code == 0, result.output
        assert result.stderr == "", "no chatter on stderr with --json"
        return json.loads(result.stdout)

    made = call("init", "--endpoint", ENDPOINT, "--json")
    assert made["hub"]["address"] == "10.77.0.1" and "private_key" not in made["hub"]
    peer = call("add-peer", "laptop", "--json")
    assert peer["address"] == "10.77.0.2" and "PrivateKey = " in peer["config"]
    shown = call("show", "--json")
    assert [p["name"] for p in shown["peers"]] == ["laptop"]
    assert "private_key" not in json.dumps(shown) and "preshared_key" not in json.dumps(shown)
    assert "[Interface]" in call("render", "--json", "hub")["config"]
    assert call("remove-peer", "laptop", "--json") == {"removed": "laptop", "address": "10.77.0.2"}


def test_wg_error_with_json_is_a_json_object(tmp_path: Path) -> None:
    result = CliRunner().invoke(wg_app, ["show", "--json", "--state-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "agent-bridge wg init" in json.loads(result.stdout)["message"]


def test_help_is_plain_text_wrapped_by_paragraph() -> None:
    """#16: no `<bool>` after a flag, and a docstring's line breaks do not break a sentence."""

    def help_of(*command: str) -> str:
        return subprocess.run([sys.executable, "-m", "bridge", *command, "--help"], capture_output=True,
                              text=True, timeout=30, env={"COLUMNS": "80", "PATH": ""}).stdout  # fmt: skip

    for command in (["ask"], ["wg", "render"], ["init"], []):
        out = help_of(*command)
        assert "Usage:" in out and "<bool>" not in out and "╭" not in out, command
    lines = help_of("ask").split("Exit 4 if", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(lines) > 1 and all(len(line) >= 60 for line in lines[:-1]), lines
