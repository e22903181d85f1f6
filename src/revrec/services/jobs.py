"""Scheduled jobs (SPEC §2): transaction_import, event_import, revenue_process.

Listing them and making one active or inactive; running them is `workflow`'s.
"""

from __future__ import annotations

import json
from typing import Any

from revrec.calendar import utc_text
from revrec.errors import InputError
from revrec.services.context import Context
from revrec.services.setup_schema import check_schedule
from revrec.store import jobs as store
from revrec.store.audit import record


def list_jobs(ctx: Context) -> list[dict[str, Any]]:
    """Every job, by name: whether it is active, its schedule, and its last run and result."""
    with ctx.engine.connect() as conn:
        found = store.jobs(conn)
    return [
        {
            "name": r["name"],
            "active": r["active"],
            "every": r["every"],
            "cron": r["cron"],
            "last_run_at": None if r["last_run_at"] is None else utc_text(r["last_run_at"]),
            "last_result": json.loads(r["last_result"]) if r["last_result"] else None,
        }
        for r in found
    ]


def set_active(ctx: Context, name: str, *, active: bool) -> None:
    """Make a job active or inactive (audit-logged as `job.enable` or `job.disable`)."""
    with ctx.engine.begin() as conn:
        before = store.active(conn, name)
        if before is None:
            names = store.names(conn)
            raise InputError(f"unknown job {name!r}: expected one of {', '.join(sorted(names))}")
        store.set_active(conn, name, active)
        record(
            conn,
            user=ctx.user,
            now=ctx.now,
            action="job.enable" if active else "job.disable",
            entity=f"job:{name}",
            before={"active": before},
            after={"active": active},
        )


def set_schedule(ctx: Context, name: str, *, every: str | None, cron: str | None) -> None:
    """Give a job an interval (`15m`, `1h`, `1d`) or a cron expression, not both; the other is
    cleared (audit-logged as `job.schedule`). Checked as the setup file checks it."""
    every, cron = check_schedule(every, cron)
    with ctx.engine.begin() as conn:
        found = {j["name"]: j for j in store.jobs(conn)}
        if name not in found:
            raise InputError(f"unknown job {name!r}: expected one of {', '.join(sorted(found))}")
        before = {"every": found[name]["every"], "cron": found[name]["cron"]}
        store.set_schedule(conn, name, every=every, cron=cron)
        record(
            conn,
            user=ctx.user,
            now=ctx.now,
            action="job.schedule",
            entity=f"job:{name}",
            before=before,
            after={"every": every, "cron": cron},
        )
