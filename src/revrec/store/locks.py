"""The processing lock: one job run, journal step or period close at a time, across processes,
on both databases (SPEC §4.5, §7).

Taken at the start of a transaction and held until it ends: on PostgreSQL a transaction-scoped
advisory lock, on SQLite the database's one write lock (taken at once by a write that changes
nothing, so that the transaction reads nothing before it holds the lock). A second run waits
for the first, up to WAIT_SECONDS; then `BusyError` says so, and the caller leaves its rows pending.
"""

from __future__ import annotations

import sqlalchemy as sa

from revrec.errors import StateError
from revrec.store import schema as t

LOCK_KEY = 8243124926670913869  # the processing lock's advisory key (the audit log's + 1)
WAIT_SECONDS = 300


class BusyError(Exception):
    """Another run held the processing lock for longer than WAIT_SECONDS."""


def processing(conn: sa.Connection) -> None:
    """Take the processing lock for the rest of this transaction (BusyError after waiting)."""
    try:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{WAIT_SECONDS}s'")
            conn.execute(
                sa.select(sa.func.pg_advisory_xact_lock(sa.literal(LOCK_KEY, sa.BigInteger)))
            )
        else:
            j = t.jobs
            conn.execute(j.update().where(sa.false()).values(name=j.c.name))
    except sa.exc.OperationalError as error:
        if _is_busy(error):
            raise BusyError(str(error.orig)) from error
        raise


def _is_busy(error: sa.exc.OperationalError) -> bool:
    text = str(error.orig).lower()
    return "database is locked" in text or "lock timeout" in text or "locknotavailable" in text


def processing_or_refuse(conn: sa.Connection, what: str) -> None:
    """The processing lock for a user's step (a journal step, a close): after the wait, a
    StateError saying what is busy instead of BusyError."""
    try:
        processing(conn)
    except BusyError:
        raise StateError(f"{what}: another run is processing; try again once it is done") from None
