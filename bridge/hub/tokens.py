"""Bearer tokens: minted for one agent (or an admin), shown once, stored as a SHA-256 digest.

A token is 32 random bytes (``secrets.token_urlsafe``), prefixed ``abt_`` so it is recognisable in
a leak scan. Only its digest is stored; comparing digests needs no constant-time trick because
the lookup is by digest (an attacker learns nothing from timing a hash lookup of its own guess).
"""

from __future__ import annotations

import hashlib
import secrets
import time

import sqlalchemy as sa

from bridge.hub.models import Identity
from bridge.hub.store.engine import Store
from bridge.hub.store.schema import tokens

PREFIX = "abt_"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


async def mint(store: Store, agent: str | None, *, admin: bool = False) -> str:
    """A new token for ``agent`` (or an admin token); the only time it is seen in clear."""
    if (agent is None) == (not admin):
        raise ValueError("a token is for one agent, or an admin token (not both)")
    token = PREFIX + secrets.token_urlsafe(32)
    async with store.begin() as conn:
        await conn.execute(
            tokens.insert().values(agent=agent, admin=admin, digest=digest(token), created_at=time.time())
        )
    return token


async def identify(store: Store, token: str | None) -> Identity | None:
    """Whose ``token`` this is, or ``None`` (unknown, revoked, malformed)."""
    if not token or not token.startswith(PREFIX) or len(token) > 200:
        return None
    async with store.begin() as conn:
        row = (
            await conn.execute(
                sa.select(tokens.c.agent, tokens.c.admin).where(
                    tokens.c.digest == digest(token), tokens.c.revoked_at.is_(None)
                )
            )
        ).first()
    return None if row is None else Identity(agent=row.agent, admin=bool(row.admin))


async def revoke(store: Store, agent: str | None, *, admin: bool = False) -> int:
    """Revoke every token of ``agent`` (or every admin token); how many were."""
    cond = tokens.c.admin.is_(True) if admin else tokens.c.agent == agent
    async with store.begin() as conn:
        result = await conn.execute(
            tokens.update().where(cond, tokens.c.revoked_at.is_(None)).values(revoked_at=time.time())
        )
    return result.rowcount or 0
