"""`revrec users list|add|change|token`: the web app's and API's users and roles (SPEC §2)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from revrec.cli import render
from revrec.cli.options import FormatOption, can_ask, context
from revrec.cli.render import Format
from revrec.errors import InputError

users_app = typer.Typer(no_args_is_help=True, help="Users of the web app and API, and roles.")
RoleOption = Annotated[str, typer.Option("--role", help="admin, accountant or viewer")]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from standard input")
]


def _password(from_stdin: bool) -> str:
    if from_stdin or not can_ask():
        text = sys.stdin.readline().rstrip("\r\n")
        if not text:
            raise InputError("no password on standard input")
        return text
    return str(typer.prompt("password", hide_input=True, confirmation_prompt=True))


@users_app.command("list")
def users_list(cli: typer.Context, fmt: FormatOption = Format.table) -> None:
    """Every user: role, active, created."""
    from revrec.services import columns, users

    render.rows(users.list_users(context(cli)), columns.USER_COLUMNS, fmt)


@users_app.command("add")
def users_add(
    cli: typer.Context, name: str, role: RoleOption, password_stdin: PasswordStdin = False
) -> None:
    """Add a user with a role; the password is asked (or read from stdin)."""
    from revrec.services import users

    ctx = context(cli)
    users.add_user(ctx, name, role, _password(password_stdin))
    typer.echo(f"user {name} added ({role})")


@users_app.command("change")
def users_change(
    cli: typer.Context,
    name: str,
    role: Annotated[str | None, typer.Option("--role", help="a new role")] = None,
    password: Annotated[bool, typer.Option("--password", help="set a new password")] = False,
    password_stdin: PasswordStdin = False,
    active: Annotated[
        bool | None, typer.Option("--active/--inactive", help="allow or refuse its logins")
    ] = None,
) -> None:
    """Change a user's role, password or activity."""
    from revrec.services import users

    new_password = _password(password_stdin) if password or password_stdin else None
    users.change_user(context(cli), name, role=role, password=new_password, active=active)
    typer.echo(f"user {name} changed")


@users_app.command("token")
def users_token(
    cli: typer.Context,
    name: str,
    label: Annotated[str, typer.Option("--label", help="what the token is for")] = "script",
) -> None:
    """A new API token for a user (shown once: `Authorization: Bearer <token>`)."""
    from revrec.services import users

    typer.echo(users.make_token(context(cli), name, label))


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
