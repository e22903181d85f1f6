"""The audit log (SPEC §2): who changed what, when, with the state before and after, as a hash
chain that `services.audit.verify` recomputes.

Each entry carries `prev_hash`, the hash of the entry before it (`GENESIS`, 64 zeros, for the
first), and `hash`, the SHA-256 of its `canonical` text: the JSON array
`[id, at, user, action, entity, before, after, period, prev_hash]` with `at` as UTC text with
microseconds (`at_text`), `before`/`after` as the JSON text stored, compact and ASCII-only. The
format is frozen: migration 0004 computed the chain of older databases with a copy of it.

Writers never fork the chain. `record` takes the audit lock before it reads the head, and the
lock lasts until the transaction ends: on PostgreSQL a transaction-scoped advisory lock
(`pg_advisory_xact_lock(LOCK_KEY)`), on SQLite the database's one write lock, taken by a write
that changes nothing (a later writer waits for it, busy timeout permitting). An entry's id is the
head's id + 1, never a sequence (which skips values when a transaction rolls back), so ids run
1, 2, 3... without gaps, and the primary key refuses a second entry after the same head. The lock
serializes every audited transaction from `record` to its commit: call `record` last.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from revrec.store import schema as t

GENESIS = "0" * 64
LOCK_KEY = 8243124926670913868  # b"revrecAL" as a bigint: the audit log's advisory lock
CHUNK = 1000  # entries read per query by `chain`
FIELDS = ("id", "at", "user", "action", "entity", "before", "after", "period", "prev_hash")


def at_text(moment: datetime) -> str:
    """A time as the chain hashes it: UTC, microseconds, e.g. 2024-03-05T12:00:00.000000Z. A
    time without a zone is UTC (SQLite gives stored times back without theirs)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(entry: dict[str, Any]) -> str:
    """The text an entry's hash is computed over: its FIELDS in that order."""
    values = [at_text(entry["at"]) if name == "at" else entry[name] for name in FIELDS]
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def entry_hash(entry: dict[str, Any]) -> str:
    """The SHA-256 (hex) of an entry's canonical text."""
    return hashlib.sha256(canonical(entry).encode("ascii")).hexdigest()


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str, sort_keys=True)


def _lock(conn: sa.Connection) -> None:
    """Take the audit lock until the transaction ends (see the module's text)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.literal(LOCK_KEY, sa.BigInteger))))
    else:
        a = t.audit_log
        conn.execute(a.update().where(sa.false()).values(id=a.c.id))


def head(conn: sa.Connection) -> tuple[int, str] | None:
    """The newest entry's id and hash (None when the log is empty)."""
    a = t.audit_log
    found = conn.execute(sa.select(a.c.id, a.c.hash).order_by(a.c.id.desc()).limit(1)).first()
    return None if found is None else (int(found.id), str(found.hash))


# Actions that never change what the reports are computed from (lines, billings, events,
# costs, postings, setup, periods): the journal steps, files staged and stage rows deleted,
# mappings, the jobs' settings, users. Any other action (a job's run, a close, a setup load,
# one not listed here) may.
NEUTRAL = (
    "je.approve", "je.transfer", "je.summarize", "je.revoke", "import.file", "stage.delete",
    "mapping.load", "mapping.import", "job.enable", "job.disable", "job.schedule", "user.add",
    "user.change",
)  # fmt: skip


def basis_mark(conn: sa.Connection) -> int:
    """The id of the newest entry whose action may have changed the reports' inputs (0: none):
    while it stays the same, so do a report's figures."""
    a = t.audit_log
    query = sa.select(a.c.id).where(a.c.action.not_in(NEUTRAL)).order_by(a.c.id.desc()).limit(1)
    return int(conn.execute(query).scalar() or 0)


def record(
    conn: sa.Connection,
    *,
    user: str,
    now: datetime,
    action: str,
    entity: str,
    before: Any,
    after: Any,
    period: str | None = None,
) -> int:
    """Append an entry at `now` (the Context's clock; a time without a zone is UTC) after the
    head of the chain; its id. `before` and `after` are stored as JSON text."""
    at = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    _lock(conn)
    last = head(conn)
    entry: dict[str, Any] = {
        "id": 1 if last is None else last[0] + 1,
        "at": at,
        "user": user,
        "action": action,
        "entity": entity,
        "before": _json(before),
        "after": _json(after),
        "period": period,
        "prev_hash": GENESIS if last is None else last[1],
    }
    conn.execute(t.audit_log.insert().values(**entry, hash=entry_hash(entry)))
    return int(entry["id"])


def _filtered(
    query: sa.Select[Any],
    *,
    kind: str | None = None,
    user: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    period: str | None = None,
) -> sa.Select[Any]:
    a = t.audit_log
    if kind is not None:
        query = query.where(
            (a.c.action == kind) | a.c.action.startswith(f"{kind}.", autoescape=True)
        )
    if user is not None:
        query = query.where(a.c.user == user)
    if since is not None:
        query = query.where(a.c.at >= since.astimezone(UTC))
    if until is not None:
        query = query.where(a.c.at < until.astimezone(UTC))
    if period is not None:
        query = query.where(a.c.period == period)
    return query


def entries(
    conn: sa.Connection,
    *,
    kind: str | None = None,
    user: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    period: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Entries in id order: of a kind (an action, or the part of actions before their first
    '.': `job` finds job.enable and job.run), by a user, at or after `since` and before
    `until` (UTC), of a period. Each with every column, `before`/`after` as stored (JSON text)."""
    a = t.audit_log
    query = _filtered(
        sa.select(a), kind=kind, user=user, since=since, until=until, period=period
    ).order_by(a.c.id)
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [r._asdict() for r in conn.execute(query)]


def count(
    conn: sa.Connection,
    *,
    kind: str | None = None,
    user: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    period: str | None = None,
) -> int:
    """How many entries `entries` finds with these filters (no limit)."""
    a = t.audit_log
    query = _filtered(
        sa.select(sa.func.count()).select_from(a),
        kind=kind,
        user=user,
        since=since,
        until=until,
        period=period,
    )
    return int(conn.execute(query).scalar() or 0)


def chain(conn: sa.Connection, *, chunk: int = CHUNK) -> Iterator[dict[str, Any]]:
    """Every entry in id order, read `chunk` entries at a time (constant memory)."""
    a = t.audit_log
    after = None
    while True:
        query = sa.select(a).order_by(a.c.id).limit(chunk)
        if after is not None:
            query = query.where(a.c.id > after)
        found = [r._asdict() for r in conn.execute(query)]
        yield from found
        if len(found) < chunk:
            return
        after = found[-1]["id"]
