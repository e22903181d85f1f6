"""Login, roles, CSRF and API tokens: who may do what, through the pages and the API."""

import pytest
from fastapi.testclient import TestClient
from webclient import PASSWORD, flashes

from revrec.services import users
from revrec.vocab import ROLES
from revrec.web.app import create_app
from revrec.web.settings import Settings


def test_a_page_asks_for_the_login_and_goes_on_to_it(web):
    answer = web.get("/jobs", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/jobs"
    assert web.api("GET", "/api/v1/jobs").status_code == 401
    assert web.api("GET", "/api/v1/jobs").json() == {
        "error": {"status": 401, "message": "log in first"}
    }


def test_a_wrong_password_is_refused_and_says_nothing_more(web):
    page = web.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    for name in ("accountant", "nobody"):
        answer = web.client.post(
            "/login", data={"name": name, "password": "wrong-pass", "csrf_token": token}
        )
        assert answer.status_code == 401
        assert "wrong user name or password" in answer.text


def test_the_login_form_needs_its_csrf_token(web):
    answer = web.client.post("/login", data={"name": "accountant", "password": PASSWORD})
    assert answer.status_code == 403
    assert "CSRF" in answer.text


def test_login_goes_on_only_to_a_path_of_this_site(web):
    page = web.get("/login?next=//evil.example/x")
    assert 'name="next" value="/"' in page.text


def test_the_session_cookie_is_http_only_and_secure_when_asked(web_db):
    app = create_app(Settings(database_url=web_db.url, secure_cookies=True))
    client = TestClient(app, base_url="https://testserver")
    cookie = client.get("/login").headers["set-cookie"]
    assert "httponly" in cookie.lower()
    assert "secure" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    app.state.engine.dispose()


def test_a_viewer_sees_pages_and_cannot_change_anything(viewer):
    assert viewer.get("/jobs").status_code == 200
    assert "Run now" not in viewer.get("/jobs").text
    refused = viewer.post("/jobs/revenue_process/run")
    assert refused.status_code == 403
    assert "a viewer may not run a job now" in refused.text
    api = viewer.api("POST", "/api/v1/jobs/revenue_process/run")
    assert api.status_code == 403
    assert api.json()["error"]["message"] == "a viewer may not run a job now"


def test_a_form_without_the_csrf_token_is_refused(accountant):
    answer = accountant.post("/jobs/revenue_process/run", csrf=False)
    assert answer.status_code == 403
    assert "CSRF token" in answer.text
    api = accountant.api("POST", "/api/v1/jobs/revenue_process/run", csrf=False)
    assert api.status_code == 403
    assert "CSRF" in api.json()["error"]["message"]
    wrong = accountant.api(
        "POST", "/api/v1/jobs/revenue_process/run", csrf=False, headers={"X-CSRF-Token": "x"}
    )
    assert wrong.status_code == 403


def test_an_api_token_needs_no_csrf_and_carries_its_users_role(web_db, web):
    result = web_db("users", "token", "viewer", "--label", "ci")
    token = result.output.strip()
    assert token.startswith("rr_")
    headers = {"Authorization": f"Bearer {token}"}
    assert web.api("GET", "/api/v1/me", headers=headers).json()["role"] == "viewer"
    assert web.api("POST", "/api/v1/jobs/revenue_process/run", headers=headers).status_code == 403
    bad = web.api("GET", "/api/v1/me", headers={"Authorization": "Bearer rr_nope"})
    assert bad.status_code == 403
    token = web_db("users", "token", "accountant").output.strip()
    ran = web.api(
        "POST", "/api/v1/jobs/revenue_process/run", headers={"Authorization": f"Bearer {token}"}
    )
    assert ran.status_code == 200
    assert ran.json()["rows"][0]["job"] == "revenue_process"


def test_a_deactivated_user_is_logged_out_at_once(web_db, accountant):
    web_db("users", "change", "accountant", "--inactive")
    assert accountant.get("/", follow_redirects=False).status_code == 303


def test_logout_ends_the_session(accountant):
    accountant.post("/logout")
    assert accountant.get("/", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("role", ROLES)
def test_every_action_is_allowed_by_the_role_table_and_nothing_else(role):
    for action, least in users.PERMISSIONS.items():
        assert users.allowed(role, action) is (ROLES.index(role) >= ROLES.index(least))
    assert not users.allowed(role, "no such action")


def test_the_admin_configures_jobs_and_the_accountant_runs_them(admin, accountant):
    saved = admin.post("/jobs/revenue_process/schedule", data={"every": "15m", "cron": ""})
    assert flashes(saved.text) == ["job revenue_process: schedule saved"]
    bad = admin.post("/jobs/revenue_process/schedule", data={"every": "15m", "cron": "0 2 * * *"})
    assert flashes(bad.text) == ["give a job either an interval or a cron expression, not both"]
    assert "every 15m" in admin.get("/jobs").text
    assert accountant.post(
        "/jobs/revenue_process/active", data={"active": "false"}
    ).status_code == (403)
    ran = accountant.post("/jobs/revenue_process/run")
    assert flashes(ran.text)[0].startswith("job revenue_process ran: processed 0")
    listed = accountant.api("GET", "/api/v1/jobs").json()["rows"]
    assert {j["name"]: j["every"] for j in listed}["revenue_process"] == "15m"
