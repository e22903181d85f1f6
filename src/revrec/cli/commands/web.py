"""`revrec serve`: the web app and API (SPEC §11.2), running the active jobs on their schedule."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from revrec.cli.options import Options, new_database

if TYPE_CHECKING:
    from revrec.web.settings import Settings

DEMO_DATABASE = "revrec-demo.db"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    cli: typer.Context,
    host: Annotated[str, typer.Option("--host", help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help=f"serve the demo portfolio (built in ./{DEMO_DATABASE}, or --db, when missing)",
        ),
    ] = False,
    no_jobs: Annotated[
        bool, typer.Option("--no-jobs", help="do not run the jobs on their schedule")
    ] = False,
    max_upload_mb: Annotated[
        int, typer.Option("--max-upload-mb", min=1, help="the largest upload accepted, in MB")
    ] = 200,
) -> None:
    """Start the web app and API; the active jobs run on their schedule while it runs."""
    import uvicorn

    from revrec.services import users
    from revrec.web.app import create_app
    from revrec.web.settings import Settings

    options = cli.find_object(Options) or Options()
    url = options.db
    if demo:
        url = url or f"sqlite:///{DEMO_DATABASE}"
    settings = Settings(
        database_url=url,
        secure_cookies=not _loopback(host),
        scheduler=not no_jobs,
        max_upload_bytes=max_upload_mb * 1024 * 1024,
    )
    if demo and url is not None:
        _demo_database(url, settings)
    if key := os.environ.get("REVREC_SECRET_KEY"):
        settings = dataclasses.replace(settings, secret_key=key)
    app = create_app(settings)
    typer.echo(f"revrec is at http://{'localhost' if host == '127.0.0.1' else host}:{port}/")
    if demo:
        logins = ", ".join(f"{n} / {p} ({r})" for n, r, p in users.DEMO_USERS)
        typer.echo(f"demo logins: {logins}")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _demo_database(url: str, settings: Settings) -> None:
    """Build the demo portfolio into a new database (an existing one is served as it is), its
    GL export files kept for the app to download: beside a SQLite file (revrec-demo-gl/),
    else in the work folder's gl-export/demo."""
    from revrec.services import demo_portfolio

    if url.startswith("sqlite:///") and Path(url.removeprefix("sqlite:///")).exists():
        typer.echo(f"serving the demo database {url.removeprefix('sqlite:///')} as it is")
        return
    typer.echo("building the demo portfolio (about 20 s)...", err=True)
    if url.startswith("sqlite:///"):
        database = Path(url.removeprefix("sqlite:///"))
        exports = database.with_name(f"{database.stem}-gl")
    else:
        exports = settings.folder("gl-export") / "demo"
    built = demo_portfolio.build(new_database(url), gl_folder=exports.resolve())
    closed = built.get("closed_periods")
    if built.get("built") and isinstance(closed, list):
        typer.echo(
            f"demo portfolio: {built['contracts']} contracts, {built['lines']} lines, "
            f"periods {', '.join(str(p) for p in closed)} closed, "
            f"{built['open_period']} open with its journals waiting for approval, "
            f"{built['error_rows']} error rows in the stage area"
        )
    else:
        typer.echo("serving the demo database as it is")


def register(app: typer.Typer) -> None:
    app.command()(serve)
