"""Moved to :mod:`bridge.reading` (a shim for callers of the old path, to be removed)."""

from bridge.reading import *  # noqa: F403
from bridge.reading import __all__ as __all__
