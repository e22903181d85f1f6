"""journal files: a book's journal lines of a period as one Arrow IPC file, kept when a
processing run wrote the period's lines whole (decision 95). Nothing to fill: the next run
that writes a period whole keeps its file; until then its lines are read from journal_lines.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 03:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "journal_files",
        sa.Column("book", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("book", "period", name=op.f("pk_journal_files")),
    )


def downgrade() -> None:
    op.drop_table("journal_files")
