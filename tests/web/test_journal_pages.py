"""Transfer JE through the pages and the API (SPEC §6): each book's journal card, approving what
the page showed, transferring, downloading the recorded GL export, summarizing and the trial
balance, compared with the CLI's answers on the same database."""

import hashlib
import json
import re

from webclient import flashes

P = "2024-03"
SO = (
    "contract_id,customer_id,so_number,so_line_id,order_date,item_code,pob_template,amount,"
    "currency,service_start_date,service_end_date,quantity,list_price\n"
    "C-9001,ACME,SO-9001,SO-9001-1,2024-03-05,LIC,license_pit,500.00,USD,2024-03-05,"
    "2025-03-04,1,\n"
)


def cli_json(web_db, *args):
    return json.loads(web_db(*args, "--format", "json").stdout)


def card_of(html, book):
    """The HTML of a book's journal card."""
    found = re.search(
        rf'<section class="card journal" id="journal-{book}".*?</section>', html, re.DOTALL
    )
    assert found, f"no card of {book}"
    return found.group(0)


def seen_of(html, book):
    """The fingerprint the card's Approve for Transfer form sends."""
    found = re.search(
        rf'action="/journals/{book}/{P}/approve".*?name="seen" value="([0-9a-f]{{64}})"',
        card_of(html, book),
        re.DOTALL,
    )
    assert found, f"no approve form on the card of {book}"
    return found.group(1)


def table_rows(html, table_id):
    """The rows of a table as dicts of its data-col cells (text as shown)."""
    table = re.search(rf'<table id="{table_id}">(.*?)</table>', html, re.DOTALL).group(1)
    body = table.split("<tbody>", 1)[1]
    return [
        dict(re.findall(r'data-col="(\w+)">([^<]*)<', row))
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.DOTALL)
    ]


def approve(client, book, seen):
    return client.post(
        f"/journals/{book}/{P}/approve",
        {"seen": seen, "back": "/journals"},
        follow_redirects=False,
    )


def test_each_books_card_shows_the_je_list_figures_and_the_reconciliation(accountant, web_db):
    listed = cli_json(web_db, "je", "list")["rows"]
    page = accountant.get("/journals")
    assert page.status_code == 200
    for book in ("PRIMARY", "LOCAL"):
        card = card_of(page.text, book)
        assert 'data-state="draft"' in card
        assert "Approve for Transfer" in card
        assert "Mark as transferred" not in card
        expected = [
            {k: str(r[k]) for k in ("currency", "debit", "credit", "lines")}
            for r in listed
            if r["book"] == book
        ]
        assert table_rows(page.text, f"totals-{book}") == expected
        checks = table_rows(page.text, f"checks-{book}")
        assert {c["pass"] for c in checks} == {"pass"}
        assert 'data-pass="true"' in card
    assert page.text.index('id="journal-PRIMARY"') < page.text.index('id="journal-LOCAL"')
    reconcile = cli_json(web_db, "--book", "LOCAL", "report", "reconcile")
    cards = accountant.api("GET", "/api/v1/journals/cards?book=LOCAL").json()["rows"]
    assert [c["book"] for c in cards] == ["LOCAL"]
    assert cards[0]["reconciliation"]["checks"] == reconcile["checks"]
    assert accountant.api("GET", "/api/v1/journals").json() == {"rows": listed}
    assert accountant.api("GET", f"/api/v1/journals?period={P}&book=LOCAL").json() == {
        "rows": [r for r in listed if r["book"] == "LOCAL"]
    }


def test_the_month_end_through_the_pages_approve_transfer_download_summarize(accountant, web_db):
    page = accountant.get("/journals")
    for book in ("PRIMARY", "LOCAL"):
        answer = approve(accountant, book, seen_of(page.text, book))
        assert answer.status_code == 303
        assert answer.headers["location"] == "/journals"
    page = accountant.get("/journals")
    assert flashes(page.text) == [
        f"journal PRIMARY {P} approved for transfer",
        f"journal LOCAL {P} approved for transfer",
    ]
    card = card_of(page.text, "PRIMARY")
    assert 'data-state="approved"' in card
    assert 'data-step="approved">approved <small>by <span data-field="by">accountant<' in card
    assert "Mark as transferred" in card
    assert "Revoke" in card

    for book in ("PRIMARY", "LOCAL"):
        done = accountant.post(f"/journals/{book}/{P}/transfer", {"back": "/journals"})
        assert done.status_code == 200
    page = accountant.get("/journals")
    for book in ("PRIMARY", "LOCAL"):
        card = card_of(page.text, book)
        assert 'data-state="transferred"' in card
        shown = dict(
            re.findall(r'data-kind="(\w+)"><a href="[^"]+".*?data-field="sha256">(\w+)<', card)
        )
        assert set(shown) == {"summary", "detail"}
        for kind, sha256 in shown.items():
            got = accountant.get(f"/journals/{book}/{P}/export/{kind}")
            assert got.status_code == 200
            assert hashlib.sha256(got.content).hexdigest() == sha256
            assert got.headers["x-content-sha256"] == sha256
            assert f"gl_{book}_{P}_{kind}.csv" in got.headers["content-disposition"]
        summary = accountant.get(f"/journals/{book}/{P}/export/summary").text
        assert summary.splitlines()[0] == "account,gl_code,currency,period,debit,credit"
        api = accountant.api("GET", f"/api/v1/journals/{book}/{P}/export/detail")
        assert hashlib.sha256(api.content).hexdigest() == shown["detail"]

    for book in ("PRIMARY", "LOCAL"):
        accountant.post(f"/journals/{book}/{P}/summarize", {"back": "/journals"})
    page = accountant.get("/journals")
    for book in ("PRIMARY", "LOCAL"):
        assert 'data-state="summarized"' in card_of(page.text, book)
        expected = cli_json(web_db, "--book", book, "je", "show", "--trial-balance")["rows"]
        assert len(expected) > 5
        shown = table_rows(page.text, f"trial-balance-{book}")
        assert shown == [{k: str(v) for k, v in row.items()} for row in expected]
        api = accountant.api("GET", f"/api/v1/journals/{book}/{P}/trial-balance").json()
        assert api == {"rows": expected}
    listed = {(r["book"], r["state"]) for r in cli_json(web_db, "je", "list")["rows"]}
    assert listed == {("PRIMARY", "summarized"), ("LOCAL", "summarized")}


def test_a_stale_fingerprint_is_refused_and_the_user_reviews_again(accountant, web_db, tmp_path):
    page = accountant.get("/journals")
    seen = seen_of(page.text, "PRIMARY")
    (tmp_path / "so.csv").write_text(SO, encoding="utf-8")
    web_db("import", "transactions", tmp_path / "so.csv", "--type", "sales_order")
    refused = approve(accountant, "PRIMARY", seen)
    assert refused.status_code == 303
    again = accountant.get("/journals")
    assert flashes(again.text) == [
        f"journal PRIMARY {P} changed since the page was loaded: review it again"
    ]
    assert 'data-state="draft"' in card_of(again.text, "PRIMARY")
    fresh = seen_of(again.text, "PRIMARY")
    assert fresh != seen
    api = accountant.api("POST", f"/api/v1/journals/PRIMARY/{P}/approve", json={"seen": seen})
    assert api.status_code == 409
    assert "changed since the page was loaded" in api.json()["error"]["message"]
    assert approve(accountant, "PRIMARY", fresh).status_code == 303
    assert cli_json(web_db, "je", "list", "--period", P)["rows"][-1]["state"] == "approved"


def test_a_failing_reconciliation_refuses_the_approval_naming_its_figures(
    accountant, web_db, tmp_path
):
    web_db("jobs", "disable", "transaction_import")
    (tmp_path / "so.csv").write_text(SO, encoding="utf-8")
    web_db("import", "transactions", tmp_path / "so.csv", "--type", "sales_order")
    page = accountant.get("/journals")
    card = card_of(page.text, "PRIMARY")
    assert 'data-pass="false"' in card
    failing = [c for c in table_rows(page.text, "checks-PRIMARY") if c["pass"] == "fail"]  # noqa: S105
    assert failing == [
        {"name": "stage rows pending", "currency": "", "left": "1", "right": "0", "pass": "fail"}
    ]
    approve(accountant, "PRIMARY", seen_of(page.text, "PRIMARY"))
    assert flashes(accountant.get("/journals").text) == [
        f"journal PRIMARY {P} cannot be approved: stage rows pending: 1 != 0"
    ]


def test_a_viewer_sees_the_cards_and_cannot_approve(viewer):
    page = viewer.get("/journals")
    assert page.status_code == 200
    assert 'data-state="draft"' in card_of(page.text, "PRIMARY")
    assert ">Approve for Transfer</button>" not in page.text
    assert 'name="seen"' not in page.text
    shown = viewer.api("GET", f"/api/v1/journals/PRIMARY/{P}?limit=1").json()["journal"]
    seen = shown["fingerprint"]
    refused = approve(viewer, "PRIMARY", seen)
    assert refused.status_code == 403
    assert "a viewer may not approve a journal, revoke a step" in refused.text
    api = viewer.api("POST", f"/api/v1/journals/PRIMARY/{P}/approve", json={"seen": seen})
    assert api.status_code == 403
    assert viewer.api("POST", f"/api/v1/journals/PRIMARY/{P}/transfer").status_code == 403


def test_revoke_undoes_the_last_step_through_the_api_and_the_page(accountant, web_db):
    base = f"/api/v1/journals/LOCAL/{P}"
    assert accountant.api("POST", f"{base}/approve", json={}).json()["state"] == "approved"
    moved = accountant.api("POST", f"{base}/transfer").json()
    assert [f["kind"] for f in moved["files"]] == ["summary", "detail"]
    assert moved["files"][0]["name"] == f"gl_LOCAL_{P}_summary.csv"
    page = accountant.get(f"/journals/LOCAL/{P}")
    assert 'data-state="transferred"' in page.text
    back = accountant.post(f"/journals/LOCAL/{P}/revoke", {"back": f"/journals/LOCAL/{P}"})
    assert back.url.path == f"/journals/LOCAL/{P}"
    assert flashes(back.text) == [f"journal LOCAL {P} is approved again"]
    assert 'data-state="approved"' in back.text
    assert 'data-kind="summary"' not in back.text
    gone = accountant.api("GET", f"{base}/export/summary")
    assert gone.status_code == 409
    assert "no GL export file recorded" in gone.json()["error"]["message"]
    assert accountant.api("POST", f"{base}/revoke").json()["state"] == "draft"
    assert accountant.api("POST", f"{base}/revoke").status_code == 409
    states = {r["book"]: r["state"] for r in cli_json(web_db, "je", "list")["rows"]}
    assert states == {"LOCAL": "draft", "PRIMARY": "draft"}


def test_the_journal_lines_are_paged_as_je_show_gives_them(accountant, web_db):
    shown = cli_json(web_db, "je", "show")
    assert len(shown["rows"]) == 58
    page = accountant.get(f"/journals/PRIMARY/{P}?limit=20&offset=40")
    rows = table_rows(page.text, "lines")
    columns = ("account", "gl_code", "currency", "debit", "credit", "source", "source_id")
    assert [{c: r[c] for c in columns} for r in rows] == [
        {c: str(r[c]) for c in columns} for r in shown["rows"][40:60]
    ]
    assert "Lines 41\N{EN DASH}58 of 58." in page.text
    assert 'rel="prev" href="?offset=20&limit=20"' in page.text
    assert 'rel="next"' not in page.text
    api = accountant.api("GET", f"/api/v1/journals/PRIMARY/{P}?limit=10&offset=5").json()
    assert api["rows"] == shown["rows"][5:15]
    assert (api["count"], api["prev_offset"], api["next_offset"]) == (58, 0, 15)
    assert api["journal"]["state"] == "draft"
    assert api["journal"]["fingerprint"] == seen_of(page.text, "PRIMARY")


def test_bad_values_are_refused_with_their_reason(accountant):
    def error(path):
        answer = accountant.api("GET", path)
        return answer.status_code, answer.json()["error"]["message"]

    assert error(f"/api/v1/journals/NOPE/{P}")[0] == 422
    assert error("/api/v1/journals/PRIMARY/2024-13")[0] == 422
    assert error("/api/v1/journals/PRIMARY/2023-01") == (
        422,
        "period 2023-01 does not exist in book PRIMARY",
    )
    assert error(f"/api/v1/journals/PRIMARY/{P}/trial-balance") == (
        409,
        f"journal PRIMARY {P} is not summarized: no trial balance yet",
    )
    assert error(f"/api/v1/journals/PRIMARY/{P}/export/other")[0] == 422
    assert error(f"/api/v1/journals/PRIMARY/{P}?limit=0")[0] == 422
    assert error("/api/v1/journals/cards?period=2023-01") == (
        422,
        "no book has a journal of period 2023-01",
    )
    bad = accountant.api("POST", f"/api/v1/journals/PRIMARY/{P}/approve", json={"seen": "x"})
    assert bad.status_code == 422
    assert accountant.get("/journals?period=2023-01").status_code == 422


def test_a_changed_export_file_is_not_served(accountant, app):
    base = f"/api/v1/journals/PRIMARY/{P}"
    accountant.api("POST", f"{base}/approve", json={})
    accountant.api("POST", f"{base}/transfer")
    folder = app.state.settings.folder("gl-export") / "PRIMARY" / P
    written = folder / f"gl_PRIMARY_{P}_summary.csv"
    assert written.exists()
    written.write_text("account\nforged\n", encoding="utf-8")
    refused = accountant.api("GET", f"{base}/export/summary")
    assert refused.status_code == 409
    assert "changed since it was recorded" in refused.json()["error"]["message"]
    assert accountant.api("GET", f"{base}/export/detail").status_code == 200
