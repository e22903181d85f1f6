"""Running the jobs: each in its own transaction, its run time and result recorded and
audit-logged (`job.run`, with the open period it ran in) with the Context's `now`."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa

from revrec.services.context import Context
from revrec.services.processing.events import event_import_job
from revrec.services.processing.outcome import JobResult
from revrec.services.processing.revenue import revenue_process
from revrec.services.processing.transactions import transaction_import
from revrec.store import jobs as job_store
from revrec.store import locks
from revrec.store import setup as setup_store
from revrec.store.audit import record
from revrec.vocab import JOBS

JOB_ORDER = JOBS
BUSY = (
    "another run held the processing lock too long: its rows stay pending; "
    "run `revrec process` once it is done"
)
_JOBS: dict[str, Callable[[sa.Connection], JobResult]] = {
    "transaction_import": transaction_import,
    "event_import": event_import_job,
    "revenue_process": revenue_process,
}


def run(ctx: Context, *, only: str | None = None) -> list[JobResult]:
    """Run the active jobs once (or only the named one, active or not), each in a transaction
    of its own, with the Context's user and `now`."""
    conn_factory, user, now = ctx.engine, ctx.user, ctx.now
    results = []
    for job in JOB_ORDER:
        if only is not None and job != only:
            continue
        try:
            result = _run_one(conn_factory, job, user=user, now=now, only=only)
        except locks.BusyError:
            result = JobResult(job, notes=[BUSY])
        if result is not None:
            results.append(result)
    return results


def _run_one(
    conn_factory: sa.Engine, job: str, *, user: str, now: datetime, only: str | None
) -> JobResult | None:
    """One job in its own transaction, once it holds the processing lock (None: inactive)."""
    with conn_factory.begin() as conn:
        locks.processing(conn)
        if only is None and not job_store.active(conn, job):
            return None
        result = _JOBS[job](conn)
        job_store.record_run(conn, job, now, json.dumps(result.as_json()))
        record(
            conn,
            user=user,
            now=now,
            action="job.run",
            entity=f"job:{job}",
            before=None,
            after=result.as_json(),
            period=setup_store.open_period(conn),
        )
    return result
