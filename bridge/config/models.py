"""Typed configuration: hosts, agents and settings as they appear in a registry file.

A registry is TOML::

    [hosts.vps]
    address = "10.8.0.1"          # an IP, a DNS name, or an alias from ~/.ssh/config
    user = "dax"
    [hosts.laptop]
    local = true                  # tmux on this machine, no SSH
    [agents.claude]
    host = "vps"
    target = "agents:claude.0"    # tmux session:window.pane
    profile = "claude-code"

Precedence of settings: command line > environment (``AGENT_BRIDGE_*``) > ``[settings]`` in the file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bridge.errors import ConfigError

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
# session[:window[.pane]] — tmux's own target syntax, restricted to what is unambiguous.
TARGET_RE = re.compile(r"^(?P<session>[^:.\s]+)(?::(?P<window>[^:.\s]*)(?:\.(?P<pane>\d+))?)?$")


class _Model(BaseModel):
    # strict: a config typo such as port = "22" or local = "yes" is an error, not a guess.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class HostSpec(_Model):
    """Where tmux runs: this machine (``local = true``) or a host reached over SSH."""

    local: bool = False
    address: str | None = Field(
        default=None, description="IP, DNS name or ~/.ssh/config alias (HostName, User, ... honoured)"
    )
    user: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    identity_file: str | None = None
    known_hosts: str | None = None
    host_key_policy: Literal["strict", "accept-new"] = "strict"
    tmux_socket: str | None = Field(default=None, description="tmux -S on that host")
    connect_timeout: float = Field(default=10.0, gt=0, le=300)
    keepalive_interval: float = Field(default=15.0, ge=0, le=3600)

    @model_validator(mode="after")
    def _local_or_address(self) -> HostSpec:
        if self.local and self.address:
            raise ValueError("set either local = true or address, not both")
        if not self.local and not self.address:
            raise ValueError("needs address = \"...\" (or local = true for this machine)")
        return self


class AgentSpec(_Model):
    """A named agent: which host, which tmux pane, which profile reads its screen."""

    host: str
    target: str = Field(description="tmux target session:window.pane, e.g. agents:claude.0")
    profile: str = "shell"
    start: str | None = Field(
        default=None, description="command `agent-bridge start` runs (default: the profile's)"
    )
    resume: str | None = Field(
        default=None,
        description="command `restart` runs in the dead agent's shell (default: the profile's); "
        "{session_id} is this agent's own session",
    )
    cwd: str | None = None
    permissions: Literal["ask", "deny"] = "ask"
    restart: Literal["manual", "auto"] = "manual"
    env: dict[str, str] = Field(
        default_factory=dict, description="environment of the agent's pane when `up`/`start` creates it"
    )
    wake_budget: int = Field(default=12, ge=0, le=1000, description="hub wakes per hour at most")
    wake_text: str | None = Field(
        default=None,
        description="the hub's one-line nudge; {agent} {count} {senders} {subject} are filled in",
    )

    @field_validator("target")
    @classmethod
    def _valid_target(cls, value: str) -> str:
        if not TARGET_RE.match(value):
            raise ValueError(
                f"{value!r} is not a tmux target; write session, session:window "
                "or session:window.pane (e.g. agents:claude.0)"
            )
        return value


class HubSpec(_Model):
    """Where the hub is (``url``, for every client) and, on the hub's machine, how it runs."""

    url: str | None = Field(default=None, description="e.g. http://10.77.0.1:7878 (the WireGuard address)")
    listen: str | None = Field(default=None, description="ADDR:PORT for `hub serve`; default 127.0.0.1:7878")
    store: str | None = Field(default=None, description="a SQLite path or a postgresql:// URL")
    token_file: str | None = Field(default=None, description="this machine's token file (0600)")
    log_text: bool = Field(
        default=True, description="keep prompts and replies in the event log (false: their size and hash)"
    )


class Settings(_Model):
    """Defaults that the environment and the command line may override."""

    timeout: float = Field(default=600.0, gt=0, description="seconds an ask may take")
    keep_lock: float = Field(
        default=60.0,
        ge=0,
        description="seconds a warm process (the broker, the MCP server, a Bridge) keeps an agent's "
        "pane reserved after an ask, so that its next ask types at once; any other caller that "
        "wants the pane gets it right away (0: release at once)",
    )
    restart_limit: int = Field(
        default=3, ge=1, description='auto restarts within restart_window before the agent is "failed"'
    )
    restart_window: float = Field(default=600.0, gt=0, description="seconds the restart_limit counts over")


class WindowSpec(_Model):
    """A tmux window of the fleet (``[windows."SESSION:WINDOW"]``)."""

    layout: str | None = Field(
        default=None,
        description="tmux layout `up` applies: even-horizontal, even-vertical, main-horizontal, "
        "main-vertical, tiled (or a layout string)",
    )


class ScheduleSpec(_Model):
    """A ``[[schedule]]`` entry the hub runs: at ``cron`` times (local time, five fields:
    minute hour day month weekday, and an optional sixth: seconds), ``ask`` agent ``prompt``, or
    write the ``report`` to that file on the hub (``{date}`` is filled in), covering ``since``
    seconds back."""

    cron: str = Field(description='e.g. "0 1 * * *" (01:00 every day)')
    ask: str | None = Field(default=None, description="the agent to ask")
    prompt: str | None = None
    report: str | None = Field(default=None, description="a file on the hub, e.g. ~/reports/{date}.md")
    since: float = Field(default=8 * 3600.0, gt=0, description="seconds the report covers")

    @model_validator(mode="after")
    def _one_job(self) -> ScheduleSpec:
        if len(self.cron.split()) not in (5, 6):
            raise ValueError(f"cron {self.cron!r}: five fields (minute hour day month weekday), "
                             "and a sixth for seconds if you need it")  # fmt: skip
        if (self.ask is None) == (self.report is None):
            raise ValueError("a schedule entry either asks an agent (ask, prompt) or writes a report")
        if self.ask is not None and not self.prompt:
            raise ValueError(f"schedule ask {self.ask!r} needs a prompt")
        return self


class Price(_Model):
    """What a model costs, in US dollars per million tokens (for the report's estimate)."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cached: float = Field(default=0.0, ge=0)


class RegistryModel(_Model):
    """The whole registry file: hosts, agents, and the fleet's groups and windows."""

    hosts: dict[str, HostSpec] = Field(default_factory=dict)
    agents: dict[str, AgentSpec] = Field(default_factory=dict)
    groups: dict[str, list[str]] = Field(default_factory=dict, description="NAME = [agents…]")
    windows: dict[str, WindowSpec] = Field(default_factory=dict, description='"SESSION:WINDOW" = {layout}')
    settings: Settings = Field(default_factory=Settings)
    hub: HubSpec = Field(default_factory=HubSpec)
    schedule: list[ScheduleSpec] = Field(default_factory=list, description="entries the hub runs")
    prices: dict[str, Price] = Field(
        default_factory=dict, description='model name prefix = {input, output, cached} USD per Mtok'
    )

    @field_validator("hosts", "agents", "groups")
    @classmethod
    def _valid_names(cls, value: dict[str, object]) -> dict[str, object]:
        for name in value:
            if not NAME_RE.match(name):
                raise ValueError(
                    f"name {name!r} must start with a letter or digit and use only "
                    "letters, digits, '.', '_' and '-'"
                )
        return value

    @model_validator(mode="after")
    def _agents_name_known_hosts(self) -> RegistryModel:
        for name, agent in self.agents.items():
            if agent.host not in self.hosts:
                known = ", ".join(sorted(self.hosts)) or "none"
                raise ValueError(
                    f"agents.{name}.host: no host {agent.host!r} (hosts defined: {known})"
                )
        for group, members in self.groups.items():
            if group in self.agents:
                raise ValueError(f"groups.{group}: an agent has that name too (one name, one meaning)")
            unknown = [m for m in members if m not in self.agents]
            if unknown:
                raise ValueError(f"groups.{group}: no agent {unknown[0]!r}")
        for entry in self.schedule:
            if entry.ask is not None and entry.ask not in self.agents:
                raise ValueError(f"schedule: no agent {entry.ask!r} to ask")
        for window in self.windows:
            parsed = TARGET_RE.match(window)
            if parsed is None or not parsed.group("window") or parsed.group("pane"):
                raise ValueError(f'windows."{window}": name a window as "SESSION:WINDOW"')
        return self


@dataclass(frozen=True)
class Target:
    """A parsed tmux target."""

    session: str
    window: str | None = None
    pane: int | None = None

    @classmethod
    def parse(cls, text: str) -> Target:
        match = TARGET_RE.match(text)
        if not match:
            raise ValueError(f"{text!r} is not a tmux target (session:window.pane)")
        pane = match.group("pane")
        return cls(match.group("session"), match.group("window") or None, int(pane) if pane else None)

    def __str__(self) -> str:
        text = self.session
        if self.window is not None:
            text += f":{self.window}"
            if self.pane is not None:
                text += f".{self.pane}"
        return text


def env_timeout() -> float | None:
    """``AGENT_BRIDGE_TIMEOUT`` as a float, if set."""
    raw = os.environ.get("AGENT_BRIDGE_TIMEOUT")
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(
            f"AGENT_BRIDGE_TIMEOUT={raw!r} is not a number", hint="set seconds, e.g. 300"
        ) from None
