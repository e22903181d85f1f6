"""The seed's whole month-end, as an accountant in a real browser (headless chromium), over the
shipped examples (2024-03 open): upload a sales-order file with an error row, see the row and
its message in the Stage Area, re-submit the corrected file, upload its billing file and a
milestone event, reconcile, approve both books, mark them transferred, summarize, and open the
new period. The figures on the pages are checked against the CLI's reports on the same database.
Then every main page at 1280 px and 390 px: no page wider than the window (screenshots with
REVREC_SCREENSHOTS=1)."""

import csv
import json
import re

from browser import SQLITE_ONLY, login, width_of
from playwright.sync_api import expect

pytest_plugins = ("browser",)
pytestmark = SQLITE_ONLY
SO_HEADS = [
    "contract_id", "customer_id", "so_number", "so_line_id", "order_date", "item_code",
    "pob_template", "amount", "currency", "service_start_date", "service_end_date",
]  # fmt: skip
BILL_HEADS = [
    "doc_type", "doc_number", "doc_line_id", "doc_date", "amount", "currency", "customer_id",
    "so_line_id", "ref_doc_number", "ref_doc_line_id", "service_start_date", "service_end_date",
]  # fmt: skip


def write(path, heads, rows):
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(heads)
        writer.writerows(rows)
    return path


def orders(amount_of_milestone):
    line = ("C-WEB", "WEBCO", "SO-WEB", "2024-03-04", "USD")
    return [
        [*line[:3], "SO-WEB-1", line[3], "LIC", "license_pit", "12000.00", line[4],
         "2024-03-04", "2025-03-03"],
        [*line[:3], "SO-WEB-2", line[3], "SUP", "support_monthly", "6000.00", line[4],
         "2024-03-04", "2025-03-03"],
        [*line[:3], "SO-WEB-3", line[3], "IMPL", "milestone_evt", amount_of_milestone, line[4],
         "2024-03-04", "2024-09-03"],
    ]  # fmt: skip


def cli_json(web_db, *args):
    return json.loads(web_db(*args, "--format", "json").output)


def flashes(page):
    return page.locator("p.flash").all_inner_texts()


def upload(page, path, submit="Upload and process"):
    page.locator("#upload-form input[type=file]").set_input_files(str(path))
    page.get_by_role("button", name=submit).click()
    page.wait_for_url(re.compile(r"/files/\d+$"))


def test_the_month_end_in_the_browser(page, web_db, tmp_path):
    login(page, "accountant")

    # Import/Export -> Transactions: "+" upload of a sales-order file; one row is bad.
    bad = write(tmp_path / "web_orders.csv", SO_HEADS, orders("4O00.00"))
    page.goto("/transactions?type=sales_order&mapping=revrec")
    expect(page.locator("#upload-type")).to_have_value("sales_order")
    upload(page, bad)
    assert flashes(page)[0] == (
        "web_orders.csv: 3 rows read, 2 processed, 0 future, 0 pending, 1 error, 0 duplicate"
    )

    # Stage Area: the error row and its message; then re-submit the corrected file.
    page.goto("/stage?status=error&file=web_orders.csv")
    row = page.locator("tr[data-status=error]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("SO-WEB-3")
    expect(row.locator("ul.messages")).to_contain_text("'4O00.00'")
    page.locator("#files-with-errors summary").click()
    page.locator("#files-with-errors li", has_text="web_orders.csv").locator("a.resubmit").click()
    expect(page.locator("#upload-type")).to_have_value("sales_order")
    expect(page.locator("#upload-mapping")).to_have_value("revrec")
    fixed = tmp_path / "fixed"
    fixed.mkdir()
    upload(page, write(fixed / "web_orders.csv", SO_HEADS, orders("4000.00")))
    assert flashes(page)[0] == (
        "web_orders.csv: 3 rows read, 1 processed, 0 future, 0 pending, 0 error, 2 duplicate"
    )

    # The billing file: the licence and support invoiced in March.
    bills = [
        ["INV", "INV-WEB", "INV-WEB-1", "2024-03-05", "12000.00", "USD", "WEBCO", "SO-WEB-1",
         "", "", "2024-03-04", "2025-03-03"],
        ["INV", "INV-WEB", "INV-WEB-2", "2024-03-05", "6000.00", "USD", "WEBCO", "SO-WEB-2",
         "", "", "2024-03-04", "2025-03-03"],
    ]  # fmt: skip
    page.goto("/transactions?type=billing&mapping=revrec")
    upload(page, write(tmp_path / "web_billings.csv", BILL_HEADS, bills))
    assert ", 2 processed," in flashes(page)[0]

    # Events: the name defaults to the file's, the event from the templates' dropdown.
    events = write(
        tmp_path / "web_milestone.csv",
        ["so_line_id", "event_date", "action", "cumulative_percent", "event_id"],
        [["SO-WEB-3", "2024-03-25", "release", "50", "WEB-MS-1"]],
    )
    page.goto("/events")
    page.locator("#upload > summary").click()  # the "+" of the upload form
    page.locator("#upload-event").select_option("milestone")
    upload(page, events)
    assert ", 1 processed," in flashes(page)[0]

    # The figures of the new contract on the Insight report are the CLI's.
    page.goto("/reports/insight?contract=C-WEB")
    cli = cli_json(web_db, "report", "insight", "--contract", "C-WEB")
    (expected,) = cli["rows"]
    assert expected["billed_to_date"] == "18000.00"
    cells = page.locator("table tbody tr", has_text="C-WEB").first.locator("td")
    shown = {c.get_attribute("data-col"): c.inner_text().strip() for c in cells.all()}
    for column in ("allocated", "billed_to_date", "recognized_to_date", "scheduled_balance"):
        assert shown[column] == expected[column], column

    # Reconcile: every check passes, as the CLI says.
    page.goto("/reports/reconcile")
    assert cli_json(web_db, "report", "reconcile")["pass"] is True
    expect(page.locator("body")).to_contain_text("pass")
    expect(page.locator("body")).not_to_contain_text("fail")

    # Transfer JE: each book's card through approve, transfer and summarize.
    listed = {(r["book"], r["currency"]): r for r in cli_json(web_db, "je", "list")["rows"]}
    page.goto("/journals")
    for book in ("PRIMARY", "LOCAL"):
        card = page.locator(f"#journal-{book}")
        totals = card.locator(f"#totals-{book} tbody tr", has_text="USD").locator("td")
        assert totals.nth(1).inner_text() == listed[(book, "USD")]["debit"]
        expect(card.locator("details.reconciliation")).to_have_attribute("data-pass", "true")
        for step, state in (
            ("Approve for Transfer", "approved"),
            ("Mark as transferred", "transferred"),
            ("Summarize", "summarized"),
        ):
            page.locator(f"#journal-{book}").get_by_role("button", name=step).click()
            expect(page.locator(f"#journal-{book}")).to_have_attribute("data-state", state)
        card = page.locator(f"#journal-{book}")
        expect(card.locator("ul.files li")).to_have_count(2)
        expect(card.locator(f"#trial-balance-{book}")).to_be_visible()
    states = {(r["book"], r["period"]): r["state"] for r in cli_json(web_db, "je", "list")["rows"]}
    assert states == {("LOCAL", "2024-03"): "summarized", ("PRIMARY", "2024-03"): "summarized"}

    # Period Close: the checklist, the error rows acknowledged, Open New Period.
    page.goto("/close")
    page.get_by_label("I have reviewed the checklist").check()
    page.get_by_label("Acknowledge the error rows").check()
    page.get_by_role("button", name="Open New Period").click()
    expect(page.locator("p.flash").first).to_contain_text("period 2024-03 closed; 2024-04 is open")
    status = {
        (r["book"], r["period"]): r["status"] for r in cli_json(web_db, "period", "status")["rows"]
    }
    assert status[("PRIMARY", "2024-03")] == "closed"
    assert status[("PRIMARY", "2024-04")] == "open"
    assert status[("LOCAL", "2024-04")] == "open"
    audit = cli_json(web_db, "audit", "list", "--kind", "period.close")["rows"]
    assert [e["user"] for e in audit] == ["accountant"]


MAIN_PAGES = (
    ("transactions", "/transactions"),
    ("events", "/events"),
    ("stage", "/stage"),
    ("workbench", "/workbench/contracts/C-1001"),
    ("explain", "/workbench/lines/SO-1001-2"),
    ("waterfall", "/reports/waterfall"),
    ("rollforward", "/reports/rollforward"),
    ("journals", "/journals"),
    ("close", "/close"),
    ("setup", "/setup"),
    ("audit", "/audit"),
)


def test_the_main_pages_fit_1280_and_390_px(page, mobile_page, shot):
    for shown in (page, mobile_page):
        login(shown, "admin")
        width = shown.viewport_size["width"]
        for name, path in MAIN_PAGES:
            answer = shown.goto(path)
            assert answer.status == 200, path
            assert width_of(shown) <= width, f"{path} is wider than {width} px"
            shot(shown, name)


def test_a_viewer_sees_no_step_buttons_and_cannot_approve(page):
    login(page, "viewer")
    page.goto("/journals")
    expect(page.get_by_role("button", name="Approve for Transfer")).to_have_count(0)
    status = page.evaluate(
        """async () => {
            const token = document.querySelector('input[name=csrf_token]').value;
            const body = new URLSearchParams({csrf_token: token});
            const answer = await fetch('/journals/PRIMARY/2024-03/approve',
                                       {method: 'POST', body, redirect: 'manual'});
            return answer.status;
        }"""
    )
    assert status == 403
