"""`revrec bench --pages`: every page of the web app and its JSON twin, timed through a real
server (uvicorn on a loopback port) and an HTTP client logged in as the admin, over the
demo portfolio (built into a new SQLite file unless a database is given).

Each GET route is asked for once (as after a change: nothing in `read_cache`), then `repeats`
times; the figures are the first, the median and the slowest, in milliseconds. A route with
path parameters is asked for with values read from the database (a contract, a line, a file,
the open period, each report's name, a template's).
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute

from revrec.services import demo_portfolio, periods, read_cache, stage, subledger, users
from revrec.services.context import Context
from revrec.services.database import open_engine
from revrec.services.reports import NAMES
from revrec.web.app import create_app
from revrec.web.routes import ROUTERS
from revrec.web.served import served
from revrec.web.settings import Settings

SKIPPED = ("/logout", "/api/v1/docs", "/api/v1/openapi.json")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PATH_PARAM = re.compile(r"{([a-z_]+)(?::[a-z]+)?}")


@dataclass(frozen=True)
class Timed:
    path: str
    status: int
    first_ms: float  # the first request: nothing in the read cache (decision 89)
    median_ms: float
    max_ms: float
    size: int

    def as_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "status": self.status,
            "first_ms": round(self.first_ms, 1),
            "median_ms": round(self.median_ms, 1),
            "max_ms": round(self.max_ms, 1),
            "bytes": self.size,
        }


def run(
    url: str | None, folder: Path, *, repeats: int, contracts: int, say: Callable[[str], None]
) -> list[Timed]:
    """Build the demo portfolio (unless `url` names a database), serve it and time each page."""
    if url is None:
        database = folder / "revrec-bench-web.db"
        database.unlink(missing_ok=True)
        url = f"sqlite:///{database}"
        say(f"building the demo portfolio ({contracts} contracts) in {database}")
        start = time.perf_counter()
        demo_portfolio.build(
            Context(open_engine(url), "bench", datetime.now(UTC)), contracts=contracts
        )
        say(f"built in {time.perf_counter() - start:.1f} s")
    app = create_app(Settings(database_url=url, secure_cookies=False, work_folder=str(folder)))
    paths = list(_paths(app))
    timed = []
    with served(app) as base, httpx.Client(base_url=base, timeout=60) as client:
        _login(client)
        for path in paths:
            read_cache.clear()  # each page's first request: as after a change
            start = time.perf_counter()
            client.get(path)  # the first request, then the repeated ones
            first = time.perf_counter() - start
            seconds = []
            for _ in range(repeats):
                start = time.perf_counter()
                answer = client.get(path)
                seconds.append(time.perf_counter() - start)
            timed.append(
                Timed(
                    path,
                    answer.status_code,
                    first * 1000,
                    statistics.median(seconds) * 1000,
                    max(seconds) * 1000,
                    len(answer.content),
                )
            )
            say(f"{path}: {timed[-1].median_ms:.0f} ms")
    app.state.engine.dispose()
    return timed


def _login(client: httpx.Client) -> None:
    name, _role, password = next(u for u in users.DEMO_USERS if u[1] == "admin")
    found = CSRF.search(client.get("/login").text)
    token = found.group(1) if found else ""
    client.post("/login", data={"name": name, "password": password, "csrf_token": token})


def _samples(app: FastAPI) -> dict[str, list[str]]:
    """Values for the path parameters, read from the database through the services."""
    ctx = Context(app.state.engine, "bench", datetime.now(UTC))
    found = subledger.lines(ctx, limit=1).to_dicts()
    open_ones = [p for p in periods.status(ctx) if p["status"] == "open"]
    cards = stage.file_cards(ctx)
    return {
        "contract_id": [str(r["contract_id"]) for r in found],
        "line_id": [str(r["line_id"]) for r in found],
        "book": [open_ones[0]["book"]] if open_ones else [],
        "period": [open_ones[0]["period"]] if open_ones else [],
        "file_id": [str(cards[0]["file_id"])] if cards else [],
        "name": [*NAMES, "reconcile"],
        "template": [str(r["pob_template"]) for r in found],
    }


def _paths(app: FastAPI) -> Iterator[str]:
    samples = _samples(app)
    for route in (r for router in ROUTERS for r in router.routes):
        if not isinstance(route, APIRoute) or "GET" not in (route.methods or set()):
            continue
        path = route.path
        if path in SKIPPED or "download" in path or "export" in path:
            continue
        names = PATH_PARAM.findall(path)
        if not names:
            yield path
            continue
        if any(not samples.get(n) for n in names) or not samples["template"]:
            continue
        # A `name` is a report's, or a template's under /setup.
        values = {n: samples["template" if n == "name" and "/setup/" in path else n] for n in names}
        # One path per value of a multi-valued parameter (the reports); the first of the others.
        many = next((n for n in names if len(values[n]) > 1), None)
        for value in values[many] if many else [""]:
            chosen = {n: value if n == many else values[n][0] for n in names}
            yield _filled(path, chosen)


def _filled(path: str, values: dict[str, str]) -> str:
    """A route's path with each {parameter} replaced by its value."""

    def value(found: re.Match[str]) -> str:
        return values[found.group(1)]

    return PATH_PARAM.sub(value, path)


def summary(timed: list[Timed]) -> dict[str, Any]:
    """The JSON of the bench: every page, and the slowest median."""
    return {
        "pages": [t.as_json() for t in timed],
        "slowest_median_ms": round(max((t.median_ms for t in timed), default=0.0), 1),
        "over_300_ms": [t.path for t in timed if t.median_ms > 300],
    }
