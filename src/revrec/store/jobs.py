"""The scheduled jobs' table (SPEC §2): which jobs exist, whether each is active, its schedule.

Reads and writes only: no rules, no messages, no imports of the engine or the services.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from revrec.store import schema as t


def jobs(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every job as stored, by name: name, active, every, cron, last_run_at (a datetime or None)
    and last_result (JSON text or None)."""
    j = t.jobs
    columns = (j.c.name, j.c.active, j.c.every, j.c.cron, j.c.last_run_at, j.c.last_result)
    return [r._asdict() for r in conn.execute(sa.select(*columns).order_by(j.c.name))]


def names(conn: sa.Connection) -> list[str]:
    """Every job's name, sorted."""
    j = t.jobs
    return [str(n) for n in conn.execute(sa.select(j.c.name).order_by(j.c.name)).scalars()]


def active(conn: sa.Connection, name: str) -> bool | None:
    """Whether a job is active; None when there is no such job."""
    j = t.jobs
    found = conn.execute(sa.select(j.c.active).where(j.c.name == name)).scalar()
    return None if found is None else bool(found)


def inactive(conn: sa.Connection) -> set[str]:
    """The names of the jobs that are not active."""
    j = t.jobs
    return {str(n) for n in conn.execute(sa.select(j.c.name).where(~j.c.active)).scalars()}


def add(conn: sa.Connection, job_names: Iterable[str], *, every: str) -> None:
    """New jobs, active, each run `every` (e.g. "1h")."""
    for name in job_names:
        conn.execute(t.jobs.insert().values(name=name, active=True, every=every))


def set_active(conn: sa.Connection, name: str, active: bool) -> None:
    j = t.jobs
    conn.execute(j.update().where(j.c.name == name).values(active=active))


def configure(
    conn: sa.Connection,
    name: str,
    *,
    active: bool,
    every: str | None = None,
    cron: str | None = None,
) -> None:
    """A job's activity and, when given, its schedule (`every` or `cron`; None leaves it)."""
    values: dict[str, Any] = {"active": active}
    if every is not None:
        values["every"] = every
    if cron is not None:
        values["cron"] = cron
    conn.execute(t.jobs.update().where(t.jobs.c.name == name).values(**values))


def record_run(conn: sa.Connection, name: str, at: Any, result: str) -> None:
    """A job's last run: when (a datetime) and its result (JSON text)."""
    j = t.jobs
    conn.execute(j.update().where(j.c.name == name).values(last_run_at=at, last_result=result))


def claim(conn: sa.Connection, name: str, seen: Any, now: Any) -> bool:
    """Move a job's last run time from `seen` (as read; None: never ran) to `now`, only if
    nobody moved it first: whether this caller got the run."""
    j = t.jobs
    same = j.c.last_run_at.is_(None) if seen is None else j.c.last_run_at == seen
    done = conn.execute(j.update().where(j.c.name == name, same).values(last_run_at=now))
    return done.rowcount == 1


def set_schedule(conn: sa.Connection, name: str, *, every: str | None, cron: str | None) -> None:
    """A job's schedule: both columns written (None clears one)."""
    j = t.jobs
    conn.execute(j.update().where(j.c.name == name).values(every=every, cron=cron))
