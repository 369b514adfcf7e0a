"""Opening the hub's store: the URL, the engine, the one-owner rule, the migrations.

``store`` in the registry's ``[hub]`` (or ``hub serve --store``) is a path or URL:

* a path, ``sqlite:///PATH`` or nothing (``~/.local/state/agent-bridge/hub.db``): SQLite in WAL
  mode through aiosqlite; the folder is made private (0700);
* ``postgresql://USER:PASSWORD@HOST/DB`` (or ``postgres://``): PostgreSQL through asyncpg.

Only the hub process opens the store. A second opener is refused with one clear line: for SQLite
an exclusive ``flock`` on ``PATH.owner`` (held by the open file, so a killed hub frees it at
once), for PostgreSQL a session advisory lock held on a connection of its own.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bridge.errors import BridgeError, ConfigError
from bridge.owner import take

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
OWNER_LOCK = 0x61625F687562  # "ab_hub": the advisory lock a PostgreSQL hub holds


def state_dir() -> Path:
    """``$XDG_STATE_HOME/agent-bridge`` or ``~/.local/state/agent-bridge``."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "agent-bridge"


def default_url() -> str:
    return f"sqlite:///{state_dir() / 'hub.db'}"


def normalise(store: str | None) -> str:
    """The SQLAlchemy async URL for a ``store`` setting (see the module's docstring)."""
    text = (store or "").strip() or default_url()
    if "://" not in text:
        text = f"sqlite:///{Path(text).expanduser().resolve()}"
    try:
        url = make_url(text)
    except ArgumentError as exc:
        raise ConfigError(
            f"store {redacted(text)!r} is not a URL or path", hint="see `hub serve --help`"
        ) from exc
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise ConfigError("store: an in-memory SQLite database cannot be shared", hint="give a file path")
        return str(url.set(drivername="sqlite+aiosqlite"))
    if backend in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ConfigError(
        f"store {redacted(text)!r}: unsupported database {backend!r}",
        hint="use a SQLite file path or a postgresql:// URL",
    )


def redacted(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable store URL>"


@dataclass
class Store:
    """An open store: its engine, what it is, and the owner lock it holds."""

    engine: AsyncEngine
    url: str
    _owner: Any = field(default=None, repr=False)  # the lock file, or the PG connection

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def label(self) -> str:
        return redacted(self.url)

    def begin(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
        """A connection in a transaction (committed at the end, rolled back on error)."""
        return self.engine.begin()

    async def close(self) -> None:
        owner, self._owner = self._owner, None
        if isinstance(owner, AsyncConnection):
            with contextlib.suppress(SQLAlchemyError, OSError):
                await owner.close()
        elif owner is not None:
            owner.close()
        await self.engine.dispose()


async def open_store(store: str | None, *, owner: bool = True) -> Store:
    """Open (creating or upgrading as needed) the store; with ``owner``, as its only opener."""
    url = normalise(store)
    sqlite = url.startswith("sqlite")
    lock: Any = None
    if sqlite:
        path = Path(make_url(url).database or "")
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # 0600 before SQLite first opens it: its -wal and -shm files take the database's mode.
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        if owner:
            lock = _lock_file(path)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        sa.event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    else:
        engine = create_async_engine(url, pool_size=5, max_overflow=5, pool_pre_ping=True)
    result = Store(engine, url, lock)
    try:
        if owner and not sqlite:
            result._owner = await _lock_postgres(engine, url)
        await migrate(result)
    except BaseException:
        await result.close()
        raise
    return result


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable at each checkpoint; WAL keeps it consistent
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _lock_file(db: Path) -> Any:
    handle, pid = take(db.with_name(db.name + ".owner"))
    if handle is None:
        raise BridgeError(
            f"the store {db} is already open by another hub (pid {pid})",
            hint="only one `agent-bridge hub serve` may own a store; stop the other one first",
        )
    return handle


async def _lock_postgres(engine: AsyncEngine, url: str) -> AsyncConnection:
    try:
        connection = await engine.connect()
    except (SQLAlchemyError, OSError) as exc:
        raise BridgeError(f"cannot reach the store {redacted(url)}: {_reason(exc)}") from exc
    got = (
        await connection.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": OWNER_LOCK})
    ).scalar()
    await connection.commit()
    if not got:
        await connection.close()
        raise BridgeError(
            f"the store {redacted(url)} is already open by another hub",
            hint="only one `agent-bridge hub serve` may own a store; stop the other one first",
        )
    return connection


async def migrate(store: Store) -> None:
    """Bring the store's schema to the newest revision (Alembic); data is kept."""
    from alembic import command
    from alembic.config import Config

    def upgrade(connection: sa.Connection) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    try:
        async with store.engine.begin() as connection:
            await connection.run_sync(upgrade)
    except (SQLAlchemyError, OSError) as exc:
        raise BridgeError(f"cannot open the store {store.label}: {_reason(exc)}") from exc


async def revision(store: Store) -> str | None:
    """The schema revision the store is at (``None`` before any migration)."""
    async with store.engine.connect() as connection:
        try:
            return (await connection.execute(sa.text("SELECT version_num FROM alembic_version"))).scalar()
        except SQLAlchemyError:
            return None


def _reason(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


__all__ = ["Store", "default_url", "migrate", "normalise", "open_store", "redacted", "revision"]
