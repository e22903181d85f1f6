"""The reconciliation of a book's journal with the subledger (SPEC §8 "Reconciliation", §6):
what "Approve for Transfer" and the period close require, figure by figure.

Until the reports land, the journal's account balances are compared with the subledger's own
figures: the §5.1 balances summed per contract, what was billed and recognized, and the
contract costs. Each check is one figure per currency, its two sides and whether they agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import sqlalchemy as sa

from revrec.engine.balances import balances
from revrec.money import format_minor
from revrec.store import journals as store
from revrec.store import lines as line_store
from revrec.store import stage as stage_store


@dataclass(frozen=True)
class Check:
    name: str
    currency: str
    left: int
    right: int

    @property
    def passed(self) -> bool:
        return self.left == self.right

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "currency": self.currency,
            "left": format_minor(self.left, self.currency) if self.currency else self.left,
            "right": format_minor(self.right, self.currency) if self.currency else self.right,
            "pass": self.passed,
        }

    def failure(self) -> str:
        shown = self.as_json()
        where = f" ({self.currency})" if self.currency else ""
        return f"{self.name}{where}: {shown['left']} != {shown['right']}"


def checks(conn: sa.Connection, book: str, period: str) -> list[Check]:
    """Every check of a book's journal through `period` (the open period when approving)."""
    gl = store.account_totals(conn, book, period)
    found = [
        Check(
            "contracts changed since the last processing run", "", line_store.touched_count(conn), 0
        ),
        Check(
            "stage rows pending", "", stage_store.status_count(conn, "pending", through=period), 0
        ),
        Check("journal lines without a GL code", "", store.missing_gl_codes(conn, book, period), 0),
    ]
    movement = store.totals(conn, book, period)
    found += [
        Check("journal debits = credits", t["currency"], t["debit"], t["credit"]) for t in movement
    ]
    positions = balances(
        store.contract_positions(conn, book, period).with_columns(
            pl.col("billed").alias("allocated")
        )
    )
    per_currency = positions.group_by("currency").agg(
        pl.col("billed", "recognized", "liability", "asset").sum()
    )
    costs = store.cost_totals(conn, book, period)
    for row in per_currency.sort("currency").iter_rows(named=True):
        cur = row["currency"]
        found += [
            Check("GL deferred_revenue = contract liability", cur,
                  _balance(gl, "deferred_revenue", cur, credit=True), row["liability"]),
            Check("GL contract_asset = contract asset", cur,
                  _balance(gl, "contract_asset", cur), row["asset"]),
            Check("GL accounts_receivable = billed", cur,
                  _balance(gl, "accounts_receivable", cur), row["billed"]),
            Check("GL revenue = recognized", cur,
                  _balance(gl, "revenue", cur, credit=True), row["recognized"]),
            Check("GL contract_cost_asset = capitalized - amortized", cur,
                  _balance(gl, "contract_cost_asset", cur),
                  _cost(costs, cur, "capitalize") - _cost(costs, cur, "amortize")),
        ]  # fmt: skip
    return found


def _balance(gl: pl.DataFrame, account: str, currency: str, *, credit: bool = False) -> int:
    rows = gl.filter((pl.col("account") == account) & (pl.col("currency") == currency))
    net = int(rows["debit"].sum()) - int(rows["credit"].sum())
    return -net if credit else net


def _cost(costs: pl.DataFrame, currency: str, kind: str) -> int:
    rows = costs.filter((pl.col("currency") == currency) & (pl.col("kind") == kind))
    return int(rows["amount"].sum())
