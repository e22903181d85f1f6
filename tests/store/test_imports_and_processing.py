"""Imports through the stage area into the subledger, on SQLite and PostgreSQL (SPEC §4, §5)."""

import json
from datetime import UTC, datetime

from helpers import BILL_HEADS, SO_HEADS, bill, postings, query, so, statuses, write_csv

from revrec.services.context import Context
from revrec.services.process import open_next_period, run
from revrec.store import db

SETUP = """
pob_templates:
  - {name: saas_daily, method: ratable_daily}
  - {name: support_full, method: ratable_monthly, params: {convention: full_month}}
"""


def _init(cli, tmp_path, period="2024-03"):
    cli("init", "--first-period", period)
    setup = tmp_path / "setup.yaml"
    setup.write_text(SETUP)
    cli("setup", "load", setup)


def test_good_rows_are_processed_and_bad_rows_staged_with_exact_messages(cli, tmp_path):
    _init(cli, tmp_path)
    path = write_csv(
        tmp_path / "so.csv",
        SO_HEADS,
        [
            so("L1", "3660.00"),  # 2024-03-01 .. 2025-02-28: 365 days
            so("L2", "1.234"),  # too many decimals
            so("L3", "100.00", template="nope"),  # unknown template
            so("L4", "100.00", start="2024-05-01", end="2024-05-31"),  # a future period
        ],
    )
    result = cli("import", "transactions", path, "--type", "sales_order", "--format", "json")
    assert json.loads(result.stdout) == {
        "file": "so.csv",
        "rows_read": 4,
        "processed": 1,
        "future": 1,
        "pending": 0,
        "error": 2,
        "duplicate": 0,
    }
    rows = statuses(cli.url)
    assert rows[2][0] == "processed"
    assert rows[3][0] == "error"
    assert json.loads(rows[3][1]) == [
        {"column": "amount", "value": "1.234", "message": "too many decimals: USD allows 2"}
    ]
    assert rows[4][0] == "error"
    assert json.loads(rows[4][1])[0]["column"] == "pob_template"
    assert rows[5][0] == "future"
    # L1: 3,660.00 over 365 days, March has 31: 3,660.00 x 31 / 365 = 310.85 (31,085.48 cents).
    assert postings(cli.url) == {("L1", "2024-03"): 31_085}
    listing = json.loads(cli("stage", "list", "--status", "error", "--format", "json").stdout)
    assert [r["line"] for r in listing["rows"]] == [3, 4]
    assert set(listing["rows"][0]) >= {"row_id", "tab", "file", "line", "status", "key", "messages"}


def test_reimporting_the_same_file_changes_nothing(cli, tmp_path):
    _init(cli, tmp_path)
    path = write_csv(tmp_path / "so.csv", SO_HEADS, [so("L1", "3660.00")])
    cli("import", "transactions", path, "--type", "sales_order")
    before = query(cli.url, "select count(*) from stage_rows")
    again = json.loads(
        cli("import", "transactions", path, "--type", "sales_order", "--format", "json").stdout
    )
    assert again["duplicate"] == 1
    assert again["processed"] == 0
    assert query(cli.url, "select count(*) from stage_rows") == before
    assert query(cli.url, "select count(*) from line_versions") == [(1,)]
    # The same row in another file is a duplicate by key and content: skipped.
    copy = write_csv(tmp_path / "copy.csv", SO_HEADS, [so("L1", "3660.00")])
    third = json.loads(
        cli("import", "transactions", copy, "--type", "sales_order", "--format", "json").stdout
    )
    assert third["duplicate"] == 1
    assert query(cli.url, "select count(*) from line_versions") == [(1,)]
    assert postings(cli.url) == {("L1", "2024-03"): 31_085}


def test_partial_invoice_cancellation_is_rejected_and_partial_credit_memo_accepted(cli, tmp_path):
    _init(cli, tmp_path)
    cli(
        "import",
        "transactions",
        write_csv(tmp_path / "so.csv", SO_HEADS, [so("L1", "1200.00"), so("L2", "600.00")]),
        "--type",
        "sales_order",
    )
    docs = write_csv(
        tmp_path / "docs.csv",
        BILL_HEADS,
        [
            bill("INV", "I1", "I1-1", "2024-03-01", "1200.00", so_line="L1"),
            bill("INV", "I1", "I1-2", "2024-03-01", "600.00", so_line="L2"),
            bill("IVC", "V1", "V1-1", "2024-03-02", "100.00", ref_number="I1", ref_line="I1-1"),
            bill("CM", "M1", "M1-1", "2024-03-03", "200.00", ref_number="I1", ref_line="I1-1"),
            bill("CM", "M2", "M2-1", "2024-03-04", "1000.01", ref_number="I1", ref_line="I1-1"),
            bill("CM", "M3", "M3-1", "2024-03-05", "1000.00", ref_number="I1", ref_line="I1-1"),
            bill("IVC", "V2", "V2-1", "2024-03-06", "600.00", ref_number="I1", ref_line="I1-2"),
            bill("CMC", "X1", "X1-1", "2024-03-07", "200.00", ref_number="M1", ref_line="M1-1"),
            bill("CM", "M4", "M4-1", "2024-03-08", "50.00", ref_number="I9", ref_line="I9-1"),
        ],
    )
    result = json.loads(
        cli("import", "transactions", docs, "--type", "billing", "--format", "json").stdout
    )
    assert (result["processed"], result["error"]) == (6, 3)
    rows = statuses(cli.url)
    messages = {line: json.loads(m) for line, (status, m) in rows.items() if status == "error"}
    assert messages[4] == [
        {
            "column": "amount",
            "value": "100.00",
            "message": "partial invoice cancellations are not permitted: "
            "the remaining amount of I1-1 is 1200.00",
        }
    ]
    assert messages[6] == [
        {
            "column": "amount",
            "value": "1000.01",
            "message": "the credit exceeds the remaining billed amount of I1-1: 1000.00",
        }
    ]
    assert messages[10][0]["message"] == "CM references unknown document I9 line I9-1"
    billed = dict(query(cli.url, "select line_id, sum(amount) from billings group by line_id"))
    # L1: 1,200.00 - 200.00 - 1,000.00 + 200.00 (CMC) = 200.00; L2: 600.00 - 600.00 = 0.
    assert billed == {"L1": 20_000, "L2": 0}


def test_an_inactive_job_leaves_rows_pending_and_says_why(cli, tmp_path):
    _init(cli, tmp_path)
    cli("jobs", "disable", "transaction_import")
    path = write_csv(tmp_path / "so.csv", SO_HEADS, [so("L1", "3660.00")])
    result = json.loads(
        cli("import", "transactions", path, "--type", "sales_order", "--format", "json").stdout
    )
    assert result["pending"] == 1
    assert result["processed"] == 0
    listing = json.loads(cli("stage", "list", "--format", "json").stdout)
    assert listing["notes"] == ["1 pending row in contracts: job transaction_import is inactive"]
    assert postings(cli.url) == {}
    cli("jobs", "enable", "transaction_import")
    cli("process")
    assert postings(cli.url) == {("L1", "2024-03"): 31_085}


def test_a_future_row_waits_until_its_period_opens(cli, tmp_path):
    _init(cli, tmp_path)
    path = write_csv(
        tmp_path / "so.csv", SO_HEADS, [so("L1", "3000.00", start="2024-04-01", end="2024-06-30")]
    )
    assert (
        json.loads(
            cli("import", "transactions", path, "--type", "sales_order", "--format", "json").stdout
        )["future"]
        == 1
    )
    cli("process")
    assert postings(cli.url) == {}
    engine = db.engine(cli.url)
    opened = open_next_period(Context(engine, "test", datetime(2024, 4, 1, tzinfo=UTC)))
    assert opened == "2024-04"
    run(Context(engine, "test", datetime(2024, 4, 2, tzinfo=UTC)))
    engine.dispose()
    # 3,000.00 over April..June (91 days); April has 30: 3,000.00 x 30 / 91 = 989.01.
    assert postings(cli.url) == {("L1", "2024-04"): 98_901}
    assert statuses(cli.url)[2][0] == "processed"


def _modify(cli, tmp_path, policy):
    setup = tmp_path / "policy.yaml"
    setup.write_text(f"defaults: {{modification_policy: {policy}}}\n")
    cli("init", "--first-period", "2024-01")
    cli("setup", "load", tmp_path / "policy.yaml")
    template = tmp_path / "t.yaml"
    template.write_text(SETUP)
    cli("setup", "load", template)
    year = {"template": "support_full", "start": "2024-01-01", "end": "2024-12-31"}
    cli(
        "import",
        "transactions",
        write_csv(tmp_path / "v1.csv", SO_HEADS, [so("L1", "1200.00", **year)]),
        "--type",
        "sales_order",
    )
    engine = db.engine(cli.url)
    for _ in range(3):  # close January, February, March
        open_next_period(Context(engine, "test", datetime(2024, 4, 1, tzinfo=UTC)))
        cli("process")
    engine.dispose()
    heads = [*SO_HEADS, "modification_date"]
    cli(
        "import",
        "transactions",
        write_csv(
            tmp_path / "v2.csv",
            heads,
            [[*so("L1", "1500.00", order_date="2024-01-01", **year), "2024-04-01"]],
        ),
        "--type",
        "sales_order",
    )
    return postings(cli.url)


def test_modification_catch_up(cli, tmp_path):
    posted = _modify(cli, tmp_path, "catch_up")
    # 100.00 posted in each of January..March; the new schedule is 125.00 a month, so April gets
    # 4 x 125.00 - 300.00 = 200.00.
    assert [posted[("L1", p)] for p in ("2024-01", "2024-02", "2024-03", "2024-04")] == [
        10_000,
        10_000,
        10_000,
        20_000,
    ]


def test_modification_prospective(cli, tmp_path):
    posted = _modify(cli, tmp_path, "prospective")
    # 300.00 recognized stays; 1,500.00 - 300.00 = 1,200.00 over April..December (9 months):
    # April = round(120,000 / 9) = 13,333.
    assert [posted[("L1", p)] for p in ("2024-01", "2024-02", "2024-03", "2024-04")] == [
        10_000,
        10_000,
        10_000,
        13_333,
    ]


def test_a_hold_event_stops_revenue_and_its_removal_catches_up(cli, tmp_path):
    _init(cli, tmp_path)
    path = write_csv(tmp_path / "so.csv", SO_HEADS, [so("L1", "3660.00")])
    cli("import", "transactions", path, "--type", "sales_order")
    assert postings(cli.url) == {("L1", "2024-03"): 31_085}
    holds = tmp_path / "holds.csv"
    holds.write_text("so_line_id,event_date,action,event_id\nL1,2024-03-05,hold,H1\n")
    result = json.loads(
        cli("import", "events", holds, "--event", "expiration", "--format", "json").stdout
    )
    assert result["processed"] == 1
    # On hold from March: nothing is recognized in the open period.
    assert postings(cli.url) == {}
    release = tmp_path / "release.csv"
    release.write_text("so_line_id,event_date,action,event_id\nL1,2024-03-20,accelerate,A1\n")
    cli("import", "events", release, "--event", "expiration")
    # Accelerated in March: the whole 3,660.00 is recognized now.
    assert postings(cli.url) == {("L1", "2024-03"): 366_000}


def test_a_crash_mid_run_leaves_the_store_as_before_and_a_rerun_finishes(
    cli, tmp_path, monkeypatch
):
    import pytest  # noqa: PLC0415

    from revrec.services.processing import costs  # noqa: PLC0415

    _init(cli, tmp_path)
    cli("jobs", "disable", "transaction_import")
    cli("import", "transactions", write_csv(tmp_path / "so.csv", SO_HEADS,
        [so("L1", "3660.00")]), "--type", "sales_order")  # fmt: skip
    cli("import", "transactions", write_csv(tmp_path / "docs.csv", BILL_HEADS,
        [bill("INV", "I1", "I1-1", "2024-03-01", "3660.00", so_line="L1")]),
        "--type", "billing")  # fmt: skip

    def crash(*_args):
        raise RuntimeError("power cut")

    # The sales orders and billings are applied, then the crash comes before the run commits.
    monkeypatch.setattr(costs, "apply", crash)
    engine = db.engine(cli.url)
    with pytest.raises(RuntimeError, match="power cut"):
        run(Context(engine, "test", datetime(2024, 3, 5, tzinfo=UTC)), only="transaction_import")
    assert query(cli.url, "select count(*) from line_versions") == [(0,)]
    assert query(cli.url, "select count(*) from billings") == [(0,)]
    assert {s for s, _ in statuses(cli.url).values()} == {"pending"}
    monkeypatch.undo()
    cli("jobs", "enable", "transaction_import")
    run(Context(engine, "test", datetime(2024, 3, 5, tzinfo=UTC)))
    engine.dispose()
    assert query(cli.url, "select count(*) from billings") == [(1,)]
    assert postings(cli.url) == {("L1", "2024-03"): 31_085}


def test_a_prospective_change_keeps_the_earlier_versions_allocation(cli, tmp_path):
    # Two lines of one contract; L1 v1 allocated, then L1 changes while a new line L2 joins.
    # L1's version-1 allocation must survive to anchor the prospective chain.
    _init(cli, tmp_path)
    setup = tmp_path / "p.yaml"
    setup.write_text("defaults: {modification_policy: prospective}\n")
    cli("setup", "load", setup)
    year = {"template": "support_full", "start": "2024-03-01", "end": "2025-02-28"}
    cli("import", "transactions", write_csv(tmp_path / "v1.csv", SO_HEADS,
        [so("L1", "1200.00", **year)]), "--type", "sales_order")  # fmt: skip
    heads = [*SO_HEADS, "modification_date"]
    cli("import", "transactions", write_csv(tmp_path / "v2.csv", heads, [
        [*so("L1", "1500.00", order_date="2024-03-01", **year), "2024-03-01"],
        [*so("L2", "600.00", order_date="2024-03-01", **year), ""],
    ]), "--type", "sales_order")  # fmt: skip
    rows = query(cli.url, "select line_id, version, allocated from allocations")
    stored = {(line, version): amount for line, version, amount in rows}
    assert stored[("L1", 1)] == 120_000
    assert stored[("L1", 2)] == 150_000
    assert stored[("L2", 1)] == 60_000


def test_a_corrected_file_is_resubmitted_after_its_error_rows_are_deleted(cli, tmp_path):
    """SPEC §4.4: fix the file, delete the error rows, import again: the good row already in
    the subledger is a duplicate, the fixed one is processed, nothing is counted twice."""
    _init(cli, tmp_path)
    first = write_csv(tmp_path / "so.csv", SO_HEADS, [so("L1", "3660.00"), so("L2", "365.001")])
    cli("import", "transactions", first, "--type", "sales_order")
    errors = json.loads(cli("stage", "list", "--status", "error", "--format", "json").stdout)
    assert [(r["line"], r["key"]) for r in errors["rows"]] == [(3, "L2")]
    cli("stage", "delete", errors["rows"][0]["row_id"], "--yes")
    fixed = write_csv(
        tmp_path / "so_fixed.csv", SO_HEADS, [so("L1", "3660.00"), so("L2", "365.00")]
    )
    summary = json.loads(
        cli("import", "transactions", fixed, "--type", "sales_order", "--format", "json").stdout
    )
    assert (summary["processed"], summary["duplicate"], summary["error"]) == (1, 1, 0)
    assert (
        json.loads(cli("stage", "list", "--status", "error", "--format", "json").stdout)["rows"]
        == []
    )
    # L1 3,660.00 and L2 365.00 over 365 days: 31 March days are 310.85 and 31.00.
    assert postings(cli.url) == {("L1", "2024-03"): 31_085, ("L2", "2024-03"): 3_100}
    assert query(cli.url, "select count(*) from line_versions") == [(2,)]


def test_rows_written_another_way_with_the_same_meaning_are_duplicates(cli, tmp_path):
    """SPEC §4.5 compares content: "100.0" is 100.00, a date's time of day is dropped, and an
    optional column left out is the same as left empty (QA finding: these were conflicts, and
    an SO line re-sent so became a new version)."""
    _init(cli, tmp_path)
    orders = write_csv(tmp_path / "so.csv", SO_HEADS, [so("L1", "1200.00")])
    cli("import", "transactions", orders, "--type", "sales_order")
    bills = write_csv(
        tmp_path / "b.csv", BILL_HEADS, [bill("INV", "I1", "I1-1", "2024-03-05", "100.00")]
    )
    cli("import", "transactions", bills, "--type", "billing")
    again = write_csv(tmp_path / "so2.csv", SO_HEADS, [so("L1", "1200.0")])
    summary = json.loads(
        cli("import", "transactions", again, "--type", "sales_order", "--format", "json").stdout
    )
    assert (summary["duplicate"], summary["error"]) == (1, 0)
    assert query(cli.url, "select version from line_versions where line_id = 'L1'") == [(1,)]
    heads = [h for h in BILL_HEADS if not h.startswith("ref_")]
    row = bill("INV", "I1", "I1-1", "2024-03-05T10:00:00Z", "100.0")
    rewritten = write_csv(
        tmp_path / "b2.csv",
        heads,
        [[v for h, v in zip(BILL_HEADS, row, strict=True) if h in heads]],
    )
    summary = json.loads(
        cli("import", "transactions", rewritten, "--type", "billing", "--format", "json").stdout
    )
    assert (summary["duplicate"], summary["error"]) == (1, 0)
    changed = write_csv(
        tmp_path / "b3.csv", BILL_HEADS, [bill("INV", "I1", "I1-1", "2024-03-05", "100.01")]
    )
    summary = json.loads(
        cli("import", "transactions", changed, "--type", "billing", "--format", "json").stdout
    )
    assert (summary["duplicate"], summary["error"]) == (0, 1)
    assert query(cli.url, "select sum(amount) from billings") == [(10_000,)]


def test_cancelling_an_invoice_twice_says_it_is_already_cancelled(cli, tmp_path):
    _init(cli, tmp_path)
    path = write_csv(
        tmp_path / "b.csv",
        BILL_HEADS,
        [
            bill("INV", "I6", "I6-1", "2024-03-01", "50.00"),
            bill("IVC", "V6", "V6-1", "2024-03-02", "50.00", ref_number="I6", ref_line="I6-1"),
            bill("IVC", "V7", "V7-1", "2024-03-03", "50.00", ref_number="I6", ref_line="I6-1"),
        ],
    )
    cli("import", "transactions", path, "--type", "billing")
    errors = json.loads(cli("stage", "list", "--status", "error", "--format", "json").stdout)
    assert [(r["key"], r["messages"]) for r in errors["rows"]] == [
        (
            "V7-1",
            [
                {
                    "column": "amount",
                    "value": "50.00",
                    "message": "I6-1 is already cancelled or credited in full: nothing remains "
                    "billed",
                }
            ],
        )
    ]
    assert query(cli.url, "select sum(amount) from billings") == [(0,)]


def test_quantity_events_release_their_share_of_the_lines_quantity(cli, tmp_path):
    """8 units for 8,000.00 released by events of 3 and 2 units: 5/8 is 5,000.00 (the line's
    quantity was dropped before, so each event released the whole line)."""
    cli("init", "--first-period", "2024-03")
    line = [*so("L1", "8000.00", template="milestone_evt"), "8"]
    orders = write_csv(tmp_path / "so.csv", [*SO_HEADS, "quantity"], [line])
    cli("import", "transactions", orders, "--type", "sales_order")
    events = tmp_path / "units.csv"
    events.write_text(
        "so_line_id,event_date,quantity,event_id\nL1,2024-03-10,3,U-1\nL1,2024-03-20,2,U-2\n"
    )
    cli("import", "events", events, "--event", "milestone")
    assert postings(cli.url) == {("L1", "2024-03"): 500_000}
    shown = json.loads(cli("lines", "show", "L1", "--format", "json").stdout)
    assert (shown["allocated"], shown["recognized"]) == ("8000.00", "5000.00")
