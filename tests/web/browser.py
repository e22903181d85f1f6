"""The browser tests' pieces: the app served by uvicorn, Debian's chromium driven by Playwright,
pages at two widths, logging in through the form, and screenshots of the top of a page.

- `live_server`: the app (`create_app`, its scheduler on, ticking every 0.5 s) served by
  uvicorn in a thread on a free port of 127.0.0.1, over the test's copy of the web tests'
  database (`web_db`); stopped cleanly at the test's end. Parametrize it indirectly with a
  timedelta to run the app's clock that far ahead of real time (scheduled jobs are then due
  sooner). `serve` does the same as a context manager.
- `browser`: one headless chromium per session (`/usr/bin/chromium`, never a download). When
  chromium or Playwright is missing the tests are skipped, or fail with CI=true.
- `page` (1280x800) and `mobile_page` (390x844): a fresh browser context each (no cookies),
  its base URL the live server's, so `page.goto("/jobs")` works.
- `login(page, name)`: logs in through the login form (the users and PASSWORD of webclient).
- `shot(page, name)`: a PNG of the page's top (at most TALLEST px), `<name>-<width>.png`, into
  docs/screenshots/ when REVREC_SCREENSHOTS=1, else into the test's temporary folder (a CI run
  never dirties the tree).

A test module declares `pytest_plugins = ("browser",)`, which registers these fixtures once for
the session (one chromium however many modules use it), imports the helpers (`from browser
import SQLITE_ONLY, login`) and runs on SQLite only (`pytestmark = SQLITE_ONLY`): the browser
sees the same pages either way. The module is imported before pytest registers it, so its
asserts are not rewritten: PYTEST_DONT_REWRITE says so and silences pytest's warning.
"""

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from webclient import PASSWORD

from revrec.web.app import create_app
from revrec.web.served import served
from revrec.web.settings import Settings

SQLITE_ONLY = pytest.mark.parametrize("web_db", ["sqlite"], indirect=True)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 390, "height": 844}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
START_SECONDS = 15.0
TALLEST = 1600  # px of a screenshot
TIMEOUT_MS = 20_000  # each Playwright action and expectation


@dataclass(frozen=True)
class LiveServer:
    url: str  # http://127.0.0.1:PORT
    app: FastAPI


def _missing(reason):
    """Without chromium the browser tests cannot run: a failure under CI, else a skip."""
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"{reason} and CI is set: the browser tests need it", pytrace=False)
    pytest.skip(reason)


@contextmanager
def serve(
    database_url: str, folder: Path, *, clock: Callable[[], datetime] | None = None
) -> Iterator[LiveServer]:
    """The app served on a free port of 127.0.0.1 until the block ends, once it answers."""
    extra = {} if clock is None else {"clock": clock}
    settings = Settings(
        database_url=database_url,
        secure_cookies=False,
        scheduler=True,
        scheduler_tick_seconds=0.5,
        work_folder=str(folder),
        **extra,
    )
    app = create_app(settings)
    try:
        with served(app, start_seconds=START_SECONDS) as url:
            yield LiveServer(url, app)
    finally:
        app.state.engine.dispose()


@pytest.fixture
def live_server(request, web_db, tmp_path):
    """The app over the test's database; `request.param` (indirect): how far ahead its clock
    runs (a timedelta)."""
    ahead = getattr(request, "param", None)
    clock = None
    if ahead is not None:
        offset = ahead if isinstance(ahead, timedelta) else timedelta(seconds=ahead)

        def clock():
            return datetime.now(UTC) + offset

    with serve(web_db.url, tmp_path / "web", clock=clock) as server:
        yield server


@pytest.fixture(scope="session")
def browser():
    """One headless chromium for the session."""
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        _missing(f"chromium is not installed (not on PATH, no {path})")
    try:
        from playwright.sync_api import Error, sync_playwright  # noqa: PLC0415
    except ImportError:
        _missing("the Python package playwright is not installed")
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(
                executable_path=path, headless=True, args=CHROMIUM_ARGS
            )
        except Error as error:
            _missing(f"chromium at {path} does not start: {error}")
        yield launched
        with suppress(Error):
            launched.close()


def _page(browser, server, viewport):
    context = browser.new_context(base_url=server.url, viewport=viewport)
    context.set_default_timeout(TIMEOUT_MS)
    made = context.new_page()
    try:
        yield made
    finally:
        context.close()


@pytest.fixture
def page(browser, live_server):
    """A page 1280 px wide (800 high), in a browser context of its own."""
    yield from _page(browser, live_server, DESKTOP)


@pytest.fixture
def mobile_page(browser, live_server):
    """A page 390 px wide (844 high): a phone's width."""
    yield from _page(browser, live_server, MOBILE)


def login(page, name, password=PASSWORD, *, next_path="/"):
    """Log in through the form; the status of its POST (303 when logged in, then the page has
    gone on to `next_path`; 401 when refused, the page shows why)."""
    page.goto(f"/login?next={next_path}")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password)

    def posted(response):
        return response.request.method == "POST" and urlsplit(response.url).path == "/login"

    with page.expect_response(posted) as answer:
        page.get_by_role("button", name="Log in").click()
    status = answer.value.status
    if status == 303:
        page.wait_for_url(lambda url: urlsplit(url).path == next_path)
    return status


def width_of(page):
    """How wide the page's content is: the document's scroll width (px)."""
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.fixture
def shot(tmp_path):
    """`shot(page, name)`: a screenshot of the top of the page `<name>-<width>.png`; its path."""
    wanted = os.environ.get("REVREC_SCREENSHOTS") == "1"
    folder = SCREENSHOTS if wanted else tmp_path / "screenshots"

    def take(page, name):
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}-{page.viewport_size['width']}.png"
        # The top of the page, at most TALLEST px: what a reader of the docs needs to see.
        height = min(page.evaluate("document.documentElement.scrollHeight"), TALLEST)
        clip = {"x": 0, "y": 0, "width": page.viewport_size["width"], "height": height}
        page.screenshot(path=path, full_page=True, clip=clip, animations="disabled", caret="hide")
        return path

    return take
