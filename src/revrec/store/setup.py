"""The setup's tables: books and their periods, accounts, POB templates, the SSP table, contract
policies and settings. Plain values in and out; checking them is the services' work.

Reads and writes only: no rules, no messages, no imports of the engine or the services.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from revrec.store import schema as t

OPEN = "open"


def primary_book(conn: sa.Connection) -> str | None:
    """The name of the primary book (None before `init`)."""
    found = conn.execute(sa.select(t.books.c.name).where(t.books.c.is_primary)).scalar()
    return None if found is None else str(found)


def book_names(conn: sa.Connection) -> list[str]:
    """Every book's name, sorted."""
    b = t.books
    return [str(name) for name in conn.execute(sa.select(b.c.name).order_by(b.c.name)).scalars()]


def book_exists(conn: sa.Connection, name: str) -> bool:
    b = t.books
    return conn.execute(sa.select(b.c.name).where(b.c.name == name)).first() is not None


def add_book(
    conn: sa.Connection,
    name: str,
    currency: str,
    *,
    primary: bool,
    period: str,
    independent: bool = False,
    methods: dict[str, str] | None = None,
) -> None:
    """A new book and its first period, open."""
    conn.execute(
        t.books.insert().values(
            name=name,
            is_primary=primary,
            currency=currency.upper(),
            independent=independent,
            methods=methods or {},
        )
    )
    conn.execute(t.periods.insert().values(book=name, period=period, status=OPEN))


def update_book(
    conn: sa.Connection,
    name: str,
    *,
    currency: str,
    methods: dict[str, str],
    independent: bool | None = None,
) -> None:
    """A book's currency and method overrides (and whether it is independent, when given)."""
    values: dict[str, Any] = {"currency": currency, "methods": methods}
    if independent is not None:
        values["independent"] = independent
    conn.execute(t.books.update().where(t.books.c.name == name).values(**values))


def rename_book(conn: sa.Connection, old: str, new: str) -> None:
    """A book and its periods under a new name."""
    b, p = t.books, t.periods
    # Periods refer to their book's name: the new name exists before they move to it.
    book = conn.execute(sa.select(b).where(b.c.name == old)).one()._asdict()
    conn.execute(b.insert().values({**book, "name": new}))
    conn.execute(p.update().where(p.c.book == old).values(book=new))
    conn.execute(b.delete().where(b.c.name == old))


def open_period(conn: sa.Connection, book: str | None = None) -> str | None:
    """The open period of a book (default: the primary book); None when there is none."""
    p, b = t.periods, t.books
    query = sa.select(p.c.period).join(b, b.c.name == p.c.book).where(p.c.status == OPEN)
    query = query.where(b.c.name == book if book else b.c.is_primary)
    found = conn.execute(query).scalar()
    return None if found is None else str(found)


def set_account(
    conn: sa.Connection, book: str, scope: str, scope_key: str, role: str, gl_code: str
) -> None:
    """The GL code of an account role in a scope (`book` "" = every book), replacing any."""
    a = t.accounts
    where = (
        (a.c.book == book)
        & (a.c.scope == scope)
        & (a.c.scope_key == scope_key)
        & (a.c.role == role)
    )
    conn.execute(a.delete().where(where))
    conn.execute(
        a.insert().values(book=book, scope=scope, scope_key=scope_key, role=role, gl_code=gl_code)
    )


def templates(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every POB template as stored: name, method, params (dict) and events (list)."""
    p = t.pob_templates
    return [
        {"name": r.name, "method": r.method, "params": r.params or {}, "events": r.events or []}
        for r in conn.execute(sa.select(p.c.name, p.c.method, p.c.params, p.c.events))
    ]


def save_template(
    conn: sa.Connection, name: str, method: str, params: dict[str, str], events: list[str]
) -> None:
    """A POB template, replacing the one of that name."""
    p = t.pob_templates
    conn.execute(p.delete().where(p.c.name == name))
    conn.execute(p.insert().values(name=name, method=method, params=params, events=events))


def replace_ssp(conn: sa.Connection, rows: Iterable[dict[str, Any]]) -> None:
    """The SSP table, replaced whole. Each row: item_code, currency, ssp (minor units) or
    ssp_percent_micro, valid_from, valid_to (dates or None)."""
    conn.execute(t.ssp.delete())
    found = list(rows)
    if found:
        conn.execute(t.ssp.insert(), found)


def set_contract_policy(conn: sa.Connection, contract_id: str, policy: str) -> None:
    """A contract's modification policy, replacing any."""
    c = t.contract_policies
    conn.execute(c.delete().where(c.c.contract_id == contract_id))
    conn.execute(c.insert().values(contract_id=contract_id, modification_policy=policy))


def set_setting(conn: sa.Connection, key: str, value: str) -> None:
    """A setting (e.g. modification_policy), replacing any."""
    s = t.settings
    conn.execute(s.delete().where(s.c.key == key))
    conn.execute(s.insert().values(key=key, value=value))


def book_currency(conn: sa.Connection, book: str) -> str:
    b = t.books
    return str(conn.execute(sa.select(b.c.currency).where(b.c.name == book)).scalar_one())


def dependent_books(conn: sa.Connection) -> list[str]:
    """The primary book and every secondary book not marked independent, primary first."""
    b = t.books
    rows = conn.execute(
        sa.select(b.c.name)
        .where(b.c.is_primary | ~b.c.independent)
        .order_by(b.c.is_primary.desc(), b.c.name)
    ).all()
    return [str(r[0]) for r in rows]


def is_independent(conn: sa.Connection, book: str) -> bool:
    b = t.books
    return bool(conn.execute(sa.select(b.c.independent).where(b.c.name == book)).scalar())
