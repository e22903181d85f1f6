"""Setting up a subledger: `init` and `setup load` (SPEC §2, §2.1). Idempotent.

Each function takes an open Connection (one transaction) and plain values; the shells parse
arguments and files.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from revrec.calendar import month_index, parse_period, period_name
from revrec.errors import ConfigError, InputError, StateError
from revrec.imports.templates import DEFAULT_TEMPLATES
from revrec.money import exponent, parse
from revrec.store import jobs as job_store
from revrec.store import setup as store
from revrec.store.audit import record
from revrec.vocab import CONVENTIONS, JOBS, METHODS, POINTS, POLICIES

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
    today: date,
    first_period: str | None,
    currency: str,
    user: str,
    now: datetime,
    default_period: str | None = None,
) -> InitResult:
    """Create the primary book, its first open period, default accounts, templates and jobs.

    The first open period is `first_period`, else `default_period`, else today's month. On a
    database already set up nothing changes, and a `first_period` other than its open period
    is a StateError (it would not be applied)."""
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
    period = given or default_period or period_name(month_index(today))
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
    conn: sa.Connection, document: dict[str, Any], *, user: str, now: datetime
) -> dict[str, int]:
    """Apply a setup document (the YAML of SPEC §2.1); returns counts per section."""
    if not isinstance(document, dict):
        raise InputError("a setup file is a YAML mapping with keys such as books, pob_templates")
    known = {
        "books",
        "accounts",
        "defaults",
        "pob_templates",
        "ssp",
        "contract_policies",
        "jobs",
        "mappings",
    }
    unknown = sorted(set(document) - known)
    if unknown:
        raise InputError(f"unknown setup keys {unknown}: expected some of {sorted(known)}")
    counts: dict[str, int] = {}
    loaders = (
        ("books", _load_books),
        ("accounts", _load_accounts),
        ("defaults", _load_defaults),
        ("pob_templates", _load_templates),
        ("ssp", _load_ssp),
        ("contract_policies", _load_policies),
        ("jobs", _load_jobs),
    )
    for key, loader in loaders:
        if key in document and document[key] is not None:
            counts[key] = loader(conn, document[key])
    if "mappings" in document and document["mappings"] is not None:
        from revrec.services.mappings import load_mappings  # noqa: PLC0415 - optional section

        counts["mappings"] = load_mappings(conn, document["mappings"], user=user, now=now)
    record(conn, user=user, now=now, action="setup.load", entity="setup", before=None, after=counts)
    return counts


def _rows(value: Any, key: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise InputError(f"setup key {key!r} must be a list of mappings")
    return value


def _load_books(conn: sa.Connection, value: Any) -> int:
    rows = _rows(value, "books")
    current_primary = store.primary_book(conn)
    if current_primary is None:
        raise ConfigError("run `revrec init` before loading books")
    period = open_period(conn)
    for row in rows:
        name = str(row.get("name") or "").strip()
        if not name:
            raise InputError("every book needs a name")
        currency = str(row.get("currency") or "USD").upper()
        exponent(currency)
        methods = row.get("methods") or {}
        if row.get("primary"):
            if name != current_primary:
                store.rename_book(conn, current_primary, name)
                current_primary = name
            store.update_book(conn, name, currency=currency, methods=methods)
            continue
        independent = bool(row.get("independent", False))
        if store.book_exists(conn, name):
            store.update_book(
                conn, name, currency=currency, methods=methods, independent=independent
            )
        else:
            store.add_book(
                conn,
                name,
                currency,
                primary=False,
                period=period,
                independent=independent,
                methods=methods,
            )
    return len(rows)


def _set_account(
    conn: sa.Connection, book: str, scope: str, key: str, role: str, code: Any
) -> None:
    if role not in ACCOUNT_ROLES:
        raise InputError(f"unknown account role {role!r}: expected one of {list(ACCOUNT_ROLES)}")
    store.set_account(conn, book, scope, key, role, str(code))


def _load_accounts(conn: sa.Connection, value: Any) -> int:
    if not isinstance(value, dict):
        raise InputError("setup key 'accounts' must map account roles to GL codes")
    for role, code in value.items():
        _set_account(conn, "", "default", "", role, code)
    return len(value)


def _load_defaults(conn: sa.Connection, value: Any) -> int:
    if not isinstance(value, dict):
        raise InputError("setup key 'defaults' must be a mapping")
    policy = value.get("modification_policy")
    if policy is not None:
        if policy not in POLICIES:
            raise InputError(f"modification_policy {policy!r}: expected one of {list(POLICIES)}")
        store.set_setting(conn, "modification_policy", policy)
    return len(value)


def validate_template(row: dict[str, Any]) -> tuple[str, str, dict[str, str], list[str]]:
    name = str(row.get("name") or "").strip()
    method = str(row.get("method") or "")
    if not name:
        raise InputError("every POB template needs a name")
    if method not in METHODS:
        raise InputError(f"template {name!r}: method {method!r}, expected one of {list(METHODS)}")
    params = {str(k): str(v) for k, v in (row.get("params") or {}).items()}
    if method == "ratable_monthly":
        params.setdefault("convention", "prorate_days")
        if params["convention"] not in CONVENTIONS:
            raise InputError(f"template {name!r}: convention expected one of {list(CONVENTIONS)}")
    if method == "point_in_time":
        params.setdefault("at", "start")
        if params["at"] not in POINTS:
            raise InputError(f"template {name!r}: at expected one of {list(POINTS)}")
    events = [str(e) for e in row.get("events") or []]
    if method == "event" and not events:
        raise InputError(f"template {name!r}: an event template names the events it accepts")
    return name, method, params, events


def _load_templates(conn: sa.Connection, value: Any) -> int:
    rows = _rows(value, "pob_templates")
    for row in rows:
        name, method, params, events = validate_template(row)
        store.save_template(conn, name, method, params, events)
        for role, code in (row.get("accounts") or {}).items():
            _set_account(conn, "", "template", name, role, code)
    return len(rows)


def _date(value: Any, what: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"{what}: {value!r} is not a date YYYY-MM-DD") from None


def _load_ssp(conn: sa.Connection, value: Any) -> int:
    rows = _rows(value, "ssp")
    store.replace_ssp(conn, [_ssp_row(row) for row in rows])
    return len(rows)


def _ssp_row(row: dict[str, Any]) -> dict[str, Any]:
    item, currency = str(row.get("item_code") or ""), str(row.get("currency") or "").upper()
    if not item:
        raise InputError("every SSP row needs an item_code")
    unit = row.get("ssp")
    percent = row.get("ssp_percent_of_list")
    if (unit is None) == (percent is None):
        raise InputError(f"SSP for {item}: give exactly one of ssp, ssp_percent_of_list")
    return {
        "item_code": item,
        "currency": currency,
        "ssp": parse(str(unit), currency) if unit is not None else None,
        "ssp_percent_micro": _micro(percent, f"SSP for {item}") if percent is not None else None,
        "valid_from": _date(row.get("valid_from"), f"SSP for {item}"),
        "valid_to": _date(row.get("valid_to"), f"SSP for {item}"),
    }


def _micro(value: Any, what: str) -> int:
    text = str(value).strip()
    whole, _, frac = text.partition(".")
    if not whole.lstrip("-").isdigit() or (frac and not frac.isdigit()) or len(frac) > 6:
        raise InputError(f"{what}: {value!r} is not a number with at most 6 decimals")
    sign = -1 if whole.startswith("-") else 1
    return sign * (abs(int(whole)) * 1_000_000 + int(frac.ljust(6, "0") or 0))


def _load_policies(conn: sa.Connection, value: Any) -> int:
    rows = _rows(value, "contract_policies")
    for row in rows:
        contract, policy = str(row.get("contract_id") or ""), row.get("modification_policy")
        if not contract or policy not in POLICIES:
            raise InputError(f"contract policy {row}: expected contract_id and one of {POLICIES}")
        store.set_contract_policy(conn, contract, policy)
    return len(rows)


def _load_jobs(conn: sa.Connection, value: Any) -> int:
    rows = _rows(value, "jobs")
    for row in rows:
        name = row.get("name")
        if name not in JOBS:
            raise InputError(f"unknown job {name!r}: expected one of {list(JOBS)}")
        job_store.configure(
            conn,
            name,
            active=bool(row.get("active", True)),
            every=str(row["every"]) if "every" in row else None,
            cron=str(row["cron"]) if "cron" in row else None,
        )
    return len(rows)
