"""stage payloads: the uploaded rows' attributes move from stage_rows.data (JSON per row) to
stage_payloads (Arrow IPC chunks per file); only waiting stage rows are indexed.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 15:17:15.886331
"""

from __future__ import annotations

import io
import json

import polars as pl
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

CHUNK = 250_000
PAYLOADS = sa.table(
    "stage_payloads",
    sa.column("file_id", sa.Integer),
    sa.column("chunk", sa.Integer),
    sa.column("payload", sa.LargeBinary),
)
STAGE = sa.table(
    "stage_rows",
    sa.column("file_id", sa.Integer),
    sa.column("line", sa.Integer),
    sa.column("data", sa.Text),
)


def upgrade() -> None:
    op.create_table(
        "stage_payloads",
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("chunk", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"], ["files.file_id"], name=op.f("fk_stage_payloads_file_id_files")
        ),
        sa.PrimaryKeyConstraint("file_id", "chunk", name=op.f("pk_stage_payloads")),
    )
    _move_data_to_payloads(op.get_bind())
    with op.batch_alter_table("stage_rows", schema=None) as batch_op:
        batch_op.drop_index("ix_stage_rows_tab_status")
        batch_op.create_index(
            "ix_stage_rows_future",
            ["period"],
            unique=False,
            sqlite_where=sa.text("status = 'future'"),
            postgresql_where=sa.text("status = 'future'"),
        )
        batch_op.create_index(
            "ix_stage_rows_pending",
            ["tab"],
            unique=False,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )
        batch_op.drop_column("data")


def _move_data_to_payloads(conn: sa.Connection) -> None:
    """Each file's rows (line + the attributes of their JSON) as the chunks revrec now reads."""
    file_ids = conn.execute(sa.select(STAGE.c.file_id).distinct()).scalars().all()
    for file_id in file_ids:
        found = conn.execute(
            sa.select(STAGE.c.line, STAGE.c.data)
            .where(STAGE.c.file_id == file_id)
            .order_by(STAGE.c.line)
        ).all()
        records = [{"line": line, **json.loads(data)} for line, data in found]
        names = list(dict.fromkeys(k for r in records for k in r if k != "line"))
        frame = pl.DataFrame(
            records,
            schema={"line": pl.Int64, **dict.fromkeys(names, pl.String)},
            strict=False,
        )
        for number, offset in enumerate(range(0, max(frame.height, 1), CHUNK)):
            buffer = io.BytesIO()
            frame.slice(offset, CHUNK).write_ipc(buffer, compression="zstd")
            conn.execute(
                PAYLOADS.insert().values(file_id=file_id, chunk=number, payload=buffer.getvalue())
            )


def downgrade() -> None:
    with op.batch_alter_table("stage_rows", schema=None) as batch_op:
        batch_op.add_column(sa.Column("data", sa.TEXT(), nullable=False, server_default="{}"))
        batch_op.drop_index(
            "ix_stage_rows_pending",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )
        batch_op.drop_index(
            "ix_stage_rows_future",
            sqlite_where=sa.text("status = 'future'"),
            postgresql_where=sa.text("status = 'future'"),
        )
        batch_op.create_index("ix_stage_rows_tab_status", ["tab", "status"], unique=False)
    conn = op.get_bind()
    for file_id, payload in conn.execute(
        sa.select(PAYLOADS.c.file_id, PAYLOADS.c.payload).order_by(
            PAYLOADS.c.file_id, PAYLOADS.c.chunk
        )
    ).all():
        frame = pl.read_ipc(io.BytesIO(payload))
        attributes = [c for c in frame.columns if c != "line"]
        texts = (
            frame.select("line", pl.struct(attributes).struct.json_encode().alias("data"))
            if attributes
            else frame.select("line", pl.lit("{}").alias("data"))
        )
        conn.execute(
            STAGE.update()
            .where((STAGE.c.file_id == file_id) & (STAGE.c.line == sa.bindparam("l")))
            .values(data=sa.bindparam("d")),
            [{"l": line, "d": data} for line, data in texts.iter_rows()],
        )
    op.drop_table("stage_payloads")
