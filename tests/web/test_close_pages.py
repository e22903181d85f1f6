"""Period Close through the page and the API (SPEC §7): the checklist, Open New Period with its
confirmation and the acknowledgement of error rows, refusals naming what is missing, and the
periods of every book, compared with the CLI's answers."""

import json
import re

from webclient import flashes

P = "2024-03"
DRAFT = "the journal is draft: approve, transfer and summarize it (revrec je)"
ERRORS = "6 error rows: correct and re-import them, or acknowledge"


def cli_json(web_db, *args):
    return json.loads(web_db(*args, "--format", "json").stdout)


def checklist(html):
    """(status, name, detail) of each item of the page's checklist."""
    return [
        (status, name, detail.strip())
        for status, name, detail in re.findall(
            r'<li data-status="(\w+)">.*?<span class="name">([^<]*)</span>\s*'
            r'(?:<span class="detail">([^<]*)</span>)?',
            html,
            re.DOTALL,
        )
    ]


def month_end(client, book):
    """Approve, transfer and summarize a book's journal through the API."""
    base = f"/api/v1/journals/{book}/{P}"
    for step, body in (("approve", {"json": {}}), ("transfer", {}), ("summarize", {})):
        answer = client.api("POST", f"{base}/{step}", **body)
        assert answer.status_code == 200, answer.text


def test_the_checklist_shows_each_item_and_the_periods_of_every_book(accountant, web_db):
    page = accountant.get("/close")
    assert page.status_code == 200
    assert checklist(page.text) == [
        ("pass", "no pending stage rows", ""),
        ("warning", "no error rows", ERRORS),
        ("fail", f"journal PRIMARY {P} summarized", DRAFT),
        ("pass", f"reconciliation PRIMARY {P} passes", ""),
        ("fail", f"journal LOCAL {P} summarized", DRAFT),
        ("pass", f"reconciliation LOCAL {P} passes", ""),
    ]
    assert 'name="reviewed" value="yes" required' in page.text
    assert 'name="acknowledge_errors"' in page.text
    assert 'data-ready="false"' in page.text
    periods = cli_json(web_db, "period", "status")
    assert periods == {
        "rows": [
            {"book": "LOCAL", "period": P, "status": "open"},
            {"book": "PRIMARY", "period": P, "status": "open"},
        ]
    }
    assert re.findall(r'data-col="book">(\w+)</td><td data-col="period">([\d-]+)', page.text) == [
        (r["book"], r["period"]) for r in periods["rows"]
    ]
    assert accountant.api("GET", "/api/v1/periods").json() == periods
    api = accountant.api("GET", "/api/v1/close").json()
    assert (api["period"], api["books"], api["ready"]) == (P, ["PRIMARY", "LOCAL"], False)
    assert api["errors_to_acknowledge"] is True
    assert [(i["name"], i["ok"], i["warning"]) for i in api["rows"]][:2] == [
        ("no pending stage rows", True, False),
        ("no error rows", False, True),
    ]


def test_open_new_period_asks_for_the_review_and_names_what_is_missing(accountant):
    unticked = accountant.post("/close", {"acknowledge_errors": "yes"})
    assert flashes(unticked.text) == [
        "tick the box: I have reviewed the checklist, to open the new period"
    ]
    refused = accountant.post("/close", {"reviewed": "yes", "acknowledge_errors": "yes"})
    assert refused.url.path == "/close"
    missing = f"journal PRIMARY {P} summarized: {DRAFT}; journal LOCAL {P} summarized: {DRAFT}"
    assert flashes(refused.text) == [f"period {P} cannot be closed: {missing}"]
    api = accountant.api("POST", "/api/v1/close", json={"acknowledge_errors": False})
    assert api.status_code == 409
    assert api.json()["error"]["message"].startswith(
        f"period {P} cannot be closed: no error rows: {ERRORS}; journal PRIMARY"
    )


def test_the_month_end_closes_the_period_and_opens_the_next(accountant, web_db):
    month_end(accountant, "PRIMARY")
    month_end(accountant, "LOCAL")
    page = accountant.get("/close")
    assert [s for s, _, _ in checklist(page.text)] == [
        "pass", "warning", "pass", "pass", "pass", "pass",
    ]  # fmt: skip
    assert 'data-ready="true"' in page.text
    refused = accountant.post("/close", {"reviewed": "yes"}, follow_redirects=False)
    assert refused.headers["location"] == "/close"
    done = accountant.post("/close", {"reviewed": "yes", "acknowledge_errors": "yes"})
    said = flashes(done.text)
    assert said[:2] == [
        f"period {P} cannot be closed: no error rows: {ERRORS}",
        f"period {P} closed; 2024-04 is open (PRIMARY, LOCAL)",
    ]
    assert any(f.startswith("revenue_process: processed") for f in said)
    assert cli_json(web_db, "period", "status")["rows"] == [
        {"book": "LOCAL", "period": P, "status": "closed"},
        {"book": "LOCAL", "period": "2024-04", "status": "open"},
        {"book": "PRIMARY", "period": P, "status": "closed"},
        {"book": "PRIMARY", "period": "2024-04", "status": "open"},
    ]
    assert checklist(done.text)[2] == (
        "fail",
        "journal PRIMARY 2024-04 summarized",
        DRAFT,
    )
    opened = accountant.api("GET", "/api/v1/journals?period=2024-04").json()["rows"]
    assert {(r["book"], r["state"]) for r in opened} == {("PRIMARY", "draft"), ("LOCAL", "draft")}
    closed = accountant.get(f"/journals?period={P}")
    assert closed.text.count('data-state="summarized"') == 2
    assert "period closed" in closed.text
    assert ">Revoke</button>" not in closed.text
    again = accountant.api("POST", f"/api/v1/journals/PRIMARY/{P}/revoke")
    assert again.status_code == 409


def test_a_viewer_sees_the_checklist_and_cannot_close(viewer):
    page = viewer.get("/close")
    assert page.status_code == 200
    assert "Open New Period</button>" not in page.text
    assert checklist(page.text)[0] == ("pass", "no pending stage rows", "")
    assert viewer.post("/close", {"reviewed": "yes"}).status_code == 403
    assert viewer.api("POST", "/api/v1/close", json={}).status_code == 403
