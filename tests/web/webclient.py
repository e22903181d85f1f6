"""The web tests' client: logs in through the form as a browser does and keeps the session's
CSRF token; the users of the test database (one per role) and their password."""

import re

from fastapi.testclient import TestClient

USERS = {"admin": "admin", "accountant": "accountant", "viewer": "viewer"}
PASSWORD = "secret-pass"  # noqa: S105 (the test users' password)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Web:
    """A browser-like client: logs in through the form and keeps the session's CSRF token."""

    def __init__(self, app):
        self.app = app
        self.client = TestClient(app, raise_server_exceptions=False)
        self.csrf = None

    def login(self, name):
        page = self.client.get("/login")
        token = CSRF.search(page.text).group(1)
        answer = self.client.post(
            "/login",
            data={"name": name, "password": PASSWORD, "csrf_token": token, "next": "/"},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
        self.csrf = CSRF.search(self.client.get("/").text).group(1)
        return self

    def get(self, path, **kw):
        return self.client.get(path, **kw)

    def post(self, path, data=None, *, files=None, csrf=True, **kw):
        """A form post with the session's CSRF token (unless csrf=False)."""
        data = dict(data or {})
        if csrf:
            data["csrf_token"] = self.csrf
        return self.client.post(path, data=data, files=files, **kw)

    def api(self, method, path, *, csrf=True, **kw):
        """A JSON API call with the session cookie (and its CSRF header unless csrf=False)."""
        headers = kw.pop("headers", {})
        if csrf and self.csrf:
            headers["X-CSRF-Token"] = self.csrf
        return self.client.request(method, path, headers=headers, **kw)


def flashes(html):
    """The flash messages of a page."""
    return re.findall(r'class="flash (?:ok|error)"[^>]*>([^<]*)<', html)
