"""The web app in a real browser (headless chromium): logging in, the home and Jobs pages at
1280 px and 390 px, what a viewer sees, the scheduler running a job on its own, and CSRF.

Figures on the pages are compared with the CLI's JSON on the same database. Screenshots of the
login, home and Jobs pages go to docs/screenshots/ with REVREC_SCREENSHOTS=1.
"""

import json
import re
import time
from datetime import timedelta

import pytest
from browser import SQLITE_ONLY, login, width_of
from playwright.sync_api import expect

pytest_plugins = ("browser",)  # the fixtures browser, live_server, page, mobile_page, shot
pytestmark = SQLITE_ONLY
JOBS = ("event_import", "revenue_process", "transaction_import")
# What the scheduler test allows itself: a tick every 0.5 s runs a due job within about 1 s.
RUN_WITHIN_SECONDS = 10.0


def cli_json(web_db, *args):
    return json.loads(web_db(*args, "--format", "json").output)


def cell_texts(locator):
    """The text of each cell of each row a locator finds."""
    return locator.evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))"
    )


def scroll_boxes_fit(page, width):
    """Whether every `.scroll` box (the tables' wrappers) ends inside the page's width."""
    rights = page.locator(".scroll").evaluate_all(
        "boxes => boxes.map(b => b.getBoundingClientRect().right)"
    )
    return all(right <= width for right in rights)


def test_logging_in_through_the_form_and_a_wrong_password(page, mobile_page, shot):
    for each in (page, mobile_page):
        each.goto("/")  # not logged in: on to the login, then back here
        expect(each).to_have_url(re.compile(r"/login\?next=/$"))
        expect(each.get_by_role("heading", name="Log in")).to_be_visible()
        assert width_of(each) <= each.viewport_size["width"]
        shot(each, "login")
    assert login(page, "accountant", "wrong-pass") == 401
    expect(page.get_by_role("alert")).to_have_text("wrong user name or password")
    expect(page.get_by_role("navigation", name="main")).to_have_count(0)
    assert login(page, "accountant") == 303
    expect(page.get_by_role("heading", level=1)).to_have_text("Month-end at a glance")
    expect(page.locator("header .who span")).to_have_text("accountant (accountant)")


def test_home_and_jobs_fit_1280_and_390_px(web_db, page, mobile_page, shot):
    periods = [p for p in cli_json(web_db, "period", "status")["rows"] if p["status"] == "open"]
    journals = cli_json(web_db, "je", "list")["rows"]
    jobs = {j["name"]: j for j in cli_json(web_db, "jobs", "list")["rows"]}
    assert sorted(jobs) == list(JOBS)
    assert login(page, "accountant") == 303
    mobile_page.context.add_cookies(page.context.cookies())  # the same session, on a phone
    mobile_page.goto("/")
    for each in (page, mobile_page):
        width = each.viewport_size["width"]
        each.goto("/")
        rows = each.locator("#open-periods tbody tr")
        expect(rows).to_have_count(2)
        assert cell_texts(rows) == [[p["book"], p["period"], p["status"]] for p in periods]
        assert periods == [
            {"book": "LOCAL", "period": "2024-03", "status": "open"},
            {"book": "PRIMARY", "period": "2024-03", "status": "open"},
        ]
        shown = cell_texts(each.locator("#home-journals tbody tr"))
        columns = ("book", "period", "state", "currency", "debit", "credit", "lines")
        assert sorted(shown) == sorted([str(j[c]) for c in columns] for j in journals)
        assert ["PRIMARY", "2024-03", "draft", "USD", "218059.31", "218059.31", "42"] in shown
        assert width_of(each) <= width, f"the home page overflows at {width} px"
        assert scroll_boxes_fit(each, width)
        if width == 390:  # the journals' table is wider than a phone: it scrolls in its box
            box = each.locator(".scroll:has(#home-journals)")
            assert box.evaluate("b => b.scrollWidth > b.clientWidth")
        shot(each, "home")

        each.get_by_role("navigation", name="main").get_by_role("link", name="Jobs").click()
        expect(each.get_by_role("heading", level=1)).to_have_text("Scheduled jobs")
        expect(each.locator("section[data-job]")).to_have_count(3)
        for name, job in jobs.items():
            expect(each.locator(f"#{name} .last-run")).to_have_text(job["last_run_at"])
            expect(each.locator(f"#{name} dd").first).to_have_text(f"every {job['every']}")
        expect(each.get_by_role("button", name="Run now")).to_have_count(3)
        expect(each.get_by_role("button", name="Save schedule")).to_have_count(0)
        assert width_of(each) <= width, f"the Jobs page overflows at {width} px"
        shot(each, "jobs")


def test_a_viewer_sees_no_run_now_button(mobile_page):
    assert login(mobile_page, "viewer", next_path="/jobs") == 303
    expect(mobile_page.locator("section[data-job]")).to_have_count(3)
    expect(mobile_page.locator("#revenue_process .last-run")).not_to_have_text("never")
    expect(mobile_page.get_by_role("button", name="Run now")).to_have_count(0)
    expect(mobile_page.get_by_role("button", name="Save schedule")).to_have_count(0)
    expect(mobile_page.get_by_role("button", name="Make inactive")).to_have_count(0)


@pytest.mark.parametrize("live_server", [timedelta(minutes=2)], indirect=True, ids=["clock+2m"])
def test_a_job_set_to_run_every_minute_runs_on_its_own(web_db, page):
    """The admin sets revenue_process to run every minute, and the scheduler runs it with no
    further click. For speed the live server's clock runs 2 minutes ahead of real time, so the
    job (last run when the test database was made, moments ago) is due at once; the other
    jobs (every hour) are not."""
    before = {j["name"]: j for j in cli_json(web_db, "jobs", "list")["rows"]}
    login(page, "admin", next_path="/jobs")
    card = page.locator("#revenue_process")
    last_run = card.locator(".last-run")
    expect(last_run).to_have_text(before["revenue_process"]["last_run_at"])
    card.get_by_label("Every").fill("1m")
    card.get_by_role("button", name="Save schedule").click()
    expect(page.get_by_role("status")).to_have_text("job revenue_process: schedule saved")
    expect(page.locator("#revenue_process dd").first).to_have_text("every 1m")

    deadline = time.monotonic() + RUN_WITHIN_SECONDS
    while last_run.text_content() == before["revenue_process"]["last_run_at"]:
        assert time.monotonic() < deadline, f"no run within {RUN_WITHIN_SECONDS} s"
        time.sleep(0.25)
        page.reload()
    # The run has begun (it claimed the job: a new last run time); it records its result and
    # its audit entry in one transaction when it ends.
    scheduled = ("audit", "list", "--kind", "job.run", "--user", "scheduler")
    while not (by_scheduler := cli_json(web_db, *scheduled)["rows"]):
        assert time.monotonic() < deadline, f"the run did not end within {RUN_WITHIN_SECONDS} s"
        time.sleep(0.25)
    page.reload()
    after = {j["name"]: j for j in cli_json(web_db, "jobs", "list")["rows"]}
    result = after["revenue_process"]["last_result"]
    said = "; ".join(f"{k}: {v}" for k, v in result.items() if k != "job")
    expect(card.locator(".last-result")).to_have_text(said)
    assert last_run.text_content() == after["revenue_process"]["last_run_at"]
    assert after["revenue_process"]["every"] == "1m"
    assert result == {  # no contract touched since the database was made: nothing to post
        "job": "revenue_process", "processed": 0, "error": 0, "duplicate": 0,
        "posted_lines": 0, "notes": [],
    }  # fmt: skip
    for other in ("event_import", "transaction_import"):
        assert after[other]["last_run_at"] == before[other]["last_run_at"]
    assert [(e["action"], e["entity"], e["period"]) for e in by_scheduler] == [
        ("job.run", "job:revenue_process", "2024-03")
    ]
    assert by_scheduler[0]["after"] == result
    assert by_scheduler[0]["at"].startswith(after["revenue_process"]["last_run_at"][:-1])


def test_a_form_whose_csrf_token_is_blanked_is_refused(web_db, page):
    before = cli_json(web_db, "jobs", "list")["rows"]
    login(page, "accountant", next_path="/jobs")
    run = page.locator('#revenue_process form[action="/jobs/revenue_process/run"]')
    run.locator('input[name="csrf_token"]').evaluate("input => { input.value = '' }")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        run.get_by_role("button", name="Run now").click()
    assert answer.value.status == 403
    expect(page.get_by_role("alert")).to_have_text(
        "the form is missing its CSRF token or it is stale: reload the page"
    )
    assert cli_json(web_db, "jobs", "list")["rows"] == before
    ran = cli_json(web_db, "audit", "list", "--kind", "job.run", "--user", "accountant")
    assert ran["rows"] == []
