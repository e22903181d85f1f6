"""Setting up a subledger: `init` and `setup load` (SPEC §2, §2.1). Idempotent.

Each function takes an open Connection (one transaction) and plain values: the shells call
`services.workflow`, which opens the transaction and gives the Context's user and `now`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from revrec.calendar import month_index, parse_period, period_name
from revrec.errors import ConfigError, InputError, StateError
from revrec.imports.templates import DEFAULT_TEMPLATES
from revrec.money import exponent
from revrec.services.setup_file import SetupSource, read_setup
from revrec.store import jobs as job_store
from revrec.store import setup as store
from revrec.store.audit import record
from revrec.vocab import JOBS, POLICIES

if TYPE_CHECKING:
    from revrec.services.setup_check import Stored
    from revrec.services.setup_schema import Book, Job, Template

__all__ = [
    "ACCOUNT_ROLES",
    "DEFAULT_ACCOUNTS",
    "PRIMARY",
    "InitResult",
    "SetupSource",
    "check_book",
    "check_init",
    "init",
    "load",
    "open_period",
    "read_setup",
]

# The roles of the subledger's accounts (SPEC §2); setup_schema.Accounts has one key per role.
ACCOUNT_ROLES = (
    "accounts_receivable",
    "deferred_revenue",
    "contract_asset",
    "revenue",
    "contract_cost_asset",
    "contract_cost_expense",
    "billing_clearing",
    "cost_clearing",
)
DEFAULT_ACCOUNTS = {
    "accounts_receivable": "1200",
    "deferred_revenue": "2400",
    "contract_asset": "1300",
    "revenue": "4000",
    "contract_cost_asset": "1500",
    "contract_cost_expense": "6100",
    "billing_clearing": "1250",
    "cost_clearing": "2150",
}
PRIMARY = "PRIMARY"


@dataclass(frozen=True)
class InitResult:
    book: str
    open_period: str
    created: bool


def check_init(*, first_period: str | None, currency: str) -> str | None:
    """The values `init` is given, checked before anything is created: the first period as
    YYYY-MM (None when not given) and a currency of ISO 4217."""
    exponent(currency)
    if first_period is None:
        return None
    try:
        return period_name(parse_period(first_period))
    except InputError:
        raise InputError(
            f"--first-period {first_period!r}: expected a period YYYY-MM, e.g. 2024-03"
        ) from None


def init(
    conn: sa.Connection,
    *,
    first_period: str | None,
    currency: str,
    user: str,
    now: datetime,
    default_period: str | None = None,
) -> InitResult:
    """Create the primary book, its first open period, default accounts, templates and jobs.

    The first open period is `first_period`, else `default_period`, else the month of `now`.
    On a database already set up nothing changes, and a `first_period` other than its open
    period is a StateError (it would not be applied)."""
    given = check_init(first_period=first_period, currency=currency)
    existing = store.primary_book(conn)
    if existing is not None:
        open_period = store.open_period(conn, existing)
        if given is not None and given != open_period:
            raise StateError(
                f"the database is already set up with open period {open_period}: "
                f"--first-period {given} is not applied"
            )
        return InitResult(existing, open_period or "", created=False)
    period = given or default_period or period_name(month_index(now.date()))
    store.add_book(conn, PRIMARY, currency, primary=True, period=period)
    for role, code in DEFAULT_ACCOUNTS.items():
        store.set_account(conn, "", "default", "", role, code)
    for template in DEFAULT_TEMPLATES:
        params = {k: v for k, v in (("convention", template.convention), ("at", template.at)) if v}
        store.save_template(conn, template.name, template.method, params, list(template.events))
    job_store.add(conn, JOBS, every="1h")
    store.set_setting(conn, "modification_policy", POLICIES[0])
    record(
        conn,
        user=user,
        now=now,
        action="setup.init",
        entity=f"book:{PRIMARY}",
        before=None,
        after={"book": PRIMARY, "currency": currency, "open_period": period},
        period=period,
    )
    return InitResult(PRIMARY, period, created=True)


def open_period(conn: sa.Connection, book: str | None = None) -> str:
    """The open period of a book (default: the primary book)."""
    found = store.open_period(conn, book)
    if found is None:
        raise ConfigError("no open period: run `revrec init` first")
    return found


def check_book(conn: sa.Connection, book: str) -> str:
    """The book named (e.g. by --book), which must exist."""
    if not store.book_exists(conn, book):
        names = store.book_names(conn)
        raise InputError(f"unknown book {book!r}: expected one of {', '.join(names)}")
    return book


def load(
    conn: sa.Connection, document: SetupSource | Any, *, user: str, now: datetime
) -> dict[str, int]:
    """Apply a setup document (the YAML of SPEC §2.1, or the SetupSource `setup_file` reads,
    whose messages then name the file); returns counts per section.

    The whole document is checked first, the schema and then against the database, and every
    problem is one InputError (`setup_check`): a file with any problem writes nothing."""
    # pydantic and croniter cost half a second of start-up: only `setup load` imports them.
    from revrec.services.mappings import load_mappings  # noqa: PLC0415
    from revrec.services.setup_check import check  # noqa: PLC0415

    source = document if isinstance(document, SetupSource) else SetupSource(None, document)
    stored = _stored(conn)
    setup = check(source.document, stored, source=source.name)
    counts: dict[str, int] = {}
    if setup.books is not None:  # the first to be written: nothing is when these fail
        if stored.primary is None:
            raise ConfigError("run `revrec init` before loading books")
        counts["books"] = _load_books(conn, setup.books, stored.primary, open_period(conn))
    if setup.accounts is not None:
        codes = setup.accounts.codes()
        for role, code in codes.items():
            store.set_account(conn, "", "default", "", role, code)
        counts["accounts"] = len(codes)
    if setup.defaults is not None:
        if setup.defaults.modification_policy is not None:
            store.set_setting(conn, "modification_policy", setup.defaults.modification_policy)
        counts["defaults"] = len(setup.defaults.model_fields_set)
    if setup.pob_templates is not None:
        counts["pob_templates"] = _load_templates(conn, setup.pob_templates)
    if setup.ssp is not None:
        store.replace_ssp(conn, [row.row() for row in setup.ssp])
        counts["ssp"] = len(setup.ssp)
    if setup.contract_policies is not None:
        for policy in setup.contract_policies:
            store.set_contract_policy(conn, policy.contract_id, policy.modification_policy)
        counts["contract_policies"] = len(setup.contract_policies)
    if setup.jobs is not None:
        counts["jobs"] = _load_jobs(conn, setup.jobs)
    if setup.mappings is not None:
        # As checked above: load_mappings writes what changed and audit-logs it.
        entries = source.document["mappings"]
        counts["mappings"] = load_mappings(conn, entries, user=user, now=now)
    record(conn, user=user, now=now, action="setup.load", entity="setup", before=None, after=counts)
    return counts


def _stored(conn: sa.Connection) -> Stored:
    """What the database holds that a setup file is checked against."""
    from revrec.services.setup_check import Stored  # noqa: PLC0415

    return Stored(
        primary=store.primary_book(conn),
        books=frozenset(store.book_names(conn)),
        templates=frozenset(str(t["name"]) for t in store.templates(conn)),
    )


def _load_books(conn: sa.Connection, books: list[Book], current: str, period: str) -> int:
    """The primary book first (renamed when the file names it otherwise), then the others."""
    for book in books:
        if book.primary:
            if book.name != current:
                store.rename_book(conn, current, book.name)
            store.update_book(conn, book.name, currency=book.currency, methods=book.methods)
    for book in books:
        if book.primary:
            continue
        if store.book_exists(conn, book.name):
            store.update_book(
                conn,
                book.name,
                currency=book.currency,
                methods=book.methods,
                independent=book.independent,
            )
        else:
            store.add_book(
                conn,
                book.name,
                book.currency,
                primary=False,
                period=period,
                independent=book.independent,
                methods=book.methods,
            )
    return len(books)


def _load_templates(conn: sa.Connection, templates: list[Template]) -> int:
    for template in templates:
        events = list(template.events or [])
        store.save_template(conn, template.name, template.method, template.stored_params(), events)
        if template.accounts is not None:
            for role, code in template.accounts.codes().items():
                store.set_account(conn, "", "template", template.name, role, code)
    return len(templates)


def _load_jobs(conn: sa.Connection, jobs: list[Job]) -> int:
    for job in jobs:
        job_store.configure(conn, job.name, active=job.active, every=job.every, cron=job.cron)
    return len(jobs)
