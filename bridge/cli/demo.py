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
    as_json: JsonOpt = False,
) -> None:
    """Start the bundled demo agent in a private local tmux server, ask it something, show the reply.

    No SSH and no registry needed; only tmux. The agent keeps running so you can watch it.
    """
    from bridge.demo.session import run_demo  # lazy: `agent-bridge --help` stays fast

    result = run_async(lambda: run_demo(prompt), as_json=as_json)
    if as_json or OPTS.json:
        print(json.dumps({**result.reply.to_dict(), "socket": result.socket}, ensure_ascii=False))
        return
    print(f"asked the demo agent: {prompt}")
    print(f"it replied ({result.reply.source}, {result.reply.elapsed_s:.2f}s): {result.reply.reply}")
    print()
    print(f"watch it live (read-only): tmux -S {result.socket} attach -t demo -r")
    print(f"stop it:                   tmux -S {result.socket} kill-server")
