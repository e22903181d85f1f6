"""legacy rows: the legacy schedules export's input kept by processing, in Arrow IPC chunks
(decision 93). A store that already has billings is marked so that its first export fills the
table from the billings, lines and stage payloads (`store.exports.ensure`).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 03:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

PENDING = "legacy_rows_pending"  # store.exports.PENDING


def upgrade() -> None:
    op.create_table(
        "legacy_rows",
        sa.Column("chunk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("chunk", name=op.f("pk_legacy_rows")),
    )
    conn = op.get_bind()
    if conn.execute(sa.text("SELECT 1 FROM billings LIMIT 1")).first() is not None:
        conn.execute(
            sa.text("INSERT INTO settings (key, value) VALUES (:key, '1')"), {"key": PENDING}
        )


def downgrade() -> None:
    op.drop_table("legacy_rows")
    op.get_bind().execute(sa.text("DELETE FROM settings WHERE key = :key"), {"key": PENDING})
