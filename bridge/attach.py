"""Attaching a terminal to an agent's tmux session: ``tmux attach`` here, ``ssh -t`` elsewhere,
with the registry's SSH settings (port, user, key, host-key policy)."""

from __future__ import annotations

import os
import shlex

from bridge.config import HostSpec
from bridge.config.registry import Agent

__all__ = ["attach_argv", "ssh_argv"]


def attach_argv(agent: Agent, *, read_only: bool = False) -> list[str]:
    """The command that attaches this terminal to the agent's tmux session.

    Local hosts: ``tmux attach``; SSH hosts: ``ssh -t HOST tmux attach`` with the registry's
    port, user, key and host-key policy. ``read_only`` adds ``-r`` (you cannot type) and never
    lets the watcher's terminal resize the agent's window: ``-f ignore-size`` counts only while
    another client sizes the window, so the window's ``window-size`` is first set to ``manual``.
    """
    spec, target = agent.host, agent.spec.target
    tmux = ["tmux"] + (["-S", spec.tmux_socket] if spec.tmux_socket else [])
    fixed = ["set-option", "-w", "-t", target, "window-size", "manual", ";"] if read_only else []
    tmux += [*fixed, "attach-session", "-t", target] + (["-r", "-f", "ignore-size"] if read_only else [])
    if spec.local:
        return tmux
    return [*ssh_argv(spec), "-t", "--", shlex.join(tmux)]


def ssh_argv(spec: HostSpec) -> list[str]:
    """An OpenSSH ``ssh`` argv (without the remote command) matching a registry host."""
    assert spec.address
    argv = ["ssh"]
    if spec.port:
        argv += ["-p", str(spec.port)]
    if spec.user:
        argv += ["-l", spec.user]
    if spec.identity_file:
        argv += ["-i", os.path.expanduser(spec.identity_file)]
    if spec.known_hosts:
        argv += ["-o", f"UserKnownHostsFile={os.path.expanduser(spec.known_hosts)}"]
    policy = "accept-new" if spec.host_key_policy == "accept-new" else "yes"
    argv += ["-o", f"StrictHostKeyChecking={policy}", spec.address]
    return argv

