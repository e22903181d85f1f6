"""Scheduled jobs (SPEC §2): transaction_import, event_import, revenue_process."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from revrec.calendar import utc_text
from revrec.errors import InputError
from revrec.store import jobs as store
from revrec.store.audit import record


def list_jobs(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every job, by name: whether it is active, its schedule, and its last run and result."""
    return [
        {
            "name": r["name"],
            "active": r["active"],
            "every": r["every"],
            "cron": r["cron"],
            "last_run_at": None if r["last_run_at"] is None else utc_text(r["last_run_at"]),
            "last_result": json.loads(r["last_result"]) if r["last_result"] else None,
        }
        for r in store.jobs(conn)
    ]


def set_active(conn: sa.Connection, name: str, active: bool, *, user: str, now: datetime) -> None:
    before = store.active(conn, name)
    if before is None:
        names = store.names(conn)
        raise InputError(f"unknown job {name!r}: expected one of {', '.join(sorted(names))}")
    store.set_active(conn, name, active)
    record(
        conn,
        user=user,
        now=now,
        action="job.enable" if active else "job.disable",
        entity=f"job:{name}",
        before={"active": before},
        after={"active": active},
    )
