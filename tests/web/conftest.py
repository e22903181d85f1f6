"""Web tests: the app over a database made by the CLI (`init --demo`: the shipped examples) with
one user per role, driven through Starlette's TestClient, on SQLite and PostgreSQL."""

import sqlite3
import uuid

import pytest
from webclient import PASSWORD, USERS, Web

from databases import PG, Cli, pg_admin, pg_reachable
from revrec.cli.main import app as cli_app
from revrec.web.app import create_app
from revrec.web.settings import Settings


def _build(url):
    """The web tests' database: the shipped examples and a user per role, made by the CLI."""
    cli = Cli(url)
    cli("init", "--demo")
    for name, role in USERS.items():
        result = cli.runner.invoke(
            cli_app,
            ["--db", url, "users", "add", name, "--role", role, "--password-stdin"],
            input=PASSWORD + "\n",
        )
        assert result.exit_code == 0, result.output


@pytest.fixture(scope="session")
def _templates(tmp_path_factory):
    """One built database per kind, made on first use and copied for each test (a file copy
    on SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL): building costs seconds, a copy
    milliseconds."""
    made = {}

    def template(kind):
        if kind not in made:
            if kind == "sqlite":
                path = tmp_path_factory.mktemp("web-template") / "revrec.db"
                _build(f"sqlite:///{path}")
                made[kind] = path
            else:
                name = f"revrec_webtpl_{uuid.uuid4().hex[:10]}"
                with pg_admin() as admin:
                    admin.execute(f'CREATE DATABASE "{name}"')
                _build(f"{PG}/{name}")
                with pg_admin() as admin:  # a template has no sessions: the CLI's pool lets go
                    admin.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = %s AND pid <> pg_backend_pid()",
                        (name,),
                    )
                made[kind] = name
        return made[kind]

    yield template
    if "postgresql" in made:
        with pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{made["postgresql"]}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def web_db(request, tmp_path, _templates):
    """A database of its own for the test, copied from the built one: the shipped examples
    imported and processed (2024-03 open) and a user per role, all with PASSWORD. It is the
    CLI (`Cli`) on that database."""
    if request.param == "sqlite":
        path = tmp_path / "revrec.db"
        with sqlite3.connect(_templates("sqlite")) as source, sqlite3.connect(path) as copy:
            source.backup(copy)  # the WAL's pages too, which a file copy would miss
        yield Cli(f"sqlite:///{path}")
        return
    pg_reachable()
    template = _templates("postgresql")
    name = f"revrec_test_{uuid.uuid4().hex[:12]}"
    with pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield Cli(f"{PG}/{name}")
    finally:
        with pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def app(web_db, tmp_path):
    made = create_app(
        Settings(database_url=web_db.url, secure_cookies=False, work_folder=str(tmp_path / "web"))
    )
    yield made
    made.state.engine.dispose()


@pytest.fixture
def web(app):
    """A client not logged in; `web.login(name)` logs in."""
    return Web(app)


@pytest.fixture
def accountant(app):
    return Web(app).login("accountant")


@pytest.fixture
def viewer(app):
    return Web(app).login("viewer")


@pytest.fixture
def admin(app):
    return Web(app).login("admin")
