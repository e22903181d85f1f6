"""Billing files judged as a whole: invoice lines by column against the store, reversals in order,
billing-driven lines created in bulk (SPEC §3, §4.2, §4.5)."""

import json

from helpers import BILL_HEADS, SO_HEADS, bill, postings, query, so, write_csv

SETUP = """
pob_templates:
  - {name: saas_daily, method: ratable_daily}
"""
RECURLY_HEADS = [
    "invoice_number",
    "invoice_date",
    "invoice_state",
    "account_code",
    "accounting_code",
    "line_item_id",
    "line_item_start_date",
    "line_item_end_date",
    "origin",
    "total_amount",
    "currency",
    "schedule_type",
    "invoice_origin",
]


def _init(cli, tmp_path):
    cli("init", "--first-period", "2024-03")
    setup = tmp_path / "setup.yaml"
    setup.write_text(SETUP)
    cli("setup", "load", setup)


def _import(cli, path, *extra):
    return json.loads(
        cli("import", "transactions", path, "--type", *extra, "--format", "json").stdout
    )


def test_a_file_mixing_duplicate_conflicting_and_new_invoice_lines(cli, tmp_path):
    _init(cli, tmp_path)
    _import(cli, write_csv(tmp_path / "so.csv", SO_HEADS, [so("L1", "3660.00"),
            so("L2", "600.00")]), "sales_order")  # fmt: skip
    heads = [*BILL_HEADS, "schedule_type"]
    first = write_csv(
        tmp_path / "docs1.csv",
        heads,
        [
            [*bill("INV", "I1", "I1-1", "2024-03-01", "1200.00", so_line="L1"), ""],
            [*bill("INV", "I1", "I1-2", "2024-03-01", "600.00", so_line="L2"), ""],
        ],
    )
    assert _import(cli, first, "billing")["processed"] == 2
    second = write_csv(
        tmp_path / "docs2.csv",
        heads,
        [
            [*bill("INV", "I1", "I1-1", "2024-03-01", "1200.00", so_line="L1"), ""],  # same
            [*bill("INV", "I1", "I1-2", "2024-03-01", "610.00", so_line="L2"), ""],  # changed
            [*bill("INV", "I3", "I3-1", "2024-03-02", "100.00", so_line="L1"), ""],  # new
            [*bill("INV", "D1", "D1-1", "2024-03-02", "120.00", start="2024-03-01",
                   end="2024-03-31"), "evenly"],  # new, no sales order: its own line
            [*bill("INV", "I4", "I4-1", "2024-03-02", "10.00", so_line="L9"), ""],  # unknown
            # Cancels I3-1 of this same file, which comes first (an earlier doc_date).
            [*bill("IVC", "V3", "V3-1", "2024-03-05", "100.00", ref_number="I3",
                   ref_line="I3-1"), ""],
        ],
    )  # fmt: skip
    result = _import(cli, second, "billing")
    # The duplicate is a processed stage row, counted apart: six rows = 3 + 1 + 2.
    assert (result["processed"], result["duplicate"], result["error"]) == (3, 1, 2)
    rows = query(
        cli.url,
        "select s.line, s.status, s.messages from stage_rows s join files f "
        "on f.file_id = s.file_id where f.name = 'docs2.csv' order by s.line",
    )
    assert [status for _, status, _ in rows] == [
        "processed", "error", "processed", "processed", "error", "processed"
    ]  # fmt: skip
    assert {line: json.loads(m) for line, _, m in rows if m != "[]"} == {
        2: [
            {
                "column": "doc_line_id",
                "value": "I1-1",
                "message": "duplicate of a processed row: skipped",
            }
        ],
        3: [
            {
                "column": "doc_line_id",
                "value": "I1-2",
                "message": "this document line was processed before with different content",
            }
        ],
        6: [
            {
                "column": "so_line_id",
                "value": "L9",
                "message": "unknown so_line_id: import the sales order first",
            }
        ],
    }
    billed = dict(query(cli.url, "select line_id, sum(amount) from billings group by line_id"))
    # L1: 1,200.00 + 100.00 - 100.00 (IVC); L2 keeps its first 600.00; D1-1 is billed 120.00.
    assert billed == {"L1": 120_000, "L2": 60_000, "D1-1": 12_000}
    assert query(cli.url, "select contract_id, customer_id, currency from contracts "
                 "where billing_driven = :t", t=True) == [("D1-1", "ACME", "USD")]  # fmt: skip
    assert query(
        cli.url, "select line_id, contract_id, pob_template, amount from line_versions "
        "where line_id = 'D1-1'"
    ) == [("D1-1", "D1-1", "schedule_type:evenly", 0)]  # fmt: skip
    # D1-1: all of March. L1: 3,660.00 x 31/365; L2: 600.00 x 31/365 = 50.96.
    assert postings(cli.url) == {
        ("D1-1", "2024-03"): 12_000,
        ("L1", "2024-03"): 31_085,
        ("L2", "2024-03"): 5_096,
    }


def test_recurly_lines_without_sales_orders_are_their_own_lines(cli, tmp_path):
    _init(cli, tmp_path)

    def line(number, item, amount, start, end, origin="plan", schedule="evenly"):
        stamp = " 00:00:00 UTC"
        last = end + stamp if end else ""
        return [number, start + stamp, "paid", "A1", "plan_fee", item, start + stamp, last,
                origin, amount, "USD", schedule, "purchase"]  # fmt: skip

    path = write_csv(
        tmp_path / "recurly.csv",
        RECURLY_HEADS,
        [
            line("1001", "li1", "120.00", "2024-03-02", "2024-06-02"),
            line("1001", "li2", "-15.00", "2024-03-02", "2024-04-02", origin="credit"),
            line("1002", "li3", "49.99", "2024-03-03", "", "charge", "at_range_start"),
        ],
    )
    result = _import(cli, path, "billing", "--mapping", "recurly")
    assert (result["processed"], result["error"]) == (3, 0)
    assert {r[0] for r in query(cli.url, "select contract_id from contracts")} == {
        "li1",
        "li2",
        "li3",
    }
    # li1: 120.00 over Mar 2 .. Jun 2 (92 days), 30 in March: 39.13. li2, a credit of 15.00
    # over 31 days, 30 in March: -14.52. li3: a one-time charge, whole on its day.
    assert postings(cli.url) == {
        ("li1", "2024-03"): 3_913,
        ("li2", "2024-03"): -1_452,
        ("li3", "2024-03"): 4_999,
    }
