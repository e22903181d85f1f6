"""The test databases: PostgreSQL's address and admin connection, and the CLI on a database.

Imported by the conftest files and by tests that make databases of their own.
"""

import os

import psycopg
import pytest
from typer.testing import CliRunner

from revrec.cli.main import app

PG = os.environ.get("REVREC_TEST_PG", "postgresql://postgres@127.0.0.1:5432")


def pg_admin():
    return psycopg.connect(f"{PG}/postgres", autocommit=True, connect_timeout=5)


def pg_reachable():
    """An admin connection to PostgreSQL; the test is skipped (failed, with CI=true) when the
    server is unreachable."""
    try:
        return pg_admin()
    except psycopg.OperationalError as error:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is unreachable at {PG} and CI is set: {error}")
        pytest.skip(f"PostgreSQL is unreachable at {PG}")


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
