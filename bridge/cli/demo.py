"""``agent-bridge demo``: the bundled demo agent, asked one question, with nothing configured."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from bridge.cli.app import OPTS, app, run_async
from bridge.cli.params import JsonOpt


@app.command()
def demo(
    prompt: Annotated[str, typer.Option("--prompt", "-p", help="What to ask the demo agent.")] = (
        "What is 6 x 7?"
    ),
    approve: Annotated[
        str | None,
        typer.Option(
            "--approve",
            help="Answer the demo's pending permission question (yes, no or an option number) "
            "and print its reply, instead of asking something.",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Start the bundled demo agent in a private local tmux server, ask it something, show the reply.

    No SSH and no registry needed; only tmux. The agent keeps running so you can watch it; a
    demo agent left busy or on a question is replaced by a fresh one on the next run. Ask it
    `run ls` to see a permission question (exit 5), then answer it with `--approve yes`.
    """
    from bridge.demo.session import run_demo  # lazy: `agent-bridge --help` stays fast

    result = run_async(lambda: run_demo(prompt, approve=approve), as_json=as_json)
    if as_json or OPTS.json:
        print(json.dumps({**result.reply.to_dict(), "socket": result.socket}, ensure_ascii=False))
        return
    if approve is None:
        print(f"asked the demo agent: {prompt}")
    else:
        print(f"answered {approve} to the demo agent's question")
    print(f"it replied ({result.reply.source}, {result.reply.elapsed_s:.2f}s): {result.reply.reply}")
    print()
    print(f"watch it live (read-only): tmux -S {result.socket} attach -t demo -r")
    print(f"stop it:                   tmux -S {result.socket} kill-server")
