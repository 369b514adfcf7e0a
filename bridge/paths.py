"""Moved to :mod:`bridge.config.paths` (this shim keeps the old import path working)."""

from bridge.config.paths import config_dir, find_registry, not_private, runtime_dir

__all__ = ["config_dir", "find_registry", "not_private", "runtime_dir"]
