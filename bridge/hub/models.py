"""What the hub hands out: messages, threads, statuses, events (pydantic, JSON on the wire)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

MAX_BODY = 1024 * 1024  # bytes of UTF-8


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Identity(_Model):
    """Who a token belongs to: one agent, or an admin (people, the dashboard)."""

    agent: str | None
    admin: bool = False

    @property
    def name(self) -> str:
        return self.agent or "admin"


class Message(_Model):
    id: int
    thread_id: int
    sender: str
    recipient: str
    subject: str
    body: str
    created_at: float
    woken_at: float | None = None
    read_at: float | None = None

    @property
    def status(self) -> Literal["queued", "woken", "read"]:
        return "read" if self.read_at else "woken" if self.woken_at else "queued"


class Thread(_Model):
    id: int
    subject: str
    created_by: str
    created_at: float
    closed_at: float | None = None
    closed_by: str | None = None
    participants: list[str] = []
    messages: list[Message] = []


class Status(_Model):
    """Where a message stands: queued -> woken -> read, with the times and, while it waits, why."""

    id: int
    thread_id: int
    recipient: str
    status: Literal["queued", "woken", "read"]
    created_at: float
    woken_at: float | None = None
    read_at: float | None = None
    waiting: str | None = None  # e.g. "recipient busy", "wake budget used up (12/h)"


class Event(_Model):
    id: int
    at: float
    kind: str
    agent: str | None = None
    actor: str | None = None
    data: dict[str, Any] = {}
