"""Moved to :mod:`bridge.config.registry` (this shim keeps the old import path working)."""

from bridge.config.paths import find_registry
from bridge.config.registry import Agent, Registry

__all__ = ["Agent", "Registry", "find_registry"]
