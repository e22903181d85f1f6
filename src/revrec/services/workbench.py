"""The Revenue Workbench (SPEC §11.2): find contracts, and one contract as a book saw it at a
period's end, drilled down from any report figure.

`search` finds contracts by their id, customer or any text of their lines, a page at a time.
`contract` gathers what the other services already compute about a contract: its lines as
`revrec lines list` shows them (`subledger.lines`), its allocation, billings and §5.1
balances from one explanation (`explain.explain` of its first line: those sections are the
contract's), its schedule by period (the waterfall report of the contract, by line), and the
line versions, events, costs and journal lines the subledger recorded (`store.workbench`,
`store.history`). Money in major units of the contract's currency, dates ISO, periods YYYY-MM:
the shells only render it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import polars as pl

from revrec.errors import InputError
from revrec.money import major_units
from revrec.services import explain, report_files, reports, subledger
from revrec.services.book_period import book_period
from revrec.services.columns import LINE_MONEY_COLUMNS
from revrec.services.context import Context
from revrec.store import history
from revrec.store import workbench as store

PAGE = 50  # contracts a page of `search` shows unless asked
MAX_PAGE = 500
MAX_TEXT = 200


def _checked(name: str, value: str | None) -> str | None:
    """A search value as given (blank: None); an InputError for control characters or a text
    longer than MAX_TEXT."""
    if value is None or not value.strip():
        return None
    if len(value) > MAX_TEXT:
        raise InputError(f"{name}: at most {MAX_TEXT} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise InputError(f"{name} {value!r}: control characters are not allowed")
    return value.strip()


def search(
    ctx: Context,
    q: str | None = None,
    *,
    customer: str | None = None,
    item: str | None = None,
    template: str | None = None,
    limit: int = PAGE,
    offset: int = 0,
) -> dict[str, Any]:
    """The contracts whose id or customer contains `q` (any case), or one of whose lines has it
    in its line id, item code, POB template or free attributes; of exactly this `customer`,
    with a line of this `item` and of this `template` when given; by contract_id, `offset` of
    them skipped, at most `limit`. `{"q", "count", "limit", "offset", "previous_offset",
    "next_offset", "rows": [{contract_id, customer_id, currency, billing_driven, lines}]}`
    (an offset is None when there is no such page)."""
    text = _checked("q", q)
    asked = {
        "customer": _checked("customer", customer),
        "item": _checked("item", item),
        "template": _checked("template", template),
    }
    if not 1 <= limit <= MAX_PAGE:
        raise InputError(f"limit {limit}: expected 1 to {MAX_PAGE}")
    if offset < 0:
        raise InputError(f"offset {offset}: expected 0 or more")
    with ctx.engine.connect() as conn:
        found = store.find_contracts(conn, text=text, limit=limit, offset=offset, **asked)
        count = store.count_contracts(conn, text=text, **asked)
    return {
        "q": text or "",
        **{k: v or "" for k, v in asked.items()},
        "count": count,
        "limit": limit,
        "offset": offset,
        "previous_offset": max(offset - limit, 0) if offset > 0 else None,
        "next_offset": offset + limit if offset + limit < count else None,
        "rows": found.to_dicts(),
    }


def contract(ctx: Context, contract_id: str, *, period: str | None = None) -> dict[str, Any]:
    """One contract in the Context's book (default primary) at the end of a period (default its
    open one): its facts; `lines` (each line's newest version, allocated, billed, recognized to
    date and the open period's posting, as `revrec lines list`, with its SSP, relative share and
    allocation rule); `allocation` (how the transaction price was split); `schedule` (the
    waterfall of its lines: recognized to date, the next periods, thereafter, total scheduled,
    and totals); `versions`, `events`, `billings`, `costs`, `journal_lines` (the
    book's, through the period) and `balances` (§5.1). An InputError for an unknown contract."""
    with ctx.engine.connect() as conn:
        journal = book_period(conn, ctx, period)
        facts = store.contract(conn, contract_id)
        if facts is None:
            raise InputError(f"unknown contract {contract_id!r}")
        versions = store.contract_versions(conn, contract_id, journal.period)
        costs = store.contract_costs(conn, contract_id, journal.period)
        journal_lines = store.contract_journal_lines(
            conn, journal.book, contract_id, journal.period
        )
        events = history.contract_events(conn, contract_id, journal.period)
    in_book = replace(ctx, book=journal.book)
    currency = str(facts["currency"])
    explained = (
        explain.explain(in_book, str(versions["line_id"][0]), period=journal.period, history=False)
        if versions.height
        else None
    )
    schedule = reports.report(
        in_book, "waterfall", period=journal.period, filters=reports.Filters(contract=contract_id)
    )
    rows, totals = report_files.shown(schedule)
    return {
        **facts,
        "book": journal.book,
        "period": journal.period,
        "lines": _lines(in_book, contract_id, explained),
        "allocation": _allocation(explained),
        "schedule": {"columns": rows.columns, "rows": rows.to_dicts(), "totals": totals.to_dicts()},
        "versions": _versions(versions, currency),
        "events": _events(events),
        "billings": [] if explained is None else explained["billings"],
        "costs": _costs(costs),
        "journal_lines": _journal(journal_lines),
        "balances": None if explained is None else explained["balances"],
        "balance_rules": explain.BALANCE_RULES,
    }


def _lines(
    ctx: Context, contract_id: str, explained: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """The contract's lines as `revrec lines list` gives them, with the allocation's SSP,
    share and rule of each (None: the line is not in the period's allocation)."""
    found = subledger.lines(ctx, contract=contract_id)
    shown = major_units(found, list(LINE_MONEY_COLUMNS)).with_columns(
        pl.col("start", "last_day").cast(pl.String)
    )
    steps = {} if explained is None else {r["line_id"]: r for r in explained["allocation"]["rows"]}
    return [
        {
            **row,
            "ssp": steps.get(row["line_id"], {}).get("ssp"),
            "share": steps.get(row["line_id"], {}).get("share"),
            "rule": steps.get(row["line_id"], {}).get("rule"),
        }
        for row in shown.drop("contract_id").to_dicts()
    ]


def _allocation(explained: dict[str, Any] | None) -> dict[str, Any] | None:
    if explained is None:
        return None
    return {k: v for k, v in explained["allocation"].items() if k != "rows"}


def _quantity(column: str) -> pl.Expr:
    """A quantity held x 1e6 as a plain decimal text (2.5, 10), as `revrec explain` shows it."""
    micro = pl.col(column)
    whole = micro.abs() // 1_000_000
    fraction = (micro.abs() % 1_000_000).cast(pl.String).str.pad_start(6, "0")
    text = pl.format("{}.{}", whole, fraction).str.strip_chars_end("0").str.strip_chars_end(".")
    return pl.when(micro < 0).then(pl.format("-{}", text)).otherwise(text)


def _versions(found: pl.DataFrame, currency: str) -> list[dict[str, Any]]:
    money = ["amount", "list_price", "ssp_unit", "allocated"]
    shown = major_units(found.with_columns(pl.lit(currency).alias("currency")), money)
    return shown.select(
        "line_id",
        "version",
        "line_no",
        pl.col("period").alias("processed"),
        pl.col("effective_date").cast(pl.String),
        pl.col("modification_policy").alias("policy"),
        "item_code",
        "pob_template",
        "amount",
        _quantity("quantity_micro").alias("quantity"),
        "list_price",
        "ssp_unit",
        pl.col("start").cast(pl.String),
        (pl.col("end") - pl.duration(days=1)).cast(pl.String).alias("last_day"),
        "allocated",
    ).to_dicts()


def _events(found: pl.DataFrame) -> list[dict[str, Any]]:
    return (
        found.sort("event_date", "seq")
        .select(
            "line_id",
            pl.col("event_date").cast(pl.String),
            pl.col("period").alias("processed"),
            pl.col("event_name").alias("event"),
            "action",
            "kind",
            _quantity("value_micro").alias("value"),
        )
        .to_dicts()
    )


def _costs(found: pl.DataFrame) -> list[dict[str, Any]]:
    return (
        major_units(found, ["amount"])
        .select(
            "cost_id",
            "cost_type",
            "line_id",
            pl.col("cost_date").cast(pl.String),
            pl.col("period").alias("processed"),
            "currency",
            "amount",
            "amortization",
            "amortization_months",
            "expense_immediately",
        )
        .to_dicts()
    )


def _journal(found: pl.DataFrame) -> list[dict[str, Any]]:
    return major_units(found, ["debit", "credit"]).to_dicts()
