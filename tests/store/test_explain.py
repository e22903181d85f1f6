"""`revrec explain LINE_ID` on SQLite and PostgreSQL, with numbers worked by hand.

January 2024 (the first period), every line of item ITEM whose SSP is 10.00:
- C1: L1 50.00 by full months over 2024, L2 30.00 daily over January..March (91 days), L3
  20.00 by milestones. TP 100.00 over three equal SSPs: 100/3 = 33.33 1/3 each; the floors
  leave a cent, which goes to L1 (ties: the earlier line). L2 recognizes round(33.33 x 31/91)
  = 11.35 in January, round(33.33 x 60/91) = 21.98 through February. L3 is released 50% on
  2024-01-20: round_half_even(16.665) = 16.66. INV-1 bills 10.00 on L2: the contract has
  recognized 2.78 + 11.35 + 16.66 = 30.79, a contract asset of 20.79.
- C2: M1 1,200.00 by full months over 2024; C3: P1 the same.
February, after January is closed: M1 becomes 2,400.00 from 2024-02-01 with catch-up (200.00 a
month from January: 100.00 caught up in February); P1 becomes 2,400.00 prospectively (100.00
kept, 2,300.00 over February..December); N1 joins a contract of its own.
"""

import json

from helpers import BILL_HEADS, PRIMARY_BOOK, SO_HEADS, bill, month_end, so, start, write_csv

SETUP = (
    PRIMARY_BOOK
    + """
pob_templates:
  - {name: support_full, method: ratable_monthly, params: {convention: full_month}}
  - {name: saas_daily, method: ratable_daily}
  - {name: milestone_evt, method: event, events: [milestone]}
ssp:
  - {item_code: ITEM, currency: USD, ssp: "10.00"}
"""
)
MOD_HEADS = [*SO_HEADS, "modification_date", "modification_policy"]
YEAR = {"template": "support_full", "start": "2024-01-01", "end": "2024-12-31"}


def _january(cli, tmp_path):
    start(cli, tmp_path, SETUP)
    sales = [
        so("L1", "50.00", **YEAR),
        so("L2", "30.00", template="saas_daily", start="2024-01-01", end="2024-03-31"),
        so("L3", "20.00", template="milestone_evt", start="2024-01-01", end="2024-06-30"),
        so("M1", "1200.00", contract="C2", **YEAR),
        so("P1", "1200.00", contract="C3", **YEAR),
    ]
    cli("import", "transactions", write_csv(tmp_path / "so.csv", SO_HEADS, sales), "--type",
        "sales_order")  # fmt: skip
    billing = [bill("INV", "INV-1", "INV-1-1", "2024-01-05", "10.00", so_line="L2")]
    cli("import", "transactions", write_csv(tmp_path / "bill.csv", BILL_HEADS, billing),
        "--type", "billing")  # fmt: skip
    events = tmp_path / "events.csv"
    events.write_text("so_line_id,event_date,percent,event_id\nL3,2024-01-20,50,MS-1\n")
    cli("import", "events", events, "--event", "milestone")


def _february(cli, tmp_path):
    month_end(cli, tmp_path)
    changed = [
        [*so("M1", "2400.00", contract="C2", **YEAR), "2024-02-01", "catch_up"],
        [*so("P1", "2400.00", contract="C3", **YEAR), "2024-02-01", "prospective"],
        [*so("N1", "100.00", contract="C4", **YEAR, order_date="2024-02-01"), "", ""],
    ]
    cli("import", "transactions", write_csv(tmp_path / "mod.csv", MOD_HEADS, changed),
        "--type", "sales_order")  # fmt: skip


def _explain(cli, line, *args):
    return json.loads(cli("explain", line, *args, "--format", "json").stdout)


def _rows(rows, *keys):
    return [tuple(row[k] for k in keys) for row in rows]


def test_a_line_of_january_explained(cli, tmp_path):
    _january(cli, tmp_path)
    found = _explain(cli, "L2")
    assert [found[k] for k in ("line_id", "contract_id", "currency", "book", "period")] == [
        "L2", "C1", "USD", "PRIMARY", "2024-01"]  # fmt: skip
    assert (found["line"]["method"], found["line"]["allocated"]) == ("ratable_daily", "33.33")
    allocation = found["allocation"]
    assert {k: allocation[k] for k in ("approach", "transaction_price", "ssp_total", "floors",
                                       "left_over", "remainder_to")} == {
        "approach": "relative", "transaction_price": "100.00", "ssp_total": "30.00",
        "floors": "99.99", "left_over": "0.01", "remainder_to": ["L1"],
    }  # fmt: skip
    assert _rows(allocation["rows"], "line_id", "amount", "ssp", "share", "exact", "floor",
                 "remainder", "extra", "allocated") == [
        ("L1", "50.00", "10.00", "1/3", "100/3", "33.33", "1/3", "0.01", "33.34"),
        ("L2", "30.00", "10.00", "1/3", "100/3", "33.33", "1/3", "0.00", "33.33"),
        ("L3", "20.00", "10.00", "1/3", "100/3", "33.33", "1/3", "0.00", "33.33"),
    ]  # fmt: skip
    assert _rows(found["curve"], "period", "total", "elapsed", "length", "unit", "cumulative",
                 "amount") == [
        ("2024-01", "33.33", "31", "91", "days", "11.35", "11.35"),
        ("2024-02", "33.33", "60", "91", "days", "21.98", "10.63"),
        ("2024-03", "33.33", "91", "91", "days", "33.33", "11.35"),
    ]  # fmt: skip
    assert _rows(found["periods"], "period", "scheduled", "posted", "difference") == [
        ("2024-01", "11.35", "11.35", "0.00"),
        ("2024-02", "10.63", None, None),
        ("2024-03", "11.35", None, None),
    ]
    assert _rows(found["billings"], "doc_type", "doc_number", "doc_date", "amount") == [
        ("INV", "INV-1", "2024-01-05", "10.00")]  # fmt: skip
    assert found["balances"] == {
        "billed": "10.00", "recognized": "30.79", "allocated": "100.00", "liability": "0.00",
        "asset": "20.79", "scheduled": "69.21", "liability_scheduled": "0.00",
        "asset_scheduled": "69.21", "overbilled": "0.00",
    }  # fmt: skip
    assert found["notes"] == []
    milestone = _explain(cli, "L3")
    assert _rows(milestone["events"], "event_date", "processed", "event", "action", "kind",
                 "value", "released", "of", "cumulative") == [
        ("2024-01-20", "2024-01", "milestone", "release", "percent", "50", "50", "100", "16.66")
    ]  # fmt: skip
    assert milestone["curve"] == []
    table = cli("explain", "L1").stdout
    assert table.startswith("L1 of contract C1 (USD) in book PRIMARY at the end of 2024-01\n")
    for shown in ("allocation: ", "100/3", "33.34", "curve: ", "2.78", "max(T - max(B, R), 0)"):
        assert shown in table, shown


def test_modifications_after_a_close_and_the_closed_period_unchanged(cli, tmp_path):
    _january(cli, tmp_path)
    january = cli("explain", "M1", "--format", "json").stdout
    _february(cli, tmp_path)
    # The closed January is explained as it was, to the byte, after February's changes.
    assert cli("explain", "M1", "--period", "2024-01", "--format", "json").stdout == january
    late = cli("explain", "N1", "--period", "2024-01", ok=False)
    assert str(late.exception) == (
        "line 'N1' was processed after 2024-01: it is not in the subledger at the end of that "
        "period"
    )
    caught = _explain(cli, "M1")
    assert _rows(caught["versions"], "version", "processed", "effective_date", "policy",
                 "treatment", "allocated", "catch_up") == [
        (1, "2024-01", "2024-01-01", "catch_up", "first", "1200.00", "0.00"),
        (2, "2024-02", "2024-02-01", "catch_up", "restated", "2400.00", "100.00"),
    ]  # fmt: skip
    assert _rows(caught["changes"], "period", "versions", "scheduled", "posted",
                 "catch_up") == [
        ("2024-01", "M1 v1", "100.00", "100.00", "0.00"),
        ("2024-02", "M1 v2", "200.00", "300.00", "100.00"),
    ]  # fmt: skip
    assert _rows(caught["periods"][:3], "period", "scheduled", "posted", "posted_to_date",
                 "difference") == [
        ("2024-01", "200.00", "100.00", "100.00", "-100.00"),
        ("2024-02", "200.00", "300.00", "400.00", "100.00"),
        ("2024-03", "200.00", None, None, None),
    ]  # fmt: skip
    spread = _explain(cli, "P1")
    second = spread["versions"][1]
    assert [second[k] for k in ("policy", "treatment", "kept", "remainder", "spread_from",
                                "catch_up")] == [
        "prospective", "prospective", "100.00", "2300.00", "2024-02-01", "0.00"]  # fmt: skip
    assert _rows(spread["segments"], "segment", "version", "total", "start", "cap") == [
        (1, 1, "1200.00", "2024-01-01", "2024-02-01"),
        (2, 2, "2300.00", "2024-02-01", None),
    ]
    assert _rows(spread["curve"][:3], "segment", "period", "elapsed", "length",
                 "cumulative") == [
        (1, "2024-01", "1", "12", "100.00"),
        (2, "2024-02", "1", "11", "209.09"),  # 2,300.00 / 11
        (2, "2024-03", "2", "11", "418.18"),
    ]  # fmt: skip


def test_what_explain_refuses(cli, tmp_path):
    _january(cli, tmp_path)
    later = write_csv(tmp_path / "later.csv", SO_HEADS,
                      [so("L9", "10.00", start="2024-03-01", end="2024-03-31")])  # fmt: skip
    cli("import", "transactions", later, "--type", "sales_order")
    cases = [
        (("explain", "NOPE"), "unknown line 'NOPE'"),
        (("explain", "L9"),
         "unknown line 'L9' (a row with this key waits in the stage area as future)"),
        (("explain", "L1", "--period", "2023-12"),
         "period 2023-12 does not exist in book PRIMARY"),
        (("explain", "L1", "--book", "NOPE"), "unknown book 'NOPE': expected one of PRIMARY"),
    ]  # fmt: skip
    for args, message in cases:
        result = cli(*args, ok=False)
        assert (result.exit_code, str(result.exception)) == (1, message), args
    assert cli("explain", "L1", "--format", "csv", ok=False).exit_code == 2
