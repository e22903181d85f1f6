"""Users, roles and API tokens of the web app and API (SPEC §2, §11.2).

Passwords are kept as argon2 hashes (argon2-cffi's defaults, RFC 9106's second recommended
profile); an API token is 32 random bytes shown once, stored as its SHA-256. Which role may do
what is `PERMISSIONS`, the one table the web app enforces and the docs print.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from revrec.calendar import utc_text
from revrec.errors import AccessError, InputError
from revrec.services.context import Context
from revrec.store import users as store
from revrec.store.audit import record
from revrec.vocab import ROLES

# Each action and the least role allowed it (roles are ordered: viewer < accountant < admin).
PERMISSIONS: dict[str, str] = {
    "view": "viewer",  # every page, report, listing and download
    "import": "accountant",  # upload transactions and events
    "delete_rows": "accountant",  # delete stage rows
    "run_jobs": "accountant",  # run a job now
    "approve": "accountant",  # Approve for Transfer, and revoke a step
    "transfer": "accountant",  # Mark as transferred
    "summarize": "accountant",
    "close": "accountant",  # Open New Period
    "configure_jobs": "admin",  # make a job active or inactive
    "setup": "admin",  # books, accounts, templates, SSP, mappings
    "users": "admin",  # add users, change roles, reset passwords
}
ACTION_WORDS: dict[str, str] = {
    "view": "see pages, reports and downloads",
    "import": "upload transactions and events",
    "delete_rows": "delete stage rows",
    "run_jobs": "run a job now",
    "approve": "approve a journal, revoke a step",
    "transfer": "mark a journal as transferred",
    "summarize": "summarize a journal",
    "close": "close the period (Open New Period)",
    "configure_jobs": "make a job active or inactive",
    "setup": "change the setup",
    "users": "manage users and their roles",
}
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
MIN_PASSWORD = 8
MAX_LABEL = 128  # characters of an API token's label
_hasher = PasswordHasher()


def allowed(role: str, action: str) -> bool:
    """Whether a role may do an action (an unknown action is allowed to nobody)."""
    least = PERMISSIONS.get(action)
    return least is not None and role in ROLES and ROLES.index(role) >= ROLES.index(least)


def require(role: str, action: str) -> None:
    """An AccessError unless `role` may do `action`."""
    if not allowed(role, action):
        article = "an" if role[:1] in "aeiou" else "a"
        raise AccessError(f"{article} {role} may not {ACTION_WORDS.get(action, action)}")


def permission_table() -> list[dict[str, Any]]:
    """Role by action, as the docs print it: one row per action, a yes/no per role."""
    return [
        {"action": action, "what": ACTION_WORDS[action]}
        | {role: allowed(role, action) for role in ROLES}
        for action in PERMISSIONS
    ]


def _check(name: str, role: str, password: str | None) -> None:
    if not _NAME.match(name):
        raise InputError(f"user name {name!r}: expected 1-64 letters, digits or _ . @ -")
    if role not in ROLES:
        raise InputError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    if password is not None and len(password) < MIN_PASSWORD:
        raise InputError(f"a password has at least {MIN_PASSWORD} characters")


def list_users(ctx: Context) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        found = store.users(conn)
    return [u | {"created_at": utc_text(u["created_at"])} for u in found]


def add_user(ctx: Context, name: str, role: str, password: str) -> None:
    """A new user (audit-logged as `user.add`, without the password)."""
    _check(name, role, password)
    digest = _hasher.hash(password)
    with ctx.engine.begin() as conn:
        if store.user(conn, name) is not None:
            raise InputError(f"user {name!r} exists already")
        store.add(conn, name, role, digest, ctx.now)
        _audit(ctx, conn, "user.add", name, None, {"role": role, "active": True})


def change_user(
    ctx: Context,
    name: str,
    *,
    role: str | None = None,
    password: str | None = None,
    active: bool | None = None,
) -> None:
    """Change a user's role, password or activity (audit-logged as `user.change`; a password
    change is logged as such, never its value)."""
    _check(name, ROLES[0] if role is None else role, password)
    with ctx.engine.begin() as conn:
        found = store.user(conn, name)
        if found is None:
            raise InputError(f"unknown user {name!r}")
        values: dict[str, Any] = {}
        if role is not None:
            values["role"] = role
        if active is not None:
            values["active"] = active
        if password is not None:
            values["password_hash"] = _hasher.hash(password)
        if not values:
            return
        store.update(conn, name, **values)
        before = {k: found[k] for k in ("role", "active") if k in values}
        after: dict[str, Any] = {k: values[k] for k in ("role", "active") if k in values}
        if password is not None:
            after["password"] = "changed"  # noqa: S105 (what the audit log says, not a password)
        _audit(ctx, conn, "user.change", name, before, after)


def authenticate(ctx: Context, name: str, password: str) -> dict[str, str]:
    """The user (name, role) whose password this is; an AccessError otherwise (the same message
    for an unknown user and a wrong password)."""
    with ctx.engine.connect() as conn:
        found = store.user(conn, name)
    refused = AccessError("wrong user name or password")
    if found is None or not found["active"]:
        _hasher.hash(password)  # the same time for an unknown user as for a wrong password
        raise refused
    try:
        _hasher.verify(found["password_hash"], password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        raise refused from None
    return {"name": found["name"], "role": found["role"]}


def user_of(ctx: Context, name: str) -> dict[str, str] | None:
    """An active user's name and role (a session's user is looked up on each request, so a
    role change or a deactivation takes effect at once); None when there is none."""
    with ctx.engine.connect() as conn:
        found = store.user(conn, name)
    if found is None or not found["active"]:
        return None
    return {"name": found["name"], "role": found["role"]}


def make_token(ctx: Context, name: str, label: str) -> str:
    """A new API token for a user: returned once, stored as its SHA-256 (`token.add`)."""
    label = label.strip()
    if not 1 <= len(label) <= MAX_LABEL or not label.isprintable():
        raise InputError(f"a token's label is 1-{MAX_LABEL} printable characters")
    token = "rr_" + secrets.token_urlsafe(32)
    with ctx.engine.begin() as conn:
        if store.user(conn, name) is None:
            raise InputError(f"unknown user {name!r}")
        store.add_token(conn, _digest(token), name, label, ctx.now)
        _audit(ctx, conn, "token.add", name, None, {"label": label})
    return token


def token_user(ctx: Context, token: str) -> dict[str, str] | None:
    """The active user (name, role) of an API token, or None."""
    with ctx.engine.connect() as conn:
        return store.token_user(conn, _digest(token))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _audit(ctx: Context, conn: Any, action: str, name: str, before: Any, after: Any) -> None:
    record(
        conn,
        user=ctx.user,
        now=ctx.now,
        action=action,
        entity=f"user:{name}",
        before=before,
        after=after,
    )


# The demo's logins (`revrec serve --demo`), printed when it starts: a demo database only.
DEMO_USERS = (
    ("admin", "admin", "admin-demo"),
    ("accountant", "accountant", "accountant-demo"),
    ("viewer", "viewer", "viewer-demo"),
)


def add_demo_users(ctx: Context) -> None:
    """The demo's three users, one per role (those that exist are left alone)."""
    with ctx.engine.connect() as conn:
        existing = {u["name"] for u in store.users(conn)}
    for name, role, password in DEMO_USERS:
        if name not in existing:
            add_user(ctx, name, role, password)
