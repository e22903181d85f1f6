"""The Reports pages and their API twins on the demo database: the same documents, totals and
files as `revrec report`, charts whose geometry follows the figures, drill-down links to the
Workbench, and bad input answered with its message."""

import json
import re
from decimal import Decimal

import fastexcel
import pytest

from revrec.web import charts
from revrec.web.routes import reports as report_routes

TOTAL_ROW = re.compile(r'<tr class="total" data-currency="([A-Z]{3})">(.*?)</tr>', re.DOTALL)
CELL = re.compile(r'<td data-col="([^"]+)"[^>]*>(.*?)</td>', re.DOTALL)
SVG = re.compile(
    r'<svg class="chart"[^>]*data-currency="([A-Z]{3})" data-scale="([^"]+)"(.*?)</svg>', re.DOTALL
)
RECT = re.compile(
    r'<rect x="([^"]+)" y="([^"]+)" width="([^"]+)" height="([^"]+)" fill="[^"]+" '
    r'data-series="([^"]*)" data-period="([^"]*)" data-amount="([^"]*)">'
)


def cells(html):
    return {column: re.sub(r"<[^>]+>", "", value).strip() for column, value in CELL.findall(html)}


def cli_json(web_db, *args):
    return json.loads(web_db("report", *args, "--format", "json").stdout)


def query(args):
    """`--by customer --periods 3` as by=customer&periods=3."""
    pairs = [f"{args[i].lstrip('-')}={args[i + 1]}" for i in range(0, len(args), 2)]
    return "?" + "&".join(pairs) if pairs else ""


@pytest.mark.parametrize(
    "args",
    [
        ("waterfall",),
        ("waterfall", "--by", "customer", "--currency", "USD"),
        ("liability", "--customer", "ACME"),
        ("asset",),
        ("insight", "--currency", "USD"),
        ("rpo", "--contract", "C-1001"),
        ("rollforward", "--periods", "3"),
        ("reconcile",),
    ],
)
def test_the_api_answers_the_clis_json_document(web_db, viewer, args):
    name, options = args[0], args[1:]
    answer = viewer.api("GET", f"/api/v1/reports/{name}{query(options)}")
    assert answer.status_code == 200, answer.text
    assert answer.json() == cli_json(web_db, *args)


def test_the_page_shows_the_rows_and_a_totals_row_per_currency_as_the_cli(web_db, viewer):
    expected = cli_json(web_db, "waterfall")
    page = viewer.get("/reports/waterfall")
    assert page.status_code == 200
    body = page.text.split("<tbody>")[1].split("</tbody>")[0]
    assert body.count("<tr>") == len(expected["rows"]) == 10
    totals = {currency: cells(row) for currency, row in TOTAL_ROW.findall(page.text)}
    assert list(totals) == ["EUR", "JPY", "USD"]
    for total in expected["totals"]:
        shown = totals[total["currency"]]
        assert {k: shown[k] for k in total} == total
    assert totals["USD"]["total_scheduled"] == "45514.34"
    assert totals["USD"]["contract_id"] == "Total"
    # Every row drills down: its line and contract to the Workbench, its figures to the line.
    at = "?book=PRIMARY&amp;period=2024-03"
    assert f'href="/workbench/lines/SO-1001-2{at}">SO-1001-2</a>' in page.text
    assert f'href="/workbench/contracts/C-1001{at}">C-1001</a>' in page.text
    assert f'class="fig" href="/workbench/lines/SO-1001-2{at}">18333.33</a>' in page.text
    liability = viewer.get("/reports/liability?customer=ACME").text
    assert f'href="/workbench/contracts/C-1001{at}">C-1001</a>' in liability
    by_customer = viewer.get("/reports/waterfall?by=customer").text
    assert 'href="/workbench?customer=ACME&amp;book=PRIMARY">ACME</a>' in by_customer
    followed = viewer.get("/workbench/lines/SO-1001-2?book=PRIMARY&period=2024-03")
    assert followed.status_code == 200
    assert "Line SO-1001-2" in followed.text


def test_the_csv_download_is_the_clis_csv_and_leaves_no_file(web_db, viewer, app):
    expected = web_db("report", "liability", "--customer", "ACME", "--format", "csv").stdout
    answer = viewer.get("/reports/liability/download?format=csv&customer=ACME")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert 'filename="liability-PRIMARY-2024-03.csv"' in answer.headers["content-disposition"]
    assert answer.text == expected
    assert answer.text.splitlines()[1].startswith("C-1001,USD,0.00,100000.00,86666.67")
    assert list(app.state.settings.folder("reports").iterdir()) == []
    api = viewer.api("GET", "/api/v1/reports/liability/download?format=json&customer=ACME")
    assert json.loads(api.content) == cli_json(web_db, "liability", "--customer", "ACME")


def test_the_xlsx_download_is_a_workbook_with_the_reports_figures(web_db, viewer, tmp_path):
    expected = cli_json(web_db, "waterfall")
    answer = viewer.api("GET", "/api/v1/reports/waterfall/download?format=xlsx")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    path = tmp_path / "waterfall.xlsx"
    path.write_bytes(answer.content)
    book = fastexcel.read_excel(path)
    assert book.sheet_names[0] == "waterfall"
    assert "chart USD" in book.sheet_names
    sheet = book.load_sheet(0).to_polars()
    assert sheet.columns == list(expected["rows"][0])
    shown = sheet.to_dicts()
    for row, want in zip(shown, expected["rows"] + expected["totals"], strict=True):
        places = 0 if want["currency"] == "JPY" else 2
        for column in ("allocated", "recognized_to_date", "2024-04", "total_scheduled"):
            assert f"{row[column]:.{places}f}" == want[column], (row, column)
    assert [r["contract_id"] for r in shown[-3:]] == ["total"] * 3


def test_the_waterfall_chart_stacks_one_rect_per_segment_with_proportional_heights(web_db, viewer):
    expected = cli_json(web_db, "waterfall")
    page = viewer.get("/reports/waterfall").text
    found = {currency: (Decimal(scale), body) for currency, scale, body in SVG.findall(page)}
    assert list(found) == ["EUR", "JPY", "USD"]
    scale, body = found["USD"]
    rects = RECT.findall(body)
    usd = [r for r in expected["rows"] if r["currency"] == "USD"]
    periods = charts.period_columns(expected["rows"][0])
    segments = sum(1 for r in usd for p in periods if Decimal(r[p]) != 0)
    assert len(rects) == segments == 36
    for _x, _y, _width, height, _series, _period, amount in rects:
        assert abs(Decimal(height) - abs(Decimal(amount)) * scale) <= Decimal("0.006")
    totals = next(t for t in expected["totals"] if t["currency"] == "USD")
    for period in periods:  # the stacked segments of a period add up to the report's total
        stacked = sum(Decimal(r[6]) for r in rects if r[5] == period)
        assert stacked == Decimal(totals[period])
    figure = page.split('<figure class="card" data-currency="USD">')[1].split("</figure>")[0]
    legend = figure.split('<div class="legend">')[1]
    assert legend.count("<i style=") == 8  # the 8 USD rows, each a series: no "other"
    assert "SO-1001-2" in legend


def test_the_chart_keeps_the_top_rows_and_sums_the_others_escaping_every_text():
    rows = [
        {
            "label": f"L{i}",
            "currency": "USD",
            "2024-04": f"{i}.00",
            "2024-05": "-1.00",
            "total_scheduled": f"{i - 1}.00",
        }
        for i in range(1, 11)
    ]
    rows[9]["label"] = "<b>&x</b>"
    (chart,) = charts.waterfall(rows, label="label", periods=["2024-04", "2024-05"])
    names = [s.name for s in chart.legend]
    assert names == ["<b>&x</b>", "L9", "L8", "L7", "L6", "L5", "L4", "L3", charts.OTHER]
    other = [b for b in chart.bars if b.series == charts.OTHER]
    assert [b.amount for b in other] == ["3.00", "-2.00"]  # L1 + L2
    up = [b for b in chart.bars if b.category == "2024-04"]
    stacked = sum(b.height for b in up)  # each height rounded to 0.01
    assert abs(stacked - Decimal(55) * chart.scale) <= Decimal("0.005") * len(up)
    down = [b for b in chart.bars if b.category == "2024-05"]
    assert all(b.y >= chart.zero for b in down)  # negative amounts hang below 0
    drawn = charts.svg(chart)
    assert "<b>" not in drawn
    assert "&lt;b&gt;&amp;x&lt;/b&gt;" in drawn
    assert drawn.count("<rect ") == len(chart.bars) == 18


def test_the_rollforward_chart_shows_opening_billings_revenue_and_closing(web_db, viewer):
    expected = cli_json(web_db, "rollforward")
    page = viewer.get("/reports/rollforward").text
    found = {currency: body for currency, _scale, body in SVG.findall(page)}
    assert 'data-chart="grouped"' in page
    usd = next(r for r in expected["rows"] if r["currency"] == "USD")
    bars = {series: amount for *_, series, _period, amount in RECT.findall(found["USD"])}
    assert bars == {
        "billings": usd["billed"],
        "revenue released": usd["revenue"],
        "closing": usd["deferred_closing"],
    }  # the opening balance is 0.00: no bar
    assert bars["billings"] == "114350.00"
    assert 'href="/reports/liability?book=PRIMARY&amp;period=2024-03">2024-03</a>' in page


def test_bad_input_is_a_422_with_its_message_never_a_500(viewer, web):
    cases = {
        "/api/v1/reports/nope": "unknown report 'nope': expected one of waterfall",
        "/api/v1/reports/waterfall?period=2024-13": "period 2024-13 does not exist in book",
        "/api/v1/reports/waterfall?by=nope": "query.by: Input should be 'line'",
        "/api/v1/reports/liability?attribute=region": "expected NAME=VALUE",
        "/api/v1/reports/asset?book=NOPE": "unknown book 'NOPE'",
        "/api/v1/reports/rpo?contract=C%00": "query.contract: String should match pattern",
        "/api/v1/reports/waterfall?periods=0": "query.periods",
        "/api/v1/reports/waterfall/download?format=pdf": "query.format",
        "/api/v1/reports/reconcile/download": "unknown report 'reconcile'",
    }
    for path, message in cases.items():
        answer = viewer.api("GET", path)
        assert answer.status_code == 422, (path, answer.text)
        assert message in answer.json()["error"]["message"], path
    page = viewer.get("/reports/waterfall?period=2024-13")
    assert page.status_code == 422
    assert "period 2024-13 does not exist in book PRIMARY" in page.text
    assert viewer.api("GET", "/api/v1/reports/rpo?contract=NOPE").json()["rows"] == []
    assert web.api("GET", "/api/v1/reports/waterfall").status_code == 401


def test_the_reports_list_and_the_filters_keep_what_was_asked(viewer):
    listed = viewer.api("GET", "/api/v1/reports").json()["rows"]
    assert [r["name"] for r in listed] == [
        "waterfall", "liability", "asset", "insight", "rpo", "rollforward", "reconcile",
    ]  # fmt: skip
    assert 'href="/reports/insight"' in viewer.get("/reports").text
    page = viewer.get("/reports/waterfall?by=contract&periods=3&currency=USD&period=2024-03").text
    assert "<option selected>contract</option>" in page
    assert 'name="periods" value="3"' in page
    assert 'name="currency" value="USD"' in page
    assert '<option value="2024-03" selected>' in page
    assert "/reports/waterfall/download?period=2024-03&amp;currency=USD&amp;by=contract" in page
    assert '<th scope="col" class="num">2024-06</th>' in page
    assert "2024-07</th>" not in page
    reconcile = viewer.get("/reports/reconcile").text
    assert 'id="reconcile-result" class="badge ok">passes' in reconcile
    assert reconcile.count('data-pass="true"') == 27


def test_a_long_report_pages_its_rows_and_keeps_its_filters(web_db, viewer, monkeypatch):
    monkeypatch.setattr(report_routes, "ROWS_SHOWN", 4)
    expected = [r["so_line_id"] for r in cli_json(web_db, "waterfall")["rows"]]
    assert len(expected) == 10
    seen, url, pages = [], "/reports/waterfall?periods=6", 0
    while url:
        page = viewer.get(url)
        assert page.status_code == 200
        body = page.text.split("<tbody>")[1].split("</tbody>")[0]
        seen += re.findall(r'<td data-col="so_line_id"><a href="[^"]+">([^<]+)</a>', body)
        assert "periods=6" in url
        assert len(TOTAL_ROW.findall(page.text)) == 3  # on every page
        found = re.search(r'<a rel="next" href="([^"]+)"', page.text)
        url = found.group(1).replace("&amp;", "&") if found else ""
        pages += 1
    assert pages == 3
    assert seen == expected
    assert "Rows 9\N{EN DASH}10 of 10" in page.text
    assert 'rel="prev"' in page.text
    past = viewer.get("/reports/waterfall?offset=500")  # past the end: the last row
    assert past.status_code == 200
    assert "Rows 10\N{EN DASH}10 of 10" in past.text
    assert viewer.get("/reports/waterfall?offset=-1").status_code == 422
