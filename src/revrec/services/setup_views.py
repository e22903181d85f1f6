"""The Setup pages (SPEC §2, §11.2): the setup as the web app lists it, and its forms' edits.

Reads: books, accounts, POB templates, the SSP table (money in major units), mappings with their
attributes, and the users with their API tokens, as JSON-able rows.

Edits: a form changes one entry, a POB template or an SSP row. It builds the setup document
(SPEC §2.1) of that entry and applies it with `setup.load`, as `revrec setup load` applies a file
holding it: the same checks and messages and the same `setup.load` audit entry, and beside it a
`setup.edit` entry with the entry before and after. The `ssp` key replaces the whole table, so
an SSP row's document is the stored table with that row added or changed; a key left out (the
rest of the setup, a template's accounts) is left alone. An uploaded setup file and the API's
JSON document are loaded whole, as the command loads a file.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from revrec.calendar import utc_text
from revrec.errors import InputError, StateError
from revrec.imports.mappings import SHIPPED, to_dict
from revrec.money import exponent, format_minor, is_currency
from revrec.services import jobs, mappings, periods, setup, users
from revrec.services.context import Context
from revrec.services.setup_check import Problem, SetupFileError
from revrec.services.setup_file import SetupSource, parse_setup
from revrec.store import setup as setup_store
from revrec.store import setup_views as store
from revrec.store.audit import record
from revrec.vocab import CONVENTIONS, METHODS, POINTS, ROLES

SCOPES = ("default", "template", "item")
ADMIN = ROLES[-1]
MAX_MINOR = 2**63 - 1  # the store keeps an SSP as a 64-bit count of minor units
PLAIN_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")


def choices() -> dict[str, tuple[str, ...]]:
    """What the forms offer: methods, conventions, points in time, roles, account roles."""
    return {
        "methods": METHODS,
        "conventions": CONVENTIONS,
        "points": POINTS,
        "roles": ROLES,
        "account_roles": setup.ACCOUNT_ROLES,
    }


def overview(ctx: Context, *, with_users: bool = False) -> dict[str, Any]:
    """Every section of the Setup page: books, periods (as `period status`), accounts, POB
    templates, SSP, mappings (as `mapping list`, with their attributes), jobs and, for an
    admin, the users."""
    with ctx.engine.connect() as conn:
        found: dict[str, Any] = {
            "books": _books(conn),
            "accounts": _accounts(conn),
            "templates": _templates(conn),
            "ssp": _ssp(conn),
        }
    found["periods"] = periods.status(ctx)
    found["mappings"] = mapping_rows(ctx)
    found["jobs"] = jobs.list_jobs(ctx)
    found["users"] = user_rows(ctx) if with_users else None
    found["choices"] = choices()
    return found


def books(ctx: Context) -> list[dict[str, Any]]:
    """Every book, the primary first: name, primary, currency, independent, methods (the POB
    template -> method overrides) and its open period."""
    with ctx.engine.connect() as conn:
        return _books(conn)


def accounts(ctx: Context) -> list[dict[str, Any]]:
    """Every GL code: book (null: every book), scope (default, or an override per template or
    item), applies_to (the template or item), role and gl_code."""
    with ctx.engine.connect() as conn:
        return _accounts(conn)


def templates(ctx: Context) -> list[dict[str, Any]]:
    """Every POB template by name: method, params, events (the event names it accepts) and
    accounts (its role -> GL code overrides)."""
    with ctx.engine.connect() as conn:
        return _templates(conn)


def template(ctx: Context, name: str) -> dict[str, Any]:
    """One POB template (as `templates` lists it); an InputError when there is none."""
    found = templates(ctx)
    for row in found:
        if row["name"] == name:
            return row
    known = ", ".join(row["name"] for row in found)
    raise InputError(f"unknown POB template {name!r}: expected one of {known}")


def ssp(ctx: Context) -> list[dict[str, Any]]:
    """The SSP table in its order, with the setup file's keys: item_code, currency, ssp (a unit
    price in major units) or ssp_percent_of_list, valid_from, valid_to (null: unbounded)."""
    with ctx.engine.connect() as conn:
        return _ssp(conn)


def ssp_row(
    ctx: Context, item_code: str, currency: str, valid_from: str | None
) -> dict[str, Any] | None:
    """The SSP row of an item and currency valid from a date (None: from always), or None."""
    key = (item_code.strip(), currency.strip().upper(), (valid_from or "").strip() or None)
    return next((row for row in ssp(ctx) if _key(row) == key), None)


def mapping_rows(ctx: Context) -> list[dict[str, Any]]:
    """Every mapping part as `mapping list` shows it (name, upload_type, source, strict, the
    number of attributes) and its attribute_map: each attribute's name, upload_name (the
    heading), required and type, as `mapping export` writes them."""
    with ctx.engine.connect() as conn:
        parts = {**SHIPPED, **{(m.name, m.upload_type): m for m in mappings.user_mappings(conn)}}
    return [
        row | {"attribute_map": to_dict(parts[row["name"], row["upload_type"]])["attributes"]}
        for row in mappings.list_mappings(ctx)
    ]


def user_rows(ctx: Context) -> list[dict[str, Any]]:
    """Every user as `users list` shows them (name, role, active, created_at) and their API
    tokens (label and created_at; a token itself is shown only when made)."""
    with ctx.engine.connect() as conn:
        found = store.tokens(conn)
    tokens: dict[str, list[dict[str, str]]] = {}
    for token in found:
        tokens.setdefault(token["user"], []).append(
            {"label": token["label"], "created_at": utc_text(token["created_at"])}
        )
    return [u | {"tokens": tokens.get(u["name"], [])} for u in users.list_users(ctx)]


def change_user(
    ctx: Context,
    name: str,
    *,
    role: str | None = None,
    password: str | None = None,
    active: bool | None = None,
) -> None:
    """`users.change_user`, except that the acting admin may not deactivate their own login or
    give up their own admin role (another admin can): nobody locks the last admin out. A role
    given is one of ROLES (an empty one too)."""
    if role is not None and role not in ROLES:
        raise InputError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    if name == ctx.user and (active is False or role not in (None, ADMIN)):
        raise StateError(
            f"{name} cannot deactivate their own login or give up their admin role: "
            "another admin can"
        )
    users.change_user(ctx, name, role=role, password=password, active=active)


# Loading whole documents: an uploaded setup file, the API's JSON.


def load_upload(ctx: Context, path: Path, name: str) -> dict[str, int]:
    """A setup file uploaded and spooled to `path`, read and loaded as `revrec setup load`
    reads and loads a file, its messages naming the file as it was uploaded (`name`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{name}: cannot read the setup file: it is not UTF-8 text") from None
    source = parse_setup(text, name)
    _check_text(source.document, name)
    _check_amounts(source.document, name)
    with ctx.engine.begin() as conn:
        return setup.load(conn, source, user=ctx.user, now=ctx.now)


def load_document(ctx: Context, document: Any) -> dict[str, int]:
    """A setup document sent as JSON (SPEC §2.1's keys), loaded as `revrec setup load` loads a
    file. JSON has no dates: an SSP row's valid_from or valid_to may be the text YYYY-MM-DD."""
    _check_text(document, None)
    _check_amounts(document, None)
    if isinstance(document, dict) and isinstance(document.get("ssp"), list):
        document = document | {
            "ssp": [
                row | {k: _day(row[k]) for k in ("valid_from", "valid_to") if k in row}
                if isinstance(row, dict)
                else row
                for row in document["ssp"]
            ]
        }
    with ctx.engine.begin() as conn:
        return setup.load(conn, SetupSource(None, document), user=ctx.user, now=ctx.now)


# One entry of a form.


def save_template(
    ctx: Context, *, name: str, method: str, convention: str = "", at: str = "", events: str = ""
) -> str:
    """Add or change a POB template from a form: its method, parameters (blank: the method's
    default) and, for an event template, the event names it accepts (separated by commas).
    Its accounts are left alone. Whether it was added, changed or left unchanged."""
    entry: dict[str, Any] = {"name": name.strip(), "method": method.strip()}
    params = {k: v.strip() for k, v in (("convention", convention), ("at", at)) if v.strip()}
    if params:
        entry["params"] = params
    names = [e.strip() for e in events.split(",") if e.strip()]
    if names:
        entry["events"] = names
    what = f"POB template {entry['name']!r}"
    _check_text(entry, what)
    with ctx.engine.begin() as conn:
        before = _stored_template(conn, entry["name"])
        _load(conn, ctx, {"pob_templates": [entry]}, ("pob_templates", 0), what)
        after = _stored_template(conn, entry["name"])
        return _audit(conn, ctx, f"pob_template:{entry['name']}", before, after)


def save_ssp(
    ctx: Context,
    *,
    item_code: str,
    currency: str,
    ssp: str = "",
    ssp_percent_of_list: str = "",
    valid_from: str = "",
    valid_to: str = "",
) -> str:
    """Add or change an SSP row from a form: the row of the same item, currency and valid_from
    is changed, else one is added. Exactly one of ssp (a unit price) and ssp_percent_of_list;
    dates as YYYY-MM-DD (blank: unbounded). Whether it was added, changed or left unchanged."""
    entry: dict[str, Any] = {"item_code": item_code.strip(), "currency": currency.strip().upper()}
    for name, text in (("ssp", ssp), ("ssp_percent_of_list", ssp_percent_of_list)):
        if text.strip():
            entry[name] = text.strip()
    for name, text in (("valid_from", valid_from), ("valid_to", valid_to)):
        if text.strip():
            entry[name] = _day(text)
    what = f"SSP row {entry['item_code']} {entry['currency']}"
    _check_text(entry, what)
    if (too_large := _too_large(entry)) is not None:
        raise InputError(f"{what}: ssp: {too_large}")
    with ctx.engine.begin() as conn:
        table = [_entry(row) for row in _ssp(conn)]
        key = _key(_shown(entry))
        at = next((i for i, row in enumerate(table) if _key(_shown(row)) == key), None)
        before = None if at is None else _shown(table[at])
        if at is None:
            at = len(table)
            table.append(entry)
        else:
            table[at] = entry
        _load(conn, ctx, {"ssp": table}, ("ssp", at), what)
        after = next(row for row in _ssp(conn) if _key(row) == key)
        return _audit(conn, ctx, "ssp:" + ":".join(k or "" for k in key), before, after)


def _load(
    conn: sa.Connection, ctx: Context, document: dict[str, Any], entry: tuple[str, int], what: str
) -> None:
    """`setup.load` of a form's document; its problems with the form's entry named `what`
    instead of the document's path to it (`ssp[3].ssp: ...` reads `SSP row LIC USD: ssp: ...`)."""
    try:
        setup.load(conn, SetupSource(None, document), user=ctx.user, now=ctx.now)
    except SetupFileError as error:
        shown = [_within(problem.loc, entry) + problem.message for problem in error.problems]
        raise InputError(f"{what}: " + "; ".join(shown)) from None


def _within(loc: tuple[Any, ...], entry: tuple[str, int]) -> str:
    """The path of a problem within the form's entry (`ssp[3].ssp` -> `ssp: `), else whole."""
    if loc[: len(entry)] != entry:
        return str(Problem(loc, ""))
    inner = ".".join(str(part) for part in loc[len(entry) :])
    return f"{inner}: " if inner else ""


def _audit(conn: sa.Connection, ctx: Context, entity: str, before: Any, after: Any) -> str:
    """The `setup.edit` entry of a form's change (none when nothing changed); what happened."""
    if before == after:
        return "unchanged"
    record(
        conn,
        user=ctx.user,
        now=ctx.now,
        action="setup.edit",
        entity=entity,
        before=before,
        after=after,
    )
    return "added" if before is None else "changed"


# Reads on one connection.


def _books(conn: sa.Connection) -> list[dict[str, Any]]:
    return [
        {
            "name": b["name"],
            "primary": b["is_primary"],
            "currency": b["currency"],
            "independent": b["independent"],
            "methods": b["methods"],
            "open_period": b["open_period"],
        }
        for b in store.books(conn)
    ]


def _accounts(conn: sa.Connection) -> list[dict[str, Any]]:
    found = store.accounts(conn)
    roles = setup.ACCOUNT_ROLES

    def order(row: dict[str, Any]) -> tuple[Any, ...]:
        role = roles.index(row["role"]) if row["role"] in roles else len(roles)
        scope = SCOPES.index(row["scope"]) if row["scope"] in SCOPES else len(SCOPES)
        return row["book"], scope, row["scope_key"], role, row["role"]

    return [
        {
            "book": a["book"] or None,
            "scope": a["scope"],
            "applies_to": a["scope_key"] or None,
            "role": a["role"],
            "gl_code": a["gl_code"],
        }
        for a in sorted(found, key=order)
    ]


def _templates(conn: sa.Connection) -> list[dict[str, Any]]:
    overrides: dict[str, dict[str, str]] = {}
    for a in _accounts(conn):
        if a["scope"] == "template" and a["book"] is None:
            overrides.setdefault(a["applies_to"], {})[a["role"]] = a["gl_code"]
    return [
        {
            "name": t["name"],
            "method": t["method"],
            "params": dict(t["params"]),
            "events": list(t["events"]),
            "accounts": overrides.get(t["name"], {}),
        }
        for t in sorted(setup_store.templates(conn), key=lambda t: str(t["name"]))
    ]


def _stored_template(conn: sa.Connection, name: str) -> dict[str, Any] | None:
    found = [t for t in setup_store.templates(conn) if t["name"] == name]
    if not found:
        return None
    return {k: found[0][k] for k in ("method", "params", "events")}


def _ssp(conn: sa.Connection) -> list[dict[str, Any]]:
    return [
        {
            "item_code": r["item_code"],
            "currency": r["currency"],
            "ssp": None if r["ssp"] is None else format_minor(r["ssp"], r["currency"]),
            "ssp_percent_of_list": None
            if r["ssp_percent_micro"] is None
            else format(Decimal(r["ssp_percent_micro"]).scaleb(-6).normalize(), "f"),
            "valid_from": None if r["valid_from"] is None else r["valid_from"].isoformat(),
            "valid_to": None if r["valid_to"] is None else r["valid_to"].isoformat(),
        }
        for r in store.ssp_rows(conn)
    ]


def _entry(row: dict[str, Any]) -> dict[str, Any]:
    """A listed SSP row as an entry of a setup document (dates as dates, nothing null)."""
    return {
        k: (_day(v) if k in ("valid_from", "valid_to") else v)
        for k, v in row.items()
        if v is not None
    }


def _shown(entry: dict[str, Any]) -> dict[str, Any]:
    """An SSP entry as `ssp` lists a row (dates as text, every key)."""
    keys = ("item_code", "currency", "ssp", "ssp_percent_of_list", "valid_from", "valid_to")
    found = {k: entry.get(k) for k in keys}
    return found | {
        k: v.isoformat() for k, v in found.items() if isinstance(v, date) and k.startswith("valid")
    }


def _key(row: dict[str, Any]) -> tuple[str, str, str | None]:
    return row["item_code"], row["currency"], row["valid_from"]


def _day(value: Any) -> Any:
    """A date written as YYYY-MM-DD text, as a date; anything else as it is, for the setup
    file's checks to judge."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return value
    return value


def _check_amounts(document: Any, name: str | None) -> None:
    """An InputError when an SSP unit price of the document is more than the store keeps (a
    64-bit count of minor units), which the setup file's checks let through."""
    rows = document.get("ssp") if isinstance(document, dict) else None
    for i, row in enumerate(rows if isinstance(rows, list) else []):
        if isinstance(row, dict) and (too_large := _too_large(row)) is not None:
            raise InputError(f"{name or 'the setup file'}: ssp[{i}].ssp: {too_large}")


def _too_large(entry: dict[str, Any]) -> str | None:
    """What is wrong with an SSP entry's unit price too large to keep, or None."""
    value, currency = entry.get("ssp"), entry.get("currency")
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        return None
    if not isinstance(currency, str) or not is_currency(currency.strip()):
        return None
    text = (
        format(Decimal(str(value)), "f")
        if isinstance(value, float | Decimal)
        else str(value).strip()
    )
    if not PLAIN_NUMBER.fullmatch(text):
        return None  # not a number: the setup file's checks say so
    digits = exponent(currency.strip())
    if abs(Decimal(text)).scaleb(digits) <= MAX_MINOR:
        return None
    most = format_minor(MAX_MINOR, currency.strip())
    return f"{value} is too large: an SSP is at most {most} {currency.strip().upper()}"


def _check_text(document: Any, what: str | None) -> None:
    """An InputError when a text of the document (a key or a value) holds a NUL character or
    is not Unicode text (a lone surrogate): no setup value may hold either."""
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending += [*value.keys(), *value.values()]
        elif isinstance(value, list):
            pending += value
        elif isinstance(value, str):
            bad = "\x00" in value
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                bad = True
            if bad:
                head = f"{what}: " if what else "the setup document: "
                raise InputError(f"{head}{value[:40]!r} holds a character no setup text may hold")
