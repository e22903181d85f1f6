"""The setup as the Setup page lists it: books with their open period, the accounts, the SSP
table in the order it was loaded, and the users' API tokens (never the tokens themselves).

Reads only: plain values out; no rules, no messages, no imports of the engine or the services.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from revrec.store import schema as t


def books(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every book, the primary book first: name, is_primary, currency, independent, methods
    (template -> method) and open_period (None when it has none)."""
    b, p = t.books, t.periods
    query = (
        sa.select(b.c.name, b.c.is_primary, b.c.currency, b.c.independent, b.c.methods, p.c.period)
        .outerjoin(p, (p.c.book == b.c.name) & (p.c.status == "open"))
        .order_by(b.c.is_primary.desc(), b.c.name)
    )
    return [
        {
            "name": r.name,
            "is_primary": bool(r.is_primary),
            "currency": r.currency,
            "independent": bool(r.independent),
            "methods": dict(r.methods or {}),
            "open_period": r.period,
        }
        for r in conn.execute(query)
    ]


def accounts(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every account row: book ("" = every book), scope (default, template, item), scope_key
    ("" or the template name or item code), role and gl_code, by book, scope and key."""
    a = t.accounts
    query = sa.select(a.c.book, a.c.scope, a.c.scope_key, a.c.role, a.c.gl_code).order_by(
        a.c.book, a.c.scope, a.c.scope_key, a.c.role
    )
    return [r._asdict() for r in conn.execute(query)]


def ssp_rows(conn: sa.Connection) -> list[dict[str, Any]]:
    """The SSP table in the order it was loaded: item_code, currency, ssp (minor units or None),
    ssp_percent_micro (percent x 1e6 or None), valid_from and valid_to (dates or None)."""
    s = t.ssp
    query = sa.select(
        s.c.item_code, s.c.currency, s.c.ssp, s.c.ssp_percent_micro, s.c.valid_from, s.c.valid_to
    ).order_by(s.c.id)
    return [r._asdict() for r in conn.execute(query)]


def tokens(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every user's API tokens: user, label and created_at, by user and time (no digests)."""
    k = t.api_tokens
    query = sa.select(k.c.user, k.c.label, k.c.created_at).order_by(k.c.user, k.c.created_at)
    return [r._asdict() for r in conn.execute(query)]
