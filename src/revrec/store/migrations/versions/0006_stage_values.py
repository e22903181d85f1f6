"""stage values: the import's typed good rows (what its validators returned) per file, in Arrow
IPC chunks next to the text of stage_payloads; rows staged before have none and are validated
again from their text when processed.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stage_values",
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("chunk", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"], ["files.file_id"], name=op.f("fk_stage_values_file_id_files")
        ),
        sa.PrimaryKeyConstraint("file_id", "chunk", name=op.f("pk_stage_values")),
    )


def downgrade() -> None:
    op.drop_table("stage_values")
