"""The audit log: who changed what, when, with the state before and after."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from revrec.store import schema as t


def record(
    conn: sa.Connection, user: str, action: str, entity: str, before: Any, after: Any
) -> None:
    conn.execute(
        t.audit_log.insert().values(
            at=datetime.now(UTC),
            user=user,
            action=action,
            entity=entity,
            before=None if before is None else json.dumps(before, default=str, sort_keys=True),
            after=None if after is None else json.dumps(after, default=str, sort_keys=True),
        )
    )
