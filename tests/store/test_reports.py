"""The reports of SPEC §8 from the command line, on SQLite and PostgreSQL, with numbers worked by
hand; a closed period's reports stay the same to the byte after later inputs.

The portfolio, first period 2024-01 (every amount is its own SSP, so allocated = amount):
- C1 ACME USD: L1 a license 1,200.00 at 2024-01-01; L2 support 1,200.00 over 2024 (100.00 a
  month). INV-1 1,200.00 on L1 and INV-2 300.00 on L2 on 2024-01-05.
- C2 GLOBEX EUR: L3 600.00 over January..June (100.00 a month), unbilled in January: a
  contract asset of 100.00.
- C3 HOOLI USD: L4 120.00 over 2024 (10.00 a month), overbilled: INV-5 200.00 on 2024-01-10.
February, after January is closed: L2 becomes 2,400.00 prospectively from 2024-02-01 (the
100.00 recognized stays; 2,300.00 over February..December: 209.09 in February); INV-6 300.00
EUR on L3 dated 2024-01-20 (a late transaction, processed into February); CM-1 80.00 credits
INV-5.
"""

import json
import zipfile

import polars as pl
from helpers import BILL_HEADS, PRIMARY_BOOK, SO_HEADS, bill, month_end, so, start, write_csv

SETUP = (
    PRIMARY_BOOK
    + """
pob_templates:
  - {name: license_pit, method: point_in_time, params: {at: start}}
  - {name: support_full, method: ratable_monthly, params: {convention: full_month}}
"""
)
MOD_HEADS = [*SO_HEADS, "modification_date", "modification_policy"]
REPORTS = ("waterfall", "liability", "asset", "insight", "rpo", "rollforward")


def _january(cli, tmp_path):
    start(cli, tmp_path, SETUP)
    sales = [
        so("L1", "1200.00", contract="C1", template="license_pit", start="2024-01-01",
           end="2024-12-31"),
        so("L2", "1200.00", contract="C1", template="support_full", start="2024-01-01",
           end="2024-12-31"),
        so("L3", "600.00", contract="C2", customer="GLOBEX", template="support_full",
           start="2024-01-01", end="2024-06-30", currency="EUR"),
        so("L4", "120.00", contract="C3", customer="HOOLI", template="support_full",
           start="2024-01-01", end="2024-12-31"),
    ]  # fmt: skip
    billings = [
        bill("INV", "INV-1", "INV-1-1", "2024-01-05", "1200.00", so_line="L1"),
        bill("INV", "INV-2", "INV-2-1", "2024-01-05", "300.00", so_line="L2"),
        bill("INV", "INV-5", "INV-5-1", "2024-01-10", "200.00", so_line="L4", customer="HOOLI"),
    ]
    cli("import", "transactions", write_csv(tmp_path / "so.csv", SO_HEADS, sales), "--type",
        "sales_order")  # fmt: skip
    cli("import", "transactions", write_csv(tmp_path / "bill.csv", BILL_HEADS, billings),
        "--type", "billing")  # fmt: skip


def _february_inputs(cli, tmp_path):
    modified = [*so("L2", "2400.00", contract="C1", template="support_full",
                    start="2024-01-01", end="2024-12-31"), "2024-02-01", "prospective"]  # fmt: skip
    cli("import", "transactions", write_csv(tmp_path / "mod.csv", MOD_HEADS, [modified]),
        "--type", "sales_order")  # fmt: skip
    billings = [
        bill("INV", "INV-6", "INV-6-1", "2024-01-20", "300.00", so_line="L3",
             customer="GLOBEX", currency="EUR"),
        bill("CM", "CM-1", "CM-1-1", "2024-02-10", "80.00", ref_number="INV-5",
             ref_line="INV-5-1", customer="HOOLI"),
    ]  # fmt: skip
    cli("import", "transactions", write_csv(tmp_path / "bill2.csv", BILL_HEADS, billings),
        "--type", "billing")  # fmt: skip


def _report(cli, name, *args):
    return json.loads(cli("report", name, *args, "--format", "json").stdout)


def _rows(document, *keys):
    return [tuple(row[k] for k in keys) for row in document["rows"]]


def test_the_reports_of_january(cli, tmp_path):
    _january(cli, tmp_path)
    waterfall = _report(cli, "waterfall", "--periods", "3")
    assert waterfall["report"] == "waterfall"
    assert (waterfall["book"], waterfall["period"]) == ("PRIMARY", "2024-01")
    assert list(waterfall["rows"][0]) == [
        "contract_id", "so_line_id", "currency", "allocated", "recognized_to_date", "2024-02",
        "2024-03", "2024-04", "thereafter", "total_scheduled",
    ]  # fmt: skip
    assert [tuple(r.values()) for r in waterfall["rows"]] == [
        ("C1", "L1", "USD", "1200.00", "1200.00", "0.00", "0.00", "0.00", "0.00", "0.00"),
        ("C1", "L2", "USD", "1200.00", "100.00", "100.00", "100.00", "100.00", "800.00",
         "1100.00"),
        ("C2", "L3", "EUR", "600.00", "100.00", "100.00", "100.00", "100.00", "200.00",
         "500.00"),
        ("C3", "L4", "USD", "120.00", "10.00", "10.00", "10.00", "10.00", "80.00", "110.00"),
    ]  # fmt: skip
    assert waterfall["totals"] == [
        {"currency": "EUR", "allocated": "600.00", "recognized_to_date": "100.00",
         "2024-02": "100.00", "2024-03": "100.00", "2024-04": "100.00", "thereafter": "200.00",
         "total_scheduled": "500.00"},
        {"currency": "USD", "allocated": "2520.00", "recognized_to_date": "1310.00",
         "2024-02": "110.00", "2024-03": "110.00", "2024-04": "110.00", "thereafter": "880.00",
         "total_scheduled": "1210.00"},
    ]  # fmt: skip
    liability = _report(cli, "liability")
    assert _rows(liability, "contract_id", "currency", "opening_balance", "billed", "released",
                 "reclass", "closing_balance", "scheduled") == [
        ("C1", "USD", "0.00", "1500.00", "1300.00", "0.00", "200.00", "200.00"),
        ("C2", "EUR", "0.00", "0.00", "100.00", "100.00", "0.00", "0.00"),
        ("C3", "USD", "0.00", "200.00", "10.00", "0.00", "190.00", "110.00"),  # overbilled 80.00
    ]  # fmt: skip
    asset = _report(cli, "asset")
    assert _rows(asset, "contract_id", "currency", "opening_balance", "movement",
                 "closing_balance", "scheduled") == [
        ("C1", "USD", "0.00", "0.00", "0.00", "900.00"),
        ("C2", "EUR", "0.00", "100.00", "100.00", "500.00"),
        ("C3", "USD", "0.00", "0.00", "0.00", "0.00"),
    ]  # fmt: skip
    insight = _report(cli, "insight")
    assert [tuple(r.values()) for r in insight["rows"]] == [
        ("C1", "ACME", "USD", "2400.00", "2400.00", "1500.00", "1300.00", "200.00", "0.00",
         "900.00", "1100.00"),
        ("C2", "GLOBEX", "EUR", "600.00", "600.00", "0.00", "100.00", "0.00", "100.00",
         "600.00", "500.00"),
        ("C3", "HOOLI", "USD", "120.00", "120.00", "200.00", "10.00", "190.00", "0.00", "0.00",
         "110.00"),
    ]  # fmt: skip
    rpo = _report(cli, "rpo")
    assert _rows(rpo, "contract_id", "within_12_months", "beyond_12_months", "total") == [
        ("C1", "1100.00", "0.00", "1100.00"),
        ("C2", "500.00", "0.00", "500.00"),
        ("C3", "110.00", "0.00", "110.00"),
    ]
    by_customer = _report(cli, "waterfall", "--by", "customer", "--periods", "1")
    assert _rows(by_customer, "customer_id", "currency", "2024-02", "total_scheduled") == [
        ("ACME", "USD", "100.00", "1100.00"),
        ("GLOBEX", "EUR", "100.00", "500.00"),
        ("HOOLI", "USD", "10.00", "110.00"),
    ]
    one = _report(cli, "liability", "--contract", "C3")  # reads contract C3 alone
    assert _rows(one, "contract_id", "closing_balance", "scheduled") == [("C3", "190.00", "110.00")]
    assert _rows(_report(cli, "rollforward", "--contract", "C2"), "currency", "asset_closing") == [
        ("EUR", "100.00")
    ]
    assert _rows(_report(cli, "waterfall", "--contract", "NONE"), "so_line_id") == []
    only = _report(cli, "insight", "--currency", "EUR")
    assert _rows(only, "contract_id") == [("C2",)]
    assert _rows(_report(cli, "waterfall", "--customer", "HOOLI"), "so_line_id") == [("L4",)]
    reconcile = _report(cli, "reconcile")
    assert reconcile["pass"] is True, reconcile
    deferred = {(c["name"], c["currency"]): (c["left"], c["right"]) for c in reconcile["checks"]}
    assert deferred[("GL deferred_revenue = liability closing_balance", "USD")] == (
        "390.00", "390.00")  # fmt: skip
    assert deferred[("GL contract_asset = asset closing_balance", "EUR")] == ("100.00", "100.00")


def test_february_and_a_closed_january_that_later_inputs_do_not_change(cli, tmp_path):
    _january(cli, tmp_path)
    month_end(cli, tmp_path)
    january = {name: cli("report", name, "--period", "2024-01", "--format", "json").stdout
               for name in REPORTS}  # fmt: skip
    _february_inputs(cli, tmp_path)
    for name in REPORTS:  # the same, to the byte
        assert cli("report", name, "--period", "2024-01", "--format", "json").stdout == (
            january[name]), name  # fmt: skip
    waterfall = _report(cli, "waterfall", "--periods", "1")
    assert _rows(waterfall, "so_line_id", "allocated", "recognized_to_date", "2024-03",
                 "total_scheduled") == [
        ("L1", "1200.00", "1200.00", "0.00", "0.00"),
        ("L2", "2400.00", "309.09", "209.09", "2090.91"),  # 100.00 + 2,300.00 / 11
        ("L3", "600.00", "200.00", "100.00", "400.00"),
        ("L4", "120.00", "20.00", "10.00", "100.00"),
    ]  # fmt: skip
    liability = _report(cli, "liability")
    assert _rows(liability, "contract_id", "opening_balance", "billed", "released", "reclass",
                 "closing_balance", "scheduled") == [
        ("C1", "200.00", "0.00", "209.09", "9.09", "0.00", "0.00"),
        ("C2", "0.00", "300.00", "100.00", "-100.00", "100.00", "100.00"),  # the late INV-6
        ("C3", "190.00", "-80.00", "10.00", "0.00", "100.00", "100.00"),  # CM-1
    ]  # fmt: skip
    asset = _report(cli, "asset")
    assert _rows(asset, "contract_id", "opening_balance", "movement", "closing_balance",
                 "scheduled") == [
        ("C1", "0.00", "9.09", "9.09", "2090.91"),
        ("C2", "100.00", "-100.00", "0.00", "300.00"),
        ("C3", "0.00", "0.00", "0.00", "0.00"),
    ]  # fmt: skip
    rollforward = _report(cli, "rollforward", "--periods", "2")
    assert [tuple(r.values()) for r in rollforward["rows"]] == [
        ("2024-01", "EUR", "0.00", "0.00", "100.00", "100.00", "0.00", "0.00", "100.00",
         "100.00"),
        ("2024-01", "USD", "0.00", "1700.00", "1310.00", "0.00", "390.00", "0.00", "0.00",
         "0.00"),
        ("2024-02", "EUR", "0.00", "300.00", "100.00", "-100.00", "100.00", "100.00", "-100.00",
         "0.00"),
        ("2024-02", "USD", "390.00", "-80.00", "219.09", "9.09", "100.00", "0.00", "9.09",
         "9.09"),
    ]  # fmt: skip
    assert _report(cli, "reconcile")["pass"] is True


def test_bad_report_arguments_get_one_line_and_exit_code_1(cli, tmp_path):
    _january(cli, tmp_path)
    cases = [
        (("report", "waterfall", "--period", "2023-12"),
         "period 2023-12 does not exist in book PRIMARY"),
        (("report", "waterfall", "--period", "January"),
         "period January does not exist in book PRIMARY"),
        (("report", "liability", "--output", tmp_path / "out.pdf"),
         f"--output {tmp_path / 'out.pdf'}: the extension '.pdf' is not one of .csv, .xlsx, .json"),
        (("report", "waterfall", "--by", "region"),
         "--by 'region': expected one of line, contract, customer, item, template"),
        (("report", "insight", "--attribute", "region"),
         "--attribute 'region': expected NAME=VALUE"),
        (("report", "waterfall", "--periods", "0"), "--periods 0: expected at least 1"),
    ]  # fmt: skip
    for args, message in cases:
        result = cli(*args, ok=False)
        assert result.exit_code == 1, (args, result.output)
        assert str(result.exception) == message, args


def test_reports_to_files(cli, tmp_path):
    _january(cli, tmp_path)
    cli("report", "liability", "--output", tmp_path / "liability.csv")
    assert (tmp_path / "liability.csv").read_text().splitlines() == [
        "contract_id,currency,opening_balance,billed,released,reclass,closing_balance,scheduled",
        "C1,USD,0.00,1500.00,1300.00,0.00,200.00,200.00",
        "C2,EUR,0.00,0.00,100.00,100.00,0.00,0.00",
        "C3,USD,0.00,200.00,10.00,0.00,190.00,110.00",
    ]
    cli("report", "rpo", "--output", tmp_path / "rpo.json")
    document = json.loads((tmp_path / "rpo.json").read_text())
    assert document["totals"] == [
        {"currency": "EUR", "within_12_months": "500.00", "beyond_12_months": "0.00",
         "total": "500.00"},
        {"currency": "USD", "within_12_months": "1210.00", "beyond_12_months": "0.00",
         "total": "1210.00"},
    ]  # fmt: skip


def test_a_waterfall_workbook_with_formats_totals_and_a_chart(cli, tmp_path):
    _january(cli, tmp_path)
    path = tmp_path / "waterfall.xlsx"
    cli("report", "waterfall", "--periods", "2", "--output", path)
    sheet = pl.read_excel(path, sheet_name="waterfall")
    assert sheet.columns == ["contract_id", "so_line_id", "currency", "allocated",
                             "recognized_to_date", "2024-02", "2024-03", "thereafter",
                             "total_scheduled"]  # fmt: skip
    assert sheet.select("so_line_id", "total_scheduled").rows() == [
        ("L1", 0.0), ("L2", 1100.0), ("L3", 500.0), ("L4", 110.0), (None, 500.0), (None, 1210.0),
    ]  # fmt: skip
    assert sheet["contract_id"].to_list()[-2:] == ["total", "total"]  # a totals row per currency
    with zipfile.ZipFile(path) as workbook:
        names = workbook.namelist()
        xml = workbook.read("xl/worksheets/sheet1.xml").decode()
        styles = workbook.read("xl/styles.xml").decode()
        charts = [workbook.read(n).decode() for n in names if n.startswith("xl/charts/chart")]
    assert 'ySplit="1"' in xml  # the heading stays in view
    assert 'state="frozen"' in xml
    assert 'formatCode="#,##0.00"' in styles
    assert len(charts) == 2  # EUR and USD
    assert all('<c:grouping val="stacked"/>' in chart for chart in charts)
    assert any("Revenue waterfall (USD)" in chart for chart in charts)


def test_a_free_attribute_filter_keeps_its_lines(cli, tmp_path):
    start(cli, tmp_path, SETUP)
    rows = [
        [*so("L1", "1200.00", template="support_full", start="2024-01-01", end="2024-12-31"),
         "EMEA"],
        [*so("L2", "600.00", contract="C2", template="support_full", start="2024-01-01",
             end="2024-06-30"), "APAC"],
    ]  # fmt: skip
    mapping = tmp_path / "mapping.yaml"  # the revrec mapping, keeping other headings
    cli("mapping", "export", "revrec", "--type", "sales_order", "--output", mapping)
    mapping.write_text(mapping.read_text().replace("strict: true", "strict: false"))
    cli("mapping", "import", mapping, "--name", "open")
    orders = write_csv(tmp_path / "so.csv", [*SO_HEADS, "region"], rows)
    cli("import", "transactions", orders, "--type", "sales_order", "--mapping", "open")
    found = _report(cli, "waterfall", "--attribute", "region=EMEA", "--periods", "1")
    assert _rows(found, "so_line_id", "recognized_to_date", "2024-02") == [
        ("L1", "100.00", "100.00")
    ]
    assert _rows(_report(cli, "insight", "--attribute", "region=NONE"), "contract_id") == []
