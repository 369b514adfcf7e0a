"""Alembic's environment for the hub's store: run programmatically by
:func:`bridge.hub.store.engine.migrate` on a connection it hands over (never from a command line
with a URL of its own), so the one-owner rule holds during an upgrade too."""

from __future__ import annotations

from alembic import context

from bridge.hub.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
