"""The tables (SQLAlchemy Core). Each change here is a new migration in ``migrations/versions``;
``tests/unit/hub`` checks that the migrated database and these tables agree."""

from __future__ import annotations

import sqlalchemy as sa

from bridge.swarm.state import SWARM_TASKS

metadata = sa.MetaData()

NAME = 64  # agent names: bridge.config.NAME_RE allows 63 characters

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("agent", sa.String(NAME), nullable=True),  # NULL for an admin token
    sa.Column("admin", sa.Boolean, nullable=False, default=False),
    sa.Column("digest", sa.String(64), nullable=False, unique=True),  # sha256 hex of the token
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("revoked_at", sa.Float, nullable=True),
)

threads = sa.Table(
    "threads",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("created_by", sa.String(NAME), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("closed_at", sa.Float, nullable=True),
    sa.Column("closed_by", sa.String(NAME), nullable=True),
)

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("thread_id", sa.Integer, sa.ForeignKey("threads.id"), nullable=False, index=True),
    sa.Column("sender", sa.String(NAME), nullable=False),
    sa.Column("recipient", sa.String(NAME), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("wake_id", sa.Integer, nullable=True),  # the wake that announced it
    sa.Column("woken_at", sa.Float, nullable=True),
    sa.Column("read_at", sa.Float, nullable=True),
    sa.Index("ix_messages_recipient_read", "recipient", "read_at"),
)

# One row per agent: who may wake it now (a lease with an expiry) and the fencing token that
# grows with every grant, so a pager whose lease was taken over cannot record a wake.
wake_leases = sa.Table(
    "wake_leases",
    metadata,
    sa.Column("agent", sa.String(NAME), primary_key=True),
    sa.Column("fence", sa.Integer, nullable=False),
    sa.Column("holder", sa.String(128), nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)

# Every wake attempt: started before anything is typed (so a pager that dies mid-wake leaves a
# trace its successor checks on the pane), ended with its outcome.
wakes = sa.Table(
    "wakes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("agent", sa.String(NAME), nullable=False, index=True),
    sa.Column("fence", sa.Integer, nullable=False),
    sa.Column("nonce", sa.String(32), nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("ended_at", sa.Float, nullable=True),
    sa.Column("outcome", sa.String(32), nullable=True),  # typed | not-idle | failed | recovered | lost
    sa.Column("detail", sa.Text, nullable=True),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.Float, nullable=False, index=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("agent", sa.String(NAME), nullable=True, index=True),
    sa.Column("actor", sa.String(NAME), nullable=True),
    sa.Column("data", sa.Text, nullable=False),  # JSON
)

# A swarm's tasks (bridge.swarm.state defines the table; the hub's store holds it too).
swarm_tasks = SWARM_TASKS.to_metadata(metadata)
