"""Test configuration: Hypothesis profiles for the property tests, and the databases.

"ci" (the default) runs 20 derandomized examples per property, to keep the suite under CI's 15
minutes on two cores; HYPOTHESIS_PROFILE=deep (`make test-deep`) runs 200, dev 50 random ones.

Every store and web test runs on SQLite and on PostgreSQL (`db_url`); each test gets a database
of its own. PostgreSQL: 127.0.0.1:5432, user postgres (override with REVREC_TEST_PG). With
CI=true an unreachable server fails the run instead of skipping.
"""

import os
import uuid

import pytest
from hypothesis import settings

from databases import PG, Cli, pg_admin, pg_reachable

settings.register_profile("ci", max_examples=20, deadline=None, derandomize=True, print_blob=True)
settings.register_profile(
    "deep", max_examples=200, deadline=None, derandomize=True, print_blob=True
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'revrec.db'}"
        return
    admin = pg_reachable()
    name = f"revrec_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG}/{name}"
    finally:
        with pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def cli(db_url):
    return Cli(db_url)
