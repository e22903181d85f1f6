"""Period close (SPEC §7): the checklist, and "Open New Period".

The checklist of the open period: (1) no pending stage rows of the period, (2) no error rows of
the period (a warning the user acknowledges), (3) the journal of the primary book and of every
secondary book not marked independent is summarized, (4) each book's reconciliation passes.
Closing is refused, naming each item missing. In one transaction the open period of those
books becomes closed and the next one open, every line is marked for the next revenue run and
the new period's future rows become pending; then the active jobs process them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from revrec.errors import StateError
from revrec.services import reconcile
from revrec.services.context import Context
from revrec.services.processing import runner
from revrec.services.processing.outcome import JobResult
from revrec.services.processing.periods import advance
from revrec.services.subledger import primary_book
from revrec.store import journals as journal_store
from revrec.store import locks
from revrec.store import setup as setup_store
from revrec.store import stage as stage_store
from revrec.store.audit import record


@dataclass(frozen=True)
class Item:
    name: str
    ok: bool
    detail: str
    warning: bool = False  # a warning the user may acknowledge, not a blocker

    def as_json(self) -> dict[str, object]:
        detail = "" if self.ok else self.detail
        return {"name": self.name, "ok": self.ok, "detail": detail, "warning": self.warning}


@dataclass(frozen=True)
class Checklist:
    books: list[str]
    period: str
    items: list[Item]

    def blockers(self, *, acknowledge_errors: bool) -> list[Item]:
        return [i for i in self.items if not i.ok and not (i.warning and acknowledge_errors)]

    def as_json(self) -> dict[str, object]:
        """The checklist as the Period Close page and its API show it: the period, the books a
        close moves, each item (`rows`), whether error rows wait to be acknowledged, and
        whether the close can go ahead (`ready`: nothing blocks it once they are)."""
        return {
            "period": self.period,
            "books": self.books,
            "rows": [i.as_json() for i in self.items],
            "errors_to_acknowledge": any(i.warning and not i.ok for i in self.items),
            "ready": not self.blockers(acknowledge_errors=True),
        }


@dataclass
class Closed:
    closed: str
    opened: str
    books: list[str]
    jobs: list[JobResult] = field(default_factory=list)


def _books(conn: sa.Connection, ctx: Context) -> list[str]:
    """The books one close moves: the primary and its dependent books, or one independent book
    asked for with --book."""
    if ctx.book is not None:
        book = primary_book(conn, ctx.book)
        if setup_store.is_independent(conn, book):
            return [book]
    return setup_store.dependent_books(conn)


def checklist_of(conn: sa.Connection, ctx: Context, *, read: bool = False) -> Checklist:
    """The close checklist of the open period (`read`: for a page, not the close itself)."""
    books = _books(conn, ctx)
    period = setup_store.open_period(conn, books[0])
    if period is None:
        raise StateError(f"book {books[0]} has no open period")
    pending = stage_store.status_count(conn, "pending", through=period)
    errors = stage_store.status_count(conn, "error", through=period)
    items = [
        Item("no pending stage rows", pending == 0,
             f"{pending} rows pending: run `revrec process` or delete them"),
        Item("no error rows", errors == 0,
             f"{errors} error rows: correct and re-import them, or acknowledge", warning=True),
    ]  # fmt: skip
    for book in books:
        state = journal_store.card(conn, book, period)["state"]
        items.append(
            Item(f"journal {book} {period} summarized", state == "summarized",
                 f"the journal is {state}: approve, transfer and summarize it (revrec je)")
        )  # fmt: skip
        # The report figures the journal was approved with, while still current (decision 91).
        approved = reconcile.approved_figures(conn, book, period)
        found = reconcile.checks(conn, book, period, read=read, figures=approved)
        failing = [c.failure() for c in found if not c.passed]
        items.append(
            Item(f"reconciliation {book} {period} passes", not failing, "; ".join(failing))
        )
    return Checklist(books, period, items)


def period_to_close(ctx: Context) -> str:
    """The open period a close would close (what a confirmation asks about), without the
    checklist: `close` checks it, in its transaction."""
    with ctx.engine.connect() as conn:
        books = _books(conn, ctx)
        period = setup_store.open_period(conn, books[0])
    if period is None:
        raise StateError(f"book {books[0]} has no open period")
    return period


def checklist(ctx: Context) -> Checklist:
    with ctx.engine.connect() as conn:
        return checklist_of(conn, ctx, read=True)


def close(ctx: Context, *, acknowledge_errors: bool = False) -> Closed:
    """Open New Period: refused (naming each missing item) unless the checklist passes."""
    with ctx.engine.begin() as conn:
        locks.processing_or_refuse(conn, "period close")
        found = checklist_of(conn, ctx)
        blockers = found.blockers(acknowledge_errors=acknowledge_errors)
        if blockers:
            raise StateError(
                f"period {found.period} cannot be closed: "
                + "; ".join(f"{i.name}: {i.detail}" for i in blockers)
            )
        opened = advance(conn, found.books, found.period)
        record(
            conn,
            user=ctx.user,
            now=ctx.now,
            action="period.close",
            entity=f"period:{found.period}",
            before={"open": found.period, "books": found.books},
            after={"closed": found.period, "open": opened},
            period=found.period,
        )
    result = Closed(found.period, opened, found.books)
    result.jobs = runner.run(ctx)
    return result
