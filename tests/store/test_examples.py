"""The shipped examples, end to end through the CLI, on SQLite and PostgreSQL (README tour)."""

import json

from helpers import postings, query


def test_the_demo_store_posts_the_hand_checked_numbers(cli):
    cli("init", "--demo")
    assert postings(cli.url) == {
        # C-1001: 120,000.00 allocated 75,000 / 20,000 / 25,000 by SSP (LIC, 20% of SUP's
        # 100,000.00 list price, IMP); the license is recognized at start.
        ("SO-1001-1", "2024-03"): 7_500_000,
        # Support 20,000.00 over 12 full months.
        ("SO-1001-2", "2024-03"): 166_667,
        # Milestone released 40% of 25,000.00 (the 110% row is an error).
        ("SO-1001-3", "2024-03"): 1_000_000,
        # EUR 24,000.00 daily over 366 days from 2024-02-15: 46 days through March, the
        # February part caught up in the first open period.
        ("SO-1002-1", "2024-03"): 301_639,
        # JPY 1,200,000 by full months.
        ("SO-1003-1", "2024-03"): 100_000,
        # Billing-driven: 1,200.00 evenly over 365 days from 2024-03-15, 17 days in March.
        ("INV-5003-1", "2024-03"): 5_589,
        # Recurly: a month's plan, a one-time charge, 12,000.00 over 365 days (29 in March),
        # and a -100.00 credit over 31 days (28 in March).
        ("3a6ae2555a2e2a76c077604bf5b90457", "2024-03"): 100_000,
        ("5b7cf3666b3f3b87d188715cf6c01568", "2024-03"): 25_000,
        ("6c8d04777c4a4c98e299826d07d12679", "2024-03"): 95_342,
        ("7d9e15888d5b5da9f3aa937e18e2378a", "2024-03"): -9_032,
    }
    # The LOCAL book recognizes support daily: 20,000.00 x 31 / 365.
    assert postings(cli.url, "LOCAL")[("SO-1001-2", "2024-03")] == 169_863
    errors = json.loads(cli("stage", "list", "--status", "error", "--format", "json").stdout)
    assert sorted((r["file"], r["line"]) for r in errors["rows"]) == [
        ("billings.csv", 9), ("billings.csv", 10), ("events_milestone.csv", 3),
        ("events_milestone.csv", 4), ("sales_orders.csv", 8), ("sales_orders.csv", 9),
    ]  # fmt: skip
    future = json.loads(cli("stage", "list", "--status", "future", "--format", "json").stdout)
    assert [r["key"] for r in future["rows"]] == ["SO-1004-1"]
    assert query(cli.url, "select count(*) from costs") == [(3,)]
    # Billed per line after CM, CMC and IVC: SUP 10,000 - 2,000 + 2,000; SAAS 24,000 - 24,000.
    billed = dict(query(cli.url, "select line_id, sum(amount) from billings group by line_id"))
    assert billed["SO-1001-2"] == 1_000_000
    assert billed["SO-1002-1"] == 0


def test_lines_list_and_show_the_processed_results_in_major_units(cli):
    """What a user sees of the subledger from the CLI: the same hand-checked numbers."""
    cli("init", "--demo")
    rows = json.loads(cli("lines", "list", "--contract", "C-1001", "--format", "json").stdout)
    assert [
        (r["line_id"], r["pob_template"], r["allocated"], r["billed"], r["recognized"])
        for r in rows["rows"]
    ] == [
        ("SO-1001-1", "license_pit", "75000.00", "90000.00", "75000.00"),
        ("SO-1001-2", "support_monthly", "20000.00", "10000.00", "1666.67"),
        ("SO-1001-3", "milestone_evt", "25000.00", "0.00", "10000.00"),
    ]
    every = json.loads(cli("lines", "list", "--format", "json").stdout)["rows"]
    assert len(every) == 10
    jpy = next(r for r in every if r["line_id"] == "SO-1003-1")
    assert (jpy["currency"], jpy["allocated"], jpy["open_period"]) == ("JPY", "1200000", "100000")
    credit = next(r for r in every if r["line_id"] == "7d9e15888d5b5da9f3aa937e18e2378a")
    assert (credit["allocated"], credit["recognized"], credit["last_day"]) == (
        "-100.00",
        "-90.32",
        "2024-04-03",
    )
    local = json.loads(
        cli("--book", "LOCAL", "lines", "show", "SO-1001-2", "--format", "json").stdout
    )
    assert local["recognized"] == "1698.63"
    assert local["rows"] == [{"period": "2024-03", "amount": "1698.63", "to_date": "1698.63"}]
    missing = cli("lines", "show", "SO-0000-1", ok=False)
    assert str(missing.exception) == "unknown line 'SO-0000-1'"
