"""``agent-bridge profiles``: list the agent profiles, and check what one reads on a saved screen.

``profiles check FILE --screen CAPTURE.ans`` is the profile author's tool: it prints what the
profile reads on a capture (``tmux capture-pane -p -e -t PANE > NAME.ans``): the state, the input
box, the past turns, the reply, the menu rows, the permission options and the model shown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from bridge.cli.app import app, emit, leave, reported
from bridge.cli.output import profile_lines
from bridge.cli.params import JsonOpt

profiles_app = typer.Typer(
    help="Agent profiles: how each agent CLI's screen looks (built-in ones and yours in "
    "~/.config/agent-bridge/profiles/*.toml). Writing one: see bridge/profiles/README.md.",
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(profiles_app, name="profiles")


@profiles_app.callback()
def profiles(
    ctx: typer.Context,
    check: Annotated[bool, typer.Option("--check", help="Exit 2 if a profile is broken.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List the agent profiles: built-in ones and yours; a broken one is listed with its error."""
    if ctx.invoked_subcommand is not None:
        return
    from bridge.config.paths import config_dir  # lazy: `agent-bridge --help` stays fast
    from bridge.profiles import list_profiles

    with reported(as_json):
        infos = list_profiles(config_dir() / "profiles")
    rows = [
        {"name": i.name, "agent": i.agent, "version": i.version, "source": str(i.source), "error": i.error}
        for i in infos
    ]
    broken = [row for row in rows if row["error"]]
    text = profile_lines(rows) + "".join(f"\nBROKEN {row['name']}: {row['error']}" for row in broken)
    emit(rows, text, as_json)
    leave(2 if check and broken else 0)


def _report(seen: dict[str, Any]) -> str:
    lines = [f"profile {seen['profile']}: state {seen['state']}"]
    box = seen["input"]
    lines.append(
        "input box: none"
        if box is None
        else f"input box: rows {box['first_row']}-{box['last_row']}, text {box['text']!r}"
    )
    for turn in seen["turns"]:
        cut = " (its start is above the screen)" if turn["truncated"] else ""
        lines.append(f"turn: rows {turn['first_row']}-{turn['last_row']}: {turn['text']!r}{cut}")
    reply = seen["reply"]
    if reply is not None and not reply["text"]:
        lines.append("reply: none yet")
    elif reply is not None:
        lines.append(f"reply ({'complete' if reply['complete'] else 'partial'}):")
        lines += [f"  | {line}" for line in reply["text"].splitlines()]
    for kind, block in (("menu", seen["menu"]), ("permission", seen["permission"])):
        if block is None:
            continue
        head = block.get("title") or block.get("question", "")
        lines.append(
            f"{kind}: {head!r}" + (f", command {block['command']!r}" if block.get("command") else "")
        )
        for item in block.get("items") or block.get("options"):
            marks = ("> " if item["highlighted"] else "  ") + ("(current) " if item["current"] else "")
            lines.append(
                f"  {marks}{item['number']}. {item['label']}"
                + (f"  - {item['description']}" if item["description"] else "")
            )
    if seen["model"]:
        lines.append(f"model shown: {seen['model']}")
    return "\n".join(lines)


@profiles_app.command("check")
def check(
    file: Annotated[Path, typer.Argument(help="The profile (.toml) to check, or a profile's name.")],
    screen: Annotated[
        Path,
        typer.Option("--screen", "-s", help="A saved capture: tmux capture-pane -p -e -t PANE > NAME.ans"),
    ],
    prompt: Annotated[
        str | None,
        typer.Option("--prompt", "-p", help="Read the reply to this prompt (default: the last turn)."),
    ] = None,
    command: Annotated[
        str | None, typer.Option("--command", help="The pane's current command, e.g. bash (dead).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Print what a profile reads on a saved screen: state, input box, turns, reply, menu rows,
    permission options, model. A NAME.meta beside the capture (e.g. `200x50 cursor=2,6`) gives
    the pane width and cursor."""
    from bridge.config.paths import config_dir
    from bridge.profiles import load_profile, load_profile_file
    from bridge.reading.inspect import inspect_screen
    from bridge.screen.capture import load_capture

    with reported(as_json):
        is_file = file.suffix == ".toml" or file.exists()
        profile = load_profile_file(file) if is_file else load_profile(str(file), config_dir() / "profiles")
        seen = inspect_screen(load_capture(screen), profile, prompt=prompt, current_command=command)
    emit(seen, _report(seen), as_json)
