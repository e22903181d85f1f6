"""Alembic environment: runs migrations on the connection revrec hands it (see store.db)."""

from __future__ import annotations

from alembic import context

from revrec.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("revrec runs its migrations through revrec.store.db.migrate")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
