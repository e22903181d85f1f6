"""month-end: cost postings, journal cards, journal lines and account balances (SPEC §5 step 5,
§6, §7).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cost_postings",
        sa.Column("book", sa.String(length=64), nullable=False),
        sa.Column("cost_id", sa.String(length=128), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("book", "cost_id", "period", "kind", name=op.f("pk_cost_postings")),
    )
    op.create_table(
        "journals",
        sa.Column("book", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("approved_by", sa.String(length=64), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("transferred_by", sa.String(length=64), nullable=True),
        sa.Column("transferred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("summarized_by", sa.String(length=64), nullable=True),
        sa.Column("summarized_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("summary_file", sa.Text(), nullable=True),
        sa.Column("summary_sha256", sa.String(length=64), nullable=True),
        sa.Column("detail_file", sa.Text(), nullable=True),
        sa.Column("detail_sha256", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("book", "period", name=op.f("pk_journals")),
    )
    op.create_table(
        "journal_lines",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("book", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("account", sa.String(length=32), nullable=False),
        sa.Column("gl_code", sa.String(length=64), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("debit", sa.BigInteger(), nullable=False),
        sa.Column("credit", sa.BigInteger(), nullable=False),
        sa.Column("contract_id", sa.String(length=128), nullable=False),
        sa.Column("line_id", sa.String(length=128), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_lines")),
    )
    op.create_index(
        "ix_journal_lines_book_period_contract",
        "journal_lines",
        ["book", "period", "contract_id"],
        unique=False,
    )
    op.create_table(
        "account_balances",
        sa.Column("book", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("account", sa.String(length=32), nullable=False),
        sa.Column("gl_code", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("debit", sa.BigInteger(), nullable=False),
        sa.Column("credit", sa.BigInteger(), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "book", "period", "account", "gl_code", "currency", name=op.f("pk_account_balances")
        ),
    )


def downgrade() -> None:
    op.drop_table("account_balances")
    op.drop_index("ix_journal_lines_book_period_contract", table_name="journal_lines")
    op.drop_table("journal_lines")
    op.drop_table("journals")
    op.drop_table("cost_postings")
