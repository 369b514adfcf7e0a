"""A swarm's tasks: one row per (plan, task key) with its lease, attempts and result.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "swarm_tasks",
        sa.Column("plan", sa.String(1024), primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("task", sa.Text, nullable=False),
        sa.Column("section", sa.Text, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("worker", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.Float, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("tried", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("prompt", sa.Text, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("started_at", sa.Float, nullable=True),
        sa.Column("finished_at", sa.Float, nullable=True),
    )
    op.create_index("ix_swarm_tasks_state", "swarm_tasks", ["plan", "state"])


def downgrade() -> None:
    op.drop_index("ix_swarm_tasks_state", "swarm_tasks")
    op.drop_table("swarm_tasks")
