"""The Revenue Workbench on the demo database: the contract search, a contract's lines,
allocation, schedule, billings, events, costs, journal lines and balances, and a line's
explanation, each compared with what the CLI says about the same thing."""

import json
import re

CELL = re.compile(r'<td[^>]*data-col="([^"]+)"[^>]*>(.*?)</td>', re.DOTALL)
ROW = re.compile(r"<tr>(.*?)</tr>", re.DOTALL)


def table_rows(html, table_id):
    """The body rows of the table with this id, as {column: text}."""
    body = html.split(f'id="{table_id}"')[1].split("<tbody>")[1].split("</tbody>")[0]
    return [
        {c: re.sub(r"<[^>]+>", "", v).strip() for c, v in CELL.findall(row)}
        for row in ROW.findall(body)
    ]


def cli_json(web_db, *args):
    return json.loads(web_db(*args, "--format", "json").stdout)


def test_the_search_finds_contracts_by_id_customer_and_text_a_page_at_a_time(web_db, viewer):
    every = {r["contract_id"] for r in cli_json(web_db, "lines", "list")["rows"]}

    def found(path):
        answer = viewer.api("GET", f"/api/v1/workbench/contracts{path}")
        assert answer.status_code == 200, answer.text
        return answer.json()

    assert {r["contract_id"] for r in found("?limit=500")["rows"]} == every
    acme = found("?q=acme")  # the customer, any case
    assert acme["rows"] == [
        {"contract_id": "C-1001", "customer_id": "ACME", "currency": "USD",
         "billing_driven": False, "lines": 3},
    ]  # fmt: skip
    assert [r["contract_id"] for r in found("?q=SUPPORT")["rows"]] == ["C-1001", "C-1003"]
    assert [r["contract_id"] for r in found("?q=so-1002")["rows"]] == ["C-1002"]  # a line id
    assert [r["contract_id"] for r in found("?customer=GLOBEX")["rows"]] == ["C-1002"]
    assert found("?customer=globex")["count"] == 0  # exact
    assert found("?q=%25")["count"] == 0  # a LIKE wildcard is only a character
    page = found("?limit=3&offset=3")
    assert (page["count"], page["previous_offset"], page["next_offset"]) == (8, 0, 6)
    assert [r["contract_id"] for r in page["rows"]] == sorted(every)[3:6]
    html = viewer.get("/workbench?q=acme").text
    assert 'href="/workbench/contracts/C-1001">C-1001</a>' in html
    assert "1 contract found" in html
    paged = viewer.get("/workbench?limit=3&offset=3").text
    assert 'href="/workbench?limit=3&amp;offset=0" rel="prev"' in paged
    assert 'href="/workbench?limit=3&amp;offset=6" rel="next"' in paged


def test_the_contract_page_shows_each_lines_allocation_as_lines_list_and_explain(web_db, viewer):
    listed = cli_json(web_db, "lines", "list", "--contract", "C-1001")["rows"]
    explained = cli_json(web_db, "explain", "SO-1001-2")
    steps = explained["allocation"]["rows"]
    assert [r["allocated"] for r in listed] == ["75000.00", "20000.00", "25000.00"]
    assert [r["allocated"] for r in steps] == [r["allocated"] for r in listed]
    page = viewer.get("/workbench/contracts/C-1001")
    assert page.status_code == 200
    assert "Contract C-1001" in page.text
    rows = table_rows(page.text, "contract-lines")
    assert [(r["line_id"], r["allocated"], r["ssp"], r["share"]) for r in rows] == [
        (line["line_id"], line["allocated"], step["ssp"], step["share"])
        for line, step in zip(listed, steps, strict=True)
    ]
    assert [r["share"] for r in rows] == ["5/8", "1/6", "5/24"]
    for row, line in zip(rows, listed, strict=True):
        assert {k: row[k] for k in ("billed", "recognized", "open_period", "last_day")} == {
            k: line[k] for k in ("billed", "recognized", "open_period", "last_day")
        }
    assert 'href="/workbench/lines/SO-1001-2?book=PRIMARY&amp;period=2024-03"' in page.text
    total = page.text.split('id="contract-schedule"')[1].split("<tfoot>")[1].split("</tfoot>")[0]
    assert '<td data-col="total_scheduled" class="num">33333.33</td>' in total
    for figure, amount in explained["balances"].items():
        assert f'<tr data-balance="{figure}"><td>{figure}</td><td class="num">{amount}</td>' in (
            page.text
        )
    assert "max(T - max(B, R), 0)" in page.text


def test_the_contract_api_gathers_schedule_billings_events_costs_and_journal(web_db, viewer):
    shown = viewer.api("GET", "/api/v1/workbench/contracts/C-1001").json()
    assert (shown["contract_id"], shown["customer_id"], shown["currency"]) == (
        "C-1001", "ACME", "USD",
    )  # fmt: skip
    listed = cli_json(web_db, "lines", "list", "--contract", "C-1001")["rows"]
    assert [{**r, "contract_id": "C-1001"} for r in shown["lines"]] == [
        {**r, "ssp": s["ssp"], "share": s["share"], "rule": "relative"}
        for r, s in zip(listed, [{"ssp": "75000.00", "share": "5/8"},
                                 {"ssp": "20000.00", "share": "1/6"},
                                 {"ssp": "25000.00", "share": "5/24"}], strict=True)
    ]  # fmt: skip
    waterfall = cli_json(web_db, "report", "waterfall", "--contract", "C-1001")
    assert shown["schedule"]["rows"] == waterfall["rows"]
    assert shown["schedule"]["totals"] == waterfall["totals"]
    assert shown["balances"]["liability"] == "13333.33"
    assert [b["doc_line_id"] for b in shown["billings"]] == [
        "INV-5001-1", "INV-5001-2", "CM-7001-1", "CMC-8001-1",
    ]  # fmt: skip
    assert shown["events"] == [
        {"line_id": "SO-1001-3", "event_date": "2024-03-20", "processed": "2024-03",
         "event": "milestone", "action": "release", "kind": "cumulative_percent", "value": "40"},
    ]  # fmt: skip
    assert [(c["cost_id"], c["amount"]) for c in shown["costs"]] == [
        ("COST-1", "6000.00"), ("COST-3", "150.00"),
    ]  # fmt: skip
    journal = [r for r in cli_json(web_db, "je", "show")["rows"] if r["contract_id"] == "C-1001"]
    key = ("source", "source_id", "account", "debit", "credit")
    assert sorted(tuple(r[k] for k in key) for r in shown["journal_lines"]) == sorted(
        tuple(r[k] for k in key) for r in journal
    )
    assert [(v["line_id"], v["version"], v["allocated"]) for v in shown["versions"]] == [
        ("SO-1001-1", 1, "75000.00"), ("SO-1001-2", 1, "20000.00"), ("SO-1001-3", 1, "25000.00"),
    ]  # fmt: skip


def test_the_explain_api_is_the_clis_json(web_db, viewer):
    for line, book in (("SO-1001-3", None), ("SO-1001-2", "LOCAL")):
        args = ["--book", book] if book else []
        expected = json.loads(
            web_db(*args, "explain", line, "--period", "2024-03", "--format", "json").stdout
        )
        query = f"?period=2024-03&book={book}" if book else ""
        answer = viewer.api("GET", f"/api/v1/lines/{line}/explain{query}")
        assert answer.status_code == 200, answer.text
        assert answer.json() == expected
    assert expected["book"] == "LOCAL"


def test_the_line_page_renders_the_explanation(web_db, viewer):
    expected = cli_json(web_db, "explain", "SO-1001-2")
    page = viewer.get("/workbench/lines/SO-1001-2")
    assert page.status_code == 200
    html = page.text
    assert "Line SO-1001-2" in html
    assert 'href="/workbench/contracts/C-1001?book=PRIMARY&amp;period=2024-03"' in html
    curve = table_rows(html, "line-curve")
    assert [(r["period"], r["elapsed"], r["length"], r["cumulative"]) for r in curve] == [
        (p["period"], p["elapsed"], p["length"], p["cumulative"]) for p in expected["curve"]
    ]
    assert curve[0] == {**curve[0], "elapsed": "1", "length": "12", "cumulative": "1666.67"}
    steps = table_rows(html, "allocation-rows")
    assert [(r["line_id"], r["share"], r["allocated"]) for r in steps] == [
        (s["line_id"], s["share"], s["allocated"]) for s in expected["allocation"]["rows"]
    ]
    posted = table_rows(html, "line-periods")
    assert posted[0] == {**posted[0], "period": "2024-03", "scheduled": "1666.67",
                         "posted": "1666.67", "difference": "0.00"}  # fmt: skip
    versions = table_rows(html, "line-versions")
    assert versions[0]["catch_up"] == expected["versions"][0]["catch_up"] == "0.00"
    for figure, amount in expected["balances"].items():
        assert f'<tr data-balance="{figure}"><td>{figure}</td><td class="num">{amount}</td>' in html
    events = viewer.get("/workbench/lines/SO-1001-3").text
    assert table_rows(events, "line-events")[0]["released"] == "40"


def test_unknown_ids_and_bad_values_are_a_422_with_the_message(viewer):
    cases = {
        "/api/v1/workbench/contracts/NOPE": "unknown contract 'NOPE'",
        "/api/v1/lines/NOPE/explain": "unknown line 'NOPE'",
        "/api/v1/lines/SO-1001-2/explain?period=2024-13": "period 2024-13 does not exist",
        "/api/v1/workbench/contracts/C-1001?book=NOPE": "unknown book 'NOPE'",
        "/api/v1/workbench/contracts?q=a%00b": "query.q: String should match pattern",
        "/api/v1/workbench/contracts?limit=0": "query.limit",
    }
    for path, message in cases.items():
        answer = viewer.api("GET", path)
        assert answer.status_code == 422, (path, answer.text)
        assert message in answer.json()["error"]["message"], path
    page = viewer.get("/workbench/contracts/NOPE")
    assert page.status_code == 422
    assert "unknown contract &#39;NOPE&#39;" in page.text
