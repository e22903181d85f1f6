"""Every store test runs on SQLite and on PostgreSQL; each test gets a database of its own.

PostgreSQL: 127.0.0.1:5432, user postgres (override with REVREC_TEST_PG). With CI=true an
unreachable server fails the run instead of skipping.
"""

import os
import uuid

import psycopg
import pytest
from typer.testing import CliRunner

from revrec.cli.main import app

PG = os.environ.get("REVREC_TEST_PG", "postgresql://postgres@127.0.0.1:5432")


def _admin():
    return psycopg.connect(f"{PG}/postgres", autocommit=True, connect_timeout=5)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'revrec.db'}"
        return
    try:
        admin = _admin()
    except psycopg.OperationalError as error:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is unreachable at {PG} and CI is set: {error}")
        pytest.skip(f"PostgreSQL is unreachable at {PG}")
    name = f"revrec_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG}/{name}"
    finally:
        with _admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Cli:
    """Runs revrec commands against one database, as a user would."""

    def __init__(self, url):
        self.url = url
        self.runner = CliRunner()

    def __call__(self, *args, ok=True):
        result = self.runner.invoke(app, ["--db", self.url, *map(str, args)])
        if ok:
            assert result.exit_code == 0, result.output
        return result


@pytest.fixture
def cli(db_url):
    return Cli(db_url)
