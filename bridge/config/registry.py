"""Find, load and validate a registry file, and look agents and hosts up by name.

Lookup order: ``--config PATH`` > ``$AGENT_BRIDGE_CONFIG`` > ``$XDG_CONFIG_HOME/agent-bridge/registry.toml``
(``~/.config/agent-bridge/registry.toml``). Every mistake becomes one :class:`ConfigError` line that
names the file, the key and why.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from bridge.config.models import AgentSpec, HostSpec, RegistryModel
from bridge.config.paths import find_registry
from bridge.errors import ConfigError, UnknownAgentError, UnknownHostError


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _format_validation(path: Path, exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        msg = err["msg"].removeprefix("Value error, ")
        key = _location(err["loc"])
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see hosts/*.toml for the schema)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        elif isinstance(err.get("input"), str | int | float | bool):
            msg = f"{msg} (got {err['input']!r})"
        if key == "(top level)" and ": " in msg:
            key, msg = msg.split(": ", 1)
        parts.append(f"{key}: {msg}")
    return f"{path}: " + "; ".join(parts)


@dataclass(frozen=True)
class Agent:
    """An agent resolved from the registry, with its host."""

    name: str
    spec: AgentSpec
    host_name: str
    host: HostSpec


class Registry:
    """A validated registry: hosts, agents and settings, with lookups that fail clearly."""

    def __init__(self, model: RegistryModel, path: Path | None = None) -> None:
        self.model = model
        self.path = path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Registry:
        """Read and validate ``path``; raise :class:`ConfigError` naming file, key and why."""
        path = Path(path)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read registry {path}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: TOML syntax error: {exc}") from exc
        try:
            model = RegistryModel.model_validate(raw)
        except ValidationError as exc:
            raise ConfigError(_format_validation(path, exc)) from exc
        return cls(model, path)

    @classmethod
    def from_cli(cls, cli_path: str | os.PathLike[str] | None = None) -> Registry:
        """Find the registry by precedence and load it."""
        return cls.load(find_registry(cli_path))

    @property
    def hosts(self) -> dict[str, HostSpec]:
        return self.model.hosts

    @property
    def agents(self) -> dict[str, AgentSpec]:
        return self.model.agents

    def host(self, name: str) -> HostSpec:
        """The host called ``name``; :class:`UnknownHostError` lists the known ones."""
        try:
            return self.model.hosts[name]
        except KeyError:
            known = ", ".join(sorted(self.model.hosts)) or "none"
            raise UnknownHostError(
                f"unknown host {name!r} (known: {known})",
                hint=f"add [hosts.{name}] to {self.path or 'the registry'}",
            ) from None

    def select(self, names: list[str]) -> list[Agent]:
        """The agents ``names`` name (agents or groups), in registry order; all when empty.
        An unknown name is :class:`UnknownAgentError` listing agents and groups."""
        if not names:
            return [self.agent(name) for name in self.model.agents]
        wanted: set[str] = set()
        for name in names:
            if name in self.model.groups:
                wanted.update(self.model.groups[name])
            elif name in self.model.agents:
                wanted.add(name)
            else:
                known = ", ".join([*sorted(self.model.agents), *sorted(self.model.groups)]) or "none"
                where = self.path or "the registry"
                raise UnknownAgentError(f"no agent or group {name!r} (known: {known})",
                                        hint=f"add [agents.{name}] or a group to {where}")  # fmt: skip
        return [self.agent(name) for name in self.model.agents if name in wanted]

    def agent(self, name: str) -> Agent:
        """The agent called ``name`` with its host; :class:`UnknownAgentError` lists the known ones."""
        try:
            spec = self.model.agents[name]
        except KeyError:
            known = ", ".join(sorted(self.model.agents)) or "none"
            raise UnknownAgentError(
                f"unknown agent {name!r} (known: {known})",
                hint=f"add [agents.{name}] to {self.path or 'the registry'}",
            ) from None
        return Agent(name, spec, spec.host, self.model.hosts[spec.host])
