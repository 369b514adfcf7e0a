"""A :class:`Pane` handle: one tmux pane, bound to its stable ``%id`` and the tmux it lives in.

Every command the driver aims at its pane goes through the handle, so no phase builds a target
or picks a tmux of its own (libtmux's ``Pane`` habit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bridge.tmux import SESSION_OPTION, PaneFacts, Tmux

if TYPE_CHECKING:
    from bridge.tmux.changes import Stamp

__all__ = ["Pane"]


@dataclass(frozen=True)
class Pane:
    """One tmux pane: ``tmux`` on its host (with the session's control channel, if any) and the
    pane's ``%id``."""

    tmux: Tmux
    pane_id: str

    @property
    def host(self) -> str:
        return self.tmux.host

    async def current_facts(self) -> PaneFacts:
        """tmux's facts about the pane, now."""
        return await self.tmux.facts(self.pane_id)

    async def observe(self, *, history: int = 0) -> tuple[PaneFacts, str, Stamp | None]:
        """Facts and the screen with SGR (plus ``history`` lines above) in one tmux call."""
        return await self.tmux.observe(self.pane_id, history=history)

    async def capture(self, *, ansi: bool = True, history: int = 0, join: bool = True) -> str:
        """The pane's text (``capture-pane -p``); see :meth:`bridge.tmux.Tmux.capture`."""
        return await self.tmux.capture(self.pane_id, ansi=ansi, history=history, join=join)

    async def clear(self) -> None:
        """Reset the pane's terminal (its screen cleared) and drop its scrollback."""
        await self.tmux.run("send-keys", "-R", "-t", self.pane_id, ";", "clear-history", "-t", self.pane_id,
                            target=self.pane_id)  # fmt: skip

    async def set_session(self, session_id: str) -> None:
        """Write the agent's session id on the pane (:data:`bridge.tmux.SESSION_OPTION`), where
        every later look reads it with the pane's facts."""
        await self.tmux.run("set-option", "-p", "-t", self.pane_id, SESSION_OPTION, session_id,
                            target=self.pane_id)  # fmt: skip

    async def keys(self, keys: Sequence[str]) -> None:
        """Press tmux key names (``Enter``, ``Down``, ``Escape``, ``C-c``) in order."""
        await self.tmux.keys(self.pane_id, keys)

    async def type_literal(self, text: str) -> None:
        """Type short ``text`` as literal keys (``send-keys -l``)."""
        await self.tmux.type_literal(self.pane_id, text)

    async def paste(
        self, text: bytes | str, *, then: Sequence[str] = (), unless_changed: PaneFacts | None = None
    ) -> None:
        """Type ``text`` exactly as one bracketed paste; see :meth:`bridge.tmux.Tmux.paste`."""
        await self.tmux.paste(self.pane_id, text, then=then, unless_changed=unless_changed)

    async def wait_change(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the pane to write something; see :meth:`Tmux.wait_change`."""
        return await self.tmux.wait_change(self.pane_id, timeout)
