"""audit chain: the audit log's entries carry the period they concern and a hash chain (each
entry's prev_hash is the hash of the one before it); its times are indexed.

Existing entries are numbered 1, 2, 3... in id order (a PostgreSQL sequence skips the values of
rolled-back transactions; the chain's ids have no gaps) and chained in that order, with a copy of
the hash of `revrec.store.audit` as it was when this migration was written: the format is frozen.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:00:00.000000
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

GENESIS = "0" * 64
CHUNK = 1000
FIELDS = ("id", "at", "user", "action", "entity", "before", "after", "period", "prev_hash")
AUDIT = sa.table(
    "audit_log",
    sa.column("id", sa.BigInteger),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("user", sa.String),
    sa.column("action", sa.String),
    sa.column("entity", sa.String),
    sa.column("before", sa.Text),
    sa.column("after", sa.Text),
    sa.column("period", sa.String),
    sa.column("prev_hash", sa.String),
    sa.column("hash", sa.String),
)


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("period", sa.String(length=7), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    _renumber(conn)
    _chain(conn)
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)


def _at_text(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _hash(entry: dict[str, Any]) -> str:
    values = [_at_text(entry["at"]) if name == "at" else entry[name] for name in FIELDS]
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _renumber(conn: sa.Connection) -> None:
    """Ids 1..N in id order. Ascending, each row moves down to a free id (every lower id is
    taken by a row already renumbered, every higher one is still its old row's)."""
    ids = conn.execute(sa.select(AUDIT.c.id).order_by(AUDIT.c.id)).scalars().all()
    for new_id, old_id in enumerate(ids, start=1):
        if new_id != old_id:
            conn.execute(AUDIT.update().where(AUDIT.c.id == old_id).values(id=new_id))


def _chain(conn: sa.Connection) -> None:
    """Each entry's prev_hash and hash, in id order, CHUNK entries per query."""
    prev_hash, after = GENESIS, 0
    while True:
        found = [
            r._asdict()
            for r in conn.execute(
                sa.select(AUDIT).where(AUDIT.c.id > after).order_by(AUDIT.c.id).limit(CHUNK)
            )
        ]
        updates = []
        for entry in found:
            entry["prev_hash"] = prev_hash
            prev_hash = _hash(entry)
            updates.append({"i": entry["id"], "p": entry["prev_hash"], "h": prev_hash})
        if updates:
            conn.execute(
                AUDIT.update()
                .where(AUDIT.c.id == sa.bindparam("i"))
                .values(prev_hash=sa.bindparam("p"), hash=sa.bindparam("h")),
                updates,
            )
        if len(found) < CHUNK:
            return
        after = found[-1]["id"]


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("period")
