"""The audit log (SPEC §2, §11.1): listing its entries, and verifying its hash chain.

Every state change writes one entry (`store.audit.record`, last in its transaction): who (the
Context's user: the OS user of a command), when (the Context's `now`: one time per command), the
action, the entity, the state before and after (JSON), and the period it concerns, if any. An
action is `kind.verb`, and `--kind` takes a kind or a whole action:

    setup.init      book:PRIMARY        the first open period         period: the first one
    setup.load      setup               the counts per section
    mapping.load    mapping:NAME:TYPE   a mapping of a setup file, before and after
    mapping.import  mapping:NAME:TYPE   a mapping of `mapping import`, before and after
    import.file     file:ID             the file, its SHA-256, rows per outcome
    stage.delete    stage_row:ID        the status before, deleted after
    job.enable      job:NAME            active before and after (job.disable likewise)
    job.run         job:NAME            the job's result               period: the open one
    period.open     period:YYYY-MM      the new open period            period: the new one
    period.close    period:YYYY-MM      closed and opened periods      period: the closed one
    je.approve      journal:BOOK:PERIOD the state before and after     period: the journal's
                    (je.transfer, je.summarize and je.revoke likewise; see services.journals)

What `verify` proves: each entry is as written (its hash is recomputed from its contents) and
follows the entry written before it (its `prev_hash` is that entry's hash, and ids have no gaps),
from the first entry to the newest. So an entry that was altered, or removed from the middle, is
named. What it cannot prove alone: that no entries were removed from the end, or that the whole
log was not rewritten with a new chain, by someone who can write to the database. For that an
auditor keeps the head (the newest entry's id and hash, which `verify` prints) somewhere else and
gives it back later (`verify(ctx, head=...)`): a log that no longer holds that entry fails.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import polars as pl

from revrec.calendar import parse_period, period_name
from revrec.errors import InputError
from revrec.services.columns import Columns
from revrec.services.context import Context
from revrec.store import audit as store

CHUNK = 10_000  # entries read per query by `entries_of`
# The columns of `audit list` (before/after as JSON text; the JSON format gives them as values).
COLUMNS: Columns = {
    "id": pl.Int64,
    "at": pl.String,
    "user": pl.String,
    "action": pl.String,
    "entity": pl.String,
    "period": pl.String,
    "before": pl.String,
    "after": pl.String,
    "prev_hash": pl.String,
    "hash": pl.String,
}
VERIFY_COLUMNS: Columns = {
    "ok": pl.Boolean,
    "entries": pl.Int64,
    "first_bad_id": pl.Int64,
    "problem": pl.String,
    "head_id": pl.Int64,
    "head_hash": pl.String,
}


@dataclass(frozen=True)
class VerifyResult:
    """What `verify` found: whether the chain holds, how many entries were found intact (before
    the first bad one), the first bad entry and what is wrong with it, and the head: the newest
    entry's id and hash, for an auditor to keep elsewhere (None when the chain is broken or
    empty)."""

    ok: bool
    entries: int
    first_bad_id: int | None
    problem: str | None
    head_id: int | None = None
    head_hash: str | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "first_bad_id": self.first_bad_id,
            "problem": self.problem,
            "head_id": self.head_id,
            "head_hash": self.head_hash,
        }


def _start(day: date) -> datetime:
    if isinstance(day, datetime):
        return day.replace(tzinfo=UTC) if day.tzinfo is None else day
    return datetime.combine(day, time(), UTC)


def _end(day: date) -> datetime:
    """The exclusive end of `until`: the next day's start, or just after an exact time."""
    if isinstance(day, datetime):
        return _start(day) + timedelta(microseconds=1)
    return datetime.combine(day + timedelta(days=1), time(), UTC)


def _value(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _filters(
    kind: str | None,
    user: str | None,
    since: date | None,
    until: date | None,
    period: str | None,
) -> dict[str, Any]:
    """The store's filters of a listing, checked."""
    kind = kind.strip().lower() if kind is not None else None
    if kind == "":
        raise InputError("--kind is empty: give a kind such as import, job, period")
    if period is not None:
        period = period_name(parse_period(period))
    return {
        "kind": kind,
        "user": user,
        "since": None if since is None else _start(since),
        "until": None if until is None else _end(until),
        "period": period,
    }


def _shown(e: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": e["id"],
        "at": store.at_text(e["at"]),
        "user": e["user"],
        "action": e["action"],
        "entity": e["entity"],
        "period": e["period"],
        "before": _value(e["before"]),
        "after": _value(e["after"]),
        "prev_hash": e["prev_hash"],
        "hash": e["hash"],
    }


def list_entries(
    ctx: Context,
    kind: str | None = None,
    user: str | None = None,
    since: date | None = None,
    until: date | None = None,
    period: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Entries, oldest first, filtered: of a kind (`import`, `job`, ... or a whole action such
    as `job.run`), by a user, from `since` to `until` (days in UTC, both inclusive; a datetime
    is an exact bound), of a period (YYYY-MM). `limit` and `offset` page through them. Each
    entry has `at` as UTC text with microseconds (as hashed) and `before`/`after` as values."""
    filters = _filters(kind, user, since, until, period)
    if (limit is not None and limit < 0) or offset < 0:
        raise InputError("limit and offset cannot be negative")
    with ctx.engine.connect() as conn:
        found = store.entries(conn, **filters, limit=limit, offset=offset)
    return [_shown(e) for e in found]


@dataclass(frozen=True)
class Entries:
    """The entries of a listing, read a chunk at a time, and how many the filters find."""

    rows: Iterator[dict[str, Any]]
    count: Callable[[], int]


@contextmanager
def entries_of(
    ctx: Context,
    *,
    kind: str | None = None,
    user: str | None = None,
    since: date | None = None,
    until: date | None = None,
    period: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    chunk: int = CHUNK,
) -> Iterator[Entries]:
    """The entries of `list_entries` (same filters, window and shape), read `chunk` entries a
    query while the connection is open, so memory stays flat."""
    filters = _filters(kind, user, since, until, period)
    if (limit is not None and limit < 0) or offset < 0:
        raise InputError("limit and offset cannot be negative")
    with ctx.engine.connect() as conn:

        def rows() -> Iterator[dict[str, Any]]:
            start, left = offset, limit
            while left is None or left > 0:
                size = chunk if left is None else min(chunk, left)
                found = store.entries(conn, **filters, limit=size, offset=start)
                yield from (_shown(e) for e in found)
                if len(found) < size:
                    return
                start += len(found)
                left = None if left is None else left - len(found)

        yield Entries(rows(), lambda: store.count(conn, **filters))


def verify(ctx: Context, head: str | None = None) -> VerifyResult:
    """Recompute the chain from the first entry to the newest, reading it in chunks. The first
    entry whose hash is not the hash of its contents was altered; the first whose prev_hash is
    not the hash of the entry before it, or whose id does not follow that entry's, comes after
    a removed (or rewritten) entry. With `head` (a hash `verify` printed earlier), the log must
    still hold that entry: else entries were removed from the end or the log was rewritten."""
    head = head.strip().lower() if head is not None else None
    count, last_id, last_hash = 0, 0, store.GENESIS
    head_seen = head is None
    with ctx.engine.connect() as conn:
        for entry in store.chain(conn):
            entry_id = int(entry["id"])
            problem = _problem(entry, last_id, last_hash)
            if problem is not None:
                return VerifyResult(ok=False, entries=count, first_bad_id=entry_id, problem=problem)
            count, last_id, last_hash = count + 1, entry_id, str(entry["hash"])
            head_seen = head_seen or last_hash == head
    head_id, head_hash = (last_id, last_hash) if count else (None, None)
    if not head_seen:
        problem = (
            f"the log no longer holds the recorded head {head}: entries after it were removed, "
            "or the log was rewritten"
        )
        return VerifyResult(
            ok=False,
            entries=count,
            first_bad_id=None,
            problem=problem,
            head_id=head_id,
            head_hash=head_hash,
        )
    return VerifyResult(
        ok=True,
        entries=count,
        first_bad_id=None,
        problem=None,
        head_id=head_id,
        head_hash=head_hash,
    )


def _problem(entry: dict[str, Any], last_id: int, last_hash: str) -> str | None:
    """What is wrong with an entry that should follow entry `last_id` (0: none) of hash
    `last_hash`, or None."""
    entry_id = int(entry["id"])
    if store.entry_hash(entry) != entry["hash"]:
        return f"entry {entry_id} was altered: its hash is not the hash of its contents"
    if entry_id != last_id + 1:
        skipped = "the log starts" if last_id == 0 else f"ids skip from {last_id}"
        return f"an entry before {entry_id} was removed: {skipped} to {entry_id}"
    if entry["prev_hash"] != last_hash:
        if last_id == 0:
            return f"entry {entry_id} was rewritten: its prev_hash is not the chain's start"
        return (
            f"an entry before {entry_id} was removed or rewritten: its prev_hash is not "
            f"the hash of entry {last_id}"
        )
    return None
