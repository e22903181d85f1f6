"""The report figures a journal was approved with (the reconciliation's right-hand sides per
currency, JSON) and the audit entry they were computed after (`store.audit.basis_mark`), so
the close's checklist reuses them while nothing the reports read has changed (decision 91).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 21:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("journals") as table:
        table.add_column(sa.Column("figures", sa.Text(), nullable=True))
        table.add_column(sa.Column("figures_mark", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("journals") as table:
        table.drop_column("figures_mark")
        table.drop_column("figures")
