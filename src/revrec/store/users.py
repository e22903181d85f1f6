"""The users and API tokens tables: reads and writes only (hashing is the service's)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from revrec.store import schema as t


def users(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every user by name: name, role, active, created_at (no hashes)."""
    u = t.users
    columns = (u.c.name, u.c.role, u.c.active, u.c.created_at)
    return [r._asdict() for r in conn.execute(sa.select(*columns).order_by(u.c.name))]


def user(conn: sa.Connection, name: str) -> dict[str, Any] | None:
    """One user with its password hash, or None."""
    u = t.users
    found = conn.execute(sa.select(u).where(u.c.name == name)).first()
    return None if found is None else found._asdict()


def add(conn: sa.Connection, name: str, role: str, password_hash: str, now: datetime) -> None:
    conn.execute(
        t.users.insert().values(
            name=name, role=role, password_hash=password_hash, active=True, created_at=now
        )
    )


def update(conn: sa.Connection, name: str, **values: Any) -> None:
    """Change a user's role, password hash or activity."""
    conn.execute(t.users.update().where(t.users.c.name == name).values(**values))


def add_token(conn: sa.Connection, digest: str, name: str, label: str, now: datetime) -> None:
    conn.execute(
        t.api_tokens.insert().values(token_sha256=digest, user=name, label=label, created_at=now)
    )


def token_user(conn: sa.Connection, digest: str) -> dict[str, Any] | None:
    """The active user a token (by its SHA-256) belongs to, or None."""
    u, k = t.users, t.api_tokens
    found = conn.execute(
        sa.select(u.c.name, u.c.role)
        .join(k, k.c.user == u.c.name)
        .where(k.c.token_sha256 == digest, u.c.active)
    ).first()
    return None if found is None else found._asdict()


def tokens(conn: sa.Connection, name: str) -> list[dict[str, Any]]:
    """A user's tokens: label and created_at (never the token)."""
    k = t.api_tokens
    rows = conn.execute(
        sa.select(k.c.label, k.c.created_at).where(k.c.user == name).order_by(k.c.created_at)
    )
    return [r._asdict() for r in rows]


def remove_tokens(conn: sa.Connection, name: str, label: str) -> int:
    k = t.api_tokens
    return conn.execute(k.delete().where(k.c.user == name, k.c.label == label)).rowcount
