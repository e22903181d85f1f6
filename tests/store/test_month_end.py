"""A month-end over three periods from the command line (SPEC §6, §7), on SQLite and PostgreSQL:
import -> process -> reconcile -> approve -> transfer -> summarize -> close, with the next
period's future rows processed, the GL export files, the trial balance, and the GL deferred
revenue and contract asset equal to the §5.1 balances summed per contract, in every book.

The portfolio (USD), books PRIMARY and LOCAL (LOCAL recognizes the license monthly):
- C1: L1 a license 1,200.00 (point in time at start 2024-01-01), L2 support 1,200.00 over 2024
  (100.00 a month); INV-1 1,200.00 and INV-2 300.00 on 2024-01-05, INV-3 300.00 on 2024-03-01
  (a future row until March opens); COST-1 a commission of 120.00 straight-line over 12 months
  from 2024-01-10.
- C2: L3 SaaS 600.00 over January..June (100.00 a month), billed in arrears: INV-4 300.00 on
  2024-03-31. It is a contract asset in January and February.
"""

import csv
import hashlib
import json

import sqlalchemy as sa
from helpers import BILL_HEADS, SO_HEADS, bill, query, so, write_csv

from revrec.services import reconcile, reports
from revrec.store import db, schema
from revrec.store import journals as journal_store

SETUP = """
books:
  - {name: PRIMARY, primary: true, currency: USD}
  - {name: LOCAL, currency: USD, methods: {license_pit: ratable_monthly}}
accounts: {accounts_receivable: "1200", deferred_revenue: "2400", contract_asset: "1300",
           revenue: "4000", contract_cost_asset: "1500", contract_cost_expense: "6100",
           cost_clearing: "2150"}
pob_templates:
  - {name: license_pit, method: point_in_time, params: {at: start}}
  - {name: support_full, method: ratable_monthly, params: {convention: full_month},
     accounts: {revenue: "4010"}}
"""
COST_HEADS = [
    "cost_id", "cost_type", "amount", "currency", "cost_date", "so_line_id", "contract_id",
    "amortization", "amortization_months", "expense_immediately",
]  # fmt: skip


def _load(cli, tmp_path):
    cli("init", "--first-period", "2024-01")
    (tmp_path / "setup.yaml").write_text(SETUP)
    cli("setup", "load", tmp_path / "setup.yaml")
    sales = [
        so("L1", "1200.00", contract="C1", template="license_pit", start="2024-01-01",
           end="2024-12-31"),
        so("L2", "1200.00", contract="C1", template="support_full", start="2024-01-01",
           end="2024-12-31"),
        so("L3", "600.00", contract="C2", template="support_full", start="2024-01-01",
           end="2024-06-30"),
    ]  # fmt: skip
    billings = [
        bill("INV", "INV-1", "INV-1-1", "2024-01-05", "1200.00", so_line="L1"),
        bill("INV", "INV-2", "INV-2-1", "2024-01-05", "300.00", so_line="L2"),
        bill("INV", "INV-3", "INV-3-1", "2024-03-01", "300.00", so_line="L2"),
        bill("INV", "INV-4", "INV-4-1", "2024-03-31", "300.00", so_line="L3"),
    ]
    costs = [["COST-1", "commission", "120.00", "USD", "2024-01-10", "L2", "", "straight_line",
              "12", "false"]]  # fmt: skip
    for name, heads, rows, kind in (
        ("so.csv", SO_HEADS, sales, "sales_order"),
        ("bill.csv", BILL_HEADS, billings, "billing"),
        ("cost.csv", COST_HEADS, costs, "cost"),
    ):
        cli("import", "transactions", write_csv(tmp_path / name, heads, rows), "--type", kind)


def _journals(cli, period):
    rows = json.loads(cli("je", "list", "--period", period, "--format", "json").stdout)["rows"]
    return {(r["book"], r["state"]): (r["debit"], r["credit"], r["lines"]) for r in rows}


def _month_end(cli, tmp_path, period, *, close=True):
    for book in ("PRIMARY", "LOCAL"):
        reconcile = json.loads(
            cli("--book", book, "report", "reconcile", "--format", "json").stdout
        )
        assert reconcile["pass"] is True, reconcile
        assert reconcile["period"] == period
        cli("--book", book, "je", "approve")
        cli("--book", book, "je", "transfer", "--output", tmp_path / "gl")
        cli("--book", book, "je", "summarize")
    return cli("period", "close", "--yes") if close else None


def _trial_balance(cli, period, book="PRIMARY"):
    out = cli("--book", book, "je", "show", "--period", period, "--trial-balance", "--format",
              "json").stdout  # fmt: skip
    return {(r["account"], r["gl_code"]): r["balance"] for r in json.loads(out)["rows"]}


def _liability_and_asset(cli, book):
    """The §5.1 balances summed per contract, from the lines' billed and recognized."""
    rows = json.loads(cli("--book", book, "lines", "list", "--format", "json").stdout)["rows"]
    per_contract = {}
    for row in rows:
        billed, recognized = per_contract.get(row["contract_id"], (0, 0))
        per_contract[row["contract_id"]] = (
            billed + round(float(row["billed"]) * 100),
            recognized + round(float(row["recognized"]) * 100),
        )
    liability = sum(max(b - r, 0) for b, r in per_contract.values())
    asset = sum(max(r - b, 0) for b, r in per_contract.values())
    return liability, asset


def test_a_month_end_over_three_periods(cli, tmp_path):
    _load(cli, tmp_path)
    # January, PRIMARY: INV 1,500.00; revenue 1,200.00 + 100.00 + 100.00; C2's asset 0 -> 100.00;
    # COST-1 capitalized 120.00 and amortized 10.00: 1,500 + 1,400 + 100 + 120 + 10 = 3,130.00.
    # LOCAL recognizes the license monthly: revenue 100 + 100 + 100: 3,130 - 1,100 = 2,030.00.
    assert _journals(cli, "2024-01") == {
        ("LOCAL", "draft"): ("2030.00", "2030.00", 16),
        ("PRIMARY", "draft"): ("3130.00", "3130.00", 16),
    }
    # Approving before the reconciliation passes is refused: an unprocessed change is pending.
    cli("import", "transactions", write_csv(tmp_path / "late.csv", SO_HEADS, [
        so("L4", "50.00", contract="C3", template="license_pit", start="2024-01-20",
           end="2024-01-20")]), "--type", "sales_order")  # fmt: skip
    cli("jobs", "disable", "revenue_process")
    cli("import", "transactions", write_csv(tmp_path / "later.csv", SO_HEADS, [
        so("L5", "70.00", contract="C4", template="license_pit", start="2024-01-21",
           end="2024-01-21")]), "--type", "sales_order")  # fmt: skip
    refused = cli("je", "approve", ok=False)
    assert refused.exit_code == 1
    assert "contracts changed since the last processing run: 1 != 0" in str(refused.exception)
    cli("jobs", "enable", "revenue_process")
    cli("process")
    # C3 and C4 add 50.00 + 70.00 of revenue and of contract asset: 4 lines each.
    assert _journals(cli, "2024-01")[("PRIMARY", "draft")] == ("3370.00", "3370.00", 24)

    closed = _month_end(cli, tmp_path, "2024-01")
    assert "period 2024-01 closed; 2024-02 is open (PRIMARY, LOCAL)" in closed.stdout
    summary = tmp_path / "gl" / "gl_PRIMARY_2024-01_summary.csv"
    with summary.open(newline="") as handle:
        assert list(csv.reader(handle)) == [
            ["account", "gl_code", "currency", "period", "debit", "credit"],
            ["accounts_receivable", "1200", "USD", "2024-01", "1500.00", "0.00"],
            ["contract_asset", "1300", "USD", "2024-01", "220.00", "0.00"],
            ["contract_cost_asset", "1500", "USD", "2024-01", "120.00", "10.00"],
            ["cost_clearing", "2150", "USD", "2024-01", "0.00", "120.00"],
            ["deferred_revenue", "2400", "USD", "2024-01", "1520.00", "1720.00"],
            ["revenue", "4000", "USD", "2024-01", "0.00", "1320.00"],
            ["revenue", "4010", "USD", "2024-01", "0.00", "200.00"],
            ["contract_cost_expense", "6100", "USD", "2024-01", "10.00", "0.00"],
        ]
    detail = (tmp_path / "gl" / "gl_PRIMARY_2024-01_detail.csv").read_text().splitlines()
    assert len(detail) == 1 + 24
    sha = query(cli.url, "select summary_sha256 from journals where book = 'PRIMARY'")[0][0]
    assert sha == hashlib.sha256(summary.read_bytes()).hexdigest()

    # February: revenue 100.00 (L2) + 100.00 (L3); C2's asset 100 -> 200; amortization 10.00.
    assert _journals(cli, "2024-02")[("PRIMARY", "draft")] == ("310.00", "310.00", 8)
    _month_end(cli, tmp_path, "2024-02")

    # March (INV-3 and INV-4 were future rows, processed when March opened): INV 600.00,
    # revenue 200.00, C2's asset 200 -> 0 (Dr deferred revenue / Cr contract asset 200.00),
    # amortization 10.00: 1,010.00.
    assert _journals(cli, "2024-03")[("PRIMARY", "draft")] == ("1010.00", "1010.00", 12)
    _month_end(cli, tmp_path, "2024-03", close=False)
    for book in ("PRIMARY", "LOCAL"):  # the open period's lines list is through March
        liability, asset = _liability_and_asset(cli, book)
        balances = _trial_balance(cli, "2024-03", book)
        assert -round(float(balances["deferred_revenue", "2400"]) * 100) == liability
        assert round(float(balances["contract_asset", "1300"]) * 100) == asset
    cli("period", "close", "--yes")

    assert _trial_balance(cli, "2024-03") == {
        ("accounts_receivable", "1200"): "2100.00",
        ("contract_asset", "1300"): "120.00",  # C3 and C4, never billed
        ("contract_cost_asset", "1500"): "90.00",
        ("cost_clearing", "2150"): "-120.00",
        ("deferred_revenue", "2400"): "-300.00",  # C1: billed 1,800.00, recognized 1,500.00
        ("revenue", "4000"): "-1320.00",
        ("revenue", "4010"): "-600.00",
        ("contract_cost_expense", "6100"): "30.00",
    }
    # LOCAL recognized the license 100.00 a month: C1 billed 1,800.00, recognized 600.00.
    assert _trial_balance(cli, "2024-03", "LOCAL")["deferred_revenue", "2400"] == "-1200.00"
    periods = json.loads(cli("period", "status", "--format", "json").stdout)["rows"]
    assert [(r["book"], r["period"], r["status"]) for r in periods] == [
        (book, period, status)
        for book in ("LOCAL", "PRIMARY")
        for period, status in (("2024-01", "closed"), ("2024-02", "closed"),
                               ("2024-03", "closed"), ("2024-04", "open"))
    ]  # fmt: skip


def test_a_closed_period_never_changes_and_late_rows_post_in_the_open_one(cli, tmp_path):
    _load(cli, tmp_path)
    _month_end(cli, tmp_path, "2024-01")
    before = query(
        cli.url, "select * from journal_lines where period = '2024-01' order by book, id"
    )
    # A late invoice dated in January, a modification of L2 and a new cost: all in February.
    cli("import", "transactions", write_csv(tmp_path / "late.csv", BILL_HEADS, [
        bill("INV", "INV-9", "INV-9-1", "2024-01-20", "100.00", so_line="L2")]),
        "--type", "billing")  # fmt: skip
    assert (
        query(cli.url, "select * from journal_lines where period = '2024-01' order by book, id")
        == before
    )
    late = query(
        cli.url,
        "select account, debit, credit from journal_lines where book = 'PRIMARY' and "
        "period = '2024-02' and source = 'billing' order by account",
    )
    assert late == [("accounts_receivable", 10_000, 0), ("deferred_revenue", 0, 10_000)]
    # A step on a closed period is refused in one line.
    refused = cli("je", "revoke", "--period", "2024-01", ok=False)
    assert refused.exit_code == 1
    assert str(refused.exception) == "period 2024-01 is closed: its journal never changes"


def test_wrong_order_and_bad_input_get_one_line_messages(cli, tmp_path):
    _load(cli, tmp_path)
    journal = "error: journal PRIMARY 2024-01"
    cases = [
        (("je", "transfer"), f"{journal} is draft: it must be approved to be transferred"),
        (("je", "summarize"), f"{journal} is draft: it must be transferred to be summarized"),
        (("je", "revoke"), f"{journal} is a draft: nothing to revoke"),
        (("je", "show", "--period", "2031-01"),
         "error: period 2031-01 does not exist in book PRIMARY"),
        (("je", "show", "--period", "2024-01", "--trial-balance"),
         f"{journal} is not summarized: no trial balance yet"),
    ]  # fmt: skip
    for args, message in cases:
        result = cli(*args, ok=False)
        assert (result.exit_code, f"error: {result.exception}") == (1, message), args
    closing = cli("period", "close", "--yes", ok=False)
    assert closing.exit_code == 1
    message = str(closing.exception)
    assert message.startswith("period 2024-01 cannot be closed: ")
    assert "journal PRIMARY 2024-01 summarized: the journal is draft" in message
    assert "journal LOCAL 2024-01 summarized: the journal is draft" in message
    # Approved: a new row of the period waits, and says why, until approval is revoked.
    cli("je", "approve")
    cli("--book", "LOCAL", "je", "approve")
    cli("import", "transactions", write_csv(tmp_path / "wait.csv", BILL_HEADS, [
        bill("INV", "INV-8", "INV-8-1", "2024-01-25", "10.00", so_line="L2")]),
        "--type", "billing")  # fmt: skip
    waiting = json.loads(cli("stage", "list", "--status", "pending", "--format", "json").stdout)
    assert [r["key"] for r in waiting["rows"]] == ["INV-8-1"]
    assert (
        "the journal of LOCAL 2024-01, PRIMARY 2024-01 is approved"
        in (waiting["rows"][0]["messages"][0]["message"])
    )
    cli("je", "revoke")
    cli("--book", "LOCAL", "je", "revoke")
    cli("process")
    assert (
        json.loads(cli("stage", "list", "--status", "pending", "--format", "json").stdout)["rows"]
        == []
    )
    assert _journals(cli, "2024-01")[("PRIMARY", "draft")] == ("3140.00", "3140.00", 18)


def test_an_unbalanced_journal_cannot_be_approved(cli, tmp_path):
    _load(cli, tmp_path)
    engine = sa.create_engine(cli.url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:  # a journal line changed behind revrec's back
        conn.execute(
            sa.text(
                "update journal_lines set debit = debit + 1 where id = "
                "(select min(id) from journal_lines where book = 'PRIMARY' and debit > 0)"
            )
        )
    engine.dispose()
    refused = cli("je", "approve", ok=False)
    assert refused.exit_code == 1
    assert str(refused.exception).startswith("journal PRIMARY 2024-01 cannot be approved: ")
    assert "journal debits = credits (USD): 3130.01 != 3130.00" in str(refused.exception)
    assert _journals(cli, "2024-01")[("PRIMARY", "draft")] == ("3130.01", "3130.00", 16)


def test_the_close_reuses_the_figures_a_journal_was_approved_with(cli, tmp_path, monkeypatch):
    """Decision 91: approve keeps the report figures it checked; the close's checklist takes
    them while no audit entry since may have changed the reports' inputs, else computes."""
    _load(cli, tmp_path)
    _month_end(cli, tmp_path, "2024-01", close=False)
    kept = dict(query(cli.url, "select book, figures from journals where period = '2024-01'"))
    # January, PRIMARY: billed 1,500.00, recognized 1,400.00; C1 deferred 200.00, C2 asset 100.
    usd = json.loads(str(kept["PRIMARY"]))["report"]
    assert [(f["currency"], f["billed_to_date"], f["recognized_to_date"]) for f in usd] == [
        ("USD", 150000, 140000)
    ]
    assert (usd[0]["liability_closing"], usd[0]["asset_closing"]) == (20000, 10000)
    computed = []
    basis = reports.basis

    def counted(conn, journal, *args):
        computed.append((journal.book, journal.period))
        return basis(conn, journal, *args)

    monkeypatch.setattr(reports, "basis", counted)
    cli("period", "close", "--yes")
    assert computed == []  # nothing changed since the approvals: no engine run for the checks

    _month_end(cli, tmp_path, "2024-02", close=False)
    computed.clear()
    cli("setup", "load", tmp_path / "setup.yaml")  # may change what the reports read
    cli("period", "close", "--yes")
    assert sorted(computed) == [("LOCAL", "2024-02"), ("PRIMARY", "2024-02")]


def _ledgers_agree(url, period):
    """The GL side kept at approve is the one read afresh from the lines, and so are the checks
    made with it (decision 94)."""
    engine = db.engine(url)
    try:
        with engine.connect() as conn:
            for book in ("PRIMARY", "LOCAL"):
                kept = reconcile.kept_ledger(conn, book, period)
                fresh = reconcile.Ledger(  # each read on its own, as before decision 94
                    journal_store.account_balances(conn, book, period),
                    journal_store.totals(conn, book, period),
                    journal_store.missing_gl_codes(conn, book, period),
                )
                assert kept is not None, book
                keys = ["account", "gl_code", "currency"]
                assert kept.balances.sort(keys).equals(fresh.balances.sort(keys)), book
                assert (kept.totals, kept.missing) == (fresh.totals, fresh.missing), book
                assert reconcile.checks(conn, book, period) == reconcile.checks(
                    conn, book, period, ledger=fresh
                )
    finally:
        engine.dispose()


def test_the_close_takes_the_gl_side_kept_at_approve_and_a_revoke_drops_it(
    cli, tmp_path, monkeypatch
):
    """Decision 94: approve keeps the GL side of the checks (account balances through the
    period, the period's totals per currency, the lines without a GL code) while the lines are
    frozen; summarize stores those balances and the close's checklist takes the GL side from the
    stored trial balance, neither reading the lines; each equals a fresh computation. A revoke
    to draft drops it: the lines may change again."""
    _load(cli, tmp_path)

    def kept():
        sql = "select figures from journals where book = 'PRIMARY' and period = '2024-01'"
        return json.loads(str(query(cli.url, sql)[0][0]))

    cli("je", "approve")
    gl = kept()["gl"]
    assert (gl["totals"], gl["missing"]) == (
        [{"currency": "USD", "debit": 313_000, "credit": 313_000, "lines": 16}],
        0,
    )
    assert {(b["account"], b["gl_code"]): b["balance"] for b in gl["balances"]}[
        "deferred_revenue", "2400"
    ] == -20_000  # C1: billed 1,500.00, recognized 1,300.00
    cli("je", "revoke")
    assert "gl" not in kept()  # the report figures stay, kept by their basis mark (91)
    assert kept()["report"][0]["billed_to_date"] == 150_000
    # A draft's lines change: a late invoice of January, 100.00 on L2 (two more lines).
    cli("import", "transactions", write_csv(tmp_path / "late.csv", BILL_HEADS, [
        bill("INV", "INV-9", "INV-9-1", "2024-01-20", "100.00", so_line="L2")]),
        "--type", "billing")  # fmt: skip
    for book in ("PRIMARY", "LOCAL"):
        cli("--book", book, "je", "approve")
        cli("--book", book, "je", "transfer", "--output", tmp_path / "gl")
    assert kept()["gl"]["totals"] == [
        {"currency": "USD", "debit": 323_000, "credit": 323_000, "lines": 18}
    ]
    _ledgers_agree(cli.url, "2024-01")  # approved, then transferred: the kept document's

    read = []

    def counting(name):
        original = getattr(journal_store, name)

        def counted(conn, book, period, *args, **kwargs):
            read.append((name, book, period))
            return original(conn, book, period, *args, **kwargs)

        return counted

    def count_reads():  # the reads of the lines that make the GL side
        for name in ("account_balances", "totals", "missing_gl_codes"):
            monkeypatch.setattr(journal_store, name, counting(name))

    count_reads()
    for book in ("PRIMARY", "LOCAL"):
        cli("--book", book, "je", "summarize")
    assert "reconciliation PRIMARY 2024-01 passes" in cli("period", "status").stdout
    assert read == []  # neither summarize nor the checklist read a journal line
    monkeypatch.undo()
    _ledgers_agree(cli.url, "2024-01")  # summarized: the stored trial balance's

    count_reads()
    cli("period", "close", "--yes")
    assert [r for r in read if r[2] == "2024-01"] == []  # February's run reads its own
    monkeypatch.undo()
    _ledgers_agree(cli.url, "2024-01")  # closed: still the lines'


def test_the_gl_side_in_one_pass_is_the_three_reads(cli):
    """`store.journals.ledger` (approve's GL side, decision 94) equals `account_balances`,
    `totals` and `missing_gl_codes` read on their own: lines without a GL code before and after
    the last stored trial balance, a currency with lines before the period only, a later
    period's lines left out; for the open period and for the closed one."""
    cli("init", "--first-period", "2024-01")

    def line(period, account, gl_code, currency, debit, credit):
        return {"book": "PRIMARY", "period": period, "account": account, "gl_code": gl_code,
                "currency": currency, "debit": debit, "credit": credit, "contract_id": "C1",
                "line_id": None, "source": "billing", "source_id": "INV-1"}  # fmt: skip

    lines = [
        line("2024-01", "accounts_receivable", "1200", "USD", 10_000, 0),
        line("2024-01", "deferred_revenue", "2400", "USD", 0, 10_000),
        line("2024-01", "accounts_receivable", "1200", "EUR", 500, 0),
        line("2024-01", "revenue", None, "EUR", 0, 500),
        line("2024-01", "accounts_receivable", "1200", "JPY", 7, 0),
        line("2024-01", "deferred_revenue", "2400", "JPY", 0, 7),
        line("2024-02", "accounts_receivable", None, "USD", 3_000, 0),
        line("2024-02", "deferred_revenue", "2400", "USD", 0, 3_000),
        line("2024-02", "revenue", None, "EUR", 0, 200),
        line("2024-02", "revenue", None, "EUR", 0, 100),
        line("2024-02", "accounts_receivable", "1200", "EUR", 300, 0),
        line("2024-03", "accounts_receivable", None, "GBP", 1, 0),
    ]
    engine = db.engine(cli.url)
    try:
        with engine.begin() as conn:
            conn.execute(schema.journal_lines.insert(), lines)
            conn.execute(sa.update(schema.periods).values(status="closed"))
            conn.execute(
                schema.periods.insert(),
                [{"book": "PRIMARY", "period": "2024-02", "status": "open"},
                 {"book": "PRIMARY", "period": "2024-03", "status": "future"}],
            )  # fmt: skip
            summarized = {"book": "PRIMARY", "period": "2024-01", "state": "summarized"}
            conn.execute(schema.journals.insert().values(**summarized))
            january = journal_store.account_balances(conn, "PRIMARY", "2024-01", from_lines=True)
            journal_store.save_balances(conn, "PRIMARY", "2024-01", january)
        with engine.connect() as conn:
            for period, missing in (("2024-01", 1), ("2024-02", 4)):
                balances, totals, count = journal_store.ledger(conn, "PRIMARY", period)
                assert balances.equals(journal_store.account_balances(conn, "PRIMARY", period))
                assert totals == journal_store.totals(conn, "PRIMARY", period)
                assert count == journal_store.missing_gl_codes(conn, "PRIMARY", period) == missing
            assert [t["currency"] for t in totals] == ["EUR", "USD"]  # no JPY line in February
    finally:
        engine.dispose()
