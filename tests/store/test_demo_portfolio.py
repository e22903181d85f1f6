"""The demo portfolio of `revrec serve --demo` (services.demo_portfolio), checked through the
CLI as a user would see it, on SQLite and PostgreSQL: three closed month-ends, an open period
waiting for approval, bad rows in the stage area, and the same data for the same seed."""

import hashlib
import json
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

from databases import Cli
from revrec.calendar import period_name
from revrec.services import database, demo_portfolio

CONTRACTS = 40  # a small portfolio: the test stays fast
BOOKS = ("LOCAL", "PRIMARY")


def _build(url, **options):
    ctx = database.context(url, book=None, user="tester", now=datetime.now(UTC), checked=False)
    return demo_portfolio.build(ctx, contracts=CONTRACTS, **options)


def _json(cli, *args):
    return json.loads(cli(*args, "--format", "json").stdout)


def test_the_demo_portfolio_closes_three_months_and_builds_again_the_same(db_url, tmp_path):
    """One build per database (a build takes seconds): what it holds, then a second build of
    the same seed (on SQLite) gives the same reports."""
    summary = _build(db_url, gl_folder=tmp_path / "gl")
    cli = Cli(db_url)
    # The closed periods' GL export files are kept where asked (`serve --demo` downloads them).
    kept = sorted(p.name for p in (tmp_path / "gl").iterdir())
    assert kept == sorted(
        f"gl_{book}_{period}_{kind}.csv"
        for book in BOOKS
        for period in ("2024-01", "2024-02", "2024-03")
        for kind in ("summary", "detail")
    )
    for book in BOOKS:
        card = _json(cli, "--book", book, "je", "show", "--period", "2024-02")["journal"]
        assert "figures" not in card  # the card's own, not shown
        for kind in ("summary", "detail"):
            path = tmp_path / "gl" / f"gl_{book}_2024-02_{kind}.csv"
            assert card[f"{kind}_file"] == str(path.resolve())
            assert hashlib.sha256(path.read_bytes()).hexdigest() == card[f"{kind}_sha256"]
    _check_portfolio(cli, summary)
    _check_month_end(cli)
    _check_stage_and_users(cli)
    # Built again into the same database: it is left as it is.
    assert _build(db_url) == {"built": False, "open_period": "2024-04"}
    again = f"sqlite:///{tmp_path / 'again.db'}"
    assert _build(again) == summary
    for book in BOOKS:
        first, second = (
            _json(Cli(url), "--book", book, "report", "waterfall", "--by", "contract")
            for url in (db_url, again)
        )
        assert first == second
        assert len(first["rows"]) == CONTRACTS


def test_the_portfolio_is_generated_from_the_seed():
    """The files' rows depend on the seed alone."""
    first, second, other = (demo_portfolio._Portfolio(CONTRACTS, seed) for seed in (7, 7, 8))
    assert first.files == second.files
    assert first.files != other.files
    assert len(first.contracts) == CONTRACTS
    months = [period_name(month) for month in sorted(first.files.sales_orders)]
    assert months == ["2024-01", "2024-02", "2024-03", "2024-04"]


def _check_portfolio(cli, summary):
    """Contracts of every kind in three currencies, billed ahead and behind."""
    lines = _json(cli, "lines", "list")["rows"]
    assert summary == {
        "built": True,
        "contracts": CONTRACTS,
        "lines": len(lines),
        "closed_periods": ["2024-01", "2024-02", "2024-03"],
        "open_period": "2024-04",
        "error_rows": 4,
    }
    insight = _json(cli, "report", "insight")
    assert len(insight["rows"]) == CONTRACTS
    assert {line["contract_id"] for line in lines} == {r["contract_id"] for r in insight["rows"]}
    assert 1 <= max(Counter(line["contract_id"] for line in lines).values()) <= 4
    # Every kind of obligation, in three currencies; billed ahead and behind.
    assert {line["pob_template"] for line in lines} == {
        "saas_daily", "support_monthly", "license_pit", "milestone_evt", "usage_billing",
    }  # fmt: skip
    totals = {t["currency"]: t for t in insight["totals"]}
    assert set(totals) == {"EUR", "JPY", "USD"}
    assert Decimal(totals["USD"]["deferred_balance"]) > 0
    assert Decimal(totals["USD"]["contract_asset"]) > 0
    for line in lines:
        if line["pob_template"] == "usage_billing":  # recognized as billed
            assert line["recognized"] == line["billed"]
    assert any(
        Decimal(line["recognized"]) > 0 for line in lines if line["pob_template"] == "milestone_evt"
    )


def _check_month_end(cli):
    """Periods 2024-01..03 closed and 2024-04 open, in both books; the journals summarized,
    and the open period's drafts reconcile."""
    periods = _json(cli, "period", "status")["rows"]
    assert [(r["book"], r["period"], r["status"]) for r in periods] == [
        (book, f"2024-0{month}", "open" if month == 4 else "closed")
        for book in BOOKS
        for month in range(1, 5)
    ]
    states = {(r["book"], r["period"]): r["state"] for r in _json(cli, "je", "list")["rows"]}
    assert states == {
        (book, f"2024-0{month}"): "draft" if month == 4 else "summarized"
        for book in BOOKS
        for month in range(1, 5)
    }
    for book in BOOKS:
        reconcile = _json(cli, "--book", book, "report", "reconcile")
        assert reconcile["period"] == "2024-04"
        assert reconcile["pass"], [c for c in reconcile["checks"] if not c["pass"]]
    # Capitalized commissions are on the March trial balance.
    balances = _json(cli, "je", "show", "--period", "2024-03", "--trial-balance")["rows"]
    assert any(
        r["account"] == "contract_cost_asset" and Decimal(r["balance"]) > 0 for r in balances
    )


def _check_stage_and_users(cli):
    """The stage area: four bad rows of one corrections file, nothing pending; the audit log
    is intact, the demo users exist."""
    errors = _json(cli, "stage", "list", "--status", "error")["rows"]
    assert [(r["file"], r["line"]) for r in errors] == [
        ("sales_orders_2024-04_corrections.csv", line) for line in (2, 3, 4, 5)
    ]
    assert [[m["column"] for m in r["messages"]] for r in errors] == [
        ["order_date"], ["pob_template"], ["amount"], ["amount"],
    ]  # fmt: skip
    assert _json(cli, "stage", "list", "--status", "pending")["rows"] == []
    assert _json(cli, "audit", "verify")["ok"] is True
    users = _json(cli, "users", "list")["rows"]
    assert {(u["name"], u["role"]) for u in users} == {
        ("admin", "admin"), ("accountant", "accountant"), ("viewer", "viewer"),
    }  # fmt: skip
