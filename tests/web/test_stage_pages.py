"""The Stage Area: tabs and filters equal to `revrec stage list`, messages, the notes saying
why rows wait, paging, and deleting selected rows after a confirmation step."""

import html
import json
import re

from webclient import flashes

SO_HEADS = (
    "contract_id,customer_id,so_number,so_line_id,order_date,item_code,pob_template,amount,"
    "currency,service_start_date,service_end_date"
)


def cli_json(web_db, *args):
    return json.loads(web_db(*args, "--format", "json").output)


def row_ids(page):
    """The stage rows a page lists, by row_id."""
    return [int(i) for i in re.findall(r'<tr data-row-id="(\d+)"', page)]


def write_orders(path, count, *, currency="USD"):
    lines = [SO_HEADS] + [
        f"C-8{i:03},ACME,SO-8{i:03},SO-8{i:03}-1,2024-03-01,SAAS,saas_daily,10.00,{currency},"
        "2024-03-01,2025-02-28"
        for i in range(count)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


FILTERS = [
    {},
    {"tab": "contracts"},
    {"status": "error"},
    {"tab": "documents", "status": "processed"},
    {"file": "billings.csv"},
    {"text": "so-1001"},
    {"from": "2024-03-05", "to": "2024-03-20"},
]


def test_the_api_and_the_page_list_what_the_cli_lists(web_db, viewer):
    for found in FILTERS:
        cli = cli_json(web_db, "stage", "list", *(f"--{k}={v}" for k, v in found.items()))
        query = "&".join(f"{k}={v}" for k, v in found.items())
        assert viewer.api("GET", f"/api/v1/stage?{query}").json() == cli, found
        assert row_ids(viewer.get(f"/stage?{query}").text) == [r["row_id"] for r in cli["rows"]]
    assert len(cli_json(web_db, "stage", "list")["rows"]) == 27


def test_the_page_shows_the_tabs_statuses_and_messages(viewer):
    page = html.unescape(viewer.get("/stage?tab=events").text)
    assert '<a href="/stage?tab=events" aria-current="page">Events</a>' in page
    assert row_ids(page) == [25, 26, 27]
    assert "<code>cumulative_percent</code> '110': expected a cumulative percent" in page
    assert "<code>so_line_id</code> 'SO-9999-1': event for an unknown line" in page
    errors = html.unescape(viewer.get("/stage?status=error&tab=documents").text)
    assert row_ids(errors) == [16, 17]
    assert "partial invoice cancellations are not permitted" in errors
    assert '<option value="error" selected>error</option>' in errors
    assert 'id="files-with-errors"' in errors
    assert 'href="/transactions?type=billing&mapping=revrec#upload"' not in errors  # a viewer
    assert viewer.get("/stage?status=nope").status_code == 422
    assert viewer.get("/stage?from=2024-13-01").status_code == 422
    assert viewer.api("GET", "/api/v1/stage?from=2024-13-01").status_code == 422


def test_the_notes_say_why_rows_wait(web_db, accountant, tmp_path):
    web_db("jobs", "disable", "transaction_import")
    web_db(
        "import", "transactions", write_orders(tmp_path / "wait.csv", 2), "--type", "sales_order"
    )
    page = accountant.get("/stage?status=pending").text
    assert "2 pending rows in contracts: job transaction_import is inactive" in page
    api = accountant.api("GET", "/api/v1/stage?status=pending").json()
    assert api["notes"] == ["2 pending rows in contracts: job transaction_import is inactive"]
    assert [r["status"] for r in api["rows"]] == ["pending", "pending"]


def test_a_long_listing_is_paged_by_100_rows(web_db, viewer, tmp_path):
    many = write_orders(tmp_path / "many.csv", 130, currency="XXX")
    web_db("import", "transactions", many, "--type", "sales_order")
    first = viewer.get("/stage?file=many.csv").text
    assert len(row_ids(first)) == 100
    assert '<a href="/stage?file=many.csv&amp;offset=100" rel="next">' in first
    second = viewer.get("/stage?file=many.csv&offset=100").text
    assert len(row_ids(second)) == 30
    assert 'rel="next"' not in second
    assert '<a href="/stage?file=many.csv" rel="prev">' in second
    cli = cli_json(web_db, "stage", "list", "--file", "many.csv", "--offset", "100")
    assert row_ids(second) == [r["row_id"] for r in cli["rows"]]


def test_delete_selected_rows_asks_first_then_deletes(web_db, accountant):
    asked = accountant.post("/stage/delete", data={"row_id": ["26", "27"], "back": "tab=events"})
    assert asked.status_code == 200
    assert "<h1>Delete 2 rows?</h1>" in asked.text
    assert [r["status"] for r in cli_json(web_db, "stage", "list", "--tab", "events")["rows"]] == [
        "processed",
        "error",
        "error",
    ]
    done = accountant.post(
        "/stage/delete",
        data={"row_id": ["26", "27"], "back": "tab=events", "confirm": "yes"},
    )
    assert done.url.path == "/stage"
    assert done.url.query == b"tab=events"
    assert flashes(done.text) == ["deleted 2 stage rows"]
    rows = cli_json(web_db, "stage", "list", "--tab", "events")["rows"]
    assert [r["status"] for r in rows] == ["processed", "deleted", "deleted"]
    assert 'value="26"' not in done.text  # a deleted row has no checkbox
    audit = cli_json(web_db, "audit", "list", "--kind", "stage.delete")["rows"]
    assert {(a["entity"], a["user"]) for a in audit} == {
        ("stage_row:26", "accountant"),
        ("stage_row:27", "accountant"),
    }


def test_a_processed_row_or_none_cannot_be_deleted(web_db, accountant):
    page = accountant.get("/stage?tab=contracts").text
    assert 'name="row_id" value="7"' in page
    assert 'name="row_id" value="1"' not in page  # processed
    refused = accountant.post("/stage/delete", data={"row_id": ["1", "7"], "confirm": "yes"})
    assert html.unescape(flashes(refused.text)[0]) == (
        "rows [1] are processed or already deleted and cannot be deleted"
    )
    nothing = accountant.post("/stage/delete", data={})
    assert flashes(nothing.text) == ["select the rows to delete first"]
    assert cli_json(web_db, "stage", "list", "--status", "deleted")["rows"] == []


def test_the_api_deletes_and_a_viewer_cannot(web_db, accountant, viewer):
    assert "Delete selected" not in viewer.get("/stage").text
    assert 'type="checkbox"' not in viewer.get("/stage").text
    assert viewer.post("/stage/delete", data={"row_id": ["7"], "confirm": "yes"}).status_code == 403
    refused = viewer.api("POST", "/api/v1/stage/delete", json={"row_ids": [7]})
    assert refused.status_code == 403
    answer = accountant.api("POST", "/api/v1/stage/delete", json={"row_ids": [7, 8]})
    assert answer.json() == {"deleted": 2}
    again = accountant.api("POST", "/api/v1/stage/delete", json={"row_ids": [7]})
    assert again.status_code == 422
    assert accountant.api("POST", "/api/v1/stage/delete", json={"row_ids": []}).status_code == 422
    listed = cli_json(web_db, "stage", "list", "--status", "deleted")["rows"]
    assert [r["row_id"] for r in listed] == [7, 8]
