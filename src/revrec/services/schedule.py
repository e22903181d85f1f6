"""Running the active jobs on their schedule (SPEC §2), as `revrec serve` does while it runs.

A job is due when it never ran, `every` has passed since its last run, or its cron expression
(UTC) has a time between its last run and now; a job with neither runs only when asked. `tick`
runs the due jobs once: each is first claimed by a conditional update of its last run time, so
that of several servers on one database one runs it, then run in its own transaction as the
jobs always are. A run that fails records the failure as the job's result (and in the audit
log); the next tick goes on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from croniter import croniter  # type: ignore[import-untyped]

from revrec.services import process
from revrec.services.context import Context
from revrec.store import jobs as store
from revrec.store.audit import record

UNITS = {"m": "minutes", "h": "hours", "d": "days"}
USER = "scheduler"


@dataclass(frozen=True)
class Ran:
    job: str
    ok: bool
    result: dict[str, Any]


def interval(every: str) -> timedelta:
    """`15m`, `1h`, `1d` as a timedelta (the setup file has checked the text)."""
    return timedelta(**{UNITS[every[-1]]: int(every[:-1])})


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def due(job: dict[str, Any], now: datetime) -> bool:
    """Whether an active job is due at `now` (see the module's docstring)."""
    if not job["active"] or not (job["cron"] or job["every"]):
        return False
    last = job["last_run_at"]
    if last is None:
        return True
    last, now = _utc(last), _utc(now)
    if job["cron"]:
        return bool(croniter(job["cron"], last).get_next(datetime) <= now)
    return bool(last + interval(job["every"]) <= now)


def tick(ctx: Context) -> list[Ran]:
    """Run every due job once, in the jobs' order; what each did."""
    with ctx.engine.connect() as conn:
        found = {j["name"]: j for j in store.jobs(conn)}
    ran = []
    for name in process.JOB_ORDER:
        job = found.get(name)
        if job is None or not due(job, ctx.now) or not _claim(ctx, job):
            continue
        ran.append(_run(ctx, name))
    return ran


def _claim(ctx: Context, job: dict[str, Any]) -> bool:
    """Take this run of a job: its last run time moves to now only if nobody moved it first."""
    with ctx.engine.begin() as conn:
        return store.claim(conn, job["name"], job["last_run_at"], ctx.now)


def _run(ctx: Context, name: str) -> Ran:
    try:
        results = process.run(ctx, only=name)
    except Exception as error:  # noqa: BLE001 (a failed run is recorded; the scheduler goes on)
        failure = {"job": name, "error": f"{type(error).__name__}: {error}"}
        with ctx.engine.begin() as conn:
            store.record_run(conn, name, ctx.now, json.dumps(failure))
            record(
                conn,
                user=ctx.user,
                now=ctx.now,
                action="job.fail",
                entity=f"job:{name}",
                before=None,
                after=failure,
            )
        return Ran(name, ok=False, result=failure)
    return Ran(name, ok=True, result=results[0].as_json() if results else {})
