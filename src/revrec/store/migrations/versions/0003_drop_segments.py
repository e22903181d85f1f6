"""drop segments: the table was never written or read (segments are computed per run).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("segments")


def downgrade() -> None:
    # As 0001 created it.
    op.create_table(
        "segments",
        sa.Column("book", sa.String(length=64), nullable=False),
        sa.Column("line_id", sa.String(length=128), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("convention", sa.String(length=16), nullable=True),
        sa.Column("at", sa.String(length=16), nullable=True),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=True),
        sa.Column("cap", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("book", "line_id", "seq", name=op.f("pk_segments")),
    )
