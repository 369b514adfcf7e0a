"""Configuration: the registry's typed models (:mod:`.models`), loading it and looking agents and
hosts up (:mod:`.registry`), and where things live (:mod:`.paths`).

The names are re-exported lazily (``from bridge.config import HostSpec`` imports :mod:`.models`
on first use): the CLI's fast path reads :mod:`.paths` without loading pydantic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bridge.config.models import (
        NAME_RE,
        TARGET_RE,
        AgentSpec,
        HostSpec,
        RegistryModel,
        Settings,
        Target,
        env_timeout,
    )
    from bridge.config.paths import config_dir, find_registry, not_private, runtime_dir
    from bridge.config.registry import Agent, Registry

_MODULE = {
    **dict.fromkeys(
        ("NAME_RE", "TARGET_RE", "AgentSpec", "HostSpec", "RegistryModel", "Settings", "Target",
         "env_timeout"), "models"),
    **dict.fromkeys(("config_dir", "find_registry", "not_private", "runtime_dir"), "paths"),
    **dict.fromkeys(("Agent", "Registry"), "registry"),
}  # fmt: skip

__all__ = [
    "NAME_RE",
    "TARGET_RE",
    "Agent",
    "AgentSpec",
    "HostSpec",
    "Registry",
    "RegistryModel",
    "Settings",
    "Target",
    "config_dir",
    "env_timeout",
    "find_registry",
    "not_private",
    "runtime_dir",
]


def __getattr__(name: str) -> Any:
    module = _MODULE.get(name)
    if module is None:
        raise AttributeError(f"module 'bridge.config' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"bridge.config.{module}"), name)
    globals()[name] = value
    return value
