"""Transactions and Events: the file cards, uploading (plain form, htmx, API), the per-file
summary, re-submitting a corrected file, the size limit and the content checks."""

import asyncio
import html
import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from starlette.exceptions import HTTPException
from webclient import Web, flashes

from revrec.web.app import create_app
from revrec.web.body_limit import FORM_OVERHEAD, BodyLimit
from revrec.web.settings import Settings

SO_HEADS = (
    "contract_id,customer_id,so_number,so_line_id,order_date,item_code,pob_template,amount,"
    "currency,service_start_date,service_end_date"
)
GOOD = (
    "C-7001,INITECH,SO-7001,SO-7001-1,2024-03-01,SAAS,saas_daily,1200.00,USD,2024-03-01,2025-02-28"
)
BAD = "C-7001,INITECH,SO-7001,SO-7001-2,2024-03-01,SUP,saas_daily,99.999,USD,2024-03-01,2025-02-28"
FIXED = BAD.replace("99.999", "99.99")
EVENTS = (
    "so_line_id,event_date,action,cumulative_percent,event_id\n"
    "SO-1001-3,2024-03-25,release,60,MS-9\n"
)


def said(page):
    """The page's flash messages as text."""
    return [html.unescape(f) for f in flashes(page)]


def csv_of(*rows):
    return ("\n".join((SO_HEADS, *rows)) + "\n").encode()


def upload(client, content, *, name="orders.csv", kind="sales_order", mapping="revrec", **kw):
    return client.post(
        "/transactions/upload",
        data={"type": kind, "mapping": mapping},
        files={"file": (name, content, "text/csv")},
        **kw,
    )


def cli_json(web_db, *args):
    return json.loads(web_db(*args, "--format", "json").output)


def card_of(page, file_id):
    """The status counts shown on a file's card: {status: count}."""
    card = page.split(f'data-file-id="{file_id}"')[1].split("</article>")[0]
    found = re.findall(r'data-status="(\w+)">(?:<a [^>]*>)?\w+ <b>(\d+)</b>', card)
    return {status: int(count) for status, count in found}


def test_the_cards_show_the_clis_counts_and_the_api_is_its_json(web_db, viewer):
    cli = cli_json(web_db, "stage", "files")["rows"]
    page = viewer.get("/transactions").text
    transactions = [c for c in cli if c["upload_type"] != "event"]
    assert [int(i) for i in re.findall(r'<article [^>]*data-file-id="(\d+)"', page)] == [
        c["file_id"] for c in transactions
    ]
    for card in transactions:
        shown = card_of(page, card["file_id"])
        assert shown == {s: card[s] for s in shown}
    assert card_of(page, 1) == {
        "pending": 0, "future": 1, "error": 2, "processed": 5, "deleted": 0, "duplicate": 0
    }  # fmt: skip
    assert '<a href="/stage?file=sales_orders.csv&amp;status=error">error <b>2</b>' in page
    assert viewer.api("GET", "/api/v1/files").json() == {"rows": cli}
    events = viewer.api("GET", "/api/v1/files?tab=events").json()
    assert events == cli_json(web_db, "stage", "files", "--tab", "events")
    assert "billings.csv" not in viewer.get("/transactions?tab=contracts").text


def test_a_bad_row_is_shown_with_its_message_and_a_corrected_file_processes(web_db, accountant):
    first = upload(accountant, csv_of(GOOD, BAD))
    assert first.status_code == 200
    file_id = int(first.url.path.rsplit("/", 1)[1])
    assert said(first.text)[0] == (
        "orders.csv: 2 rows read, 1 processed, 0 future, 0 pending, 1 error, 0 duplicate"
    )
    assert "amount" in first.text
    assert "too many decimals: USD allows 2" in first.text
    listed = html.unescape(accountant.get("/stage?file=orders.csv&status=error").text)
    assert "SO-7001-2" in listed
    assert "<code>amount</code> '99.999': too many decimals: USD allows 2" in listed
    resubmit = "/transactions?type=sales_order&mapping=revrec#upload"
    assert resubmit in listed
    form = accountant.get(resubmit).text
    assert '<details class="card upload" id="upload" open>' in form
    assert '<option value="sales_order" selected>' in form
    assert re.search(r'<option value="revrec" [^>]*selected>', form)

    second = upload(accountant, csv_of(GOOD, FIXED))
    assert said(second.text)[0] == (
        "orders.csv: 2 rows read, 1 processed, 0 future, 0 pending, 0 error, 1 duplicate"
    )
    rows = cli_json(web_db, "stage", "list", "--file", "orders.csv")["rows"]
    assert [(r["key"], r["status"]) for r in rows] == [
        ("SO-7001-1", "processed"),
        ("SO-7001-2", "error"),
        ("SO-7001-1", "processed"),
        ("SO-7001-2", "processed"),
    ]
    assert rows[2]["messages"][0]["message"].startswith("duplicate")
    lines = cli_json(web_db, "lines", "list", "--contract", "C-7001")["rows"]
    assert {(ln["line_id"], ln["allocated"]) for ln in lines} == {
        ("SO-7001-1", "1200.00"),
        ("SO-7001-2", "99.99"),
    }
    assert accountant.api("GET", f"/api/v1/files/{file_id}").json()["error"] == 1


def test_the_file_page_and_its_api_give_the_card_the_errors_and_the_notes(web_db, accountant):
    answer = accountant.api(
        "POST",
        "/api/v1/transactions",
        data={"type": "sales_order"},
        files={"file": ("orders.csv", csv_of(GOOD, BAD), "text/csv")},
    )
    assert answer.status_code == 200
    summary = answer.json()
    file_id = summary.pop("file_id")
    assert summary == {
        "file": "orders.csv",
        "rows_read": 2,
        "processed": 1,
        "future": 0,
        "pending": 0,
        "error": 1,
        "duplicate": 0,
        "notes": [],
    }
    card = next(c for c in cli_json(web_db, "stage", "files")["rows"] if c["file_id"] == file_id)
    found = accountant.api("GET", f"/api/v1/files/{file_id}").json()
    assert found == {
        **card,
        "tab": "contracts",
        "notes": [],
        "errors": [
            {
                "line": 3,
                "messages": [
                    {
                        "column": "amount",
                        "value": "99.999",
                        "message": "too many decimals: USD allows 2",
                    }
                ],
            }
        ],
    }
    page = accountant.get(f"/files/{file_id}").text
    assert '<td class="num" data-col="rows_read">2</td>' in page
    assert '<td class="num" data-col="processed">1</td>' in page
    assert '<td class="num" data-col="error">1</td>' in page
    assert '<tr data-line="3">' in page
    assert accountant.api("GET", "/api/v1/files/999").status_code == 422
    assert accountant.get("/files/0").status_code == 422


def test_the_same_file_twice_changes_nothing_and_says_so(web_db, accountant):
    first = upload(accountant, csv_of(GOOD))
    again = upload(accountant, csv_of(GOOD))
    assert again.url.path == first.url.path
    assert "note: the same file was imported before: nothing changed" in said(again.text)
    cards = [c for c in cli_json(web_db, "stage", "files")["rows"] if c["file"] == "orders.csv"]
    assert len(cards) == 1


def test_an_htmx_upload_goes_on_to_the_file_page_and_the_form_shows_progress(accountant):
    page = accountant.get("/transactions").text
    assert 'hx-post="/transactions/upload" hx-encoding="multipart/form-data"' in page
    assert "htmx:xhr:progress" in page
    assert '<progress value="0" max="100" hidden></progress>' in page
    answer = upload(accountant, csv_of(GOOD), headers={"HX-Request": "true"})
    assert answer.status_code == 200
    assert re.fullmatch(r"/files/\d+", answer.headers["HX-Redirect"])
    assert said(accountant.get(answer.headers["HX-Redirect"]).text)[0].startswith(
        "orders.csv: 1 row read, 1 processed"
    )


def test_event_files_are_named_by_the_form_or_by_the_file(web_db, accountant):
    page = accountant.get("/events").text
    assert '<option value="milestone" selected>milestone (milestone_evt)</option>' in page
    assert '<option value="upon_billing">upon_billing (built in)</option>' in page
    answer = accountant.post(
        "/events/upload",
        data={"event": "milestone", "name": ""},
        files={"file": ("march.csv", EVENTS.encode(), "text/csv")},
    )
    assert said(answer.text)[0] == (
        "march.csv: 1 row read, 1 processed, 0 future, 0 pending, 0 error, 0 duplicate"
    )
    named = accountant.api(
        "POST",
        "/api/v1/events",
        data={"event": "milestone", "name": "Milestones, March"},
        files={"file": ("other.csv", EVENTS.replace("60,MS-9", "70,MS-10").encode(), "text/csv")},
    ).json()
    assert (named["file"], named["duplicate"], named["processed"]) == ("Milestones, March", 0, 1)
    cards = cli_json(web_db, "stage", "files", "--tab", "events")["rows"]
    assert [(c["file"], c["event"]) for c in cards[:2]] == [
        ("Milestones, March", "milestone"),
        ("march.csv", "milestone"),
    ]
    assert 'data-file="Milestones, March"' in accountant.get("/events").text
    refused = accountant.api(
        "POST",
        "/api/v1/events",
        data={"event": "no_such_event"},
        files={"file": ("x.csv", EVENTS.encode(), "text/csv")},
    )
    assert refused.status_code == 422
    assert "unknown event 'no_such_event'" in refused.json()["error"]["message"]


def test_a_viewer_sees_the_files_and_cannot_upload(viewer):
    page = viewer.get("/transactions").text
    assert "sales_orders.csv" in page
    assert 'id="upload-form"' not in page
    assert "Re-submit" not in page
    assert upload(viewer, csv_of(GOOD)).status_code == 403
    refused = viewer.api(
        "POST",
        "/api/v1/transactions",
        data={"type": "sales_order"},
        files={"file": ("orders.csv", csv_of(GOOD), "text/csv")},
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "a viewer may not upload transactions and events"


@pytest.fixture
def limited(web_db, tmp_path):
    app = create_app(
        Settings(
            database_url=web_db.url,
            secure_cookies=False,
            work_folder=str(tmp_path / "limited"),
            max_upload_bytes=1000,
        )
    )
    yield Web(app).login("accountant")
    app.state.engine.dispose()


def test_a_file_over_the_limit_is_refused(web_db, limited, tmp_path):
    huge = csv_of(*[GOOD.replace("SO-7001-1", f"SO-7001-{i}") for i in range(300)])
    by_length = upload(limited, huge)
    assert by_length.status_code == 413
    assert "the file is larger than the upload limit of 1000 bytes" in by_length.text
    counted = upload(limited, csv_of(GOOD) * 12)  # a little over: its bytes are counted
    assert counted.status_code == 413
    assert "the file is larger than the upload limit of 1000 bytes" in counted.text
    api = limited.api(
        "POST",
        "/api/v1/transactions",
        data={"type": "sales_order"},
        files={"file": ("orders.csv", huge, "text/csv")},
    )
    assert api.status_code == 413
    assert api.json()["error"]["message"] == (
        "the file is larger than the upload limit of 1000 bytes"
    )
    assert all(c["file"] != "orders.csv" for c in cli_json(web_db, "stage", "files")["rows"])
    assert list((tmp_path / "limited" / "uploads").iterdir()) == []  # nothing left behind


NOT_CSV_OR_XLSX = [
    ("orders.txt", b"a,b\n", "'orders.txt': expected a CSV (.csv) or XLSX (.xlsx) file"),
    ("orders.csv", b"PK\x03\x04\x00\x00", "orders.csv: the content is a zip archive"),
    ("orders.csv", b"\xff\xfea\x00,\x00", "orders.csv: the content is not text"),
    ("orders.xlsx", b"a,b\n1,2\n", "orders.xlsx: the content is not an XLSX workbook"),
]


def test_a_file_that_is_not_csv_or_xlsx_is_refused(web_db, accountant):
    for name, content, message in NOT_CSV_OR_XLSX:
        answer = upload(accountant, content, name=name)
        assert answer.url.path == "/transactions"
        assert said(answer.text)[0].startswith(message)
        api = accountant.api(
            "POST",
            "/api/v1/transactions",
            data={"type": "sales_order"},
            files={"file": (name, content, "application/octet-stream")},
        )
        assert api.status_code == 422
        assert api.json()["error"]["message"].startswith(message)
    assert len(cli_json(web_db, "stage", "files")["rows"]) == 5  # the demo's, no more


def test_the_name_is_kept_safe_and_the_type_and_mapping_are_checked(accountant):
    answer = upload(accountant, csv_of(GOOD), name="C:\\Users\\me\\März <1>.csv")
    assert said(answer.text)[0].startswith("März _1_.csv: 1 row read, 1 processed")
    bad_type = upload(accountant, csv_of(GOOD), kind="event")
    assert said(bad_type.text) == ["type 'event': expected sales_order, billing or cost"]
    bad_mapping = upload(accountant, csv_of(GOOD), mapping="recurly")
    assert "recurly" in said(bad_mapping.text)[0]
    none = accountant.api("POST", "/api/v1/transactions", data={"type": "sales_order"})
    assert none.status_code == 422
    assert none.json()["error"]["message"] == "choose a file to upload"


def test_a_chunked_body_over_the_limit_is_refused_before_it_is_read_whole():
    """No Content-Length to refuse by: each request's bytes are counted as they arrive, and
    the 413 comes once they pass the limit, not after a gigabyte was spooled to disk. (The
    test client reads a request's body whole before the app sees it, so the middleware is
    driven here by hand, in front of an app that reads every chunk it is given.)"""
    received, read = [], []

    async def receive():  # 100 KB in all
        received.append(1)
        return {"type": "http.request", "body": b"x" * 1024, "more_body": len(received) < 100}

    async def reader(_scope, receive, _send):
        while not read or read[-1]["more_body"]:
            read.append(await receive())

    async def send(message):
        raise AssertionError(message)

    limited = BodyLimit(reader, limit=1000)
    request = limited({"type": "http", "method": "POST"}, receive, send)
    # A thread of its own: a browser test may have left an event loop running in this one.
    with ThreadPoolExecutor(1) as thread, pytest.raises(HTTPException) as refused:
        thread.submit(asyncio.run, request).result()
    assert refused.value.status_code == 413
    assert refused.value.detail == "the file is larger than the upload limit of 1000 bytes"
    assert len(received) == (1000 + FORM_OVERHEAD) // 1024 + 1  # then nothing more is read
    assert len(read) == len(received) - 1
